package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"

	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
	"github.com/netdeconv/deconv/isqrt"
)

// FastDeconvConfig holds the constructor arguments of the reference
// implementation's FastDeconv module, under the same names. Start from
// NewFastDeconvConfig, which fills the reference's defaults.
type FastDeconvConfig struct {
	InChannels, OutChannels int
	// Geometry is the convolution's kernel, stride, padding and dilation
	// per axis, as torch.nn.Conv2d takes them (the reference takes square
	// ones only; deconv.Square builds those).
	deconv.Geometry
	Groups int
	Bias   bool

	Eps            float64 // added to the covariance's diagonal
	NIter          int     // coupled Newton–Schulz iterations
	Momentum       float64 // running statistics: r ← (1−m)·r + m·batch
	Block          int     // requested block size B (adjusted as the reference does)
	SamplingStride int     // S; statistics use every S·Stride-th position
	Freeze         bool    // stop recomputing statistics after FreezeIter steps
	FreezeIter     int

	// Grouping of features into blocks when Groups = 1 and B < C: the
	// reference's deconv.Interleaved (default) or deconv.Contiguous channel
	// blocks. Buffers are only exchangeable between layers that agree.
	Grouping deconv.Grouping

	// Workers bounds the goroutines a forward pass uses; 0 means the
	// process default (deconv.SetThreads).
	Workers int

	// Algorithm chooses the convolution's path (see ConvAlgorithm); the
	// folded model inherits it.
	Algorithm ConvAlgorithm
}

// NewFastDeconvConfig returns the reference's defaults for a layer of
// in→out channels and a k×k kernel: stride 1, padding 0, dilation 1, one
// group, a bias, eps 1e-5, 5 iterations, momentum 0.1, block 64, sampling
// stride 3, no freezing (freeze_iter 100), interleaved grouping.
func NewFastDeconvConfig(in, out, kernel int) FastDeconvConfig {
	return FastDeconvConfig{
		InChannels: in, OutChannels: out, Geometry: deconv.Square(kernel, 1, 0, 1), Groups: 1, Bias: true,
		Eps: 1e-5, NIter: 5, Momentum: 0.1, Block: 64, SamplingStride: 3, FreezeIter: 100,
		Grouping: deconv.Interleaved,
	}
}

// FastDeconv is a convolution whose input is deconvolved (whitened
// pixel-wise and channel-wise) with statistics of the batch in training
// and running statistics in evaluation, all folded into the weights. It
// mirrors the reference implementation's FastDeconv: parameter and buffer
// names, shapes, defaults, the block rule, the momentum update (no copy on
// the first batch) and the freeze counter. Unlike the reference it works
// without a bias (the folded bias is then −Σ W'·μ), and it takes
// rectangular kernels, strides, paddings and dilations as
// torch.nn.Conv2d does (statistics windows every StrideH·S rows and
// StrideW·S columns; see cov.Params).
//
// A FastDeconv owns its workspaces and is not safe for concurrent use.
// Its methods that change the layer or use its workspaces (Forward,
// Folded, Train, SetWeights, SetRunningStats, SetCounter) claim the layer
// for the duration of the call and return deconv.ErrBusy when another
// such call is in progress, instead of racing; the accessors (Weight,
// RunningMean, Counter, ...) must not be called concurrently with them.
// Distinct layers may run concurrently.
//
// A call that returns an error leaves the layer exactly as it was:
// weights, running buffers, freeze counter and mode.
type FastDeconv[T Float] struct {
	cfg      FastDeconvConfig
	block    int // B after the reference's rule
	features int // F = KernelH·KernelW·B, the side of each covariance
	groups   int // covariance matrices: Groups, or 1

	conv *Conv2d[T]
	busy busyFlag

	runningMean   []T
	runningDeconv []T
	counter       int
	training      bool

	// Workspaces, reused from call to call.
	mean, covBuf, dm []T
	newMean          []T // the running mean being committed
	mom              momentumRun[T]
	wFolded, bFolded []T
	covPlan          *cov.Plan
	covN, covH, covW int
	isq              *isqrt.Plan[T]
	saved            fwdState[T] // what Backward differentiates
	grad             gradWork[T]
}

