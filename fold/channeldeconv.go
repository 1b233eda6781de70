package fold

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/mem"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
	"github.com/netdeconv/deconv/isqrt"
)

// ChannelDeconvConfig holds the constructor arguments of the reference's
// ChannelDeconv module. Start from NewChannelDeconvConfig.
type ChannelDeconvConfig struct {
	Block          int     // B: the whitened features (channel groups)
	Eps            float64 // added to the covariance's diagonal, and to the rest's variance
	NIter          int     // coupled Newton–Schulz iterations
	Momentum       float64 // running statistics: r ← (1−m)·r + m·batch
	SamplingStride int     // S: statistics use every S²-th value when H, W ≥ S

	// Uncentred reproduces the reference's quirk: its covariance is the
	// second moment of the sampled data before centring, E[xxᵀ] + eps·I,
	// while the data are still centred before D is applied. Off (the
	// default), the covariance is centred, as whitening needs.
	Uncentred bool

	// Workers bounds the goroutines a forward pass uses; 0 means the
	// process default (deconv.SetThreads).
	Workers int
}

// NewChannelDeconvConfig returns the reference's defaults for a block of B
// features: eps 1e-2, 5 iterations, momentum 0.1, sampling stride 3, and
// the corrected (centred) covariance.
func NewChannelDeconvConfig(block int) ChannelDeconvConfig {
	return ChannelDeconvConfig{Block: block, Eps: 1e-2, NIter: 5, Momentum: 0.1, SamplingStride: 3}
}

// ChannelDeconv whitens the channels of its input explicitly (it has no
// weights), as the reference's ChannelDeconv: the first c = ⌊C/B⌋·B
// channels form B features (feature r is channels r·c/B … (r+1)·c/B − 1
// taken together), which are centred and multiplied by D = Cov^{-1/2};
// the remaining C − c channels are standardised with one scalar mean and
// unbiased variance. The running buffers are copied from the first
// training batch and then updated with momentum.
//
// A ChannelDeconv is not safe for concurrent use: Forward, Train,
// SetRunningStats and SetNumBatchesTracked return deconv.ErrBusy while
// another of them is in progress, and the accessors must not run
// concurrently with them. A call that returns an error leaves the layer
// as it was (buffers and num_batches_tracked).
type ChannelDeconv[T Float] struct {
	cfg      ChannelDeconvConfig
	training bool
	busy     busyFlag

	runningMean1, runningDeconv []T
	runningMean2, runningVar    T
	numBatchesTracked           int

	mean1, covBuf, dm, shift, newMean1 []T
	covPlan                            *cov.Plan
	stats                              *cov.Stats
	planShape                          [4]int
	isq                                *isqrt.Plan[T]
	run                                channelRun[T]
	saved                              fwdState[T] // what Backward differentiates
	back                               channelBack[T]
}

// NewChannelDeconv builds the layer in training mode with the reference's
// initial buffers: running_mean1 zero, running_deconv the identity,
// running_mean2 zero, running_var one. Parameters are validated before
// anything is allocated: deconv.ErrParam, or deconv.ErrOverflow for a
// block above MaxFeatures.
func NewChannelDeconv[T Float](cfg ChannelDeconvConfig) (*ChannelDeconv[T], error) {
	if err := checkCommon("ChannelDeconv", cfg.NIter, cfg.Momentum, cfg.Eps, cfg.Workers); err != nil {
		return nil, err
	}
	if cfg.Block <= 0 || cfg.SamplingStride <= 0 {
		return nil, fmt.Errorf("%w: ChannelDeconv: block %d, sampling stride %d", deconv.ErrParam, cfg.Block, cfg.SamplingStride)
	}
	if err := checkFeatures("ChannelDeconv", cfg.Block, 1); err != nil {
		return nil, err
	}
	isq, err := isqrt.NewPlan[T](cfg.Block, isqrt.Options{Iterations: cfg.NIter, Workers: cfg.Workers, Grad: true})
	if err != nil {
		return nil, fmt.Errorf("ChannelDeconv: %w", err)
	}
	B := cfg.Block
	l := &ChannelDeconv[T]{cfg: cfg, training: true, runningVar: 1, isq: isq}
	l.runningMean1 = make([]T, B)
	l.runningDeconv = make([]T, B*B)
	for i := 0; i < B; i++ {
		l.runningDeconv[i*B+i] = 1
	}
	l.mean1, l.covBuf, l.dm, l.shift, l.newMean1 = make([]T, B), make([]T, B*B), make([]T, B*B), make([]T, B), make([]T, B)
	return l, nil
}

// Config returns the layer's configuration.
func (l *ChannelDeconv[T]) Config() ChannelDeconvConfig { return l.cfg }

// Train switches between training (true) and evaluation (false) mode; it
// returns deconv.ErrBusy, changing nothing, while another call is in
// progress.
func (l *ChannelDeconv[T]) Train(on bool) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	l.training = on
	l.busy.release()
	return nil
}

// Training reports whether the layer is in training mode.
func (l *ChannelDeconv[T]) Training() bool { return l.training }

