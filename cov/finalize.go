package cov

import (
	"fmt"
	"sync"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/parallel"
)

// finalOut is where Compute wants its results: μ and Cov + eps·I in T.
type finalOut[T Float] struct {
	mean, cov []T
	eps       float64
}

// finalTile is the edge of the tiles of the closing pass: the mirrored
// writes down a tile's columns stay in L1.
const finalTile = 32

// finalRun is the closing pass of Compute: every covariance's upper
// triangle, read from float64 sums, corrected for the shift, scaled,
// rounded to T and mirrored. It reads and writes every matrix element
// once, so on a large covariance (576 features in 8 groups: 21 MB of
// sums) it costs as much as a part of the products did, and it is split
// over the workers: one unit is one band of finalTile rows of one matrix.
// Runs are pooled with their batchRun and body is bound once, so the pass
// allocates nothing.
type finalRun[T Float] struct {
	out        finalOut[T] // a copy: a pointer would make the caller's escape
	s64, ybars []float64
	n          float64
	feats      int
	tiles      int // row bands per matrix
	body       func(lo, hi int)

	mu      sync.Mutex
	badMat  int // lowest matrix with a value that does not fit T; −1: none
	badZero T
}

// finalize writes μ = s + ȳ and Cov = (Σ yyᵀ − n·ȳȳᵀ)/n + eps·I from the
// upper triangles of Σ yyᵀ (s64) and the column sums Σ y (sum64,
// overwritten by ȳ), with the rounding and checks of Finalize: a variance
// a hair below zero is 0, a value that does not fit T is ErrNonFinite
// (the lowest matrix that has one is named, whatever the split).
func (f *finalRun[T]) finalize(out *finalOut[T], pl *Plan, n float64, s64, sum64 []float64, shift []T) error {
	F, G := pl.feats, pl.groups
	for i := range sum64[:G*F] {
		sum64[i] /= n
		mu := float64(shift[i]) + sum64[i]
		out.mean[i] = T(mu)
		if !finite(float64(out.mean[i])) {
			return fmt.Errorf("%w: mean %d of matrix %d is %g", deconv.ErrNonFinite, i%F, i/F, mu)
		}
	}
	f.out, f.s64, f.ybars, f.n, f.feats = *out, s64, sum64, n, F
	f.tiles = (F + finalTile - 1) / finalTile
	f.badMat = -1
	units := G * f.tiles
	// Units are at least a few thousand elements, so that small matrices
	// do not pay a hand-off each.
	workers := min(parallel.Workers(pl.workers), max(1, G*F*F/4096))
	parallel.For(units, workers, f.body)
	f.out, f.s64, f.ybars = finalOut[T]{}, nil, nil // keep no caller data alive
	if f.badMat >= 0 {
		return fmt.Errorf("%w: a covariance of matrix %d does not fit %T", deconv.ErrNonFinite, f.badMat, f.badZero)
	}
	return nil
}

// run does units [lo, hi). The row bands of a matrix are dealt from both
// ends (0, last, 1, last−1, …): a band near the top holds more of the
// triangle than one near the bottom, and For hands each worker one
// contiguous range of units, which this keeps balanced.
func (f *finalRun[T]) run(lo, hi int) {
	F := f.feats
	eps := f.out.eps
	for u := lo; u < hi; u++ {
		g, k := u/f.tiles, u%f.tiles
		band := k / 2
		if k%2 == 1 {
			band = f.tiles - 1 - k/2
		}
		i0 := band * finalTile
		ybar := f.ybars[g*F : (g+1)*F]
		s, c := f.s64[g*F*F:(g+1)*F*F], f.out.cov[g*F*F:(g+1)*F*F]
		bad := finalBand(c, s, ybar, F, i0, f.n, eps)
		if bad {
			f.mu.Lock()
			if f.badMat < 0 || g < f.badMat {
				f.badMat = g
			}
			f.mu.Unlock()
		}
	}
}

