package isqrt

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/parallel"
)

// How InvSqrtBatch spreads its matrices. Whole matrices per goroutine, each
// with single-threaded products, keep every core busy with no goroutine
// waiting on another inside a product, and cost nothing per matrix beyond
// its arithmetic: that is how the bulk of a batch runs, in rounds of one
// matrix per goroutine. When the count is not a multiple of the
// goroutines, the matrices of the last, partial round would leave cores
// idle; if they are large enough (teamMinN) they run after the others, one
// at a time, each with its products split over all the goroutines, as a
// single InvSqrt does. Smaller ones are dealt out like the rest: the
// imbalance is at most one small matrix.

// teamMinN is the size from which a matrix's products are worth splitting
// over several goroutines: the engine's own threshold for a second worker
// (about 2·10⁶ multiply-adds, 128³) is where a product pays for one.
const teamMinN = 128

// batchRun is one InvSqrtBatch call's parts for parallel.Run: part wi
// computes matrices [wi·count/workers, (wi+1)·count/workers) on worker
// wi's workspace. It lives in the Plan, so a call allocates nothing.
type batchRun[T Float] struct {
	p              *Plan[T]
	dst, a         []T
	count, workers int
	res            []Result
	errs           []error
}

// RunPart computes part wi's matrices (parallel.Parts).
func (b *batchRun[T]) RunPart(wi int) {
	w := b.p.ws[wi]
	for i := wi * b.count / b.workers; i < (wi+1)*b.count/b.workers; i++ {
		b.one(w, i)
	}
}

// one computes matrix i on workspace w, recording its Result and error.
func (b *batchRun[T]) one(w *work[T], i int) {
	nn := b.p.n * b.p.n
	w.gm = b.p.gradMatFor(i)
	r, err := w.run(b.p, b.dst[i*nn:(i+1)*nn], b.a[i*nn:(i+1)*nn])
	if err != nil {
		err = fmt.Errorf("matrix %d: %w", i, err)
	}
	// The trace buffer is per worker; each matrix keeps a copy.
	if r.Trace != nil {
		r.Trace = append([]float64(nil), r.Trace...)
	}
	b.res[i], b.errs[i] = r, err
}

// batch is InvSqrtBatch after the argument checks.
func (p *Plan[T]) batch(dst, a []T, count int) ([]Result, error) {
	if cap(p.results) < count {
		p.results = make([]Result, count)
	}
	b := &p.bt
	if cap(b.errs) < count {
		b.errs = make([]error, count)
	}
	*b = batchRun[T]{p: p, dst: dst, a: a, count: count, res: p.results[:count], errs: b.errs[:count]}
	defer func() { b.p, b.dst, b.a = nil, nil, nil }() // no reference to caller memory kept
	p.gradBegin(count)
	threads := parallel.Workers(p.opt.Workers)
	// Matrices [0, dealt) are dealt out whole; the rest run one at a
	// time on all the goroutines.
	dealt := count
	if threads > 1 && p.n >= teamMinN {
		dealt = count - count%threads
	}
	if dealt > 0 {
		b.count, b.workers = dealt, min(threads, dealt)
		perProduct := 1
		if b.workers == 1 {
			perProduct = threads // one matrix: all the goroutines for its products
		}
		for wi := range b.workers {
			p.worker(wi).setThreads(perProduct)
		}
		parallel.Run(b, b.workers)
	}
	if dealt < count {
		w := p.worker(0)
		w.setThreads(threads)
		for i := dealt; i < count; i++ {
			b.one(w, i)
		}
	}
	var first error
	for _, err := range b.errs[:count] {
		if err != nil {
			first = err
			break
		}
	}
	p.gradEnd(first)
	return b.res, first
}
