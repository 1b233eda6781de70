package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/mem"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
	"sync/atomic"
)

// Linear is a fully connected layer, y = x·Wᵀ + b, as torch.nn.Linear: the
// weight is OutFeatures × InFeatures, the bias OutFeatures values or none.
//
// Concurrency: as Conv2d, Forward may be called from any number of
// goroutines at once and SetWeights publishes new weights atomically
// (each Forward uses the old or the new ones); only the Workers field must
// not be written while calls are in progress.
type Linear[T Float] struct {
	in, out int
	p       atomic.Pointer[weights[T]]

	// Workers bounds the goroutines a forward pass uses; 0 means the
	// process default (deconv.SetThreads); negative values are ErrParam.
	Workers int
}

// NewLinear returns a layer with copies of weight and bias (nil: no bias).
// Non-positive sizes are deconv.ErrParam, a weight whose size overflows
// int is deconv.ErrOverflow.
func NewLinear[T Float](inFeatures, outFeatures int, weight, bias []T) (*Linear[T], error) {
	if inFeatures <= 0 || outFeatures <= 0 {
		return nil, fmt.Errorf("%w: %d→%d features", deconv.ErrParam, inFeatures, outFeatures)
	}
	if _, ok := size.Mul(inFeatures, outFeatures); !ok {
		return nil, fmt.Errorf("%w: weight of %d×%d overflows int", deconv.ErrOverflow, outFeatures, inFeatures)
	}
	l := &Linear[T]{in: inFeatures, out: outFeatures}
	if err := l.SetWeights(weight, bias); err != nil {
		return nil, err
	}
	return l, nil
}

// SetWeights replaces the weights and the bias (nil: no bias) with copies,
// after checking their lengths and finiteness; on error the layer keeps
// its weights.
func (l *Linear[T]) SetWeights(weight, bias []T) error {
	p, err := newWeights(weight, bias, l.in*l.out, l.out)
	if err != nil {
		return err
	}
	l.p.Store(p)
	return nil
}

// Weight returns a copy of the weights.
func (l *Linear[T]) Weight() []T { return append([]T(nil), l.p.Load().weight...) }

// Bias returns a copy of the bias, or nil when the layer has none.
func (l *Linear[T]) Bias() []T {
	if b := l.p.Load().bias; b != nil {
		return append([]T(nil), b...)
	}
	return nil
}

// Forward computes dst = x·Wᵀ + b for batch rows of InFeatures values;
// dst receives batch × OutFeatures values. A NaN or infinity in x, or an
// output that overflows, is deconv.ErrNonFinite.
func (l *Linear[T]) Forward(dst, x []T, batch int) error {
	if l.Workers < 0 {
		return fmt.Errorf("%w: %d workers", deconv.ErrParam, l.Workers)
	}
	if err := checkLinearShapes(dst, x, batch, l.in, l.out); err != nil {
		return err
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	p := l.p.Load()
	return linearForward(dst, x, batch, l.in, l.out, p.weight, p.bias, l.Workers)
}

// checkLinearShapes validates the lengths of a fully connected forward.
func checkLinearShapes[T Float](dst, x []T, batch, in, out int) error {
	inLen, ok1 := size.Mul(batch, in)
	outLen, ok2 := size.Mul(batch, out)
	if batch > 0 && (!ok1 || !ok2) {
		return fmt.Errorf("%w: %d rows of %d→%d features", deconv.ErrOverflow, batch, in, out)
	}
	if batch <= 0 || len(x) != inLen || len(dst) != outLen {
		return fmt.Errorf("%w: %d rows: input has %d values (want %d), output %d (want %d)", deconv.ErrShape, batch, len(x), inLen, len(dst), outLen)
	}
	if mem.Overlap(dst[:outLen], x) {
		return fmt.Errorf("%w: the output overlaps the input", deconv.ErrOverlap)
	}
	return nil
}

// linearForward computes dst = x·Wᵀ + b for validated, finite inputs, and
// checks that the outputs are finite.
func linearForward[T Float](dst, x []T, batch, in, out int, weight, bias []T, workers int) error {
	var beta T
	dst = dst[:batch*out]
	if bias != nil {
		for r := 0; r < batch; r++ {
			copy(dst[r*out:(r+1)*out], bias)
		}
		beta = 1
	}
	if err := gemm.GemmDense(parallel.Workers(workers), gemm.NoTrans, gemm.Trans, batch, out, in, 1, x, in, weight, in, beta, dst, out); err != nil {
		return err
	}
	if !gather.FiniteFor[T](isa.Selected())(dst) {
		return nonFinite(dst, "output", 0)
	}
	return nil
}
