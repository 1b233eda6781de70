package gemm

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
	"github.com/netdeconv/deconv/internal/size"
)

// Panels runs SYRKs on an operand that its caller writes itself, directly
// in the packed layout the micro-kernels read, so that data produced on
// the fly (the covariance's gathered patches) is copied once, as it is
// produced, instead of being gathered into a matrix and then packed from
// it.
//
// For an operand X of k rows (samples) and n columns (features), the
// caller stores each value once, in panels of NR() lanes, ld rows deep
// (ld ≥ k; a fixed ld lets the last batch of rows be shorter):
//
//	p[(f/NR)·ld·NR + r·NR + f%NR] = X[r][f]
//
// for r < k, f < n. Lanes at or beyond n in the last panel may hold
// anything, NaN included: a lane's products land only in rows or columns
// of the result tile that are discarded. The micro-kernel reads both
// operands of XᵀX from these panels: a B tile is a panel's NR lanes, an A
// tile MR() of them (NR is a multiple of MR, so a tile never straddles two
// panels), broadcast from the rows NR apart. One layout costs the producer
// one store per value, where separate A and B panels cost two; the tiles
// are a little narrower than the general GEMM's (see the generator).
//
// A Panels value is one worker's: it holds the micro-kernel chosen when it
// was set and a tile buffer for the diagonal and edge tiles. It runs on the
// calling goroutine; callers parallelise over independent products. The
// zero value is unusable: call Init or InitFamily first.
type Panels[T Float] struct {
	kern *panelKernel[T]
	tile []T
}

// panelKernel is the micro-kernel of the single-layout panels and its
// blocking: an mr×nr tile whose A rows are read lda = nr apart, B blocks
// of nc columns.
type panelKernel[T Float] struct {
	fam        isa.Family
	mr, nr, nc int
	fn         stridedKernel[T]
}

var (
	genericPanelF32 = panelKernel[float32]{fam: isa.Generic, mr: genericMR, nr: genericNR, nc: 512, fn: kernGenericS[float32]}
	genericPanelF64 = panelKernel[float64]{fam: isa.Generic, mr: genericMR, nr: genericNR, nc: 256, fn: kernGenericS[float64]}
)

// panelKernelFor returns the panel kernel of family f for element type T,
// falling back to lower families that this build or CPU lacks.
func panelKernelFor[T Float](f isa.Family) *panelKernel[T] {
	var z T
	switch any(z).(type) {
	case float32:
		return any(panelKernelF32(f)).(*panelKernel[T])
	default:
		return any(panelKernelF64(f)).(*panelKernel[T])
	}
}

// Init selects the micro-kernel of the process's kernel family
// (internal/isa.Selected). The layout depends on the family, so a caller
// calls Init once per batch of products, before it lays out its panels.
func (ps *Panels[T]) Init() { ps.InitFamily(isa.Selected()) }

// InitFamily selects the micro-kernel of family f (or of the best family
// below it that this build and CPU have).
func (ps *Panels[T]) InitFamily(f isa.Family) {
	ps.kern = panelKernelFor[T](f)
	ps.tile = grow(&ps.tile, ps.kern.mr*ps.kern.nr)
}

// Family returns the kernel family selected.
func (ps *Panels[T]) Family() isa.Family { return ps.kern.fam }

// MR returns the rows of a tile of C (a divisor of NR).
func (ps *Panels[T]) MR() int { return ps.kern.mr }

// NR returns the lanes of a panel.
func (ps *Panels[T]) NR() int { return ps.kern.nr }

// Len returns the length of the panels of n features, ld rows deep.
func (ps *Panels[T]) Len(n, ld int) int {
	return (n + ps.kern.nr - 1) / ps.kern.nr * ps.kern.nr * ld
}

// Upper computes the upper triangle (j ≥ i) of C = α·XᵀX + β·C for the n×n
// matrix C (row-major, leading dimension ldc) from X of k rows given as
// panels ld rows deep (see Panels). With β = 0, C is not read. Elements
// below the diagonal are not touched. It returns errs.ErrParam for a
// negative size or ld < k, errs.ErrShape for a slice too short (the last
// panel needs only its first k rows), and errs.ErrOverflow for sizes whose
// product overflows.
func (ps *Panels[T]) Upper(n, k, ld int, alpha T, p []T, beta T, c []T, ldc int) error {
	return ps.upper(n, k, ld, alpha, p, beta, c, ldc, false)
}

// UpperScratch is Upper for a C whose lower triangle is scratch: it may
// also write (and, with β ≠ 0, read) elements below the diagonal that share
// a micro-kernel tile with the diagonal, so that whole diagonal tiles go
// straight to C, where Upper computes them in a buffer and merges their
// upper parts. Callers that read only the upper triangle of C (the
// covariance's partial sums) use it; a lower element's value is
// unspecified, but finite when X is.
func (ps *Panels[T]) UpperScratch(n, k, ld int, alpha T, p []T, beta T, c []T, ldc int) error {
	return ps.upper(n, k, ld, alpha, p, beta, c, ldc, true)
}

// upper is Upper, or UpperScratch with scratch set.
func (ps *Panels[T]) upper(n, k, ld int, alpha T, p []T, beta T, c []T, ldc int, scratch bool) error {
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
		need, ok := size.MulAdd((n-1)/nr, ld*nr, k*nr)
		if _, ok2 := size.Mul(ld, nr); !ok || !ok2 {
			return fmt.Errorf("%w: gemm: panels of %d features, %d rows deep", errs.ErrOverflow, n, ld)
		}
		if len(p) < need {
			return fmt.Errorf("%w: gemm: panels hold %d values, %d rows of %d features (%d deep) need %d",
				errs.ErrShape, len(p), k, n, ld, need)
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
	// B blocks of NC columns stay in L2 while the A tiles (L1) pass.
	for jc := 0; jc < n; jc += kr.nc {
		nc := min(kr.nc, n-jc)
		for gi := 0; gi < min(n, jc+nc); gi += mr {
			mm := min(mr, n-gi)
			// Rows gi … gi+mr−1 are lanes of one panel (nr is a multiple
			// of mr), read nr apart.
			ap := &p[gi/nr*ld*nr+gi%nr]
			// The first tile of the block that reaches the diagonal.
			j0 := jc
			if gi > jc {
				j0 = jc + (gi-jc)/nr*nr
			}
			for gj := j0; gj < jc+nc; gj += nr {
				nn := min(nr, n-gj)
				bp := &p[gj/nr*ld*nr]
				off := gi*ldc + gj
				if mm == mr && nn == nr && (gj >= gi+mr-1 || scratch) {
					if race.Enabled {
						raceStrided(k, ap, nr, mr, bp, nr, nr, &c[off], ldc, load)
					}
					fn(k, ap, nr, bp, nr, &c[off], ldc, alpha, beta, load)
					continue
				}
				// Diagonal or edge tile: computed whole, merged where it
				// belongs (j ≥ i, inside C).
				if race.Enabled {
					raceStrided(k, ap, nr, mr, bp, nr, nr, &tile[0], nr, 0)
				}
				fn(k, ap, nr, bp, nr, &tile[0], nr, alpha, 0, 0)
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
