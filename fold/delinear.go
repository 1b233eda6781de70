package fold

import (
	"fmt"
	"github.com/netdeconv/deconv"
	"math"

	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/internal/size"
	"github.com/netdeconv/deconv/isqrt"
)

// DelinearConfig holds the constructor arguments of the reference's
// Delinear module. Start from NewDelinearConfig.
type DelinearConfig struct {
	InFeatures, OutFeatures int
	Bias                    bool
	Eps                     float64 // added to the covariance's diagonal
	NIter                   int     // coupled Newton–Schulz iterations
	Momentum                float64 // running statistics: r ← (1−m)·r + m·batch
	Block                   int     // chunk length B (adjusted as the reference does)

	// Workers bounds the goroutines a forward pass uses; 0 means
	// GOMAXPROCS.
	Workers int
}

// NewDelinearConfig returns the reference's defaults for an in→out layer:
// a bias, eps 1e-5, 5 iterations, momentum 0.1, block 512.
func NewDelinearConfig(in, out int) DelinearConfig {
	return DelinearConfig{InFeatures: in, OutFeatures: out, Bias: true, Eps: 1e-5, NIter: 5, Momentum: 0.1, Block: 512}
}

// Delinear is a fully connected layer whose input is whitened: each input
// row is cut into contiguous chunks of B features, the chunks are the
// samples of one B×B covariance, and D = Cov^{-1/2} is folded into the
// weights, y = x·W'ᵀ + b', as in the reference's Delinear (same buffers,
// defaults, block rule and momentum update).
//
// One deliberate difference: without a bias the reference drops the mean
// correction altogether (its folded bias is None); this layer always
// centres, using b' = −Σ W'·μ, as FastDeconv does.
//
// A Delinear is not safe for concurrent calls; distinct layers are.
type Delinear[T Float] struct {
	cfg      DelinearConfig
	block    int
	linear   *Linear[T]
	training bool

	runningMean, runningDeconv []T

	mean, covBuf, dm []T
	wFolded, bFolded []T
	covPlan          *cov.Plan
	covBatch         int
	isq              *isqrt.Plan[T]
}

// NewDelinear builds the layer in training mode with copies of weight
// (OutFeatures × InFeatures) and bias (nil exactly when cfg.Bias is
// false); running_mean starts at zero and running_deconv at the identity.
func NewDelinear[T Float](cfg DelinearConfig, weight, bias []T) (*Delinear[T], error) {
	if cfg.NIter <= 0 || !(cfg.Momentum >= 0 && cfg.Momentum <= 1) || !(cfg.Eps >= 0) || math.IsInf(cfg.Eps, 0) || cfg.Block < 0 {
		return nil, fmt.Errorf("%w: Delinear config %+v", deconv.ErrParam, cfg)
	}
	if cfg.Bias != (bias != nil) {
		return nil, fmt.Errorf("%w: Bias is %v but a bias of %d values was given", deconv.ErrParam, cfg.Bias, len(bias))
	}
	lin, err := NewLinear(cfg.InFeatures, cfg.OutFeatures, weight, bias)
	if err != nil {
		return nil, err
	}
	lin.Workers = cfg.Workers
	block := cfg.Block
	if block == 0 {
		block = 512
	}
	block = cov.BlockSize(cfg.InFeatures, block, 1)
	if block == 0 {
		return nil, fmt.Errorf("%w: block %d for %d features", deconv.ErrParam, cfg.Block, cfg.InFeatures)
	}
	cfg.Block = block
	l := &Delinear[T]{cfg: cfg, block: block, linear: lin, training: true}
	l.runningMean = make([]T, block)
	l.runningDeconv = make([]T, block*block)
	for i := 0; i < block; i++ {
		l.runningDeconv[i*block+i] = 1
	}
	if l.isq, err = isqrt.NewPlan[T](block, isqrt.Options{Iterations: cfg.NIter, Workers: cfg.Workers}); err != nil {
		return nil, err
	}
	l.mean, l.covBuf, l.dm = make([]T, block), make([]T, block*block), make([]T, block*block)
	l.wFolded, l.bFolded = make([]T, cfg.InFeatures*cfg.OutFeatures), make([]T, cfg.OutFeatures)
	return l, nil
}

// Config returns the configuration, with Block as the rule adjusted it.
func (l *Delinear[T]) Config() DelinearConfig { return l.cfg }

// Train switches between training (true) and evaluation (false) mode.
func (l *Delinear[T]) Train(on bool) { l.training = on }

// Training reports whether the layer is in training mode.
func (l *Delinear[T]) Training() bool { return l.training }

// Weight returns a copy of the (unfolded) weights.
func (l *Delinear[T]) Weight() []T { return l.linear.Weight() }

// Bias returns a copy of the bias, or nil without one.
func (l *Delinear[T]) Bias() []T { return l.linear.Bias() }

