package cov

import (
	"fmt"
	"github.com/netdeconv/deconv"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
)

// Blocking of the fused im2col + SYRK. A worker gathers a panel of about
// panelRows rows (shifted by the shift estimate) straight into the
// micro-kernels' packed layout, which stays in L2 (256 rows × 576 float32
// features: about 590 KiB; grouped covariances are cut into column
// blocks of whole groups, see panels.go), multiplies it into a float32
// (or float64) partial on its own goroutine, and every flushRows rows
// adds that partial into float64 sums. So no
// element of the partial accumulates more than flushRows products in the
// input's precision, whatever the batch size: the error bound depends on
// flushRows, not on the number of rows (see the package documentation).
const (
	panelRows = 256
	flushRows = 4096
	// shiftSamples windows, in shiftRuns runs spread evenly over the
	// batch, give the shift estimate; its error is about σ/√shiftSamples
	// per feature, which costs nothing measurable in the centring (a
	// factor 1 + 1/512 on the error bound).
	shiftSamples = 512
	shiftRuns    = 8
)

// moments are one batch's statistics: per matrix, the count, the mean
// and the centred cross-product sums M2 = Σ (x−μ)(x−μ)ᵀ (full, symmetric).
type moments struct {
	n    float64
	mean []float64 // groups·F
	m2   []float64 // groups·F·F
	// ChannelDeconv's rest: count, mean, Σ (x−mean)².
	restN, restMean, restM2 float64
}

// workspace is one worker's buffers, pooled across calls.
type workspace[T Float] struct {
	y, part    []T
	s64, sum64 []float64 // sum64: per gathered column, folded by the caller

	// The panel path's column tables and micro-kernel (its panels are y).
	off, kj, jlo, jhi []int
	strips            []gather.Strip
	classes           []stripClass
	masks             []uint16
	stripSums         []float64
	ybar              []float64 // a unit's feature means (finalRun.direct)
	ps                gemm.Panels[T]
}

var wsPools [2]sync.Pool

// batchRun is the state of one batchMoments call that its workers share.
// Runs are pooled, and body is bound once per run, so a call allocates
// neither a closure nor buffers.
type batchRun[T Float] struct {
	pl                           *Plan
	x, shift                     []T
	perPanel, chunks, groupFeats int
	nPanels                      int // the batch's panels, spread over the chunks
	next                         atomic.Int64

	mu       sync.Mutex
	firstErr error
	tot      workspace[float64] // the float64 sums partials are added into
	body     func(lo, hi int)

	// The panel path (panels set): the kernel family, the column blocks,
	// and whether each unit owns its matrices' totals (one chunk).
	panels                       bool
	fam                          isa.Family
	blocks, blockCols, blockMats int
	exclusive                    bool
	// direct: exclusive units finalize their own matrices into Compute's
	// output (finalRun.direct); the float64 totals are not used.
	direct bool
	ps     gemm.Panels[T] // decides fam

	fin finalRun[T] // the closing pass, split over the workers
}

var runPools [2]sync.Pool

// testHookWorker, when set (by tests only), is called by every worker of
// a batch as it starts, on its own goroutine.
var testHookWorker func()

// testForceDense, when set (by tests and benchmarks only), sends every
// batch down the dense path (gather, then gemm.SyrkDense), which otherwise
// serves only samples deeper than a panel.
var testForceDense bool

// testNoDirect, when set (by tests only), makes exclusive units add into
// the float64 totals as shared ones do, for comparison with
// finalRun.direct.
var testNoDirect bool

// testHookDirect, when set (by tests only), is called by every batch
// whose units finalize their matrices directly.
var testHookDirect func()

func getBatchRun[T Float]() *batchRun[T] {
	pool := &runPools[1]
	var z T
	if _, ok := any(z).(float32); ok {
		pool = &runPools[0]
	}
	if r, ok := pool.Get().(*batchRun[T]); ok {
		return r
	}
	r := new(batchRun[T])
	r.body = r.run
	r.fin.body = r.fin.run
	return r
}

