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
	passScale         // dst = s·src, and the dot product of src with x
	passDot           // the dot product of src with x
	passHalf          // dst = −½·src, and dst2 = dst
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
	symSrc  bool // src is exactly symmetric
	// passScale, passDot, passHalf: the scale, the other operand of the
	// dot product, the second destination, and the dot product's partial
	// sums, one per block of dotRows rows, added in block order: the
	// result is the same whatever the worker count and the scheduling.
	s    float64
	x    []T
	dst2 []T
	dots []float64
}

// dotRows is the number of rows of one partial sum of a dot product.
const dotRows = 32

// run runs the pass set in rp on the worker's goroutines, at most one per
// 64 rows (a smaller share costs more to hand over than to do).
func (rp *rowPass[T]) run(threads int) {
	rp.nw = max(1, min(threads, maxTeam, rp.n/64))
	rp.dots = grow(&rp.dots, (rp.n+dotRows-1)/dotRows)
	if rp.nw == 1 {
		rp.RunPart(0)
	} else {
		parallel.Run(rp, rp.nw)
	}
	rp.dst, rp.src, rp.m, rp.sb, rp.x, rp.dst2 = nil, nil, nil, nil, nil, nil
}

// dot returns the dot product the last passScale or passDot computed.
func (rp *rowPass[T]) dot() float64 {
	d := 0.0
	for _, v := range rp.dots {
		d += v
	}
	return d
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
	case passScale, passDot, passHalf:
		nb := len(rp.dots)
		for blk := i * nb / nw; blk < (i+1)*nb/nw; blk++ {
			lo, hi := blk*dotRows*n, min(n, (blk+1)*dotRows)*n
			rp.dots[blk] = elementRows(rp.op, rp.s, rp.dst, rp.dst2, rp.src, rp.x, lo, hi)
		}
	}
}

// elementRows runs the elementwise passes on elements [lo, hi) and
// returns their share of the dot product (0 for passHalf).
func elementRows[T Float](op int, s float64, dst, dst2, src, x []T, lo, hi int) float64 {
	src = src[lo:hi]
	dot := 0.0
	switch op {
	case passScale:
		dst, x = dst[lo:hi], x[lo:hi]
		for i, v := range src {
			dst[i] = T(float64(v) * s)
			dot += float64(v) * float64(x[i])
		}
	case passDot:
		x = x[lo:hi]
		for i, v := range src {
			dot += float64(v) * float64(x[i])
		}
	case passHalf:
		dst, dst2 = dst[lo:hi], dst2[lo:hi]
		for i, v := range src {
			dst[i] = -0.5 * v
		}
		copy(dst2, dst)
	}
	return dot
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