// validate checks every field of a FastDeconv configuration and returns
// the normalised convolution geometry, the block size B and F, before
// anything is allocated.
func (cfg FastDeconvConfig) validate() (g ConvGeom, block, F int, err error) {
	if err := checkCommon("FastDeconv", cfg.NIter, cfg.Momentum, cfg.Eps, cfg.Workers); err != nil {
		return g, 0, 0, err
	}
	switch {
	case cfg.SamplingStride <= 0 || cfg.Block < 0:
		return g, 0, 0, fmt.Errorf("%w: FastDeconv: sampling stride %d, block %d", deconv.ErrParam, cfg.SamplingStride, cfg.Block)
	case cfg.FreezeIter < 0 || cfg.Freeze && cfg.FreezeIter == 0:
		return g, 0, 0, fmt.Errorf("%w: FastDeconv: freeze %v after %d iterations", deconv.ErrParam, cfg.Freeze, cfg.FreezeIter)
	}
	if _, ok := size.Mul(10, cfg.FreezeIter); !ok {
		return g, 0, 0, fmt.Errorf("%w: FastDeconv: freeze_iter %d", deconv.ErrOverflow, cfg.FreezeIter)
	}
	if err := cfg.Grouping.Validate(); err != nil {
		return g, 0, 0, err
	}
	g, err = ConvGeom{InChannels: cfg.InChannels, OutChannels: cfg.OutChannels, Geometry: cfg.Geometry, Groups: cfg.Groups, Algorithm: cfg.Algorithm}.normalize()
	if err != nil {
		return g, 0, 0, err
	}
	_, ok1 := size.Mul(g.StrideH, cfg.SamplingStride)
	_, ok2 := size.Mul(g.StrideW, cfg.SamplingStride)
	if !ok1 || !ok2 {
		return g, 0, 0, fmt.Errorf("%w: FastDeconv: stride %d×%d times sampling stride %d", deconv.ErrOverflow, g.StrideH, g.StrideW, cfg.SamplingStride)
	}
	block = cov.BlockSize(g.InChannels, cfg.Block, g.Groups)
	if block == 0 {
		return g, 0, 0, fmt.Errorf("%w: block %d for %d channels", deconv.ErrParam, cfg.Block, g.InChannels)
	}
	F, ok := size.Mul(g.KernelH, g.KernelW, block)
	if !ok {
		return g, 0, 0, fmt.Errorf("%w: FastDeconv: %d×%d kernel over blocks of %d channels", deconv.ErrOverflow, g.KernelH, g.KernelW, block)
	}
	if err := checkFeatures("FastDeconv", F, g.Groups); err != nil {
		return g, 0, 0, err
	}
	return g, block, F, nil
}

// NewFastDeconv builds the layer in training mode with copies of weight
// (OutChannels × InChannels/Groups × KernelH × KernelW) and bias
// (OutChannels values; nil exactly when cfg.Bias is false). Running
// buffers start as the reference's: zero mean, identity deconvolution
// matrices.
//
// Every size is validated before anything is allocated: an invalid
// parameter (negative Workers, an unknown Grouping, a NaN eps or momentum,
// ...) is deconv.ErrParam, a covariance side F = KernelH·KernelW·B above
// MaxFeatures or a size that overflows int is deconv.ErrOverflow, weights
// of the wrong length deconv.ErrShape.
func NewFastDeconv[T Float](cfg FastDeconvConfig, weight, bias []T) (*FastDeconv[T], error) {
	g, block, F, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if cfg.Bias != (bias != nil) {
		return nil, fmt.Errorf("%w: Bias is %v but a bias of %d values was given", deconv.ErrParam, cfg.Bias, len(bias))
	}
	isq, err := isqrt.NewPlan[T](F, isqrt.Options{Iterations: cfg.NIter, Workers: cfg.Workers, Grad: true})
	if err != nil {
		return nil, fmt.Errorf("FastDeconv: %w", err)
	}
	conv, err := NewConv2d(g, weight, bias)
	if err != nil {
		return nil, err
	}
	conv.Workers = cfg.Workers
	cfg.Geometry, cfg.Groups = g.Geometry, g.Groups
	l := &FastDeconv[T]{cfg: cfg, conv: conv, training: true, block: block, features: F, groups: 1, isq: isq}
	if cfg.Groups > 1 {
		l.groups = cfg.Groups
	}
	l.runningMean = make([]T, l.groups*F)
	l.runningDeconv = make([]T, l.groups*F*F)
	for q := 0; q < l.groups; q++ {
		for i := 0; i < F; i++ {
			l.runningDeconv[q*F*F+i*F+i] = 1
		}
	}
	l.mean = make([]T, len(l.runningMean))
	l.newMean = make([]T, len(l.runningMean))
	l.covBuf = make([]T, len(l.runningDeconv))
	l.dm = make([]T, len(l.runningDeconv))
	l.wFolded = make([]T, g.WeightLen())
	// The folded layer always has a bias, b' = b − Σ W'·μ, even when the
	// layer has none.
	l.bFolded = make([]T, g.OutChannels)
	return l, nil
}

