package winograd

import "github.com/netdeconv/deconv/internal/isa"

// InputTransform computes the transformed input tiles V = Bᵀ·d·B of the
// gathered tiles in src into dst with the vector kernel of family fam,
// separably (rows, then columns: 2·α·α² multiply-adds per tile instead of
// the α²·α² of the Kronecker matrix InputMatrix), and reports whether it
// did. It returns false, writing nothing, when no kernel covers the tile
// (α ≠ 6), the element type (float64) or the family (below AVX-512, or
// one this CPU or build lacks); the caller then multiplies by
// InputMatrix.
//
// src and dst use Gather's layout: position k of channel ci's tile t at
// k·rs + ci·ld + t, for c channels and α² positions. The tiles [0, nt) of
// every channel are transformed, and so are those up to nt rounded up to
// a multiple of 16 (whole vectors), which must lie within ld. dst may be
// src (the transform then runs in place) but must not otherwise overlap
// it.
func InputTransform[T Float](fam isa.Family, t *Tile, dst, src []T, rs, c, ld, nt int) bool {
	w := (nt + 15) &^ 15
	if c < 0 || nt < 0 || w > ld || rs < (c-1)*ld+w {
		panic("winograd: input transform with inconsistent sizes")
	}
	a2 := t.Alpha * t.Alpha
	if n := (a2-1)*rs + (c-1)*ld + w; c > 0 && nt > 0 && (n > len(src) || n > len(dst)) {
		panic("winograd: input transform outside its slices")
	}
	if t.Alpha != 6 || !inputKernel[T](fam) {
		return false
	}
	if c == 0 || nt == 0 {
		return true
	}
	var bt [36]float32
	for i := range 6 {
		for j := range 6 {
			bt[i*6+j] = float32(t.BT[i][j])
		}
	}
	d, s := any(dst).([]float32), any(src).([]float32)
	inputF32(d, s, rs, c, ld, w, &bt)
	return true
}
