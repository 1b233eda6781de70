package isqrt

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gemm"
)

// The positive-definiteness check. The iterations themselves cannot be
// relied on to reveal an indefinite matrix: the coupled iteration treats a
// small negative eigenvalue as a small positive one that has not
// converged yet, and a few iterations end before a larger one has grown
// enough to be seen. So every call first factors the pre-scaled matrix
// Ã = S/c (S the symmetric part of the input) by a float64 Cholesky
// factorization, which succeeds exactly when every pivot is positive, and
// requires each pivot to exceed pdTol·max_i Ã_ii: a matrix whose smallest
// eigenvalue is below that is singular to float64 working precision (the
// factorization's backward error is of that order), and one with a zero
// eigenvalue must not pass because rounding happened to leave its last
// pivot slightly positive. Every matrix with λ_min(Ã) above the threshold
// passes, since the pivots are at least λ_min.
//
// Cost: n³/3 multiply-adds in float64, in blocked form so that all but
// O(n²·cholBlock) of them are GEMM and SYRK calls of the library's engine
// on the call's goroutines (the diagonal blocks are factored, and
// inverted, by plain loops). Measured at n = 576 against the 5 fast
// coupled float32 iterations of BenchmarkPaperNS5, on 2 cores: see
// BenchmarkCholesky576 (about 1.3 ms of 45 ms, 3%).

// cholBlock is the panel width of the blocked factorization: wide enough
// that the trailing updates are efficient products, narrow enough that
// the scalar work on the diagonal blocks (n·cholBlock²/3) stays small.
const cholBlock = 64

// pdTol returns the smallest pivot, relative to the largest diagonal
// element, that the check accepts for n×n matrices: 4(n+1)·u, u the unit
// roundoff of float64, the order of the factorization's backward error.
func pdTol(n int) float64 { return 4 * float64(n+1) * 0x1p-53 }

// cholesky factors the symmetric n×n row-major matrix whose upper
// triangle is in a (the strict lower triangle is neither read nor
// written) as RᵀR in place, and returns the index of the first pivot
// (the square of a diagonal element of R) that is not above tol, and that
// pivot, or -1 when every pivot is. The off-diagonal blocks of R are not
// stored: only the pivots matter to the check.
func (w *work[T]) cholesky(n int, a []float64, tol float64) (int, float64, error) {
	nb := min(cholBlock, n)
	buf := grow(&w.panel, nb*nb+nb*n)
	inv, r12 := buf[:nb*nb], buf[nb*nb:]
	for k0 := 0; k0 < n; k0 += nb {
		k1 := min(n, k0+nb)
		b := k1 - k0
		// The diagonal block: R11ᵀR11 = A11, by rows of R11.
		for i := k0; i < k1; i++ {
			d := a[i*n+i]
			for p := k0; p < i; p++ {
				d -= a[p*n+i] * a[p*n+i]
			}
			if !(d > tol) {
				return i, d, nil
			}
			r := math.Sqrt(d)
			a[i*n+i] = r
			for j := i + 1; j < k1; j++ {
				s := a[i*n+j]
				for p := k0; p < i; p++ {
					s -= a[p*n+i] * a[p*n+j]
				}
				a[i*n+j] = s / r
			}
		}
		m := n - k1
		if m == 0 {
			break
		}
		// W = R11⁻ᵀ, lower triangular (b×b): the triangular solve for the
		// block row R12 = R11⁻ᵀ·A12 then is a product. (Forming the inverse
		// of a triangular factor of a block that passed its pivots costs
		// accuracy only in proportion to the block's condition number,
		// which the pivot threshold bounds; the check needs the pivots to
		// a relative accuracy far coarser than that.)
		clear(inv[:b*b])
		for j := 0; j < b; j++ {
			inv[j*b+j] = 1 / a[(k0+j)*n+k0+j]
			for i := j + 1; i < b; i++ {
				s := 0.0
				for p := j; p < i; p++ {
					s += a[(k0+p)*n+k0+i] * inv[p*b+j]
				}
				inv[i*b+j] = -s / a[(k0+i)*n+k0+i]
			}
		}
		if err := gemm.GemmDense(w.threads, gemm.NoTrans, gemm.NoTrans, b, m, b, 1, inv, b, a[k0*n+k1:], n, 0, r12, m); err != nil {
			return 0, 0, err
		}
		// A22 ← A22 − R12ᵀ·R12, upper triangle.
		if err := gemm.SyrkDense(w.threads, gemm.Upper, m, b, -1, r12, m, 1, a[k1*n+k1:], n); err != nil {
			return 0, 0, err
		}
	}
	return -1, 0, nil
}

// checkDefinite runs the positive-definiteness check on Ã = S/c, S the
// symmetric part of a: from the upper triangle of s when it holds S
// (symmetric), else from a itself.
func (w *work[T]) checkDefinite(n int, a, s []T, sIsSym bool, c float64) error {
	ch := grow(&w.chol, n*n)
	// Ã = (S·pre)·inv, pre a power of two that keeps inv exact when c is
	// extreme.
	pre, inv := 1.0, 1/c
	if !(c >= 0x1p-1000 && c <= 0x1p1000) {
		e := math.Ilogb(c)
		pre, inv = math.Ldexp(1, -e), 1/math.Ldexp(c, -e)
	}
	maxDiag := 0.0
	for i := 0; i < n; i++ {
		row := ch[i*n : i*n+n]
		if sIsSym {
			for j, v := range s[i*n+i : i*n+n] {
				row[i+j] = float64(v) * pre * inv
			}
		} else {
			for j := i; j < n; j++ {
				row[j] = (0.5*float64(a[i*n+j]) + 0.5*float64(a[j*n+i])) * pre * inv
			}
		}
		maxDiag = max(maxDiag, row[i])
	}
	tol := pdTol(n) * maxDiag
	k, d, err := w.cholesky(n, ch, tol)
	if err != nil {
		return err
	}
	if k >= 0 {
		return fmt.Errorf("%w: Cholesky pivot %d of A/‖A‖ is %.3g, not above %.3g (the matrix is indefinite or singular to working precision)",
			deconv.ErrNotPositiveDefinite, k, d, tol)
	}
	return nil
}
