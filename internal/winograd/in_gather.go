package winograd

import "github.com/netdeconv/deconv/internal/isa"

// GatherInput is Gather followed by InputTransform, fused: it writes the
// transformed input tiles V = Bᵀ·d·B of tile rows [row0, row1) of the
// NCHW batch x straight into dst (Gather's layout and arguments), so the
// gathered tiles are never stored. done reports whether it ran: it is
// false, and nothing is written, when HasGatherInput is; the caller then
// runs Gather and the Kronecker GEMM. finite reports whether every input
// value the tiles read was finite (NaN or ±Inf make it false, and so may a
// transform that overflows float32), which spares the caller a pass over
// the input.
//
// Unlike Gather it leaves the columns from the span's tile count to ld
// unwritten (the products read only the span's tiles). band is scratch of
// at least BandLen(t, tw) elements.
//
// Per channel and tile row, the α input rows are copied, padded, into
// band, and the kernel transforms the rows' columns first (a tile's
// columns are shared with its neighbours, so this costs 4 columns a tile
// instead of 6) and then, deinterleaving each transformed row into its
// tiles, the tiles' rows.
func GatherInput[T Float](fam isa.Family, t *Tile, dst []T, rs, ld int, x []T, c, h, w, padH, padW, th, tw, row0, row1 int, band []T) (done, finite bool) {
	if !HasGatherInput[T](fam, t) {
		return false, false
	}
	nt := (row1 - row0) * tw
	if c < 0 || tw < 1 || row0 < 0 || row1 < row0 || nt > ld || rs < (c-1)*ld+nt || len(band) < BandLen(t, tw) ||
		(c > 0 && nt > 0 && 35*rs+(c-1)*ld+nt > len(dst)) {
		panic("winograd: fused gather with inconsistent sizes")
	}
	if c == 0 || nt == 0 {
		return true, true
	}
	var bt [36]float32
	for i := range 6 {
		for j := range 6 {
			bt[i*6+j] = float32(t.BT[i][j])
		}
	}
	return true, gatherF32(any(dst).([]float32), rs, ld, any(x).([]float32), c, h, w, padH, padW, th, tw, row0, row1, any(band).([]float32), &bt)
}

// HasGatherInput reports whether GatherInput has a kernel for T, tile t
// and family fam: float32, α = 6 and m = 4 (F(4×4, 3×3) on any points),
// AVX-512 on a CPU and build that run it.
func HasGatherInput[T Float](fam isa.Family, t *Tile) bool {
	return t.Alpha == 6 && t.M == 4 && inputKernel[T](fam)
}

// fusedLine is the stride of the fused gather's band rows for tw tiles:
// the kernel transforms 64 columns per vector of 16 tiles and one vector
// more, in place, so each row has that room (and never a multiple of
// 1 KiB of float32, 256·vecs+64 bytes).
func fusedLine(tw int) int { return 64*((tw+15)/16) + 16 }

// fusedBandLen is the length of the fused gather's band: six rows and the
// 17th column past the last row's transformed vectors, which the
// deinterleave reads.
func fusedBandLen(tw int) int { return 6*fusedLine(tw) + 16 }

// deinterleave holds the kernel's two lane permutations of a pair of
// vectors (32 columns): tile l's column 4l and 4l+1 in lanes l and 8+l,
// and columns 4l+2 and 4l+3.
var deinterleave = func() (p [32]int32) {
	for l := range 8 {
		p[l], p[8+l] = int32(4*l), int32(4*l+1)
		p[16+l], p[24+l] = int32(4*l+2), int32(4*l+3)
	}
	return p
}()