// Config returns the layer's configuration.
func (l *FastDeconv[T]) Config() FastDeconvConfig { return l.cfg }

// Block returns the block size B the layer uses (after the reference's
// rule), and NumFeatures F = KernelH·KernelW·B, the side of each
// covariance.
func (l *FastDeconv[T]) Block() int { return l.block }

// NumFeatures returns F = KernelH·KernelW·B (the reference's
// num_features).
func (l *FastDeconv[T]) NumFeatures() int { return l.features }

// Train switches the layer to training (true) or evaluation (false) mode.
// A new layer is in training mode, as a PyTorch module is. It returns
// deconv.ErrBusy, changing nothing, while another call is in progress.
func (l *FastDeconv[T]) Train(on bool) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	l.training = on
	l.busy.release()
	return nil
}

// Training reports whether the layer is in training mode.
func (l *FastDeconv[T]) Training() bool { return l.training }

// Counter returns the freeze counter (the reference's counter).
func (l *FastDeconv[T]) Counter() int { return l.counter }

// SetCounter sets the freeze counter, for restoring a saved layer. A
// negative value is deconv.ErrParam; deconv.ErrBusy while another call is
// in progress.
func (l *FastDeconv[T]) SetCounter(c int) error {
	if c < 0 {
		return fmt.Errorf("%w: counter %d", deconv.ErrParam, c)
	}
	if err := l.busy.acquire(); err != nil {
		return err
	}
	l.counter = c
	l.busy.release()
	return nil
}

// Weight returns a copy of the (unfolded) weights.
func (l *FastDeconv[T]) Weight() []T { return l.conv.Weight() }

// Bias returns a copy of the bias, or nil without one.
func (l *FastDeconv[T]) Bias() []T { return l.conv.Bias() }

// SetWeights replaces the weights and bias (nil exactly when the layer has
// no bias), after checking their lengths and finiteness.
func (l *FastDeconv[T]) SetWeights(weight, bias []T) error {
	if l.cfg.Bias != (bias != nil) {
		return fmt.Errorf("%w: the layer's Bias is %v", deconv.ErrParam, l.cfg.Bias)
	}
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	return l.conv.SetWeights(weight, bias)
}

// RunningMean returns a copy of running_mean: F values with one group, or
// KernelH·KernelW·InChannels (one F-vector per group) with groups.
func (l *FastDeconv[T]) RunningMean() []T { return append([]T(nil), l.runningMean...) }

// RunningDeconv returns a copy of running_deconv: F×F row-major with one
// group, or Groups matrices of F×F.
func (l *FastDeconv[T]) RunningDeconv() []T { return append([]T(nil), l.runningDeconv...) }

