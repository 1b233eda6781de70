package cov

import (
	"sync"
	"sync/atomic"

	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/parallel"
)

// bwdPanelRows is the number of data-matrix rows one panel of the
// backward holds, as the forward's panelRows: the gathered rows and their
// product with M (2·256·576 float32 values, 1.2 MiB, for the paper's
// layer) stay in a 2 MiB L2 while the panel is scattered. 128 and 512
// measured no better side by side; below 128 the GEMM's packing of each
// panel starts to show.
const bwdPanelRows = 256

var bwdTransposed = true

// bwdRun is the state of one Backward call that its workers share. Runs
// are pooled, and body is bound once per run, so a call allocates neither
// a closure nor buffers.
//
// The work is split into units, each a contiguous range of kept samples
// (unitSamples of them, the last unit shorter). Units never write the
// same element of dx concurrently: flat samples read disjoint input
// values; grid units are bands of whole output rows, and when windows of
// consecutive rows overlap vertically the bands run in two phases (even
// bands, then odd), each band being tall enough that bands two apart touch
// disjoint input rows.
type bwdRun[T Float] struct {
	pl          *Plan
	dx, x       []T
	m           []T // nil when dcov is nil
	mBuf        []T
	shift, bias []T

	perPanel    int // most samples per panel
	unitSamples int
	units       int
	phases      int

	phase, phaseUnits int
	next              atomic.Int64
	mu                sync.Mutex
	firstErr          error
	body              func(lo, hi int)
}

// bwdWS is one worker's panel buffers, pooled across calls.
type bwdWS[T Float] struct {
	y, g []T
}

var bwdRunPools, bwdWSPools [2]sync.Pool

// bwdPoolIndex returns 0 for float32, 1 for float64.
func bwdPoolIndex[T Float]() int {
	var z T
	if _, ok := any(z).(float32); ok {
		return 0
	}
	return 1
}

func getBwdRun[T Float]() *bwdRun[T] {
	if r, ok := bwdRunPools[bwdPoolIndex[T]()].Get().(*bwdRun[T]); ok {
		return r
	}
	r := new(bwdRun[T])
	r.body = r.run
	return r
}

func putBwdRun[T Float](r *bwdRun[T]) { bwdRunPools[bwdPoolIndex[T]()].Put(r) }

// chooseUnits splits the plan's samples into units (see bwdRun).
func (r *bwdRun[T]) chooseUnits() {
	pl := r.pl
	r.perPanel = max(1, bwdPanelRows/pl.sub)
	r.phases = 1
	if pl.kind == flatKind {
		r.unitSamples = r.perPanel
		r.units = (pl.samples + r.unitSamples - 1) / r.unitSamples
		return
	}
	rows := pl.n * pl.oh // output rows of the whole batch, image after image
	bandRows := max(1, r.perPanel/pl.ow)
	if ext := (pl.kh-1)*pl.dilH + 1; ext > pl.stepH {
		// Output rows i and i+d of one image read disjoint input rows when
		// d·stepH ≥ ext, and bands two apart are bandRows+1 rows apart:
		// so bands of at least need rows (no overflow: ext fits an int).
		need := (ext - 1) / pl.stepH
		if need >= pl.oh || bandRows >= pl.oh {
			// Bands of whole images never share an input value: one phase.
			bandRows = max(1, bandRows/pl.oh) * pl.oh
		} else {
			bandRows = max(bandRows, need)
			r.phases = 2
		}
	}
	r.unitSamples = bandRows * pl.ow
	r.units = (rows + bandRows - 1) / bandRows
	if r.units == 1 {
		r.phases = 1
	}
}

// execute runs the phases one after another, each on at most the plan's
// workers.
func (r *bwdRun[T]) execute() error {
	r.firstErr = nil
	workers := parallel.Workers(r.pl.workers)
	for ph := 0; ph < r.phases; ph++ {
		r.phase = ph
		r.phaseUnits = (r.units - ph + r.phases - 1) / r.phases
		if r.phaseUnits <= 0 {
			continue
		}
		r.next.Store(0)
		w := min(workers, r.phaseUnits)
		parallel.For(w, w, r.body)
		if r.firstErr != nil {
			return r.firstErr
		}
	}
	return nil
}

// run is one worker's share: it claims units of the current phase until
// none are left.
func (r *bwdRun[T]) run(lo, hi int) {
	pool := &bwdWSPools[bwdPoolIndex[T]()]
	for range hi - lo {
		ws, _ := pool.Get().(*bwdWS[T])
		if ws == nil {
			ws = new(bwdWS[T])
		}
		err := r.work(ws)
		pool.Put(ws)
		if err != nil {
			r.mu.Lock()
			if r.firstErr == nil {
				r.firstErr = err
			}
			r.mu.Unlock()
		}
	}
}

// work processes units until none is left: each is cut into near-equal
// panels of at most perPanel samples, and each panel is gathered
// (centred), multiplied by M and scattered into dx.
func (r *bwdRun[T]) work(ws *bwdWS[T]) error {
	pl := r.pl
	F, G, width := pl.feats, pl.groups, pl.width
	var y, g []T
	if r.m != nil {
		y = grow(&ws.y, r.perPanel*width)
		g = grow(&ws.g, r.perPanel*width)
	}
	for {
		k := int(r.next.Add(1)) - 1
		if k >= r.phaseUnits {
			return nil
		}
		u := r.phase + k*r.phases
		s0 := u * r.unitSamples
		s1 := min(pl.samples, s0+r.unitSamples)
		np := (s1 - s0 + r.perPanel - 1) / r.perPanel
		per := (s1 - s0 + np - 1) / np
		for p0 := s0; p0 < s1; p0 += per {
			cnt := min(per, s1-p0)
			if r.m == nil {
				bwdScatter(pl, r.dx, nil, p0, cnt, r.bias)
				continue
			}
			bwdGather(pl, y, r.x, p0, cnt, r.shift)
			// M is symmetric, so the rows' gradients are the rows times M.
			// M is the right operand, which the GEMM reads in place.
			var err error
			if G == 1 {
				err = gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, cnt*pl.sub, F, F, 1, y, F, r.m, F, 0, g, F)
			} else {
				for gi := 0; gi < G && err == nil; gi++ {
					err = gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, cnt, F, F, 1, y[gi*F:], width, r.m[gi*F*F:], F, 0, g[gi*F:], width)
				}
			}
			if err != nil {
				return err
			}
			bwdScatter(pl, r.dx, g, p0, cnt, r.bias)
		}
	}
}
