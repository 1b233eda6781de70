package isqrt

import (
	"math"

	"github.com/netdeconv/deconv/internal/parallel"
)

// The O(n²) passes of the backward that read a matrix by rows and by
// columns at once (symmetrising, the final gradient) run split by rows
// over the worker's goroutines, as the forward's passes do: alone on one
// goroutine they would leave the other cores idle between the products.

// The passes a rowPass runs.
const (
	passSym    = iota // dst = sym(src)
	passFinish        // finishGrad's rows
)

// rowPass is one such pass over the rows of an n×n matrix (parallel.Parts).
type rowPass[T Float] struct {
	b        *bwork[T]
	op, n    int
	nw       int
	dst, src []T
	// passFinish: the gradient's inputs (see finishGrad).
	m       *gradMat[T]
	sb      []float64
	inv, fc float64
	asIs    bool
}

// run runs the pass set in rp on the worker's goroutines, at most one per
// 64 rows (a smaller share costs more to hand over than to do).
func (rp *rowPass[T]) run(threads int) {
	rp.nw = max(1, min(threads, maxTeam, rp.n/64))
	if rp.nw == 1 {
		rp.RunPart(0)
	} else {
		parallel.Run(rp, rp.nw)
	}
	rp.dst, rp.src, rp.m, rp.sb = nil, nil, nil, nil
}

// RunPart runs part i: rows split so that the parts read and write about
// the same number of elements (the symmetrising pass writes row i from
// column i on, so its rows are dealt as in a triangle).
func (rp *rowPass[T]) RunPart(i int) {
	n, nw := rp.n, rp.nw
	switch rp.op {
	case passSym:
		// Row r writes n − r elements of each triangle: equal shares of
		// the triangle end where the rows left, n − r, fall by √.
		lo, hi := triangleRows(n, i, nw), triangleRows(n, i+1, nw)
		symRows(n, rp.dst, rp.src, lo, hi)
	case passFinish:
		rp.b.finishRows(rp, i*n/nw, (i+1)*n/nw)
	}
}

// triangleRows returns the first row of part i of nw when the rows of an
// upper triangle of n rows are split into parts of equal area.
func triangleRows(n, i, nw int) int {
	if i >= nw {
		return n
	}
	// Rows [0, r) hold n² − (n−r)² of the 2× area: r = n(1 − √(1 − i/nw)).
	f := 1 - float64(i)/float64(nw)
	r := n - int(float64(n)*math.Sqrt(f)+0.5)
	return min(max(r, 0), n)
}

// symRows writes rows [lo, hi) of the upper triangle of dst = ½(src + srcᵀ)
// and their mirror images in the lower one.
func symRows[T Float](n int, dst, src []T, lo, hi int) {
	for i := lo; i < hi; i++ {
		for j := i; j < n; j++ {
			v := 0.5*src[i*n+j] + 0.5*src[j*n+i]
			dst[i*n+j], dst[j*n+i] = v, v
		}
	}
}
