package fold

import (
	"fmt"
	"math"
	"sync"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/im2col"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
)

// Backward computes the gradients of a loss with respect to the input
// (dx), the weights (dw) and the bias (db) of the convolution y = conv(x),
// given dy. Destinations that are nil are not computed; they are
// overwritten, not accumulated. db may be given for a layer without a
// bias (it is then the gradient of a bias the layer does not use).
//
// The work is split like the forward's: blocks of a few output rows of
// one image and group, whose patches are built in a cache-sized buffer;
// dW accumulates dy·patchesᵀ per worker. dx of a stride-1 convolution
// is the forward convolution of dy with the flipped, channel-swapped
// weights (backward_dx.go); otherwise it is Wᵀ·dy scattered back onto
// the input (the adjoint of im2col), blocks of even and odd index in two
// passes so that no two workers add into the same pixel.
//
// Errors: the forward's shape errors (dy has the output's shape),
// deconv.ErrShape for a destination of the wrong length,
// deconv.ErrOverlap for one that shares memory with another or with x,
// dy, deconv.ErrNonFinite for a NaN or infinity in dy or x, or a gradient
// that overflows. Like Forward, it may run concurrently with other calls
// on the layer.
func (c *Conv2d[T]) Backward(dx, dw, db, dy, x []T, n, h, w int) error {
	oh, ow, err := c.checkForward(dy, x, n, h, w)
	if err != nil {
		return err
	}
	if err := c.checkBackward(dx, dw, db, dy, x); err != nil {
		return err
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	return c.backward(dx, dw, db, dy, x, n, h, w, oh, ow, c.p.Load().weight, c.Workers, true)
}

// checkBackward checks the destinations of a backward whose dy and x are
// validated.
func (c *Conv2d[T]) checkBackward(dx, dw, db, dy, x []T) error {
	g := c.geom
	if err := checkDest(dx, len(x), "input gradient"); err != nil {
		return err
	}
	if err := checkDest(dw, g.WeightLen(), "weight gradient"); err != nil {
		return err
	}
	if err := checkDest(db, g.OutChannels, "bias gradient"); err != nil {
		return err
	}
	return checkNoOverlap([][]T{dx, dw, db}, [][]T{dy, x})
}

// backPools hold the backward workspaces, per element type: they are not
// tied to one layer, since a plan is looked up by geometry and shape.
var backPool32, backPool64 sync.Pool

func backPool[T Float]() *sync.Pool {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return &backPool32
	}
	return &backPool64
}

// convBackWork is one backward call's workspace: im2col plans of the last
// few geometries and shapes, per-worker accumulators and the run state.
type convBackWork[T Float] struct {
	plans [planCache]struct {
		plan *im2col.Plan
		g    ConvGeom
		h, w int
	}
	next int
	run  convBackRun[T]
}

func (wk *convBackWork[T]) plan(g ConvGeom, h, w int) (*im2col.Plan, error) {
	for i := range wk.plans {
		if e := &wk.plans[i]; e.plan != nil && e.g == g && e.h == h && e.w == w {
			return e.plan, nil
		}
	}
	pl, err := im2col.NewPlan(im2col.Params{Batch: 1, Channels: g.InChannels / g.Groups, Height: h, Width: w, Layout: im2col.Unfold,
		Geometry: g.Geometry})
	if err != nil {
		return nil, fmt.Errorf("convolution of a %d×%d input: %w", h, w, err)
	}
	e := &wk.plans[wk.next]
	e.plan, e.g, e.h, e.w = pl, g, h, w
	wk.next = (wk.next + 1) % planCache
	return pl, nil
}

// convBackRun is the state one backward shares with its workers; its
// bodies are bound once, so a backward allocates nothing.
type convBackRun[T Float] struct {
	geom                  ConvGeom
	plan                  *im2col.Plan
	dx, dw, dy, x, weight []T // weight: Wᵀ per group (feats × coutg), when dx is wanted
	n, h, w, oh, ow       int
	rowsPer, chunks, ld   int
	slots, phase, step    int       // step: 2 phases (even and odd blocks) when dx is scattered, else 1
	acc                   []T       // dWᵀ accumulators (per group Features × OutChannels/Groups), one per slot
	dbAcc                 []float64 // per slot, OutChannels sums of dy
	wantDB                bool
	shifted               bool         // dW by shifted windows (backward_dw.go)
	offs                  []int        // the taps' pixel offsets on the padded grid, when shifted
	dwSlots               []*dwSlot[T] // per slot, when shifted
	fam                   isa.Family   // the kernel family of the call
	finite                gather.FiniteFunc[T]
	fe                    firstError
	body, clearBody       func(lo, hi int)
	checkBody             func(lo, hi int)
}

