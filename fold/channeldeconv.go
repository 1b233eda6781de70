package fold

import (
	"fmt"
	"github.com/netdeconv/deconv"
	"math"

	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/internal/gemm"
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

	// Workers bounds the goroutines a forward pass uses; 0 means
	// GOMAXPROCS.
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
// A ChannelDeconv is not safe for concurrent calls; distinct layers are.
type ChannelDeconv[T Float] struct {
	cfg      ChannelDeconvConfig
	training bool

	runningMean1, runningDeconv []T
	runningMean2, runningVar    T
	numBatchesTracked           int

	mean1, covBuf, dm, shift []T
	covPlan                  *cov.Plan
	stats                    *cov.Stats
	planShape                [4]int
	isq                      *isqrt.Plan[T]
	run                      channelRun[T]
}

// NewChannelDeconv builds the layer in training mode with the reference's
// initial buffers: running_mean1 zero, running_deconv the identity,
// running_mean2 zero, running_var one.
func NewChannelDeconv[T Float](cfg ChannelDeconvConfig) (*ChannelDeconv[T], error) {
	if cfg.Block <= 0 || cfg.NIter <= 0 || !(cfg.Momentum >= 0 && cfg.Momentum <= 1) || !(cfg.Eps >= 0) ||
		math.IsInf(cfg.Eps, 0) || cfg.SamplingStride <= 0 {
		return nil, fmt.Errorf("%w: ChannelDeconv config %+v", deconv.ErrParam, cfg)
	}
	B := cfg.Block
	l := &ChannelDeconv[T]{cfg: cfg, training: true, runningVar: 1}
	l.runningMean1 = make([]T, B)
	l.runningDeconv = make([]T, B*B)
	for i := 0; i < B; i++ {
		l.runningDeconv[i*B+i] = 1
	}
	var err error
	if l.isq, err = isqrt.NewPlan[T](B, isqrt.Options{Iterations: cfg.NIter, Workers: cfg.Workers}); err != nil {
		return nil, err
	}
	l.mean1, l.covBuf, l.dm, l.shift = make([]T, B), make([]T, B*B), make([]T, B*B), make([]T, B)
	return l, nil
}

// Config returns the layer's configuration.
func (l *ChannelDeconv[T]) Config() ChannelDeconvConfig { return l.cfg }

// Train switches between training (true) and evaluation (false) mode.
func (l *ChannelDeconv[T]) Train(on bool) { l.training = on }

// Training reports whether the layer is in training mode.
func (l *ChannelDeconv[T]) Training() bool { return l.training }

// RunningStats returns copies of running_mean1 (B values) and
// running_deconv (B×B), and running_mean2 and running_var.
func (l *ChannelDeconv[T]) RunningStats() (mean1, deconvMatrix []T, mean2, variance T) {
	return append([]T(nil), l.runningMean1...), append([]T(nil), l.runningDeconv...), l.runningMean2, l.runningVar
}

// SetRunningStats replaces the running buffers.
func (l *ChannelDeconv[T]) SetRunningStats(mean1, deconvMatrix []T, mean2, variance T) error {
	B := l.cfg.Block
	if len(mean1) != B || len(deconvMatrix) != B*B {
		return fmt.Errorf("%w: running_mean1 needs %d values and running_deconv %d", deconv.ErrShape, B, B*B)
	}
	if err := checkFinite(append(append([]T{mean2, variance}, mean1...), deconvMatrix...), "running statistics"); err != nil {
		return err
	}
	if variance+T(l.cfg.Eps) <= 0 {
		return fmt.Errorf("%w: running_var %v + eps is not positive", deconv.ErrParam, variance)
	}
	copy(l.runningMean1, mean1)
	copy(l.runningDeconv, deconvMatrix)
	l.runningMean2, l.runningVar = mean2, variance
	return nil
}

// NumBatchesTracked returns how many training batches the layer has seen
// (the reference's num_batches_tracked).
func (l *ChannelDeconv[T]) NumBatchesTracked() int { return l.numBatchesTracked }

// SetNumBatchesTracked sets the count, for restoring a saved layer.
func (l *ChannelDeconv[T]) SetNumBatchesTracked(n int) { l.numBatchesTracked = n }

// Forward whitens the NCHW batch x (n × c × h × w; a 2-D input N×C is
// n × c × 1 × 1) into dst, of the same shape.
func (l *ChannelDeconv[T]) Forward(dst, x []T, n, c, h, w int) error {
	B := l.cfg.Block
	size, ok := size.Mul(n, c, h, w)
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 || !ok || len(x) != size || len(dst) < size {
		return fmt.Errorf("%w: input of %d values for %d×%d×%d×%d, output of %d", deconv.ErrShape, len(x), n, c, h, w, len(dst))
	}
	if B > c {
		return fmt.Errorf("%w: block %d is larger than the %d channels", deconv.ErrShape, B, c)
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	whole := c / B * B
	mean1, dm, mean2, variance := l.runningMean1, l.runningDeconv, l.runningMean2, l.runningVar
	if l.training {
		m2, v2, err := l.batchStats(x, n, c, h, w)
		if err != nil {
			return err
		}
		if l.numBatchesTracked == 0 {
			copy(l.runningMean1, l.mean1)
			copy(l.runningDeconv, l.dm)
			if whole < c {
				l.runningMean2, l.runningVar = m2, v2
			}
		}
		updateRunning(l.runningMean1, l.mean1, l.cfg.Momentum)
		updateRunning(l.runningDeconv, l.dm, l.cfg.Momentum)
		if whole < c {
			m := T(l.cfg.Momentum)
			l.runningMean2 = (1-m)*l.runningMean2 + m*m2
			l.runningVar = (1-m)*l.runningVar + m*v2
		}
		l.numBatchesTracked++
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
	hw := h * w
	cols := whole / B * hw
	scale := T(1 / math.Sqrt(float64(variance)+l.cfg.Eps))
	r := &l.run
	if r.body == nil {
		r.body = r.images
	}
	r.dst, r.x, r.dm, r.shift = dst, x, dm, l.shift
	r.c, r.hw, r.whole, r.cols, r.block = c, hw, whole, cols, B
	r.mean2, r.scale = mean2, scale
	r.fe.err = nil
	parallel.For(n, l.cfg.Workers, r.body)
	r.dst, r.x = nil, nil // keep no caller data alive
	return r.fe.err
}

// channelRun is the state one forward shares with its workers; it lives in
// the layer and its body is bound once, so a forward allocates nothing.
type channelRun[T Float] struct {
	dst, x, dm, shift         []T
	c, hw, whole, cols, block int
	mean2, scale              T
	fe                        firstError
	body                      func(lo, hi int)
}

// images whitens images [lo, hi): y = D·x − D·μ on the B feature rows of
// each image, and the standardised rest channels.
func (r *channelRun[T]) images(lo, hi int) {
	c, hw, B, cols := r.c, r.hw, r.block, r.cols
	for img := lo; img < hi; img++ {
		y := r.dst[img*c*hw : (img+1)*c*hw]
		for k := 0; k < B; k++ {
			fill(y[k*cols:(k+1)*cols], r.shift[k])
		}
		r.fe.set(gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, B, cols, B, 1, r.dm, B, r.x[img*c*hw:], cols, 1, y, cols))
		rest := r.x[img*c*hw+r.whole*hw : (img+1)*c*hw]
		for i, v := range rest {
			y[r.whole*hw+i] = (v - r.mean2) * r.scale
		}
	}
}

// batchStats computes the batch's mean1 and D into l.mean1 and l.dm,
// and returns the rest channels' mean and unbiased variance.
func (l *ChannelDeconv[T]) batchStats(x []T, n, c, h, w int) (mean2, variance T, err error) {
	if shape := [4]int{n, c, h, w}; l.covPlan == nil || l.planShape != shape {
		pl, err := cov.NewChannelPlan(cov.ChannelParams{Batch: n, Channels: c, Height: h, Width: w, Block: l.cfg.Block,
			Sampling: l.cfg.SamplingStride, Uncentred: l.cfg.Uncentred, Eps: l.cfg.Eps, Workers: l.cfg.Workers})
		if err != nil {
			return 0, 0, fmt.Errorf("%w: %v", deconv.ErrShape, err)
		}
		l.covPlan, l.stats, l.planShape = pl, cov.NewStats(pl), shape
	}
	l.stats.Reset()
	if err := cov.Accumulate(l.covPlan, l.stats, x); err != nil {
		return 0, 0, err
	}
	if err := cov.Finalize(l.stats, l.mean1, l.covBuf); err != nil {
		return 0, 0, err
	}
	if _, err := l.isq.InvSqrt(l.dm, l.covBuf); err != nil {
		return 0, 0, err
	}
	m, v, _ := l.stats.Rest()
	return T(m), T(v), nil
}
