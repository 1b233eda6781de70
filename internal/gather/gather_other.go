//go:build !amd64 || !gc || purego

package gather

import "github.com/netdeconv/deconv/internal/isa"

// Builds without assembly have the generic kernels only.
func strided32(isa.Family) func(dst, src []float32, step int) { return nil }
func strided64(isa.Family) func(dst, src []float64, step int) { return nil }

func streamCopy[T Float](isa.Family) CopyFunc[T] { return nil }
