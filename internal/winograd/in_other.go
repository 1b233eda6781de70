//go:build !amd64 || !gc || purego

package winograd

import "github.com/netdeconv/deconv/internal/isa"

// inputKernel: builds without assembly have no input-transform kernel.
func inputKernel[T Float](isa.Family) bool { return false }

func inputF32([]float32, []float32, int, int, int, int, *[36]float32) {}

func gatherF32([]float32, int, int, []float32, int, int, int, int, int, int, int, int, int, []float32, *[36]float32) bool {
	return false
}
