package fold

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/netdeconv/deconv"

	"github.com/netdeconv/deconv/im2col"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/mem"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
	"github.com/netdeconv/deconv/internal/winograd"
)

// ConvGeom is the geometry of a 2-D convolution layer, as torch.nn.Conv2d
// takes it: channels, the patch geometry per axis and groups. Stride,
// Dilation and Groups left at zero mean 1.
type ConvGeom struct {
	InChannels, OutChannels int
	deconv.Geometry
	Groups int
	// Algorithm chooses the direct, the Winograd or the blocked path
	// (see ConvAlgorithm); the zero value, ConvAuto, decides by shape.
	Algorithm ConvAlgorithm
}

// normalize fills defaults and validates the geometry.
func (g ConvGeom) normalize() (ConvGeom, error) {
	var err error
	if g.Geometry, err = g.Geometry.Normalize(); err != nil {
		return g, err
	}
	if g.Groups == 0 {
		g.Groups = 1
	}
	switch {
	case g.InChannels <= 0 || g.OutChannels <= 0:
		return g, fmt.Errorf("%w: channels %d→%d must be positive", deconv.ErrShape, g.InChannels, g.OutChannels)
	case g.Groups < 0:
		return g, fmt.Errorf("%w: %d groups", deconv.ErrParam, g.Groups)
	case g.InChannels%g.Groups != 0 || g.OutChannels%g.Groups != 0:
		return g, fmt.Errorf("%w: %d groups do not divide %d input and %d output channels", deconv.ErrParam, g.Groups, g.InChannels, g.OutChannels)
	}
	if _, ok := size.Mul(g.OutChannels, g.InChannels, g.KernelH, g.KernelW); !ok {
		return g, fmt.Errorf("%w: weight size overflows int", deconv.ErrOverflow)
	}
	if err := g.checkAlgorithm(); err != nil {
		return g, err
	}
	return g, nil
}

// Features returns the length of one output channel's weight row,
// InChannels/Groups·KernelH·KernelW.
func (g ConvGeom) Features() int { return g.InChannels / max(g.Groups, 1) * g.KernelH * g.KernelW }

// WeightLen returns the number of weights, OutChannels·Features().
func (g ConvGeom) WeightLen() int { return g.OutChannels * g.Features() }

// OutputSize returns the output height and width for an h×w input.
func (g ConvGeom) OutputSize(h, w int) (oh, ow int, err error) {
	if g, err = g.normalize(); err != nil {
		return 0, 0, err
	}
	return g.Geometry.OutputSize(h, w)
}

// Conv2d is a 2-D convolution (cross-correlation, as in PyTorch) of NCHW
// batches: stride, padding, dilation, groups (depthwise included) and an
// optional bias. The forward pass multiplies each group's weights by
// blocks of a few output rows' patches, built in a cache-sized buffer, so
// the whole im2col matrix never exists.
//
// Concurrency: Forward may be called from any number of goroutines at
// once (an inference server shares one folded model that way): the
// weights are immutable between SetWeights calls, and each call takes its
// per-shape plan and scratch from a pool, so a steady state allocates
// nothing. SetWeights may run concurrently with Forward too: it publishes
// new copies atomically, and each Forward uses either the old or the new
// weights, never a mix. Only the Workers field must not be written while
// calls are in progress.
type Conv2d[T Float] struct {
	geom ConvGeom
	p    atomic.Pointer[weights[T]]

	// Workers bounds the goroutines a forward pass uses; 0 means the
	// process default (deconv.SetThreads); negative values are ErrParam.
	Workers int

	works sync.Pool // *convWork[T]: per-call plans and run state

	dx        atomic.Pointer[Conv2d[T]] // the input gradient's convolution (backward_dx.go)
	scatterDx bool                      // tests: dx by the scatter path for every geometry

	wtile *winograd.Tile // the Winograd algorithm; nil: F(4,3) (tests set others)
}