// SetRunningStats replaces running_mean and running_deconv (shapes as
// RunningMean and RunningDeconv return them), e.g. with buffers of a layer
// trained elsewhere. The values must be finite and every matrix symmetric
// positive definite, as an average of inverse square roots is
// (deconv.ErrNonFinite, deconv.ErrNotSymmetric,
// deconv.ErrNotPositiveDefinite); on error nothing changes.
func (l *FastDeconv[T]) SetRunningStats(mean, dm []T) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	if err := setRunning(l.runningMean, l.runningDeconv, mean, dm, l.features); err != nil {
		return err
	}
	// A Forward that used the old buffers is no longer differentiable.
	l.saved.ok = l.saved.ok && l.saved.batch
	return nil
}

// OutputSize returns the output height and width for an h×w input.
func (l *FastDeconv[T]) OutputSize(h, w int) (oh, ow int, err error) {
	return l.conv.Geom().OutputSize(h, w)
}

// blocking is how the layer's weight rows split into whitening blocks.
func (l *FastDeconv[T]) blocking() Blocking {
	return Blocking{Features: l.conv.Geom().Features(), Block: l.features, Grouping: l.cfg.Grouping}
}

// Forward computes the layer on the NCHW batch x of n images of h×w into
// dst (n × OutChannels × oh × ow). In training mode, unless frozen, it
// computes the batch's mean and covariance (windows every
// StrideH·S rows and StrideW·S columns), D = Cov^{-1/2} by coupled
// Newton–Schulz, and uses the batch statistics; otherwise it uses the
// running buffers. Either way the whitening is folded into the weights
// and one ordinary convolution runs. Only when all of that succeeded
// (finite input, statistics, D, folded weights and outputs) are the
// running buffers updated and the freeze counter advanced; on error the
// layer is unchanged and dst may be partly written.
func (l *FastDeconv[T]) Forward(dst, x []T, n, h, w int) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	oh, ow, err := l.conv.checkForward(dst, x, n, h, w)
	if err != nil {
		return err
	}
	l.saved.ok = false // the workspaces Backward reads are about to change
	frozen := l.cfg.Freeze && l.counter > l.cfg.FreezeIter
	counter := l.counter
	if l.training {
		// The reference counts every training step, frozen or not, and
		// wraps at 10·freeze_iter, so a frozen layer thaws again.
		counter++
		if l.cfg.FreezeIter > 0 {
			counter %= 10 * l.cfg.FreezeIter
		}
	}
	batch := l.training && !frozen
	mean, dm := l.runningMean, l.runningDeconv
	if batch {
		if err := l.batchStats(x, n, h, w); err != nil {
			return err
		}
		mean, dm = l.mean, l.dm
	}
	p := l.conv.p.Load()
	if err := foldWith(l.wFolded, l.bFolded, p.weight, p.bias, l.cfg.OutChannels, l.blocking(), dm, mean, l.groups, -1, l.cfg.Workers); err != nil {
		return err
	}
	if err := l.conv.forward(dst, x, n, h, w, oh, ow, l.wFolded, l.bFolded, l.cfg.Workers); err != nil {
		return err
	}
	if batch {
		// The new running buffers are built aside (covBuf is free once D
		// is computed) and checked before they replace the old ones.
		if err := momentumInto(l.newMean, l.runningMean, l.mean, l.cfg.Momentum); err != nil {
			return err
		}
		if err := l.mom.into(l.covBuf, l.runningDeconv, l.dm, l.cfg.Momentum, l.cfg.Workers); err != nil {
			return err
		}
		copy(l.runningMean, l.newMean)
		copy(l.runningDeconv, l.covBuf)
	}
	l.counter = counter
	l.saved = fwdState[T]{ok: true, batch: batch, shape: [4]int{n, h, w}, p: p}
	return nil
}

