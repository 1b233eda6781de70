// Package vec holds the kernels of the O(n²) passes over float32 vectors
// that accumulate in float64: sums of squares (the Frobenius residuals of
// the Newton–Schulz iteration), the same sum fused with the overwrite
// x ← −½·x (the residual and T = ½(3I − P) in one pass), a scaling split
// three ways (its first step), a scaling that checks finiteness (its
// result), and the check of a run of pairs (a_ij, a_ji) for symmetry and
// the bound of the 2×2 principal minors, which also writes their symmetric
// part (the validation of its input; see PairCheck).
//
// Each function takes the kernel family (internal/isa) and has a portable
// Go loop, the generic family's kernel, which is also the reference the
// tests hold the others to; float32 has AVX2 and AVX-512 kernels on amd64,
// float64 the portable loops only. Every kernel widens float32 to float64
// before it multiplies or adds, so a square is exact and the only rounding
// of a sum is that of its additions; the vector kernels add in another
// order than the loops (see internal/_gen/vec), fixed for a given length,
// so a result depends only on the input and the family. The element values
// written are the same, to the bit, in every family.
package vec

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// Float is the element type of every kernel.
type Float interface{ float32 | float64 }

// SumSquares returns Σ float64(x_i)².
func SumSquares[T Float](f isa.Family, x []T) float64 {
	if x32, ok := asF32(x); ok && len(x) > 0 {
		if s, ok := sumSquaresF32(f, x32, false); ok {
			return s
		}
	}
	return sumSquaresGo(x)
}

// NegHalfSumSquares overwrites each x_i with −½·x_i and returns
// Σ float64(x_i)² of the values before, the same bits as SumSquares(f, x)
// on them.
func NegHalfSumSquares[T Float](f isa.Family, x []T) float64 {
	if x32, ok := asF32(x); ok && len(x) > 0 {
		if s, ok := sumSquaresF32(f, x32, true); ok {
			return s
		}
	}
	s := sumSquaresGo(x)
	for i := range x {
		x[i] *= -0.5
	}
	return s
}

// ScaleSplit rounds a_i = T(float64(y_i)·s) for every element of y and
// writes y_i = a_i, z_i = −½·a_i and w_i = 1.5·a_i; it returns
// Σ float64(a_i)². z and w must hold at least len(y) elements (it panics,
// like an index out of range, otherwise) and must not overlap y or each
// other.
func ScaleSplit[T Float](f isa.Family, y, z, w []T, s float64) float64 {
	z, w = z[:len(y)], w[:len(y)]
	if y32, ok := asF32(y); ok && len(y) > 0 {
		z32, _ := asF32(z)
		w32, _ := asF32(w)
		if sum, ok := scaleSplitF32(f, y32, z32, w32, s); ok {
			return sum
		}
	}
	return scaleSplitGo(y, z, w, s)
}

// ScaleFinite writes dst_i = T(float64(src_i)·s) for every element of dst
// and reports whether every value written is finite. src must hold at
// least len(dst) elements; dst may be src, but may not overlap it
// otherwise.
func ScaleFinite[T Float](f isa.Family, dst, src []T, s float64) bool {
	src = src[:len(dst)]
	if d32, ok := asF32(dst); ok && len(dst) > 0 {
		s32, _ := asF32(src)
		if fin, ok := scaleFiniteF32(f, d32, s32, s); ok {
			return fin
		}
	}
	return scaleFiniteGo(dst, src, s)
}

// asF32 returns x as a []float32 when T is float32 (the only 4-byte
// Float), without the interface conversion, which would allocate.
func asF32[T Float](x []T) ([]float32, bool) {
	var zero T
	if unsafe.Sizeof(zero) != 4 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), true
}
