package fold

import (
	"errors"
	"fmt"
	"github.com/netdeconv/deconv"
	"math"

	"github.com/netdeconv/deconv/cov"
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

	// Workers bounds the goroutines a forward pass uses; 0 means
	// GOMAXPROCS.
	Workers int
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
// without a bias (the folded bias is then −Σ W'·μ).
//
// A FastDeconv owns its workspaces and is not safe for concurrent calls;
// distinct layers may run concurrently.
type FastDeconv[T Float] struct {
	cfg      FastDeconvConfig
	block    int // B after the reference's rule
	features int // F = k²B, the side of each covariance
	groups   int // covariance matrices: Groups, or 1

	conv *Conv2d[T]

	runningMean   []T
	runningDeconv []T
	counter       int
	training      bool

	// Workspaces, reused from call to call.
	mean, covBuf, dm []T
	wFolded, bFolded []T
	covPlan          *cov.Plan
	covN, covH, covW int
	isq              *isqrt.Plan[T]
}

// NewFastDeconv builds the layer in training mode with copies of weight
// (OutChannels × InChannels/Groups × k × k) and bias (OutChannels values;
// nil exactly when cfg.Bias is false). Running buffers start as the
// reference's: zero mean, identity deconvolution matrices.
func NewFastDeconv[T Float](cfg FastDeconvConfig, weight, bias []T) (*FastDeconv[T], error) {
	if cfg.NIter <= 0 || cfg.Momentum < 0 || cfg.Momentum > 1 || math.IsNaN(cfg.Momentum) ||
		!(cfg.Eps >= 0) || math.IsInf(cfg.Eps, 0) || cfg.SamplingStride <= 0 || cfg.Block < 0 || (cfg.Freeze && cfg.FreezeIter <= 0) {
		return nil, fmt.Errorf("%w: FastDeconv config %+v", deconv.ErrParam, cfg)
	}
	if cfg.Bias != (bias != nil) {
		return nil, fmt.Errorf("%w: Bias is %v but a bias of %d values was given", deconv.ErrParam, cfg.Bias, len(bias))
	}
	geom := ConvGeom{InChannels: cfg.InChannels, OutChannels: cfg.OutChannels, Geometry: cfg.Geometry, Groups: cfg.Groups}
	conv, err := NewConv2d(geom, weight, bias)
	if err != nil {
		return nil, err
	}
	conv.Workers = cfg.Workers
	g := conv.Geom()
	cfg.Geometry, cfg.Groups = g.Geometry, g.Groups
	l := &FastDeconv[T]{cfg: cfg, conv: conv, training: true}
	l.block = cov.BlockSize(cfg.InChannels, cfg.Block, cfg.Groups)
	if l.block == 0 {
		return nil, fmt.Errorf("%w: block %d for %d channels", deconv.ErrParam, cfg.Block, cfg.InChannels)
	}
	l.features = cfg.KernelH * cfg.KernelW * l.block
	l.groups = 1
	if cfg.Groups > 1 {
		l.groups = cfg.Groups
	}
	F := l.features
	l.runningMean = make([]T, l.groups*F)
	l.runningDeconv = make([]T, l.groups*F*F)
	for q := 0; q < l.groups; q++ {
		for i := 0; i < F; i++ {
			l.runningDeconv[q*F*F+i*F+i] = 1
		}
	}
	if l.isq, err = isqrt.NewPlan[T](F, isqrt.Options{Iterations: cfg.NIter, Workers: cfg.Workers}); err != nil {
		return nil, err
	}
	l.mean = make([]T, len(l.runningMean))
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
// rule), and NumFeatures F = k²·B, the side of each covariance.
func (l *FastDeconv[T]) Block() int { return l.block }

// NumFeatures returns F = k²·B (the reference's num_features).
func (l *FastDeconv[T]) NumFeatures() int { return l.features }

// Train switches the layer to training (true) or evaluation (false) mode.
// A new layer is in training mode, as a PyTorch module is.
func (l *FastDeconv[T]) Train(on bool) { l.training = on }

// Training reports whether the layer is in training mode.
func (l *FastDeconv[T]) Training() bool { return l.training }

// Counter returns the freeze counter (the reference's counter).
func (l *FastDeconv[T]) Counter() int { return l.counter }

// SetCounter sets the freeze counter, for restoring a saved layer.
func (l *FastDeconv[T]) SetCounter(c int) { l.counter = c }

// Weight returns a copy of the (unfolded) weights.
func (l *FastDeconv[T]) Weight() []T { return l.conv.Weight() }

// Bias returns a copy of the bias, or nil without one.
func (l *FastDeconv[T]) Bias() []T { return l.conv.Bias() }

// SetWeights replaces the weights and bias (nil exactly when the layer has
// no bias).
func (l *FastDeconv[T]) SetWeights(weight, bias []T) error {
	if l.cfg.Bias != (bias != nil) {
		return fmt.Errorf("%w: the layer's Bias is %v", deconv.ErrParam, l.cfg.Bias)
	}
	return l.conv.SetWeights(weight, bias)
}

// RunningMean returns a copy of running_mean: F values with one group, or
// k²·InChannels (one F-vector per group) with groups.
func (l *FastDeconv[T]) RunningMean() []T { return append([]T(nil), l.runningMean...) }

// RunningDeconv returns a copy of running_deconv: F×F row-major with one
// group, or Groups matrices of F×F.
func (l *FastDeconv[T]) RunningDeconv() []T { return append([]T(nil), l.runningDeconv...) }

// SetRunningStats replaces running_mean and running_deconv (shapes as
// RunningMean and RunningDeconv return them), e.g. with buffers of a layer
// trained elsewhere.
func (l *FastDeconv[T]) SetRunningStats(mean, dm []T) error {
	return setRunning(l.runningMean, l.runningDeconv, mean, dm)
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
// computes the batch's mean and covariance (every S·stride-th window),
// D = Cov^{-1/2} by coupled Newton–Schulz, updates the running buffers
// and uses the batch statistics; otherwise it uses the running buffers.
// Either way the whitening is folded into the weights and one ordinary
// convolution runs.
func (l *FastDeconv[T]) Forward(dst, x []T, n, h, w int) error {
	g := l.conv.Geom()
	oh, ow, err := g.OutputSize(h, w)
	if err != nil {
		return err
	}
	inLen, ok1 := size.Mul(n, g.InChannels, h, w)
	outLen, ok2 := size.Mul(n, g.OutChannels, oh, ow)
	if n <= 0 || !ok1 || !ok2 || len(x) != inLen || len(dst) < outLen {
		return fmt.Errorf("%w: input of %d values for %d×%d×%d×%d (want %d), output of %d (want ≥ %d)",
			deconv.ErrShape, len(x), n, g.InChannels, h, w, inLen, len(dst), outLen)
	}
	frozen := l.cfg.Freeze && l.counter > l.cfg.FreezeIter
	if l.training {
		// The reference counts every training step, frozen or not, and
		// wraps at 10·freeze_iter, so a frozen layer thaws again.
		l.counter++
		if l.cfg.FreezeIter > 0 {
			l.counter %= 10 * l.cfg.FreezeIter
		}
	}
	mean, dm := l.runningMean, l.runningDeconv
	if l.training && !frozen {
		if err := l.batchStats(x, n, h, w); err != nil {
			return err
		}
		updateRunning(l.runningMean, l.mean, l.cfg.Momentum)
		updateRunning(l.runningDeconv, l.dm, l.cfg.Momentum)
		mean, dm = l.mean, l.dm
	}
	if err := Fold(l.wFolded, l.bFolded, l.conv.weight, l.conv.bias, g.OutChannels, l.blocking(), dm, mean); err != nil {
		return err
	}
	return l.conv.forward(dst, x, n, h, w, oh, ow, l.wFolded, l.bFolded)
}

// batchStats computes the batch's mean and D = Cov^{-1/2} into l.mean and
// l.dm.
func (l *FastDeconv[T]) batchStats(x []T, n, h, w int) error {
	if l.covPlan == nil || l.covN != n || l.covH != h || l.covW != w {
		pl, err := cov.NewPlan(cov.Params{Batch: n, Channels: l.cfg.InChannels, Height: h, Width: w,
			Geometry: l.cfg.Geometry, Groups: l.cfg.Groups, Sampling: l.cfg.SamplingStride, Block: l.cfg.Block,
			Grouping: l.cfg.Grouping, Eps: l.cfg.Eps, Workers: l.cfg.Workers})
		if err != nil {
			return fmt.Errorf("%w: %v", deconv.ErrShape, err)
		}
		l.covPlan, l.covN, l.covH, l.covW = pl, n, h, w
	}
	if err := cov.Compute(l.covPlan, l.mean, l.covBuf, x); err != nil {
		if errors.Is(err, deconv.ErrNonFinite) {
			return fmt.Errorf("%w: %w", deconv.ErrNonFinite, err)
		}
		return err
	}
	var err error
	if l.groups == 1 {
		_, err = l.isq.InvSqrt(l.dm, l.covBuf)
	} else {
		_, err = l.isq.InvSqrtBatch(l.dm, l.covBuf, l.groups)
	}
	return err
}

// Folded returns the plain convolution that computes what the layer
// computes in evaluation mode: weights W' and bias b' folded from the
// running buffers. Inference through it costs nothing for deconvolution.
func (l *FastDeconv[T]) Folded() (*Conv2d[T], error) {
	g := l.conv.Geom()
	wf, bf := make([]T, g.WeightLen()), make([]T, g.OutChannels)
	if err := Fold(wf, bf, l.conv.weight, l.conv.bias, g.OutChannels, l.blocking(), l.runningDeconv, l.runningMean); err != nil {
		return nil, err
	}
	c, err := NewConv2d(g, wf, bf)
	if err != nil {
		return nil, err
	}
	c.Workers = l.cfg.Workers
	return c, nil
}