// RunningStats returns copies of running_mean1 (B values) and
// running_deconv (B×B), and running_mean2 and running_var.
func (l *ChannelDeconv[T]) RunningStats() (mean1, deconvMatrix []T, mean2, variance T) {
	return append([]T(nil), l.runningMean1...), append([]T(nil), l.runningDeconv...), l.runningMean2, l.runningVar
}

// SetRunningStats replaces the running buffers. The values must be
// finite, the matrix symmetric positive definite and variance + eps
// positive; on error nothing changes.
func (l *ChannelDeconv[T]) SetRunningStats(mean1, deconvMatrix []T, mean2, variance T) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	if !isFinite(mean2) || !isFinite(variance) {
		return fmt.Errorf("%w: running_mean2 %v, running_var %v", deconv.ErrNonFinite, mean2, variance)
	}
	if !(float64(variance)+l.cfg.Eps > 0) {
		return fmt.Errorf("%w: running_var %v + eps is not positive", deconv.ErrParam, variance)
	}
	if err := setRunning(l.runningMean1, l.runningDeconv, mean1, deconvMatrix, l.cfg.Block); err != nil {
		return err
	}
	l.runningMean2, l.runningVar = mean2, variance
	// A Forward that used the old buffers is no longer differentiable.
	l.saved.ok = l.saved.ok && l.saved.batch
	return nil
}

// NumBatchesTracked returns how many training batches the layer has seen
// (the reference's num_batches_tracked).
func (l *ChannelDeconv[T]) NumBatchesTracked() int { return l.numBatchesTracked }

// SetNumBatchesTracked sets the count, for restoring a saved layer. A
// negative count is deconv.ErrParam; deconv.ErrBusy while another call is
// in progress.
func (l *ChannelDeconv[T]) SetNumBatchesTracked(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: num_batches_tracked %d", deconv.ErrParam, n)
	}
	if err := l.busy.acquire(); err != nil {
		return err
	}
	l.numBatchesTracked = n
	l.busy.release()
	return nil
}

// Forward whitens the NCHW batch x (n × c × h × w; a 2-D input N×C is
// n × c × 1 × 1) into dst, of the same shape. The running buffers are
// updated only when every step succeeded; a NaN or infinity in x, in the
// statistics or in an output (a constant rest channel with eps = 0 has
// no finite standardisation) is deconv.ErrNonFinite, and leaves the layer
// unchanged.
func (l *ChannelDeconv[T]) Forward(dst, x []T, n, c, h, w int) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	B := l.cfg.Block
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 {
		return fmt.Errorf("%w: input of %d×%d×%d×%d", deconv.ErrShape, n, c, h, w)
	}
	size, ok := size.Mul(n, c, h, w)
	if !ok {
		return fmt.Errorf("%w: input of %d×%d×%d×%d", deconv.ErrOverflow, n, c, h, w)
	}
	if len(x) != size || len(dst) != size {
		return fmt.Errorf("%w: input of %d values for %d×%d×%d×%d, output of %d", deconv.ErrShape, len(x), n, c, h, w, len(dst))
	}
	if B > c {
		return fmt.Errorf("%w: block %d is larger than the %d channels", deconv.ErrShape, B, c)
	}
	if mem.Overlap(dst[:size], x) {
		return fmt.Errorf("%w: the output overlaps the input", deconv.ErrOverlap)
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	l.saved.ok = false // the workspaces Backward reads are about to change
	whole := c / B * B
	mean1, dm, mean2, variance := l.runningMean1, l.runningDeconv, l.runningMean2, l.runningVar
	if l.training {
		m2, v2, err := l.batchStats(x, n, c, h, w)
		if err != nil {
			return err
		}
		mean1, dm, mean2, variance = l.mean1, l.dm, m2, v2
	}
	// y = D·(x − μ) = D·x − D·μ per image: one product of D with the
	// image's B feature rows (each c/B·h·w contiguous values), onto rows
	// prefilled with −D·μ.
	for r := 0; r < B; r++ {
		s := 0.0
		for k := 0; k < B; k++ {
			s += float64(dm[r*B+k]) * float64(mean1[k])
		}
		l.shift[r] = T(-s)
	}
	if err := checkFinite(l.shift, "D·mean"); err != nil {
		return err
	}
	var scale T
	if whole < c {
		scale = T(1 / math.Sqrt(float64(variance)+l.cfg.Eps))
		if !isFinite(scale) || scale == 0 {
			return fmt.Errorf("%w: the rest channels' variance %v + eps %v has no finite inverse square root", deconv.ErrNonFinite, variance, l.cfg.Eps)
		}
	}
	hw := h * w
	cols := whole / B * hw
	r := &l.run
	if r.body == nil {
		r.body = r.images
	}
	r.dst, r.x, r.dm, r.shift = dst, x, dm, l.shift
	r.c, r.hw, r.whole, r.cols, r.block = c, hw, whole, cols, B
	r.mean2, r.scale = mean2, scale
	r.finite = gather.FiniteFor[T](isa.Selected())
	r.fe.err = nil
	parallel.For(n, l.cfg.Workers, r.body)
	err := r.fe.err
	r.dst, r.x, r.fe.err = nil, nil, nil // keep no caller data alive
	if err == nil && l.training {
		err = l.commit(whole < c, mean2, variance)
	}
	if err == nil {
		l.saved = fwdState[T]{ok: true, batch: l.training, shape: [4]int{n, c, h, w}, mean2: mean2, variance: variance}
	}
	return err
}

