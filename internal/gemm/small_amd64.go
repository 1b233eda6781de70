//go:build amd64 && gc && !purego

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// stridedKernelF32 returns the strided-A twin of kernelF32(f)'s
// micro-kernel (same tile; see stridedKernel).
func stridedKernelF32(f isa.Family) stridedKernel[float32] {
	switch kernelF32(f) {
	case &avx512F32:
		return kernF32AVX512S
	case &avx2F32:
		return kernF32AVX2S
	}
	return kernGenericS[float32]
}

// stridedKernelF64 is stridedKernelF32 for float64.
func stridedKernelF64(f isa.Family) stridedKernel[float64] {
	switch kernelF64(f) {
	case &avx512F64:
		return kernF64AVX512S
	case &avx2F64:
		return kernF64AVX2S
	}
	return kernGenericS[float64]
}

// maskedKernelsF32 returns the masked strided kernels of family f, 12 and
// 14 rows high, or nils when f does not run the AVX-512 float32 kernel.
func maskedKernelsF32(f isa.Family) (m12, m14 maskedKernel[float32]) {
	if kernelF32(f) == &avx512F32 {
		return kernF32AVX512M12, kernF32AVX512M14
	}
	return nil, nil
}