// backward runs the validated backward with the given weights on workers
// goroutines (0: the process default). checkDx asks for dx to be checked
// for NaN and infinities; a caller that adds more into dx and checks it
// afterwards passes false and saves a pass over it.
func (c *Conv2d[T]) backward(dx, dw, db, dy, x []T, n, h, w, oh, ow int, weight []T, workers int, checkDx bool) error {
	g := c.geom
	pool := backPool[T]()
	wk, _ := pool.Get().(*convBackWork[T])
	if wk == nil {
		wk = new(convBackWork[T])
		r := &wk.run
		r.body, r.clearBody, r.checkBody = r.items, r.clearDx, r.checkDx
	}
	defer pool.Put(wk)
	pl, err := wk.plan(g, h, w)
	if err != nil {
		return err
	}
	workers = parallel.Workers(workers)
	// dx by the forward engine runs after the pass below, which checks dy.
	fwdDx := dx != nil && !c.scatterDx && g.dxByForward()
	dxFwd := dx
	if fwdDx {
		dx = nil
	}
	r := &wk.run
	r.geom, r.plan, r.dx, r.dw, r.dy, r.x, r.weight = g, pl, dx, dw, dy, x, weight
	r.n, r.h, r.w, r.oh, r.ow = n, h, w, oh, ow
	// Blocks of rows as the forward's, but at least as tall as the kernel's
	// reach, so that blocks two apart scatter into disjoint input rows.
	halo := 0
	r.step = 1
	if dx != nil {
		halo, r.step = ((g.KernelH-1)*g.DilationH+g.StrideH-1)/g.StrideH, 2
	}
	r.rowsPer = max(1, halo, min(blockPositions/ow, (n*g.Groups*oh+4*workers-1)/(4*workers)))
	r.chunks = (oh + r.rowsPer - 1) / r.rowsPer
	r.ld = leadingDim(r.rowsPer * ow)
	r.slots = max(1, min(workers, n*g.Groups*r.chunks))
	r.wantDB = db != nil
	r.fam = isa.Selected()
	r.finite = gather.FiniteFor[T](r.fam)
	r.fe.err = nil
	r.shifted = shiftedFor(dw != nil && dx == nil && shiftedDW(g, ow), r.fam)
	if r.shifted {
		r.setShifted()
	}
	if dw != nil {
		acc := getScratch[T](r.slots * len(dw))
		defer putScratch(acc)
		r.acc = *acc
		clear(r.acc)
	}
	if r.wantDB {
		r.dbAcc = growF64(r.dbAcc, r.slots*g.OutChannels)
		clear(r.dbAcc)
	}
	if dx != nil {
		parallel.For(n*g.InChannels, workers, r.clearBody)
		// Wᵀ per group, once: the products dcols = Wᵀ·dy then pack a
		// contiguous operand instead of gathering W's columns per block.
		coutg, feats := g.OutChannels/g.Groups, g.Features()
		wt := getScratch[T](len(weight))
		defer putScratch(wt)
		for grp := 0; grp < g.Groups; grp++ {
			off := grp * coutg * feats
			gather.Transpose((*wt)[off:], coutg, weight[off:], feats, coutg, feats)
		}
		r.weight = *wt
	}
	for r.phase = 0; r.phase < r.step; r.phase++ {
		parallel.For(r.slots, r.slots, r.body)
	}
	err = r.fe.err
	if err == nil && dw != nil {
		sum := r.acc[:len(dw)]
		for s := 1; s < r.slots; s++ {
			for i, v := range r.acc[s*len(dw) : (s+1)*len(dw)] {
				sum[i] += v
			}
		}
		if r.shifted {
			unpermuteDW(dw, sum, g)
		} else {
			coutg, feats := g.OutChannels/g.Groups, g.Features()
			for grp := 0; grp < g.Groups; grp++ {
				off := grp * coutg * feats
				gather.Transpose(dw[off:], feats, sum[off:], coutg, feats, coutg)
			}
		}
		err = checkFinite(dw, "weight gradient")
	}
	if err == nil && r.wantDB {
		for co := range db {
			var s float64
			for k := 0; k < r.slots; k++ {
				s += r.dbAcc[k*g.OutChannels+co]
			}
			db[co] = T(s)
		}
		err = checkFinite(db, "bias gradient")
	}
	if err == nil && fwdDx {
		err = c.dxForward(dxFwd, dy, n, h, w, oh, ow, weight, workers)
	}
	if err == nil && dx != nil && checkDx {
		parallel.For(n, workers, r.checkBody)
		err = r.fe.err
	}
	r.dx, r.dw, r.dy, r.x, r.weight, r.acc, r.fe.err = nil, nil, nil, nil, nil, nil, nil // keep no caller data alive
	return err
}

