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
// Cost: n³/3 multiply-adds in float64, recursive (see cholesky) so that
// all but O(n²·base) of them are products of the library's engine on the
// call's goroutines, the largest (the trailing updates) split by block
// rows over the team like the iteration's products. The factorization
// reads S from the validation pass, which writes it in float64 as it
// goes. Measured at n = 576 (BenchmarkCholesky576, Intel Xeon at 2.5 GHz,
// 2 cores, a shared and noisy machine): about 2.5–3 ms, against 25–35 ms
// for BenchmarkPaperNS5, so 8–10% of the paper's 5 fast iterations. That
// is what the operation counts predict, and no blocking can do much
// better: the 5 fast iterations are about 6.5·n³ float32 multiply-adds,
// the factorization n³/3 float64 ones at half the rate, or 10% of the
// iterations' time at equal efficiency (3% of the reference
// formulation's 15 full products).

// cholBase and trsmBase are the sizes below which the recursive
// factorization and triangular solve work by plain loops: small enough
// that their O(n²·base) scalar work stays a small part, large enough that
// the products between them are not dominated by their call overhead.
const (
	cholBase = 32
	trsmBase = 32
)

// pdTol returns the smallest pivot, relative to the largest diagonal
// element, that the check accepts for n×n matrices: 4(n+1)·u, u the unit
// roundoff of float64, the order of the factorization's backward error.
func pdTol(n int) float64 { return 4 * float64(n+1) * 0x1p-53 }

// cholesky factors the symmetric b×b matrix whose upper triangle is in a
// (row-major, leading dimension ld; the strict lower triangle is neither
// read nor written) as RᵀR, R overwriting it, and returns the index of the
// first pivot (the square of a diagonal element of R) that is not above
// tol, and that pivot, or -1 when every pivot is.
//
// Recursive (Gustavson; Toledo): with A = [A11 A12; · A22] split in the
// middle, R11 = chol(A11), R12 = R11⁻ᵀ·A12 (trsm), A22 ← A22 − R12ᵀ·R12
// (a SYRK) and R22 = chol(A22). All but O(n²·base) of the n³/3
// multiply-adds are then products of the library's engine, on the call's
// goroutines, mostly large ones; the updates of the trailing matrix are
// few, so it is streamed through memory a few times rather than once per
// panel.
func (w *work[T]) cholesky(a []float64, ld, b int, tol float64) (int, float64, error) {
	if b <= cholBase {
		// By rows, right-looking: row i scaled by 1/√pivot, its outer
		// product subtracted from the rows below.
		for i := 0; i < b; i++ {
			d := a[i*ld+i]
			if !(d > tol) {
				return i, d, nil
			}
			r := math.Sqrt(d)
			ri := a[i*ld+i : i*ld+b]
			ri[0] = r
			f := 1 / r
			for j := 1; j < len(ri); j++ {
				ri[j] *= f
			}
			// Two rows per pass: each element of row i is loaded once
			// for both (the updates themselves are those of one row at a
			// time, in the same order).
			k := 1
			for ; k+1 < len(ri); k += 2 {
				rk0 := a[(i+k)*ld+i+k : (i+k)*ld+b]
				rk1 := a[(i+k+1)*ld+i+k+1 : (i+k+1)*ld+b]
				g0, g1 := ri[k], ri[k+1]
				src := ri[k+1:]
				rk0[0] -= g0 * ri[k]
				rk0 = rk0[1:]
				rk0, rk1 = rk0[:len(src)], rk1[:len(src)]
				for j, v := range src {
					rk0[j] -= g0 * v
					rk1[j] -= g1 * v
				}
			}
			if k < len(ri) {
				a[(i+k)*ld+i+k] -= ri[k] * ri[k]
			}
		}
		return -1, 0, nil
	}
	h := (b/2 + 7) &^ 7
	if k, d, err := w.cholesky(a, ld, h, tol); k >= 0 || err != nil {
		return k, d, err
	}
	m := b - h
	if err := w.trsm(a, ld, h, a[h:], m); err != nil {
		return 0, 0, err
	}
	if err := w.syrk64(m, h, a[h:], a[h*ld+h:], ld); err != nil {
		return 0, 0, err
	}
	k, d, err := w.cholesky(a[h*ld+h:], ld, m, tol)
	if k >= 0 {
		k += h
	}
	return k, d, err
}