func putBatchRun[T Float](r *batchRun[T]) {
	var z T
	if _, ok := any(z).(float32); ok {
		runPools[0].Put(r)
	} else {
		runPools[1].Put(r)
	}
}

// run is one worker's share: it claims chunks until none are left, then
// adds its partial sums into the run's totals.
func (r *batchRun[T]) run(lo, hi int) {
	if testHookWorker != nil {
		testHookWorker()
	}
	pl := r.pl
	s64, sum64 := r.tot.s64, r.tot.sum64
	for range hi - lo {
		ws, _ := poolFor[T]().Get().(*workspace[T])
		if ws == nil {
			ws = new(workspace[T])
		}
		var err error
		if r.panels {
			err = workPanels(r, ws)
		} else {
			err = work(pl, r.x, r.shift, ws, r.perPanel, r.nPanels, r.chunks, &r.next)
		}
		r.mu.Lock()
		if err != nil && r.firstErr == nil {
			r.firstErr = err
		}
		for i, v := range ws.s64 {
			s64[i] += v
		}
		// Column sums fold into their matrix's features: blocks that
		// share a covariance add up.
		for t, v := range ws.sum64 {
			sum64[t%r.groupFeats] += v
		}
		r.mu.Unlock()
		poolFor[T]().Put(ws)
	}
}

// shiftWS holds estimateShift's buffers and the state its workers share,
// pooled across calls; body is bound once, so a call allocates nothing.
type shiftWS[T Float] struct {
	zero, rows, shift []T
	tot, per          []float64

	pl           *Plan
	x            []T
	runLen, runs int
	rowRuns      bool // runs are whole output rows, spread over the batch's
	body         func(lo, hi int)
}

// shiftColsPerWorker is the fewest gathered columns estimateShift hands
// to a worker of its own.
const shiftColsPerWorker = 256

// run gathers every run of windows for columns [lo, hi) into the sums.
func (sw *shiftWS[T]) run(lo, hi int) {
	pl := sw.pl
	for i := 0; i < sw.runs; i++ {
		s0 := i * (pl.samples - sw.runLen) / max(1, sw.runs-1)
		if sw.rowRuns {
			s0 = i * (pl.samples/pl.ow - 1) / max(1, sw.runs-1) * pl.ow
		}
		fillCols(pl, sw.x, s0, sw.runLen, sw.rows, sw.zero, sw.tot, lo, hi)
	}
}

var shiftPools [2]sync.Pool

func getShiftWS[T Float]() *shiftWS[T] {
	pool := &shiftPools[1]
	var z T
	if _, ok := any(z).(float32); ok {
		pool = &shiftPools[0]
	}
	if w, ok := pool.Get().(*shiftWS[T]); ok {
		return w
	}
	return new(shiftWS[T])
}

func putShiftWS[T Float](w *shiftWS[T]) {
	var z T
	if _, ok := any(z).(float32); ok {
		shiftPools[0].Put(w)
	} else {
		shiftPools[1].Put(w)
	}
}

func poolFor[T Float]() *sync.Pool {
	var z T
	if _, ok := any(z).(float32); ok {
		return &wsPools[0]
	}
	return &wsPools[1]
}