// growF64 returns s resized to n, reallocated only when it is too short.
func growF64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// clearDx zeroes the input-gradient planes [lo, hi).
func (r *convBackRun[T]) clearDx(lo, hi int) {
	hw := r.h * r.w
	clear(r.dx[lo*hw : hi*hw])
}

// checkDx checks the input gradient of images [lo, hi) for NaN and
// infinities.
func (r *convBackRun[T]) checkDx(lo, hi int) {
	per := r.geom.InChannels * r.h * r.w
	for img := lo; img < hi; img++ {
		if s := r.dx[img*per : (img+1)*per]; !r.finite(s) {
			r.fe.set(nonFinite(s, "input gradient", img*per))
			return
		}
	}
}

// items runs slots [lo, hi) of the current phase: slot s takes its share
// of the phase's blocks (image, group, block of rows of the phase's
// parity) and accumulates into its own dW and db sums.
func (r *convBackRun[T]) items(lo, hi int) {
	g := r.geom
	groups := g.Groups
	cg, coutg := g.InChannels/groups, g.OutChannels/groups
	feats := g.Features()
	L := r.oh * r.ow
	per := (r.chunks + r.step - 1 - r.phase) / r.step // blocks of this phase per image and group
	total := r.n * groups * per
	var buf, xn, dt *[]T
	if r.shifted {
		_, _, xnLen, dtLen := r.shiftedLayout()
		xn, dt = getScratch[T](xnLen), getScratch[T](dtLen)
		defer putScratch(xn)
		defer putScratch(dt)
	} else {
		buf = getScratch[T]((feats-1)*r.ld + r.rowsPer*r.ow)
		defer putScratch(buf)
	}
	for s := lo; s < hi; s++ {
		var acc []T
		if r.dw != nil {
			acc = r.acc[s*len(r.dw) : (s+1)*len(r.dw)]
		}
		for item := s * total / r.slots; item < (s+1)*total/r.slots; item++ {
			ig, k := item/per, item%per
			img, grp := ig/groups, ig%groups
			chunk := r.step*k + r.phase
			oh0, oh1 := chunk*r.rowsPer, min((chunk+1)*r.rowsPer, r.oh)
			width := (oh1 - oh0) * r.ow
			base := (img*g.OutChannels + grp*coutg) * L
			dyp := r.dy[base+oh0*r.ow:]
			for co := 0; co < coutg; co++ {
				row := dyp[co*L : co*L+width]
				// A float64 sum of finite values is finite unless
				// float64 values overflow it, so db's sum doubles as
				// the check; a non-finite sum of finite values (an
				// overflow of db) is reported by db's check later.
				var ok bool
				if r.wantDB {
					sum := rowSum(row)
					ok = (!math.IsNaN(sum) && !math.IsInf(sum, 0)) || r.finite(row)
					r.dbAcc[s*g.OutChannels+grp*coutg+co] += sum
				} else {
					ok = r.finite(row)
				}
				if !ok {
					r.fe.set(nonFinite(row, "output gradient", base+co*L+oh0*r.ow))
					return
				}
			}
			if r.shifted {
				if err := r.shiftedBand(r.dwSlots[s], acc[grp*coutg*feats:], *xn, *dt, img, grp, oh0, oh1); err != nil {
					r.fe.set(err)
					return
				}
			} else if r.dw != nil {
				src := r.x[(img*g.InChannels+grp*cg)*r.h*r.w:][:cg*r.h*r.w]
				if err := im2col.UnfoldBlock(r.plan, *buf, r.ld, src, 0, oh0, oh1); err != nil {
					r.fe.set(err)
					return
				}
				// dWᵀ += patches·dyᵀ rather than dW += dy·patchesᵀ: the
				// engine repacks its left operand for every panel of
				// columns of the right one, so the output channels go
				// right (the paper layer's 128 fit one panel, its 576
				// features would take two) and each operand is packed
				// once; the features also fill whole row micro-panels.
				if err := gemm.GemmDense(1, gemm.NoTrans, gemm.Trans, feats, coutg, width,
					1, *buf, r.ld, dyp, L, 1, acc[grp*coutg*feats:], coutg); err != nil {
					r.fe.set(err)
					return
				}
			}
			if r.dx != nil {
				if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, feats, width, coutg,
					1, r.weight[grp*coutg*feats:], coutg, dyp, L, 0, *buf, r.ld); err != nil {
					r.fe.set(err)
					return
				}
				dst := r.dx[(img*g.InChannels+grp*cg)*r.h*r.w:][:cg*r.h*r.w]
				scatterBlock(dst, *buf, r.ld, g, cg, r.h, r.w, oh0, oh1, r.ow)
			}
		}
	}
}

