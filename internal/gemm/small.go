package gemm

import (
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// The small-matrix path. A product whose operands fit in L1 and L2 as they
// are (the Newton–Schulz iterates of a layer's covariance groups, 9×9 to
// about 150×150) gains nothing from cache blocking and loses most of its
// time to what the blocked path spends per block: the parts and their
// dispatch, the blocking arithmetic, and the merge of edge tiles element by
// element. This path packs A once, whole, into MR-row panels, reads the
// full NR-column panels of a row-major B where they lie (packing only a
// partial last panel, or all of a transposed B), and runs the same
// micro-kernels over every tile of C, on the calling goroutine, with edge
// tiles merged row by row.

// smallMaxMN bounds the rows and columns of C a product may have to take
// the small path, and smallMaxK its depth: up to them the whole packed A
// (smallMaxMN×smallMaxK) and B stay in L2, and one A panel
// (smallMaxK×MR) in L1, so blocking has nothing to save. Measured with
// BenchmarkSmallGemm (Intel Xeon, AVX-512, one thread): the small path
// is ahead of the blocked one at every size up to these bounds.
const (
	smallMaxMN = 160
	smallMaxK  = 256
)

// small reports whether the product of the call takes the small path: it
// fits the bounds above and would run on one goroutine anyway (its work
// is below what a second worker is worth, or only one is allowed).
func (cl *call[T]) small(nthreads int) bool {
	m, n, k := cl.m, cl.n, cl.k
	if m == 0 || n == 0 || k == 0 || cl.alpha == 0 {
		return false // β·C only: the general path's scaleC
	}
	if m > smallMaxMN || n > smallMaxMN || k > smallMaxK {
		return false
	}
	return nthreads <= 1 || m*n*k < minWorkPerThread
}

// runSmall computes C = α·A·B + β·C for the dense operands cl.da and cl.db
// with the kernels of family fam, on the calling goroutine; the call must
// pass small.
func (cl *call[T]) runSmall(fam isa.Family) {
	kr := kernelFor[T](fam)
	mr, nr, fn := kr.mr, kr.nr, kr.fn
	m, n, k := cl.m, cl.n, cl.k
	alpha, beta := cl.alpha, cl.beta
	c, ldc := cl.c, cl.ldc
	if len(cl.ws) == 0 {
		cl.ws = append(cl.ws, new(workspace[T]))
	}
	ws := cl.ws[0]
	a, b := &cl.da, &cl.db
	a.fam, b.fam = fam, fam

	pa := grow(&ws.a, (m+mr-1)/mr*mr*k)
	a.PackRows(pa, 0, m, 0, k, mr)
	// Full panels of a row-major B are read in place.
	nfull := 0
	if !b.trans {
		nfull = n / nr * nr
	}
	pb := grow(&ws.b, (n-nfull+nr-1)/nr*nr*k)
	if nfull < n {
		b.PackCols(pb, 0, k, nfull, n-nfull, nr)
	}
	tile := grow(&ws.tile, mr*nr)
	load := 0
	if beta != 0 {
		load = 1
	}
	for i0 := 0; i0 < m; i0 += mr {
		mm := min(mr, m-i0)
		ap := &pa[i0*k]
		for j0 := 0; j0 < n; j0 += nr {
			nn := min(nr, n-j0)
			var bp *T
			ldb := nr
			if j0 < nfull {
				bp, ldb = &b.data[j0], b.stride
			} else {
				bp = &pb[(j0-nfull)*k]
			}
			off := i0*ldc + j0
			if mm == mr && nn == nr {
				if race.Enabled {
					raceKernel(k, ap, mr, bp, ldb, nr, &c[off], ldc, load)
				}
				fn(k, ap, bp, ldb, &c[off], ldc, alpha, beta, load)
				continue
			}
			// Edge tile: whole into the tile buffer, then merged by rows.
			if race.Enabled {
				raceKernel(k, ap, mr, bp, ldb, nr, &tile[0], nr, 0)
			}
			fn(k, ap, bp, ldb, &tile[0], nr, alpha, 0, 0)
			for i := 0; i < mm; i++ {
				row := c[off+i*ldc : off+i*ldc+nn]
				trow := tile[i*nr : i*nr+nn]
				if load == 0 {
					copy(row, trow)
					continue
				}
				for j, v := range trow {
					row[j] = v + beta*row[j]
				}
			}
		}
	}
}