// direct finalizes matrices g0 … g0+ng−1 from one exclusive unit's
// partials (part: their upper triangles, every sample summed) and column
// sums (sum, indexed by column; the unit's block starts at column colLo),
// into the output set by batchMoments, with ybar as scratch (feats long).
// The arithmetic is finalize's on the same values (the float32 partials
// converted to float64 are what the totals would have held), so the
// results are the same to the bit; it only spares the trip through the
// float64 totals and a second pass over memory. Checks, in order: the
// diagonal of the partials (a NaN or ±Inf in the data, as flushPartials
// reports it), the means, the covariances.
func (f *finalRun[T]) direct(pl *Plan, part []T, sum, ybar []float64, colLo, g0, ng int, shift []T) error {
	F := pl.feats
	n := f.n
	out := &f.out
	for m := 0; m < ng; m++ {
		g := g0 + m
		p := part[m*F*F : (m+1)*F*F]
		for i := 0; i < F; i++ {
			if d := float64(p[i*F+i]); !finite(d) {
				return fmt.Errorf("%w (or a square overflows %T): feature %d of matrix %d", deconv.ErrNonFinite, p[0], i, g)
			}
		}
		if pl.groups > 1 {
			copy(ybar, sum[colLo+m*F:colLo+(m+1)*F])
		} else {
			// One shared covariance: the block is the whole window, its
			// columns' features interleaved (column t is feature t mod F).
			clear(ybar)
			for t, v := range sum[:pl.width] {
				ybar[t%F] += v
			}
		}
		for j := range ybar {
			ybar[j] /= n
			mu := float64(shift[g*F+j]) + ybar[j]
			out.mean[g*F+j] = T(mu)
			if !finite(float64(out.mean[g*F+j])) {
				return fmt.Errorf("%w: mean %d of matrix %d is %g", deconv.ErrNonFinite, j, g, mu)
			}
		}
		c := out.cov[g*F*F : (g+1)*F*F]
		bad := false
		for i0 := 0; i0 < F; i0 += finalTile {
			bad = finalBand(c, p, ybar, F, i0, n, out.eps) || bad
		}
		if bad {
			var z T
			return fmt.Errorf("%w: a covariance of matrix %d does not fit %T", deconv.ErrNonFinite, g, z)
		}
	}
	return nil
}

// finalBand writes rows i0 … i0+finalTile−1 of one F×F covariance c
// (upper triangle and its mirror) from the upper triangle of Σ yyᵀ in p
// (float64 totals or a unit's partials: the same values) and the means
// ȳ: (p − n·ȳȳᵀ)/n, plus eps on the diagonal, a variance a hair below
// zero rounded to 0. It reports whether a value does not fit T. The
// column tiles keep the mirrored writes in L1; the rows are sliced so
// that the inner loop has no bounds checks but the mirror's, and the
// finiteness test is a branch (never taken) rather than a chain of
// additions through every element.
func finalBand[T, S Float](c []T, p []S, ybar []float64, F, i0 int, n, eps float64) (bad bool) {
	inv := 1 / n
	iEnd := min(F, i0+finalTile)
	for j0 := i0; j0 < F; j0 += finalTile {
		jEnd := min(F, j0+finalTile)
		yb := ybar[:jEnd]
		for i := i0; i < iEnd; i++ {
			yi := n * ybar[i]
			prow, crow := p[i*F:i*F+jEnd], c[i*F:i*F+jEnd]
			j := max(i, j0)
			if j == i {
				v := (float64(prow[i]) - yi*yb[i]) * inv
				if v < 0 {
					v = 0 // rounding: a variance is never negative
				}
				o := T(v + eps)
				crow[i] = o
				if o-o != 0 {
					bad = true
				}
				j++
			}
			for ; j < len(prow); j++ {
				o := T((float64(prow[j]) - yi*yb[j]) * inv)
				crow[j] = o
				c[j*F+i] = o
				if o-o != 0 {
					bad = true
				}
			}
		}
	}
	return bad
}
