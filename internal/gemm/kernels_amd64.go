//go:build amd64 && gc && !purego

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// Blocking for the AVX kernels, chosen for Zen 4 (L1d 32 KiB, L2 1 MiB per
// core, L3 32 MiB shared) and fine on Intel parts with larger caches:
//   - kc: an A panel of kc×mr elements stays in L1 while the B panels of the
//     block stream past it (AVX-512 float32: 256·12·4 = 12 KiB);
//   - nc: the packed B block kc×nc fills about half of L2 (256·512·4 = 512 KiB),
//     leaving room for the A panel, C tiles and the other operand's stream;
//   - mc: the packed A block mc×kc lives in L3 (2064·256·4 ≈ 2 MiB per worker);
//     a large mc packs each B block fewer times (once for m ≤ 2064).
var (
	avx512F32 = kernel[float32]{fam: isa.AVX512, mr: 12, nr: 32, kc: 256, mc: 2064, nc: 512, fn: kernF32AVX512}
	avx512F64 = kernel[float64]{fam: isa.AVX512, mr: 12, nr: 16, kc: 192, mc: 504, nc: 320, fn: kernF64AVX512}
	avx2F32   = kernel[float32]{fam: isa.AVX2, mr: 6, nr: 16, kc: 256, mc: 2064, nc: 512, fn: kernF32AVX2}
	avx2F64   = kernel[float64]{fam: isa.AVX2, mr: 6, nr: 8, kc: 256, mc: 504, nc: 256, fn: kernF64AVX2}
)

// The single-layout panel kernels (Panels): A tiles of mr lanes read from
// the B panels, nr apart; nc columns of a B block, a multiple of nr, keep
// the block near half of L2 at the panels' usual 256 rows.
var (
	avx512PanelF32 = panelKernel[float32]{fam: isa.AVX512, mr: 8, nr: 48, nc: 480, fn: kernF32AVX512P}
	avx512PanelF64 = panelKernel[float64]{fam: isa.AVX512, mr: 8, nr: 24, nc: 240, fn: kernF64AVX512P}
	avx2PanelF32   = panelKernel[float32]{fam: isa.AVX2, mr: 4, nr: 16, nc: 512, fn: kernF32AVX2P}
	avx2PanelF64   = panelKernel[float64]{fam: isa.AVX2, mr: 4, nr: 8, nc: 256, fn: kernF64AVX2P}
)

func panelKernelF32(f isa.Family) *panelKernel[float32] {
	switch {
	case f >= isa.AVX512 && isa.Supported(isa.AVX512):
		return &avx512PanelF32
	case f >= isa.AVX2 && isa.Supported(isa.AVX2):
		return &avx2PanelF32
	}
	return &genericPanelF32
}

func panelKernelF64(f isa.Family) *panelKernel[float64] {
	switch {
	case f >= isa.AVX512 && isa.Supported(isa.AVX512):
		return &avx512PanelF64
	case f >= isa.AVX2 && isa.Supported(isa.AVX2):
		return &avx2PanelF64
	}
	return &genericPanelF64
}

func kernelF32(f isa.Family) *kernel[float32] {
	switch {
	case f >= isa.AVX512 && isa.Supported(isa.AVX512):
		return &avx512F32
	case f >= isa.AVX2 && isa.Supported(isa.AVX2):
		return &avx2F32
	}
	return &genericF32
}

func kernelF64(f isa.Family) *kernel[float64] {
	switch {
	case f >= isa.AVX512 && isa.Supported(isa.AVX512):
		return &avx512F64
	case f >= isa.AVX2 && isa.Supported(isa.AVX2):
		return &avx2F64
	}
	return &genericF64
}

// chunkCopier returns family f's assembly loop that copies chunks of
// chunkBytes bytes for packing, or nil when there is none for that size or
// f is the generic family (or one this CPU lacks). It obeys f, not the
// family selected for the process, so a product asked of one family runs
// that family's code.
func chunkCopier(f isa.Family, chunkBytes int) func(dst, src *byte, n, stride int) {
	if f < isa.AVX2 || !isa.Supported(isa.AVX2) {
		return nil
	}
	switch chunkBytes {
	case 24:
		return copyChunks24
	case 48:
		return copyChunks48
	case 96:
		return copyChunks96
	case 128:
		return copyChunks128
	}
	return nil
}
