package gemm

import (
	"fmt"
	"unsafe"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
	"github.com/netdeconv/deconv/internal/size"
)

// Panels runs SYRKs on a panel of samples that its caller writes itself,
// directly in the layouts the micro-kernels read, so that data produced on
// the fly (the covariance's gathered patches) is copied once, as it is
// produced, instead of being gathered into a matrix and then packed from
// it.
//
// The operand X has k rows (samples) of n values (features). The caller
// stores each value twice, in two buffers:
//
//	A panels, MR() lanes, ka rows deep:  pa[(f/MR)·ka·MR + p·MR + f%MR] = X[p][f]
//	the row panel y, read in place:      y[p·ldy + f]                    = X[p][f]
//
// for p < k ≤ ka, f < n. The A panels stay in L1 while the kernels stream
// the rows of y past them. The kernels read whole tiles: lanes of the last
// A panel at or beyond n, and the BSpan(n) − n values after each row of y
// (the next row's, or anything else), may hold anything, NaN included: a
// lane's products land only in rows or columns of the result tile that are
// discarded. LD gives a leading dimension for y that keeps its rows spread
// over all the sets of the L1 cache.
//
// A Panels value is one worker's: it holds the micro-kernel chosen when it
// was set and a tile buffer for the diagonal and edge tiles. It runs on the
// calling goroutine; callers parallelise over independent products. The
// zero value is unusable: call Init or InitFamily first.
type Panels[T Float] struct {
	kern *kernel[T]
	tile []T
}

// Init selects the micro-kernel of the process's kernel family
// (internal/isa.Selected). The layout depends on the family, so a caller
// calls Init once per batch of products, before it lays out its panels.
func (ps *Panels[T]) Init() { ps.InitFamily(isa.Selected()) }

// InitFamily selects the micro-kernel of family f (or of the best family
// below it that this build and CPU have).
func (ps *Panels[T]) InitFamily(f isa.Family) {
	ps.kern = kernelFor[T](f)
	ps.tile = grow(&ps.tile, ps.kern.mr*ps.kern.nr)
}

// Family returns the kernel family selected.
func (ps *Panels[T]) Family() isa.Family { return ps.kern.fam }

// MR returns the lanes of an A panel.
func (ps *Panels[T]) MR() int { return ps.kern.mr }

// KC returns the depth the micro-kernel is blocked for: an A panel of KC
// rows stays in L1. Deeper panels work, more slowly.
func (ps *Panels[T]) KC() int { return ps.kern.kc }

// ALen returns the length of the A panels of n features, ka rows deep.
func (ps *Panels[T]) ALen(n, ka int) int {
	return (n + ps.kern.mr - 1) / ps.kern.mr * ps.kern.mr * ka
}

// BSpan returns the values the kernels read from the start of each row of
// y for n features: n rounded up to whole B tiles.
func (ps *Panels[T]) BSpan(n int) int { return (n + ps.kern.nr - 1) / ps.kern.nr * ps.kern.nr }

// LD returns a leading dimension of at least w values whose rows lie an
// odd number of cache lines apart, so that the rows of y fall into every
// set of the L1 cache instead of a few (rows a power of two apart evict
// each other).
func (ps *Panels[T]) LD(w int) int {
	var z T
	line := 64 / int(unsafe.Sizeof(z))
	lines := (w + line - 1) / line
	if lines%2 == 0 {
		lines++
	}
	return lines * line
}

// Upper computes the upper triangle (j ≥ i) of C = α·XᵀX + β·C for the n×n
// matrix C (row-major, leading dimension ldc) from X of k rows given as A
// panels ka rows deep and as the row panel y (see Panels). With β = 0, C
// is not read. Elements below the diagonal are not touched. It returns
// errs.ErrParam for a negative size or ka < k, errs.ErrShape for ldy < n or
// a slice too short (pa needs ALen(n, ka) − (ka − k)·MR() values, y needs
// (k−1)·ldy + BSpan(n)), and errs.ErrOverflow for sizes whose product
// overflows.
func (ps *Panels[T]) Upper(n, k int, alpha T, pa []T, ka int, y []T, ldy int, beta T, c []T, ldc int) error {
	if ps.kern == nil {
		return fmt.Errorf("%w: gemm: Panels used before Init", errs.ErrParam)
	}
	if n < 0 || k < 0 || ka < k {
		return fmt.Errorf("%w: gemm: panels of %d×%d, %d rows deep", errs.ErrParam, k, n, ka)
	}
	if err := checkMatrix("C", c, n, n, ldc); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	kr := ps.kern
	mr, nr := kr.mr, kr.nr
	if ldy < n {
		return fmt.Errorf("%w: gemm: row panel leading dimension %d < %d features", errs.ErrShape, ldy, n)
	}
	if k > 0 {
		needA, ok := size.MulAdd((n-1)/mr, ka*mr, k*mr)
		needY, ok2 := size.MulAdd(k-1, ldy, ps.BSpan(n))
		if !ok || !ok2 {
			return fmt.Errorf("%w: gemm: panels of %d rows (%d deep), leading dimension %d", errs.ErrOverflow, k, ka, ldy)
		}
		if len(pa) < needA || len(y) < needY {
			return fmt.Errorf("%w: gemm: panels hold %d and %d values, %d rows of %d features need %d and %d",
				errs.ErrShape, len(pa), len(y), k, n, needA, needY)
		}
	}
	if k == 0 || alpha == 0 {
		for i := 0; i < n; i++ {
			row := c[i*ldc+i : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = 0
				} else {
					row[j] *= beta
				}
			}
		}
		return nil
	}
	load := 1
	if beta == 0 {
		load = 0
	}
	fn, tile := kr.fn, ps.tile
	// Column blocks of NC stay in L2 while the A panels (L1) pass.
	for jc := 0; jc < n; jc += kr.nc {
		nc := min(kr.nc, n-jc)
		for gi := 0; gi < min(n, jc+nc); gi += mr {
			mm := min(mr, n-gi)
			ap := &pa[gi/mr*ka*mr]
			// The first tile of the block that reaches the diagonal.
			j0 := jc
			if gi > jc {
				j0 = jc + (gi-jc)/nr*nr
			}
			for gj := j0; gj < jc+nc; gj += nr {
				nn := min(nr, n-gj)
				bp := &y[gj]
				off := gi*ldc + gj
				if mm == mr && nn == nr && gj >= gi+mr-1 {
					if race.Enabled {
						raceKernel(k, ap, mr, bp, ldy, nr, &c[off], ldc, load)
					}
					fn(k, ap, bp, ldy, &c[off], ldc, alpha, beta, load)
					continue
				}
				// Diagonal or edge tile: computed whole, merged where it
				// belongs (j ≥ i, inside C).
				if race.Enabled {
					raceKernel(k, ap, mr, bp, ldy, nr, &tile[0], nr, 0)
				}
				fn(k, ap, bp, ldy, &tile[0], nr, alpha, 0, 0)
				for i := 0; i < mm; i++ {
					jlo := max(0, gi+i-gj)
					if jlo >= nn {
						continue
					}
					row := c[off+i*ldc+jlo : off+i*ldc+nn]
					trow := tile[i*nr+jlo : i*nr+nn]
					if load != 0 {
						for j, v := range trow {
							row[j] = v + beta*row[j]
						}
					} else {
						copy(row, trow)
					}
				}
			}
		}
	}
	return nil
}