// weights is one immutable set of a layer's weights and bias (nil: none),
// with the Winograd-transformed weights and the blocked path's packed
// weights when the layer may use them.
type weights[T Float] struct{ weight, bias, wino, blocked []T }

// NewConv2d returns a convolution with copies of weight (OutChannels ×
// InChannels/Groups × KernelH × KernelW) and bias (OutChannels values, or
// nil for none).
func NewConv2d[T Float](g ConvGeom, weight, bias []T) (*Conv2d[T], error) {
	g, err := g.normalize()
	if err != nil {
		return nil, err
	}
	c := &Conv2d[T]{geom: g}
	if err := c.SetWeights(weight, bias); err != nil {
		return nil, err
	}
	return c, nil
}

// Geom returns the layer's geometry with defaults filled in.
func (c *Conv2d[T]) Geom() ConvGeom { return c.geom }

// SetWeights replaces the weights and the bias (nil: no bias) with copies.
// The values are checked (lengths, finiteness) before anything changes;
// on error the layer keeps its weights. It is safe to call while Forward
// calls are in progress (see the type's documentation).
func (c *Conv2d[T]) SetWeights(weight, bias []T) error {
	p, err := newWeights(weight, bias, c.geom.WeightLen(), c.geom.OutChannels)
	if err != nil {
		return err
	}
	c.store(p)
	return nil
}

// newWeights validates and copies a weight and bias of the given lengths.
func newWeights[T Float](weight, bias []T, wLen, bLen int) (*weights[T], error) {
	if len(weight) != wLen {
		return nil, fmt.Errorf("%w: weight has %d values, want %d", deconv.ErrShape, len(weight), wLen)
	}
	if bias != nil && len(bias) != bLen {
		return nil, fmt.Errorf("%w: bias has %d values, want %d", deconv.ErrShape, len(bias), bLen)
	}
	if err := checkFinite(weight, "weight"); err != nil {
		return nil, err
	}
	if err := checkFinite(bias, "bias"); err != nil {
		return nil, err
	}
	p := &weights[T]{weight: append([]T(nil), weight...)}
	if bias != nil {
		p.bias = append([]T(nil), bias...)
	}
	return p, nil
}

// Weight returns a copy of the weights.
func (c *Conv2d[T]) Weight() []T { return append([]T(nil), c.p.Load().weight...) }

// Bias returns a copy of the bias, or nil when the layer has none.
func (c *Conv2d[T]) Bias() []T {
	if b := c.p.Load().bias; b != nil {
		return append([]T(nil), b...)
	}
	return nil
}

// blockPositions is the number of output positions whose patches one work
// item builds: 1024 positions of 576 features (a 3×3 kernel over 64
// channels) are 2.3 MiB of float32, which stays in the shared L3 cache
// between being written and being read by the product.
const blockPositions = 1024

// Forward computes dst = conv(x) + bias for the NCHW batch x of n images of
// h×w; dst receives n × OutChannels × oh × ow values (see OutputSize).
// It returns deconv.ErrNonFinite when x holds a NaN or an infinity, or
// when an output overflows (dst is then partly written).
func (c *Conv2d[T]) Forward(dst, x []T, n, h, w int) error {
	oh, ow, err := c.checkForward(dst, x, n, h, w)
	if err != nil {
		return err
	}
	p := c.p.Load()
	return c.forward(dst, x, n, h, w, oh, ow, p.weight, p.bias, c.Workers)
}