func grow[E any](buf *[]E, n int) []E {
	if cap(*buf) < n {
		*buf = make([]E, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// batchMoments computes the statistics of one batch x into m (whose
// slices it sizes), or, when out is not nil and the plan has neither a
// rest nor the uncentred quirk, straight into out's mean and covariance
// (m is then unused): Compute's path, which skips the float64 matrices a
// mergeable accumulator needs.
func batchMoments[T Float](pl *Plan, x []T, m *moments, out *finalOut[T]) error {
	if len(x) != pl.srcLen {
		return fmt.Errorf("%w: input has %d values, the plan needs %d", deconv.ErrShape, len(x), pl.srcLen)
	}
	F, G := pl.feats, pl.groups
	sw := getShiftWS[T]()
	defer putShiftWS(sw)
	shift := estimateShift(pl, x, sw)

	// Panels of whole samples; chunks of whole panels are the work units.
	perPanel := max(1, panelRows/pl.rowsPerSample())
	panels := (pl.samples + perPanel - 1) / perPanel
	chunks := chunkCount(panels, max(1, flushRows/(perPanel*pl.rowsPerSample())))

	r := getBatchRun[T]()
	defer putBatchRun(r)
	// The panel path, unless a sample alone is deeper than a panel (a
	// linear layer cut into very many short chunks), where the panels'
	// lanes would multiply its memory.
	units := chunks
	r.panels = pl.sub <= panelRows && !testForceDense
	r.exclusive = false
	if r.panels {
		ps := &r.ps
		ps.Init()
		r.fam = ps.Family()
		var z T
		K := perPanel * pl.sub
		r.blockCols, r.blockMats = blockLayout(pl, ps.Len(F, K)*int(unsafe.Sizeof(z)))
		r.blocks = (pl.width + r.blockCols - 1) / r.blockCols
		r.exclusive = chunks == 1
		units = r.blocks * chunks
	}
	workers := min(parallel.Workers(pl.workers), units)
	// Compute's path with exclusive units: each unit's partials are its
	// matrices' whole sums, so it finalizes them itself (while they are
	// in cache), and the float64 totals are never filled nor read.
	r.direct = r.exclusive && out != nil && pl.rest == 0 && !pl.uncentred && !testNoDirect
	if r.direct {
		r.fin.out, r.fin.n = *out, float64(pl.Rows())
		if testHookDirect != nil {
			testHookDirect()
		}
	}
	tot := &r.tot
	s64, sum64 := tot.s64[:0], grow(&tot.sum64, G*F)
	if !r.direct {
		s64 = grow(&tot.s64, G*F*F)
	}
	if !r.exclusive {
		// Exclusive units store each matrix's upper triangle once, so
		// only shared totals need zeros.
		clear(s64)
	}
	clear(sum64)
	r.pl, r.x, r.shift = pl, x, shift
	r.perPanel, r.chunks, r.groupFeats = perPanel, chunks, G*F
	r.nPanels = panels
	r.firstErr = nil
	r.next.Store(0)
	parallel.For(workers, workers, r.body)
	r.pl, r.x = nil, nil // do not keep the caller's data alive in the pool
	r.fin.out = finalOut[T]{}
	firstErr := r.firstErr
	if firstErr != nil || r.direct {
		return firstErr
	}

	// Exact correction for the shift: with y = x − s and ȳ = Σy/n,
	// μ = s + ȳ and Σ(x−μ)(x−μ)ᵀ = Σ yyᵀ − n·ȳȳᵀ. The subtraction cancels
	// little because the shift estimate leaves ȳ small next to σ.
	n := float64(pl.Rows())
	if out != nil && pl.rest == 0 && !pl.uncentred {
		return r.fin.finalize(out, pl, n, s64, sum64, shift)
	}
	m.n = n
	m.mean = grow(&m.mean, G*F)
	m.m2 = grow(&m.m2, G*F*F)
	for g := 0; g < G; g++ {
		ybar := sum64[g*F : (g+1)*F]
		for j := range ybar {
			ybar[j] /= n
			m.mean[g*F+j] = float64(shift[g*F+j]) + ybar[j]
		}
		s, c := s64[g*F*F:(g+1)*F*F], m.m2[g*F*F:(g+1)*F*F]
		// In tiles, so that the mirrored writes down columns stay in L1.
		const tb = 32
		for i0 := 0; i0 < F; i0 += tb {
			for j0 := i0; j0 < F; j0 += tb {
				for i := i0; i < min(F, i0+tb); i++ {
					yi := n * ybar[i]
					for j := max(i, j0); j < min(F, j0+tb); j++ {
						v := s[i*F+j] - yi*ybar[j]
						c[i*F+j], c[j*F+i] = v, v
					}
				}
			}
		}
	}
	m.restN, m.restMean, m.restM2 = 0, 0, 0
	if pl.rest > 0 {
		return restMoments(pl, x, m)
	}
	return nil
}

// rowsPerSample is the number of covariance rows one kept window gives.
func (pl *Plan) rowsPerSample() int { return pl.sub }

// work is one worker's loop: it claims chunks of panels until none is
// left, accumulating into ws.s64 (upper triangles) and ws.sum64.
func work[T Float](pl *Plan, x, shift []T, ws *workspace[T], perPanel, panels, chunks int, next *atomic.Int64) error {
	F, G, width := pl.feats, pl.groups, pl.width
	y := grow(&ws.y, perPanel*width)
	part := grow(&ws.part, G*F*F)
	s64 := grow(&ws.s64, G*F*F)
	sum := grow(&ws.sum64, width)
	clear(s64)
	clear(sum)
	for {
		ci := int(next.Add(1)) - 1
		if ci >= chunks {
			return nil
		}
		s0, s1 := chunkSamples(ci, chunks, panels, perPanel, pl.samples)
		var beta T // the chunk's first panel overwrites the partial
		for p0 := s0; p0 < s1; p0 += perPanel {
			cnt := min(perPanel, s1-p0)
			fill(pl, x, p0, cnt, y, shift, sum)
			var err error
			if G == 1 {
				err = gemm.SyrkDense(1, gemm.Upper, F, cnt*pl.sub, 1, y, F, beta, part, F)
			} else {
				for g := 0; g < G && err == nil; g++ {
					err = gemm.SyrkDense(1, gemm.Upper, F, cnt, 1, y[g*F:], width, beta, part[g*F*F:], F)
				}
			}
			if err != nil {
				return err
			}
			beta = 1
		}
		// Flush the chunk's partial into float64 and check it: a NaN or
		// ±Inf read from the data makes its square, hence the diagonal,
		// non-finite (so does a finite value whose square overflows T).
		for g := 0; g < G; g++ {
			p, s := part[g*F*F:(g+1)*F*F], s64[g*F*F:(g+1)*F*F]
			for i := 0; i < F; i++ {
				d := float64(p[i*F+i])
				if math.IsNaN(d) || math.IsInf(d, 0) {
					return fmt.Errorf("%w (or a square overflows %T): feature %d of matrix %d, samples %d…%d", deconv.ErrNonFinite, p[0], i, g, s0, s1-1)
				}
				pr, sr := p[i*F+i:(i+1)*F], s[i*F+i:(i+1)*F]
				for j, v := range pr {
					sr[j] += float64(v)
				}
			}
		}
	}
}

// chunkCount returns into how many chunks batchMoments cuts panels
// panels, perChunk of them at most in each: an even number of chunks, of
// whole panels and near-equal sizes (see chunkSamples). Workers claim the
// chunks one by one, and equal chunks with a short last one would leave
// one of two workers idle for up to a chunk at the end. The count does not
// depend on the workers, so neither do the partial sums.
func chunkCount(panels, perChunk int) int {
	chunks := (panels + perChunk - 1) / perChunk
	if chunks > 1 {
		chunks = min(panels, chunks+chunks%2) // no chunk empty
	}
	return chunks
}

// chunkSamples returns the samples s0 … s1−1 of chunk ci < chunks: the
// panels of perPanel samples (panels of them, the last one short) are
// spread evenly over the chunks, whose sizes then differ by one panel at
// most, and which hold no more panels than chunks of perChunk (the
// flushRows bound) would.
func chunkSamples(ci, chunks, panels, perPanel, samples int) (s0, s1 int) {
	// ci·panels/chunks without overflow: ci < chunks keeps the quotient
	// below panels.
	at := func(c int) int {
		hi, lo := bits.Mul64(uint64(c), uint64(panels))
		q, _ := bits.Div64(hi, lo, uint64(chunks))
		return int(q)
	}
	p0, p1 := at(ci), panels
	if ci+1 < chunks {
		p1 = at(ci + 1)
	}
	return p0 * perPanel, min(samples, p1*perPanel)
}

// fill gathers samples s0 … s0+cnt−1 into y (width values each, shifted)
// and adds them into sum.
//
// It works on runs of samples that read one image row (a row of output
// windows, or consecutive pixels of one image) and fills the run column
// by column. Reading sample by sample would touch every channel plane at
// the same offset, and planes a power of two apart (64 KiB for 128×128)
// fall into the same L1 and L2 sets and evict each other; column by column
// each image row is read front to back once, and the run's rows of y stay
// in L1.
func fill[T Float](pl *Plan, x []T, s0, cnt int, y, shift []T, sum []float64) {
	fillCols(pl, x, s0, cnt, y, shift, sum, 0, pl.width)
}

// fillCols is fill for columns tlo … thi−1 only (all of them with flat
// sampling); the other columns of y are left as they were.
func fillCols[T Float](pl *Plan, x []T, s0, cnt int, y, shift []T, sum []float64, tlo, thi int) {
	width := pl.width
	chw := pl.c * pl.h * pl.w
	if pl.kind == flatKind {
		hw := pl.h * pl.w
		for i := 0; i < cnt; {
			p := (s0 + i) * pl.step
			cc, r := p/pl.flatNHW, p%pl.flatNHW
			q := r % hw
			base := cc*hw + r/hw*chw + q
			seg := 1
			if pl.step < hw {
				seg = min(cnt-i, (hw-1-q)/pl.step+1)
			}
			if seg == 1 {
				gatherFast(y[i*width:(i+1)*width], x[base:], pl.off, shift, sum)
			} else {
				for t, o := range pl.off {
					sum[t] += stridedRun(y[i*width+t:], width, x[base+o:], pl.step, seg, shift[t])
				}
			}
			i += seg
		}
		return
	}
	l := pl.oh * pl.ow
	n, r := s0/l, s0%l
	oy, ox := r/pl.ow, r%pl.ow
	for i := 0; i < cnt; {
		seg := min(cnt-i, pl.ow-ox)
		gatherRow(pl, y[i*width:], seg, x[n*chw:(n+1)*chw], oy, ox, shift, sum, tlo, thi)
		i += seg
		if ox += seg; ox == pl.ow {
			ox = 0
			if oy++; oy == pl.oh {
				oy = 0
				n++
			}
		}
	}
}

// gatherRow fills seg consecutive windows of output row oy, from column
// ox0, of one image: column t (tlo ≤ t < thi) of window j is
// img[channel][iy][ix0 + j·step] (zero outside the image) minus shift[t].
func gatherRow[T Float](pl *Plan, dst []T, seg int, img []T, oy, ox0 int, shift []T, sum []float64, tlo, thi int) {
	width, step := pl.width, pl.stepW
	for t := tlo; t < thi; t++ {
		s := shift[t]
		iy := oy*pl.stepH - pl.padH + pl.dy[t]
		if uint(iy) >= uint(pl.h) {
			for j := 0; j < seg; j++ {
				dst[j*width+t] = -s
			}
			sum[t] -= float64(s) * float64(seg)
			continue
		}
		row := img[pl.coff[t]+iy*pl.w : pl.coff[t]+(iy+1)*pl.w]
		ix0 := ox0*step - pl.padW + pl.dx[t]
		// Windows jlo … jhi−1 read inside the row; the others read padding.
		jlo := 0
		if ix0 < 0 {
			jlo = min(seg, (-ix0-1)/step+1) // ⌈−ix0/step⌉ without overflow
		}
		jhi := jlo
		if ix0 < pl.w {
			jhi = max(jlo, min(seg, (pl.w-1-ix0)/step+1))
		}
		for j := 0; j < jlo; j++ {
			dst[j*width+t] = -s
		}
		for j := jhi; j < seg; j++ {
			dst[j*width+t] = -s
		}
		sum[t] -= float64(s) * float64(seg-(jhi-jlo))
		if jhi > jlo {
			sum[t] += stridedRun(dst[jlo*width+t:], width, row[ix0+jlo*step:], step, jhi-jlo, s)
		}
	}
}

// stridedRun computes, for j < cnt,
//
//	dst[j·ld] = src[j·step] − s
//
// and returns the sum of the stored values in float64. Four accumulators
// keep the additions off one dependency chain.
func stridedRun[T Float](dst []T, ld int, src []T, step, cnt int, s T) float64 {
	// The two checks bound every access below, which then go through
	// pointers: indexing would cost a multiply and a check per element.
	// (Addresses are formed only for elements that exist, as the rules
	// for unsafe.Pointer arithmetic require.)
	_ = dst[(cnt-1)*ld]
	_ = src[(cnt-1)*step]
	sz := unsafe.Sizeof(s)
	dl, sl := uintptr(ld)*sz, uintptr(step)*sz
	pd0, ps0 := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
	var total float64
	// Blocks of at most 64 values are summed in T, then in float64, so
	// no T sum rounds over more than 16 values.
	for j0 := 0; j0 < cnt; j0 += 64 {
		n := j0 + min(64, cnt-j0)
		var a0, a1, a2, a3 T
		j := j0
		for ; j+4 <= n; j += 4 {
			ps, pd := unsafe.Add(ps0, uintptr(j)*sl), unsafe.Add(pd0, uintptr(j)*dl)
			v0 := *(*T)(ps) - s
			v1 := *(*T)(unsafe.Add(ps, sl)) - s
			v2 := *(*T)(unsafe.Add(ps, 2*sl)) - s
			v3 := *(*T)(unsafe.Add(ps, 3*sl)) - s
			*(*T)(pd) = v0
			*(*T)(unsafe.Add(pd, dl)) = v1
			*(*T)(unsafe.Add(pd, 2*dl)) = v2
			*(*T)(unsafe.Add(pd, 3*dl)) = v3
			a0 += v0
			a1 += v1
			a2 += v2
			a3 += v3
		}
		for ; j < n; j++ {
			v := *(*T)(unsafe.Add(ps0, uintptr(j)*sl)) - s
			*(*T)(unsafe.Add(pd0, uintptr(j)*dl)) = v
			a0 += v
		}
		total += (float64(a0) + float64(a1)) + (float64(a2) + float64(a3))
	}
	return total
}

// gatherFast gathers one sample whose taps all lie in the image:
//
//	for t: dst[t] = src[off[t]] − shift[t];  sum[t] += dst[t]
//
// The sums are float64, which costs the loop one conversion and keeps
// the mean exact to float64 rounding whatever the number of rows.
func gatherFast[T Float](dst, src []T, off []int, shift []T, sum []float64) {
	dst, shift, sum = dst[:len(off)], shift[:len(off)], sum[:len(off)]
	for t, o := range off {
		v := src[o] - shift[t]
		dst[t] = v
		sum[t] += float64(v)
	}
}

// estimateShift returns, per gathered column, a cheap estimate of its
// block's feature mean, in T (so that x − shift is one rounding for the
// SYRK and the correction uses the very value subtracted). It reads
// shiftRuns runs of consecutive windows spread evenly over the batch: runs
// read image rows front to back, where isolated windows would each touch
// every channel plane (a cache miss per channel). Blocks that share a
// covariance share their shift.
func estimateShift[T Float](pl *Plan, x []T, sw *shiftWS[T]) []T {
	width, F := pl.width, pl.feats
	// At most an eighth of a batch (at least 64 windows): the estimate
	// needs few samples, and a small batch's gather is most of its cost.
	want := min(shiftSamples, max(64, pl.samples/8))
	runLen := min(pl.samples, want/shiftRuns)
	runs := min(shiftRuns, pl.samples/runLen)
	rowRuns := false
	if pl.kind == gridKind && runLen > pl.ow {
		// Output rows shorter than a run (small images): a run crossing
		// rows costs a pass over every column per row it touches, so the
		// runs are whole output rows, as many as give the same windows.
		rowRuns = true
		runLen = pl.ow
		runs = min(max(1, want/runLen), pl.samples/runLen)
	}
	zero := grow(&sw.zero, width)
	clear(zero)
	rows := grow(&sw.rows, runLen*width)
	tot := grow(&sw.tot, width)
	clear(tot)
	// Grid windows: the columns are split over the workers, each of which
	// reads every run for its columns, so each column's sum adds up in
	// the same order whatever the split (the shift, hence every result,
	// does not depend on the worker count). Parts of at least
	// shiftColsPerWorker columns: fewer do not repay the hand-off.
	workers := 1
	if pl.kind == gridKind {
		workers = min(parallel.Workers(pl.workers), max(1, width/shiftColsPerWorker))
	}
	sw.pl, sw.x, sw.rows, sw.zero, sw.tot = pl, x, rows, zero, tot
	sw.runLen, sw.runs, sw.rowRuns = runLen, runs, rowRuns
	if sw.body == nil {
		sw.body = sw.run
	}
	parallel.For(width, workers, sw.body)
	sw.pl, sw.x = nil, nil // keep no caller data alive in the pool
	m := float64(runs * runLen)
	shift := grow(&sw.shift, width)
	if pl.groups > 1 {
		for t := range shift {
			shift[t] = T(tot[t] / m)
		}
	} else {
		per := grow(&sw.per, F)
		clear(per)
		for t, v := range tot {
			per[t%F] += v
		}
		for t := range shift {
			shift[t] = T(per[t%F] / (m * float64(pl.sub)))
		}
	}
	// A non-finite estimate (non-finite data) would poison every sample;
	// the data check reports it, so the shift falls back to zero here.
	for t, v := range shift {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			shift[t] = 0
		}
	}
	return shift
}

// restMoments adds ChannelDeconv's scalar statistics of the channels
// beyond the last whole block: two passes in float64 over the sampled
// values (they are at most Block−1 channels). As in the reference, each
// image's (C−c)·H·W rest values are sampled on their own, every
// restStep-th from the image's first, and the samples of all images
// pooled.
func restMoments[T Float](pl *Plan, x []T, m *moments) error {
	hw, chw := pl.h*pl.w, pl.c*pl.h*pl.w
	per := pl.rest * hw // rest values of one image
	var n, s float64
	for img := 0; img < pl.n; img++ {
		vals := x[img*chw+pl.restC0*hw : img*chw+pl.restC0*hw+per]
		for j := 0; j < per; j += pl.restStep {
			s += float64(vals[j])
			n++
		}
	}
	mean := s / n
	var m2 float64
	for img := 0; img < pl.n; img++ {
		vals := x[img*chw+pl.restC0*hw : img*chw+pl.restC0*hw+per]
		for j := 0; j < per; j += pl.restStep {
			d := float64(vals[j]) - mean
			m2 += d * d
		}
	}
	if math.IsNaN(m2) || math.IsInf(m2, 0) {
		return fmt.Errorf("%w: in channels %d…%d", deconv.ErrNonFinite, pl.restC0, pl.c-1)
	}
	m.restN, m.restMean, m.restM2 = n, mean, m2
	return nil
}
