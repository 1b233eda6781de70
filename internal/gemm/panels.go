package gemm

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
	"github.com/netdeconv/deconv/internal/size"
)

// Panels runs SYRKs on operands that its caller writes itself, directly
// in the packed layouts the micro-kernels read, so that data produced on
// the fly (the covariance's gathered patches) is copied once, as it is
// produced, instead of being gathered into a matrix and then packed from
// it.
//
// For an operand X of k rows (samples) and n columns (features), the
// caller stores each value twice, in panels ld rows deep (ld ≥ k; a fixed
// ld lets the last batch of rows be shorter):
//
//	A panels, MR() lanes:  pa[(f/MR)·ld·MR + p·MR + f%MR] = X[p][f]
//	B panels, NR() lanes:  pb[(f/NR)·ld·NR + p·NR + f%NR] = X[p][f]
//
// for p < k, f < n. Lanes at or beyond n in the last panel of each may hold
// anything, NaN included: a lane's products land only in rows or columns
// of the result tile that are discarded. The A panels stay in L1 while the
// B panels stream past them from L2. Writing a value into both costs the
// producer one more store, which is less than a packing pass, and a B
// panel's rows are NR values apart, so the producer's writes of one
// feature for consecutive samples stay within a few pages.
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

// NR returns the lanes of a B panel.
func (ps *Panels[T]) NR() int { return ps.kern.nr }

// KC returns the depth the micro-kernel is blocked for: an A panel of KC
// rows stays in L1. Deeper panels work, more slowly.
func (ps *Panels[T]) KC() int { return ps.kern.kc }

// ALen returns the length of the A panels of n features, ld rows deep.
func (ps *Panels[T]) ALen(n, ld int) int {
	return (n + ps.kern.mr - 1) / ps.kern.mr * ps.kern.mr * ld
}

// BLen returns the length of the B panels of n features, ld rows deep.
func (ps *Panels[T]) BLen(n, ld int) int {
	return (n + ps.kern.nr - 1) / ps.kern.nr * ps.kern.nr * ld
}

// Upper computes the upper triangle (j ≥ i) of C = α·XᵀX + β·C for the n×n
// matrix C (row-major, leading dimension ldc) from X of k rows given as A
// and B panels ld rows deep (see Panels). With β = 0, C is not read.
// Elements below the diagonal are not touched. It returns errs.ErrParam
// for a negative size or ld < k, errs.ErrShape for a slice too short (the
// last panel of each needs only its first k rows), and errs.ErrOverflow for
// sizes whose product overflows.
func (ps *Panels[T]) Upper(n, k, ld int, alpha T, pa, pb []T, beta T, c []T, ldc int) error {
	if ps.kern == nil {
		return fmt.Errorf("%w: gemm: Panels used before Init", errs.ErrParam)
	}
	if n < 0 || k < 0 || ld < k {
		return fmt.Errorf("%w: gemm: panels of %d×%d, %d rows deep", errs.ErrParam, k, n, ld)
	}
	if err := checkMatrix("C", c, n, n, ldc); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	kr := ps.kern
	mr, nr := kr.mr, kr.nr
	if k > 0 {
		needA, ok := size.MulAdd((n-1)/mr, ld*mr, k*mr)
		needB, ok2 := size.MulAdd((n-1)/nr, ld*nr, k*nr)
		if _, ok3 := size.Mul(ld, max(mr, nr)); !ok || !ok2 || !ok3 {
			return fmt.Errorf("%w: gemm: panels of %d features, %d rows deep", errs.ErrOverflow, n, ld)
		}
		if len(pa) < needA || len(pb) < needB {
			return fmt.Errorf("%w: gemm: panels hold %d and %d values, %d rows of %d features (%d deep) need %d and %d",
				errs.ErrShape, len(pa), len(pb), k, n, ld, needA, needB)
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
	// B blocks of NC columns stay in L2 while the A panels (L1) pass.
	for jc := 0; jc < n; jc += kr.nc {
		nc := min(kr.nc, n-jc)
		for gi := 0; gi < min(n, jc+nc); gi += mr {
			mm := min(mr, n-gi)
			ap := &pa[gi/mr*ld*mr]
			// The first tile of the block that reaches the diagonal.
			j0 := jc
			if gi > jc {
				j0 = jc + (gi-jc)/nr*nr
			}
			for gj := j0; gj < jc+nc; gj += nr {
				nn := min(nr, n-gj)
				bp := &pb[gj/nr*ld*nr]
				off := gi*ldc + gj
				if mm == mr && nn == nr && gj >= gi+mr-1 {
					if race.Enabled {
						raceKernel(k, ap, mr, bp, nr, nr, &c[off], ldc, load)
					}
					fn(k, ap, bp, nr, &c[off], ldc, alpha, beta, load)
					continue
				}
				// Diagonal or edge tile: computed whole, merged where it
				// belongs (j ≥ i, inside C).
				if race.Enabled {
					raceKernel(k, ap, mr, bp, nr, nr, &tile[0], nr, 0)
				}
				fn(k, ap, bp, nr, &tile[0], nr, alpha, 0, 0)
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
