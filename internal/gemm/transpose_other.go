//go:build !amd64 || !gc || purego

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// transposeKernel: no assembly in this build.
func transposeKernel[T Float](isa.Family) (func(dst *T, ldd int, src *T, lds, rows, nb int), int) {
	return nil, 0
}

// copyRunsKernel: no assembly in this build.
func copyRunsKernel[T Float](isa.Family, int) func(dst *T, ldd int, src *T, lds, m, n int) {
	return nil
}
