package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"

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

	// Workers bounds the goroutines a forward pass uses; 0 means the
	// process default (deconv.SetThreads).
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
// A Delinear is not safe for concurrent use: Forward, Folded, Train,
// SetWeights and SetRunningStats return deconv.ErrBusy while another of
// them is in progress, and the accessors must not run concurrently with
// them. A call that returns an error leaves the layer as it was.
type Delinear[T Float] struct {
	cfg      DelinearConfig
	block    int
	linear   *Linear[T]
	training bool
	busy     busyFlag

	runningMean, runningDeconv []T

	mean, covBuf, dm, newMean []T
	wFolded, bFolded          []T
	covPlan                   *cov.Plan
	covBatch                  int
	isq                       *isqrt.Plan[T]
	saved                     fwdState[T] // what Backward differentiates
	grad                      gradWork[T]
}

// NewDelinear builds the layer in training mode with copies of weight
// (OutFeatures × InFeatures) and bias (nil exactly when cfg.Bias is
// false); running_mean starts at zero and running_deconv at the identity.
// Every parameter and size is validated before anything is allocated
// (deconv.ErrParam; deconv.ErrOverflow for a block above MaxFeatures or
// sizes that overflow int).
func NewDelinear[T Float](cfg DelinearConfig, weight, bias []T) (*Delinear[T], error) {
	if err := checkCommon("Delinear", cfg.NIter, cfg.Momentum, cfg.Eps, cfg.Workers); err != nil {
		return nil, err
	}
	if cfg.Block < 0 || cfg.InFeatures <= 0 || cfg.OutFeatures <= 0 {
		return nil, fmt.Errorf("%w: Delinear: %d→%d features, block %d", deconv.ErrParam, cfg.InFeatures, cfg.OutFeatures, cfg.Block)
	}
	if _, ok := size.Mul(cfg.InFeatures, cfg.OutFeatures); !ok {
		return nil, fmt.Errorf("%w: Delinear: weight of %d×%d", deconv.ErrOverflow, cfg.OutFeatures, cfg.InFeatures)
	}
	if cfg.Bias != (bias != nil) {
		return nil, fmt.Errorf("%w: Bias is %v but a bias of %d values was given", deconv.ErrParam, cfg.Bias, len(bias))
	}
	block := cfg.Block
	if block == 0 {
		block = cov.DefaultLinearBlock
	}
	block = cov.BlockSize(cfg.InFeatures, block, 1)
	if err := checkFeatures("Delinear", block, 1); err != nil {
		return nil, err
	}
	isq, err := isqrt.NewPlan[T](block, isqrt.Options{Iterations: cfg.NIter, Workers: cfg.Workers, Grad: true})
	if err != nil {
		return nil, fmt.Errorf("Delinear: %w", err)
	}
	lin, err := NewLinear(cfg.InFeatures, cfg.OutFeatures, weight, bias)
	if err != nil {
		return nil, err
	}
	lin.Workers = cfg.Workers
	cfg.Block = block
	l := &Delinear[T]{cfg: cfg, block: block, linear: lin, training: true, isq: isq}
	l.runningMean = make([]T, block)
	l.runningDeconv = make([]T, block*block)
	for i := 0; i < block; i++ {
		l.runningDeconv[i*block+i] = 1
	}
	l.mean, l.newMean, l.covBuf, l.dm = make([]T, block), make([]T, block), make([]T, block*block), make([]T, block*block)
	l.wFolded, l.bFolded = make([]T, cfg.InFeatures*cfg.OutFeatures), make([]T, cfg.OutFeatures)
	return l, nil
}

// Config returns the configuration, with Block as the rule adjusted it.
func (l *Delinear[T]) Config() DelinearConfig { return l.cfg }

// Train switches between training (true) and evaluation (false) mode; it
// returns deconv.ErrBusy, changing nothing, while another call is in
// progress.
func (l *Delinear[T]) Train(on bool) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	l.training = on
	l.busy.release()
	return nil
}

// Training reports whether the layer is in training mode.
func (l *Delinear[T]) Training() bool { return l.training }

// Weight returns a copy of the (unfolded) weights.
func (l *Delinear[T]) Weight() []T { return l.linear.Weight() }

// Bias returns a copy of the bias, or nil without one.
func (l *Delinear[T]) Bias() []T { return l.linear.Bias() }

// SetWeights replaces the weights and bias (nil exactly when the layer has
// no bias), after checking their lengths and finiteness.
func (l *Delinear[T]) SetWeights(weight, bias []T) error {
	if l.cfg.Bias != (bias != nil) {
		return fmt.Errorf("%w: the layer's Bias is %v", deconv.ErrParam, l.cfg.Bias)
	}
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	return l.linear.SetWeights(weight, bias)
}

// RunningMean returns a copy of running_mean (B values).
func (l *Delinear[T]) RunningMean() []T { return append([]T(nil), l.runningMean...) }

