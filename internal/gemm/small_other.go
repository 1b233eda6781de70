//go:build purego || !amd64 || !gc

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// Builds without assembly have only the portable strided kernel.

func stridedKernelF32(isa.Family) stridedKernel[float32] { return kernGenericS[float32] }

func stridedKernelF64(isa.Family) stridedKernel[float64] { return kernGenericS[float64] }

func maskedKernelsF32(isa.Family) (m12, m14 maskedKernel[float32]) { return nil, nil }
