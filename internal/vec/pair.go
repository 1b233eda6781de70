package vec

import (
	"math"

	"github.com/netdeconv/deconv/internal/isa"
)

// PairCheck is the inner loop of a check that a matrix is symmetric and
// has no clearly negative 2×2 principal minor, on one run of pairs
// (x_j, z_j) = (a_ij, a_ji) with their bounds b_j = r·root_j
// (√(a_ii·a_jj) when r = √a_ii and root_j = √a_jj): for each j, in float64,
// it writes the symmetric part s_j = ½x_j + ½z_j to s64[j] and T(s_j) to
// s[j], and it returns
//
//	sum    = Σ x_j² + z_j²
//	excess = max(0, max_j |x_j − z_j| − symTol·b_j, max_j |s_j| − minorTol·b_j)
//
// the NaN excesses left out (a NaN or an infinity among the x_j or z_j
// shows in sum instead). excess is the same in every family, and so are
// the values written; sum, as every sum of the package, is rounded in an
// order fixed by the length. z, root, s and s64 must hold at least len(x)
// elements (it panics, like an index out of range, otherwise).
func PairCheck[T Float](f isa.Family, s []T, s64 []float64, x, z []T, root []float64, r, symTol, minorTol float64) (sum, excess float64) {
	n := len(x)
	s, s64, z, root = s[:n], s64[:n], z[:n], root[:n]
	if x32, ok := asF32(x); ok && n > 0 {
		sp, _ := asF32(s)
		zp, _ := asF32(z)
		if sum, excess, ok := pairCheckF32(f, sp, s64, x32, zp, root, r, symTol, minorTol); ok {
			return sum, excess
		}
	}
	return pairCheckGo(s, s64, x, z, root, r, symTol, minorTol)
}

// pairCheckGo is PairCheck's loop; every slice has len(x) elements.
func pairCheckGo[T Float](s []T, s64 []float64, x, z []T, root []float64, r, symTol, minorTol float64) (sum, excess float64) {
	s, s64, z, root = s[:len(x)], s64[:len(x)], z[:len(x)], root[:len(x)]
	s0, s1 := 0.0, 0.0
	for j := range x {
		xj, zj := float64(x[j]), float64(z[j])
		bound := r * root[j]
		// (Halving is exact: this is (x + z)/2 rounded once, without the
		// overflow of x + z.)
		sj := 0.5*xj + 0.5*zj
		// (Comparisons, not the builtin max, which must order NaN and is
		// several times slower here.)
		if e := math.Abs(xj-zj) - symTol*bound; e > excess {
			excess = e
		}
		if e := math.Abs(sj) - minorTol*bound; e > excess {
			excess = e
		}
		s0 += xj * xj
		s1 += zj * zj
		s[j] = T(sj)
		s64[j] = sj
	}
	return s0 + s1, excess
}