// scatterBlock is the adjoint of im2col.UnfoldBlock: it adds the patch
// block cols (row f = channel·KernelH·KernelW + tap, leading dimension
// ld, output rows [oh0, oh1) of width ow) back onto the cg input planes
// of h×w in dst, dropping what fell in the padding.
func scatterBlock[T Float](dst, cols []T, ld int, g ConvGeom, cg, h, w, oh0, oh1, ow int) {
	kk := g.KernelH * g.KernelW
	for ci := 0; ci < cg; ci++ {
		plane := dst[ci*h*w : (ci+1)*h*w]
		for ki := 0; ki < g.KernelH; ki++ {
			h0 := ki*g.DilationH - g.PadH
			for kj := 0; kj < g.KernelW; kj++ {
				w0 := kj*g.DilationW - g.PadW
				lo, hi := validSpan(w0, g.StrideW, ow, w)
				if lo >= hi {
					continue
				}
				row := cols[(ci*kk+ki*g.KernelW+kj)*ld:]
				for oh := oh0; oh < oh1; oh++ {
					y := h0 + oh*g.StrideH
					if y < 0 || y >= h {
						continue
					}
					seg := row[(oh-oh0)*ow:]
					gather.AddStrided(plane[y*w+w0+lo*g.StrideW:], seg[lo:hi], g.StrideW)
				}
			}
		}
	}
}

// rowSum returns the sum of s in float64, in four independent chains so
// that the additions' latency overlaps.
func rowSum[T Float](s []T) float64 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		e := s[i : i+4 : i+4]
		a += float64(e[0])
		b += float64(e[1])
		c += float64(e[2])
		d += float64(e[3])
	}
	for ; i < len(s); i++ {
		a += float64(s[i])
	}
	return (a + b) + (c + d)
}

// validSpan returns the output columns [lo, hi) of [0, out) whose input
// column start + o·step lies inside [0, in).
func validSpan(start, step, out, in int) (lo, hi int) {
	if start < 0 {
		lo = (-start + step - 1) / step
	}
	if start > in-1 {
		return 0, 0
	}
	hi = min(out, (in-1-start)/step+1)
	return lo, hi
}

// Backward is Conv2d.Backward for the fully-connected layer: dx = dy·W,
// dW = dyᵀ·x, db = Σ_rows dy, for batch rows. Destinations that are nil
// are not computed. Errors as Conv2d.Backward's.
func (l *Linear[T]) Backward(dx, dw, db, dy, x []T, batch int) error {
	if l.Workers < 0 {
		return fmt.Errorf("%w: %d workers", deconv.ErrParam, l.Workers)
	}
	if err := checkLinearShapes(dy, x, batch, l.in, l.out); err != nil {
		return err
	}
	if err := checkDest(dx, len(x), "input gradient"); err != nil {
		return err
	}
	if err := checkDest(dw, l.in*l.out, "weight gradient"); err != nil {
		return err
	}
	if err := checkDest(db, l.out, "bias gradient"); err != nil {
		return err
	}
	if err := checkNoOverlap([][]T{dx, dw, db}, [][]T{dy, x}); err != nil {
		return err
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	if err := checkFinite(dy, "output gradient"); err != nil {
		return err
	}
	return linearBackward(dx, dw, db, dy, x, batch, l.in, l.out, l.p.Load().weight, l.Workers)
}

// linearBackward computes the validated fully-connected backward and
// checks that the gradients are finite.
func linearBackward[T Float](dx, dw, db, dy, x []T, batch, in, out int, weight []T, workers int) error {
	threads := parallel.Workers(workers)
	if dx != nil {
		if err := gemm.GemmDense(threads, gemm.NoTrans, gemm.NoTrans, batch, in, out, 1, dy, out, weight, in, 0, dx, in); err != nil {
			return err
		}
		if err := checkFinite(dx, "input gradient"); err != nil {
			return err
		}
	}
	if dw != nil {
		if err := gemm.GemmDense(threads, gemm.Trans, gemm.NoTrans, out, in, batch, 1, dy, out, x, in, 0, dw, in); err != nil {
			return err
		}
		if err := checkFinite(dw, "weight gradient"); err != nil {
			return err
		}
	}
	if db != nil {
		acc := getScratch[float64](out)
		defer putScratch(acc)
		clear(*acc)
		for r := 0; r < batch; r++ {
			for j, v := range dy[r*out : (r+1)*out] {
				(*acc)[j] += float64(v)
			}
		}
		for j := range db {
			db[j] = T((*acc)[j])
		}
		return checkFinite(db, "bias gradient")
	}
	return nil
}