// trsm overwrites the h×m block x (leading dimension ld) with R⁻ᵀ·x, for
// the upper triangular h×h R at r (leading dimension ld): the solution of
// Rᵀ·X = B, recursively (R = [Ra Rb; · Rc]: X1 = Ra⁻ᵀ·B1, then
// X2 = Rc⁻ᵀ·(B2 − Rbᵀ·X1)). Below trsmBase rows, R is inverted by plain
// loops (h³/6 multiply-adds) and X = R⁻ᵀ·B is a product: the engine's
// kernels are many times faster than the loops of a substitution along
// the rows, and multiplying by the inverse of a triangular factor instead
// of solving with it costs accuracy only in proportion to that small
// block's condition number, which the pivot threshold bounds (the check
// needs the pivots far less accurately than that).
func (w *work[T]) trsm(r []float64, ld, h int, x []float64, m int) error {
	if h <= trsmBase {
		buf := grow(&w.panel, trsmBase*(trsmBase+ld)) // m ≤ ld
		inv, tmp := buf[:h*h], buf[trsmBase*trsmBase:][:h*m]
		// inv = R⁻¹ (upper), by rows from the last:
		// inv[i,:] = (e_i − Σ_{p>i} R[i,p]·inv[p,:]) / R[i,i].
		clear(inv)
		for i := h - 1; i >= 0; i-- {
			xi := inv[i*h : i*h+h]
			xi[i] = 1
			for p := i + 1; p < h; p++ {
				g := r[i*ld+p]
				src := inv[p*h+p : p*h+h]
				dst := xi[p:]
				dst = dst[:len(src)]
				for j, v := range src {
					dst[j] -= g * v
				}
			}
			f := 1 / r[i*ld+i]
			for j := i; j < h; j++ {
				xi[j] *= f
			}
		}
		if err := gemmDense(w.threads, gemm.Trans, gemm.NoTrans, h, m, h, 1, inv, h, x, ld, 0, tmp, m); err != nil {
			return err
		}
		for i := 0; i < h; i++ {
			copy(x[i*ld:i*ld+m], tmp[i*m:i*m+m])
		}
		return nil
	}
	h1 := (h/2 + 7) &^ 7
	if err := w.trsm(r, ld, h1, x, m); err != nil {
		return err
	}
	if err := gemmDense(w.threads, gemm.Trans, gemm.NoTrans, h-h1, m, h1, -1, r[h1:], ld, x, ld, 1, x[h1*ld:], ld); err != nil {
		return err
	}
	return w.trsm(r[h1*ld+h1:], ld, h-h1, x[h1*ld:], m)
}

// checkDefinite runs the positive-definiteness check on S, the
// symmetric part of a, whose strict upper triangle the validation pass
// has written to w.chol in float64. The pivot threshold is relative to
// the largest diagonal element, so factoring S or Ã = S/c decides alike;
// S itself is factored when its sum of squares is in the normal range
// (sNormal: no element beyond 2^450, no overflow in the factorization),
// else Ã, formed again from a with a power-of-two prescale.
func (w *work[T]) checkDefinite(n int, a []T, sNormal bool, c float64) error {
	ch := w.chol[:n*n]
	if sNormal {
		for i := 0; i < n; i++ {
			ch[i*n+i] = float64(a[i*n+i])
		}
	} else {
		// Ã = (S·pre)·inv, pre a power of two that keeps inv exact when c
		// is extreme.
		pre, inv := 1.0, 1/c
		if !(c >= 0x1p-1000 && c <= 0x1p1000) {
			e := math.Ilogb(c)
			pre, inv = math.Ldexp(1, -e), 1/math.Ldexp(c, -e)
		}
		for i := 0; i < n; i++ {
			row := ch[i*n+i : i*n+n]
			for j := range row {
				row[j] = (0.5*float64(a[i*n+i+j]) + 0.5*float64(a[(i+j)*n+i])) * pre * inv
			}
		}
	}
	maxDiag := 0.0
	for i := 0; i < n; i++ {
		maxDiag = max(maxDiag, ch[i*n+i])
	}
	tol := pdTol(n) * maxDiag
	k, d, err := w.cholesky(ch, n, n, tol)
	if err != nil {
		return err
	}
	if k >= 0 {
		return fmt.Errorf("%w: pivot %d of the Cholesky factorization is %.3g of the largest diagonal element, not above %.3g (the matrix is indefinite or singular to working precision)",
			deconv.ErrNotPositiveDefinite, k, d/maxDiag, pdTol(n))
	}
	return nil
}