// SetWeights replaces the weights and bias (nil exactly when the layer has
// no bias).
func (l *Delinear[T]) SetWeights(weight, bias []T) error {
	if l.cfg.Bias != (bias != nil) {
		return fmt.Errorf("%w: the layer's Bias is %v", deconv.ErrParam, l.cfg.Bias)
	}
	return l.linear.SetWeights(weight, bias)
}

// RunningMean returns a copy of running_mean (B values).
func (l *Delinear[T]) RunningMean() []T { return append([]T(nil), l.runningMean...) }

// RunningDeconv returns a copy of running_deconv (B×B, row-major).
func (l *Delinear[T]) RunningDeconv() []T { return append([]T(nil), l.runningDeconv...) }

// SetRunningStats replaces running_mean and running_deconv.
func (l *Delinear[T]) SetRunningStats(mean, dm []T) error {
	return setRunning(l.runningMean, l.runningDeconv, mean, dm)
}

// Forward computes the layer on batch rows of InFeatures values into dst
// (batch × OutFeatures).
func (l *Delinear[T]) Forward(dst, x []T, batch int) error {
	inLen, ok1 := size.Mul(batch, l.cfg.InFeatures)
	outLen, ok2 := size.Mul(batch, l.cfg.OutFeatures)
	if batch <= 0 || !ok1 || !ok2 || len(x) != inLen || len(dst) < outLen {
		return fmt.Errorf("%w: %d rows: input has %d values (want %d), output %d (want ≥ %d)", deconv.ErrShape, batch, len(x), inLen, len(dst), outLen)
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	mean, dm := l.runningMean, l.runningDeconv
	if l.training {
		if l.covPlan == nil || l.covBatch != batch {
			pl, err := cov.NewLinearPlan(cov.LinearParams{Batch: batch, Features: l.cfg.InFeatures, Block: l.block, Eps: l.cfg.Eps, Workers: l.cfg.Workers})
			if err != nil {
				return fmt.Errorf("%w: %v", deconv.ErrShape, err)
			}
			l.covPlan, l.covBatch = pl, batch
		}
		if err := cov.Compute(l.covPlan, l.mean, l.covBuf, x); err != nil {
			return err
		}
		if _, err := l.isq.InvSqrt(l.dm, l.covBuf); err != nil {
			return err
		}
		updateRunning(l.runningMean, l.mean, l.cfg.Momentum)
		updateRunning(l.runningDeconv, l.dm, l.cfg.Momentum)
		mean, dm = l.mean, l.dm
	}
	bl := Blocking{Features: l.cfg.InFeatures, Block: l.block, Grouping: deconv.Contiguous}
	if err := Fold(l.wFolded, l.bFolded, l.linear.weight, l.linear.bias, l.cfg.OutFeatures, bl, dm, mean); err != nil {
		return err
	}
	return linearForward(dst, x, batch, l.cfg.InFeatures, l.cfg.OutFeatures, l.wFolded, l.bFolded, l.cfg.Workers)
}

// Folded returns the plain linear layer that computes what the layer
// computes in evaluation mode.
func (l *Delinear[T]) Folded() (*Linear[T], error) {
	wf, bf := make([]T, len(l.wFolded)), make([]T, len(l.bFolded))
	bl := Blocking{Features: l.cfg.InFeatures, Block: l.block, Grouping: deconv.Contiguous}
	if err := Fold(wf, bf, l.linear.weight, l.linear.bias, l.cfg.OutFeatures, bl, l.runningDeconv, l.runningMean); err != nil {
		return nil, err
	}
	lin, err := NewLinear(l.cfg.InFeatures, l.cfg.OutFeatures, wf, bf)
	if err != nil {
		return nil, err
	}
	lin.Workers = l.cfg.Workers
	return lin, nil
}

// updateRunning applies the momentum update r ← (1−m)·r + m·v.
func updateRunning[T Float](r, v []T, momentum float64) {
	m := T(momentum)
	for i, x := range v {
		r[i] = (1-m)*r[i] + m*x
	}
}

// setRunning replaces a layer's running_mean and running_deconv after
// checking the new values' shapes and finiteness.
func setRunning[T Float](runMean, runDeconv, mean, dm []T) error {
	if len(mean) != len(runMean) || len(dm) != len(runDeconv) {
		return fmt.Errorf("%w: running_mean needs %d values and running_deconv %d (got %d and %d)",
			deconv.ErrShape, len(runMean), len(runDeconv), len(mean), len(dm))
	}
	if err := checkFinite(mean, "running_mean"); err != nil {
		return err
	}
	if err := checkFinite(dm, "running_deconv"); err != nil {
		return err
	}
	copy(runMean, mean)
	copy(runDeconv, dm)
	return nil
}
