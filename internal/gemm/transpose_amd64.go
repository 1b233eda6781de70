//go:build amd64 && gc && !purego

package gemm

//go:generate go run -C ../_gen ./gemmpack -out ../gemm/pack_amd64.s -stubs ../gemm/pack_stub_amd64.go -pkg gemm

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// transposeKernel returns family f's block transpose for T and its block
// width in elements, or nil when f has none (below AVX-512, or a family
// this CPU lacks).
func transposeKernel[T Float](f isa.Family) (func(dst *T, ldd int, src *T, lds, rows, nb int), int) {
	if f < isa.AVX512 || !isa.Supported(isa.AVX512) {
		return nil, 0
	}
	var z T
	if _, ok := any(z).(float32); ok {
		return func(dst *T, ldd int, src *T, lds, rows, nb int) {
			transpose16F32AVX512((*float32)(unsafe.Pointer(dst)), ldd, (*float32)(unsafe.Pointer(src)), lds, rows, nb)
		}, 16
	}
	return func(dst *T, ldd int, src *T, lds, rows, nb int) {
		transpose8F64AVX512((*float64)(unsafe.Pointer(dst)), ldd, (*float64)(unsafe.Pointer(src)), lds, rows, nb)
	}, 8
}

// copyRunsKernel returns family f's masked copy of runs of n elements of
// T, or nil when f has none or n exceeds two vectors.
func copyRunsKernel[T Float](f isa.Family, n int) func(dst *T, ldd int, src *T, lds, m, n int) {
	if f < isa.AVX512 || !isa.Supported(isa.AVX512) {
		return nil
	}
	var z T
	if _, ok := any(z).(float32); ok {
		if n > 32 {
			return nil
		}
		return func(dst *T, ldd int, src *T, lds, m, n int) {
			copyRunsF32AVX512((*float32)(unsafe.Pointer(dst)), ldd, (*float32)(unsafe.Pointer(src)), lds, m, uint32(uint64(1)<<n-1))
		}
	}
	if n > 16 {
		return nil
	}
	return func(dst *T, ldd int, src *T, lds, m, n int) {
		copyRunsF64AVX512((*float64)(unsafe.Pointer(dst)), ldd, (*float64)(unsafe.Pointer(src)), lds, m, uint16(uint32(1)<<n-1))
	}
}
