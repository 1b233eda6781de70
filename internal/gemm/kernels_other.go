//go:build purego || !amd64 || !gc

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// Builds without assembly have only the portable kernel.

func kernelF32(isa.Family) *kernel[float32] { return &genericF32 }

func kernelF64(isa.Family) *kernel[float64] { return &genericF64 }

func panelKernelF32(isa.Family) *panelKernel[float32] { return &genericPanelF32 }

func panelKernelF64(isa.Family) *panelKernel[float64] { return &genericPanelF64 }

// chunkCopier: builds without assembly pack with copyShort.
func chunkCopier(isa.Family, int) func(dst, src *byte, n, stride int) { return nil }
