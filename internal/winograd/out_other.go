//go:build !amd64 || !gc || purego

package winograd

import "github.com/netdeconv/deconv/internal/isa"

// Builds without assembly have no output kernel: the GEMM and Scatter
// path runs.
func hasOutputKernel(isa.Family) bool { return false }

func outputKernel[T Float](*Tile, []T, []T, int, int, []T, int, int, int, int, int, int, int, bool) bool {
	return false
}