// checkForward validates a forward call's shapes and returns the output
// size.
func (c *Conv2d[T]) checkForward(dst, x []T, n, h, w int) (oh, ow int, err error) {
	g := c.geom
	if c.Workers < 0 {
		return 0, 0, fmt.Errorf("%w: %d workers", deconv.ErrParam, c.Workers)
	}
	if oh, ow, err = g.OutputSize(h, w); err != nil {
		return 0, 0, err
	}
	inLen, ok1 := size.Mul(n, g.InChannels, h, w)
	outLen, ok2 := size.Mul(n, g.OutChannels, oh, ow)
	if n <= 0 {
		return 0, 0, fmt.Errorf("%w: batch of %d images", deconv.ErrShape, n)
	}
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("%w: batch of %d images of %d×%d×%d", deconv.ErrOverflow, n, g.InChannels, h, w)
	}
	if len(x) != inLen {
		return 0, 0, fmt.Errorf("%w: input has %d values, %d×%d×%d×%d needs %d", deconv.ErrShape, len(x), n, g.InChannels, h, w, inLen)
	}
	if len(dst) != outLen {
		return 0, 0, fmt.Errorf("%w: output has %d values, needs %d", deconv.ErrShape, len(dst), outLen)
	}
	if mem.Overlap(dst[:outLen], x) {
		return 0, 0, fmt.Errorf("%w: the output overlaps the input", deconv.ErrOverlap)
	}
	return oh, ow, nil
}

// planCache is the number of input shapes whose im2col plans one pooled
// workspace keeps.
const planCache = 4

// convWork is one call's workspace: the im2col plans of the last few input
// shapes and the run state shared with the workers. Workspaces are pooled
// per layer, so concurrent calls each have their own and a steady state
// allocates nothing.
type convWork[T Float] struct {
	plans [planCache]struct {
		plan *im2col.Plan
		h, w int
	}
	next    int // the entry the next new shape replaces
	run     convRun[T]
	wino    winoRun[T]
	taps    tapsRun[T]
	blocked blockedRun[T]
}

// plan returns the workspace's im2col plan for an h×w input of the layer,
// building it on a miss.
func (wk *convWork[T]) plan(g ConvGeom, h, w int) (*im2col.Plan, error) {
	for i := range wk.plans {
		if e := &wk.plans[i]; e.plan != nil && e.h == h && e.w == w {
			return e.plan, nil
		}
	}
	pl, err := im2col.NewPlan(im2col.Params{Batch: 1, Channels: g.InChannels / g.Groups, Height: h, Width: w, Layout: im2col.Unfold,
		Geometry: g.Geometry})
	if err != nil {
		return nil, fmt.Errorf("convolution of a %d×%d input: %w", h, w, err)
	}
	e := &wk.plans[wk.next]
	e.plan, e.h, e.w = pl, h, w
	wk.next = (wk.next + 1) % planCache
	return pl, nil
}

// forward runs the convolution with the given weights and bias on
// workers goroutines (0: the process default), for inputs whose shapes
// are validated. The input's values are checked for NaN and infinities as
// they are read, and the outputs as they are written.
func (c *Conv2d[T]) forward(dst, x []T, n, h, w, oh, ow int, weight, bias []T, workers int) error {
	g := c.geom
	wk, _ := c.works.Get().(*convWork[T])
	if wk == nil {
		wk = new(convWork[T])
		wk.run.body = wk.run.items
		wk.wino.body = wk.wino.items
		wk.taps.body = wk.taps.items
		wk.blocked.body = wk.blocked.items
	}
	defer c.works.Put(wk)
	switch pathAt[T](g, oh, ow) {
	case pathWinograd:
		return c.forwardWinograd(wk, dst, x, n, h, w, oh, ow, weight, bias, workers)
	case pathBlocked:
		return c.forwardBlocked(wk, dst, x, n, h, w, oh, ow, weight, bias, workers)
	case pathTaps:
		return c.forwardTaps(wk, dst, x, n, h, w, oh, ow, weight, bias, workers)
	}
	pl, err := wk.plan(g, h, w)
	if err != nil {
		return err
	}
	workers = parallel.Workers(workers)
	r := &wk.run
	r.geom, r.plan, r.dst, r.x, r.weight, r.bias = g, pl, dst, x, weight, bias
	r.n, r.h, r.w, r.oh, r.ow = n, h, w, oh, ow
	// Rows of output per work item: about blockPositions positions, but
	// small enough that every worker gets several items.
	r.rowsPer = max(1, min(blockPositions/ow, (n*g.Groups*oh+4*workers-1)/(4*workers)))
	r.chunks = (oh + r.rowsPer - 1) / r.rowsPer
	r.ld = leadingDim(r.rowsPer * ow)
	r.finite = gather.FiniteFor[T](isa.Selected())
	r.fe.err = nil
	parallel.For(n*g.Groups*r.chunks, workers, r.body)
	err = r.fe.err
	r.dst, r.x, r.weight, r.bias, r.fe.err = nil, nil, nil, nil, nil // keep no caller data alive
	return err
}

