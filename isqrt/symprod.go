package isqrt

import "github.com/netdeconv/deconv/internal/gemm"

// Products of the coupled iteration whose left operand is exactly
// symmetric as stored (Ã, and every iterate the iteration mirrors): asked
// as op(A) = Aᵀ, which is A, so that the engine packs A's row panels by
// contiguous copies (see upperMul). The multiply-adds and their order are
// those of A·B: the results are the same to the bit.

// mulSymA sets C = α·A·B, every element computed, for an exactly symmetric
// A.
func (w *work[T]) mulSymA(n int, alpha T, a, b, c []T) error {
	return gemmDense(w.threads, gemm.Trans, gemm.NoTrans, n, n, n, alpha, a, n, b, n, 0, c, n)
}

// squareUpdate sets C = C − ½·Ã², Ã in a exactly symmetric, on the whole
// matrix. Large matrices take a SYRK on the upper triangle and mirror it.
// Small ones take a full product Ãᵀ·Ã on the engine's small-matrix path:
// elements (i, j) and (j, i) are then the same products Ã_pi·Ã_pj
// accumulated in the same order, so the result is exactly symmetric
// without mirroring, and its upper triangle is the SYRK's to the bit.
func (w *work[T]) squareUpdate(n int, a, c []T) error {
	if n <= 4*symBlock {
		return gemmDense(w.threads, gemm.Trans, gemm.NoTrans, n, n, n, -0.5, a, n, a, n, 1, c, n)
	}
	if err := syrkDense(w.threads, gemm.Upper, n, n, -0.5, a, n, 1, c, n); err != nil {
		return err
	}
	w.mirror(n, c)
	return nil
}

// mirrorSmall is the size up to which mirrorUpper copies element by
// element: the matrix is in L1, and the tiled copy's set-up per tile row
// costs more than it saves.
const mirrorSmall = 64

// mirrorUpperSmall is mirrorUpper for a matrix in L1: rows i..i+3 of the
// lower triangle are read four at a time from the rows above them (c[j,
// i..i+3], four adjacent elements), so that every load is of a short
// contiguous run instead of one element down a column; the 4×4 blocks on
// the diagonal and the last rows go element by element.
func mirrorUpperSmall[T Float](n int, c []T) {
	c = c[:n*n]
	i := 0
	for ; i+4 <= n; i += 4 {
		r0 := c[i*n : i*n+i]
		r1 := c[(i+1)*n : (i+1)*n+i]
		r2 := c[(i+2)*n : (i+2)*n+i]
		r3 := c[(i+3)*n : (i+3)*n+i]
		for j := range r0 {
			src := c[j*n+i : j*n+i+4]
			r0[j], r1[j], r2[j], r3[j] = src[0], src[1], src[2], src[3]
		}
		// The strict lower triangle of the diagonal block.
		for m := 1; m < 4; m++ {
			for q := 0; q < m; q++ {
				c[(i+m)*n+i+q] = c[(i+q)*n+i+m]
			}
		}
	}
	for ; i < n; i++ {
		row := c[i*n : i*n+i]
		for j := range row {
			row[j] = c[j*n+i]
		}
	}
}

// smallSyrk is the size up to which syrk64 updates the whole square
// instead of one triangle: a full product on the engine's small-matrix
// path, with Aᵀ read in place, costs less than the blocked SYRK's set-up.
const smallSyrk = 96

// syrk64Small is syrk64 for m ≤ smallSyrk: C = C − AᵀA on the whole m×m
// block. The strict lower triangle of the block lies in the strict lower
// triangle of the matrix the Cholesky factorization works on, which
// nothing reads; the upper triangle is the SYRK's.
func (w *work[T]) syrk64Small(m, k int, a, c []float64, ld int) error {
	return gemmDense(w.threads, gemm.Trans, gemm.NoTrans, m, m, k, -1, a, ld, a, ld, 1, c, ld)
}

// upperSplitMin is the size above which upperMul computes the upper
// triangle only rather than the whole product at once: from three block
// rows on, the triangle saves a third of the multiply-adds, and on two
// goroutines the snake deal balances the rows (for n = 147: 48·147
// against 48·99 + 51·51 elements), where the engine's split of a full
// product packs A twice.
const upperSplitMin = 2 * symBlock