// RunningDeconv returns a copy of running_deconv (B×B, row-major).
func (l *Delinear[T]) RunningDeconv() []T { return append([]T(nil), l.runningDeconv...) }

// SetRunningStats replaces running_mean and running_deconv; as
// FastDeconv.SetRunningStats, the matrix must be finite, symmetric and
// positive definite, and on error nothing changes.
func (l *Delinear[T]) SetRunningStats(mean, dm []T) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	if err := setRunning(l.runningMean, l.runningDeconv, mean, dm, l.block); err != nil {
		return err
	}
	// A Forward that used the old buffers is no longer differentiable.
	l.saved.ok = l.saved.ok && l.saved.batch
	return nil
}

// Forward computes the layer on batch rows of InFeatures values into dst
// (batch × OutFeatures). The running buffers are updated only when every
// step succeeded (finite input, statistics, D, folded weights and
// outputs); on error the layer is unchanged.
func (l *Delinear[T]) Forward(dst, x []T, batch int) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	if err := checkLinearShapes(dst, x, batch, l.cfg.InFeatures, l.cfg.OutFeatures); err != nil {
		return err
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	l.saved.ok = false // the workspaces Backward reads are about to change
	mean, dm := l.runningMean, l.runningDeconv
	if l.training {
		if l.covPlan == nil || l.covBatch != batch {
			pl, err := cov.NewLinearPlan(cov.LinearParams{Batch: batch, Features: l.cfg.InFeatures, Block: l.block, Eps: l.cfg.Eps, Workers: l.cfg.Workers})
			if err != nil {
				return fmt.Errorf("Delinear statistics: %w", err)
			}
			l.covPlan, l.covBatch = pl, batch
		}
		if err := cov.Compute(l.covPlan, l.mean, l.covBuf, x); err != nil {
			return fmt.Errorf("Delinear statistics: %w", err)
		}
		if err := invSqrt(l.isq, l.dm, l.covBuf, l.mean, 1); err != nil {
			return err
		}
		mean, dm = l.mean, l.dm
	}
	p := l.linear.p.Load()
	bl := Blocking{Features: l.cfg.InFeatures, Block: l.block, Grouping: deconv.Contiguous}
	if err := foldWith(l.wFolded, l.bFolded, p.weight, p.bias, l.cfg.OutFeatures, bl, dm, mean, 1, -1, l.cfg.Workers); err != nil {
		return err
	}
	if err := linearForward(dst, x, batch, l.cfg.InFeatures, l.cfg.OutFeatures, l.wFolded, l.bFolded, l.cfg.Workers); err != nil {
		return err
	}
	if l.training {
		if err := momentumInto(l.newMean, l.runningMean, l.mean, l.cfg.Momentum); err != nil {
			return err
		}
		if err := momentumInto(l.covBuf, l.runningDeconv, l.dm, l.cfg.Momentum); err != nil {
			return err
		}
		copy(l.runningMean, l.newMean)
		copy(l.runningDeconv, l.covBuf)
	}
	l.saved = fwdState[T]{ok: true, batch: l.training, shape: [4]int{batch}, p: p}
	return nil
}

// Folded returns the plain linear layer that computes what the layer
// computes in evaluation mode; it may be shared by any number of
// goroutines (see Linear).
func (l *Delinear[T]) Folded() (*Linear[T], error) {
	if err := l.busy.acquire(); err != nil {
		return nil, err
	}
	defer l.busy.release()
	wf, bf := make([]T, len(l.wFolded)), make([]T, len(l.bFolded))
	bl := Blocking{Features: l.cfg.InFeatures, Block: l.block, Grouping: deconv.Contiguous}
	p := l.linear.p.Load()
	if err := foldWith(wf, bf, p.weight, p.bias, l.cfg.OutFeatures, bl, l.runningDeconv, l.runningMean, 1, -1, l.cfg.Workers); err != nil {
		return nil, err
	}
	lin := &Linear[T]{in: l.cfg.InFeatures, out: l.cfg.OutFeatures, Workers: l.cfg.Workers}
	lin.p.Store(&weights[T]{weight: wf, bias: bf})
	return lin, nil
}

// momentumInto writes the momentum update dst = (1−m)·r + m·v and checks
// that it is finite.
func momentumInto[T Float](dst, r, v []T, momentum float64) error {
	m := T(momentum)
	for i, x := range v {
		dst[i] = (1-m)*r[i] + m*x
	}
	return checkFinite(dst, "running statistics")
}

// setRunning replaces a layer's running_mean and running_deconv (matrices
// of F×F) after checking the new values' shapes, finiteness, symmetry and
// positive definiteness; on error nothing changes.
func setRunning[T Float](runMean, runDeconv, mean, dm []T, F int) error {
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
	for q := 0; q < len(dm)/(F*F); q++ {
		if err := checkSPD(dm[q*F*F:(q+1)*F*F], F); err != nil {
			return fmt.Errorf("running_deconv[%d]: %w", q, err)
		}
	}
	copy(runMean, mean)
	copy(runDeconv, dm)
	return nil
}