// convRun is the state one forward shares with its workers. It lives in
// a pooled workspace, and its body is bound once, so a forward allocates
// nothing.
type convRun[T Float] struct {
	geom                 ConvGeom
	plan                 *im2col.Plan
	dst, x, weight, bias []T
	n, h, w, oh, ow      int
	rowsPer, chunks, ld  int
	finite               gather.FiniteFunc[T]
	fe                   firstError
	body                 func(lo, hi int)
}

// items computes work items [lo, hi): item (image, group, chunk) multiplies
// the group's weights by the patches of chunk's output rows, built in a
// pooled buffer, into dst, and checks the outputs it wrote while they are
// in cache.
func (r *convRun[T]) items(lo, hi int) {
	g := r.geom
	groups := g.Groups
	cg, coutg := g.InChannels/groups, g.OutChannels/groups
	feats := g.Features()
	L := r.oh * r.ow
	// feats whole rows: UnfoldBlock's table path writes the last row's
	// padding columns too.
	buf := getScratch[T](feats * r.ld)
	defer putScratch(buf)
	for item := lo; item < hi; item++ {
		img, rest := item/(groups*r.chunks), item%(groups*r.chunks)
		grp, chunk := rest/r.chunks, rest%r.chunks
		oh0, oh1 := chunk*r.rowsPer, min((chunk+1)*r.rowsPer, r.oh)
		width := (oh1 - oh0) * r.ow
		src := r.x[(img*g.InChannels+grp*cg)*r.h*r.w:][:cg*r.h*r.w]
		if chunk == 0 && !r.finite(src) {
			r.fe.set(nonFinite(src, "input", (img*g.InChannels+grp*cg)*r.h*r.w))
			return
		}
		if err := im2col.UnfoldBlock(r.plan, *buf, r.ld, src, 0, oh0, oh1); err != nil {
			r.fe.set(err)
			return
		}
		out := r.dst[(img*g.OutChannels+grp*coutg)*L+oh0*r.ow:]
		var beta T
		if r.bias != nil {
			for co := 0; co < coutg; co++ {
				fill(out[co*L:co*L+width], r.bias[grp*coutg+co])
			}
			beta = 1
		}
		if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, coutg, width, feats,
			1, r.weight[grp*coutg*feats:], feats, *buf, r.ld, beta, out, L); err != nil {
			r.fe.set(err)
			return
		}
		// Finite inputs and weights can still overflow in the products.
		for co := 0; co < coutg; co++ {
			if o := out[co*L : co*L+width]; !r.finite(o) {
				r.fe.set(nonFinite(o, "output", (img*g.OutChannels+grp*coutg+co)*L+oh0*r.ow))
				return
			}
		}
	}
}

// leadingDim pads a row length so that rows do not start a multiple of
// 1 KiB apart, which would map them to the same cache sets.
func leadingDim(n int) int {
	ld := (n + 15) &^ 15
	if ld%256 == 0 {
		ld += 16
	}
	return ld
}

// fill sets every element of s to v by doubling copies, which run as
// vectorised memmoves instead of a scalar store per element.
func fill[T Float](s []T, v T) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for n := 1; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}