// batchStats computes the batch's mean and D = Cov^{-1/2} into l.mean and
// l.dm. It changes no state beyond those workspaces and the cached plan.
func (l *FastDeconv[T]) batchStats(x []T, n, h, w int) error {
	if l.covPlan == nil || l.covN != n || l.covH != h || l.covW != w {
		pl, err := cov.NewPlan(cov.Params{Batch: n, Channels: l.cfg.InChannels, Height: h, Width: w,
			Geometry: l.cfg.Geometry, Groups: l.cfg.Groups, Sampling: l.cfg.SamplingStride, Block: l.cfg.Block,
			Grouping: l.cfg.Grouping, Eps: l.cfg.Eps, Workers: l.cfg.Workers})
		if err != nil {
			return fmt.Errorf("FastDeconv statistics: %w", err)
		}
		l.covPlan, l.covN, l.covH, l.covW = pl, n, h, w
	}
	if err := cov.Compute(l.covPlan, l.mean, l.covBuf, x); err != nil {
		return fmt.Errorf("FastDeconv statistics: %w", err)
	}
	return invSqrt(l.isq, l.dm, l.covBuf, l.mean, l.groups)
}

// invSqrt computes D = Cov^{-1/2} of count matrices into dm, after
// checking that the statistics are finite (a float32 covariance of huge
// inputs overflows), and checks that D is finite.
func invSqrt[T Float](isq *isqrt.Plan[T], dm, covs, mean []T, count int) error {
	if err := checkFinite(mean, "batch mean"); err != nil {
		return err
	}
	if err := checkFinite(covs, "batch covariance"); err != nil {
		return err
	}
	var err error
	if count == 1 {
		_, err = isq.InvSqrt(dm, covs)
	} else {
		_, err = isq.InvSqrtBatch(dm, covs, count)
	}
	if err != nil {
		return fmt.Errorf("deconvolution matrix: %w", err)
	}
	return checkFinite(dm, "deconvolution matrix")
}

// Folded returns the plain convolution that computes what the layer
// computes in evaluation mode: weights W' and bias b' folded from the
// running buffers. Inference through it costs nothing for deconvolution,
// and it may be shared by any number of goroutines (see Conv2d).
// deconv.ErrNonFinite when the folded weights overflow.
func (l *FastDeconv[T]) Folded() (*Conv2d[T], error) {
	if err := l.busy.acquire(); err != nil {
		return nil, err
	}
	defer l.busy.release()
	g := l.conv.Geom()
	p := l.conv.p.Load()
	wf, bf := make([]T, g.WeightLen()), make([]T, g.OutChannels)
	if err := foldWith(wf, bf, p.weight, p.bias, g.OutChannels, l.blocking(), l.runningDeconv, l.runningMean, l.groups, -1, l.cfg.Workers); err != nil {
		return nil, err
	}
	c := &Conv2d[T]{geom: g, Workers: l.cfg.Workers}
	c.store(&weights[T]{weight: wf, bias: bf})
	return c, nil
}

// momentumRun is momentumInto split over the layer's goroutines: the
// running deconvolution matrix (F² values, 331 776 at F = 576) is the
// largest pass of the training forward after its products, and on one
// goroutine the others would wait for it.
type momentumRun[T Float] struct {
	dst, r, v []T
	m         T
	parts     int
}

// momentumMin is the length below which the update runs on the caller:
// under about 64 K values it takes less than handing it out costs.
const momentumMin = 1 << 16

// into is momentumInto(dst, r, v, momentum) on up to workers goroutines.
func (u *momentumRun[T]) into(dst, r, v []T, momentum float64, workers int) error {
	w := parallel.Workers(workers)
	if w <= 1 || len(v) < momentumMin {
		return momentumInto(dst, r, v, momentum)
	}
	*u = momentumRun[T]{dst: dst[:len(v)], r: r[:len(v)], v: v, m: T(momentum), parts: w}
	parallel.Run(u, w)
	*u = momentumRun[T]{} // no reference to the buffers kept
	return checkFinite(dst, "running statistics")
}

// RunPart updates part i's contiguous range (parallel.Parts), with the
// arithmetic of momentumInto.
func (u *momentumRun[T]) RunPart(i int) {
	l := len(u.v)
	lo, hi := i*l/u.parts, (i+1)*l/u.parts
	dst, r, v, m := u.dst[lo:hi], u.r[lo:hi], u.v[lo:hi], u.m
	for j, x := range v {
		dst[j] = (1-m)*r[j] + m*x
	}
}