// commit folds the batch statistics in l.mean1, l.dm and (with rest
// channels) mean2 and variance into the running buffers: copied on the
// first batch, then updated with momentum. The new values are built aside
// and checked before anything changes.
func (l *ChannelDeconv[T]) commit(hasRest bool, mean2, variance T) error {
	m1, dec := l.runningMean1, l.runningDeconv
	rm2, rvar := l.runningMean2, l.runningVar
	if l.numBatchesTracked == 0 {
		m1, dec = l.mean1, l.dm
		if hasRest {
			rm2, rvar = mean2, variance
		}
	}
	if err := momentumInto(l.newMean1, m1, l.mean1, l.cfg.Momentum); err != nil {
		return err
	}
	if err := momentumInto(l.covBuf, dec, l.dm, l.cfg.Momentum); err != nil {
		return err
	}
	if hasRest {
		m := T(l.cfg.Momentum)
		rm2 = (1-m)*rm2 + m*mean2
		rvar = (1-m)*rvar + m*variance
		if !isFinite(rm2) || !isFinite(rvar) {
			return fmt.Errorf("%w: running_mean2 %v, running_var %v", deconv.ErrNonFinite, rm2, rvar)
		}
	}
	copy(l.runningMean1, l.newMean1)
	copy(l.runningDeconv, l.covBuf)
	l.runningMean2, l.runningVar = rm2, rvar
	l.numBatchesTracked++
	return nil
}

// channelRun is the state one forward shares with its workers; it lives in
// the layer and its body is bound once, so a forward allocates nothing.
type channelRun[T Float] struct {
	dst, x, dm, shift         []T
	c, hw, whole, cols, block int
	mean2, scale              T
	finite                    gather.FiniteFunc[T]
	fe                        firstError
	body                      func(lo, hi int)
}

// images whitens images [lo, hi): y = D·x − D·μ on the B feature rows of
// each image, and the standardised rest channels; each image's outputs
// are checked for NaN and infinities while they are in cache.
func (r *channelRun[T]) images(lo, hi int) {
	c, hw, B, cols := r.c, r.hw, r.block, r.cols
	for img := lo; img < hi; img++ {
		y := r.dst[img*c*hw : (img+1)*c*hw]
		for k := 0; k < B; k++ {
			fill(y[k*cols:(k+1)*cols], r.shift[k])
		}
		if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, B, cols, B, 1, r.dm, B, r.x[img*c*hw:], cols, 1, y, cols); err != nil {
			r.fe.set(err)
			return
		}
		rest := r.x[img*c*hw+r.whole*hw : (img+1)*c*hw]
		for i, v := range rest {
			y[r.whole*hw+i] = (v - r.mean2) * r.scale
		}
		if !r.finite(y) {
			r.fe.set(nonFinite(y, "output", img*c*hw))
			return
		}
	}
}

// batchStats computes the batch's mean1 and D into l.mean1 and l.dm,
// and returns the rest channels' mean and unbiased variance. It changes
// nothing beyond those workspaces and the cached plan.
func (l *ChannelDeconv[T]) batchStats(x []T, n, c, h, w int) (mean2, variance T, err error) {
	if shape := [4]int{n, c, h, w}; l.covPlan == nil || l.planShape != shape {
		pl, err := cov.NewChannelPlan(cov.ChannelParams{Batch: n, Channels: c, Height: h, Width: w, Block: l.cfg.Block,
			Sampling: l.cfg.SamplingStride, Uncentred: l.cfg.Uncentred, Eps: l.cfg.Eps, Workers: l.cfg.Workers})
		if err != nil {
			return 0, 0, fmt.Errorf("ChannelDeconv statistics: %w", err)
		}
		l.covPlan, l.stats, l.planShape = pl, cov.NewStats(pl), shape
	}
	l.stats.Reset()
	if err := cov.Accumulate(l.covPlan, l.stats, x); err != nil {
		return 0, 0, fmt.Errorf("ChannelDeconv statistics: %w", err)
	}
	if err := cov.Finalize(l.stats, l.mean1, l.covBuf); err != nil {
		return 0, 0, fmt.Errorf("ChannelDeconv statistics: %w", err)
	}
	if err := invSqrt(l.isq, l.dm, l.covBuf, l.mean1, 1); err != nil {
		return 0, 0, err
	}
	m, v, _ := l.stats.Rest()
	if !isFinite(T(m)) || !isFinite(T(v)) {
		return 0, 0, fmt.Errorf("%w: rest channels' mean %v, variance %v", deconv.ErrNonFinite, m, v)
	}
	return T(m), T(v), nil
}
