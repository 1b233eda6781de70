//go:build purego || !amd64 || !gc

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// fmaPeak has no probe without assembly.
func fmaPeak(isa.Family, int) float64 { return 0 }
