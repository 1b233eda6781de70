package fold

import (
	"fmt"
	"github.com/netdeconv/deconv"

	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
)

// Linear is a fully connected layer, y = x·Wᵀ + b, as torch.nn.Linear: the
// weight is OutFeatures × InFeatures, the bias OutFeatures values or none.
// It is not safe for concurrent calls; distinct values are independent.
type Linear[T Float] struct {
	in, out int
	weight  []T
	bias    []T

	// Workers bounds the goroutines a forward pass uses; 0 means
	// GOMAXPROCS.
	Workers int
}

// NewLinear returns a layer with copies of weight and bias (nil: no bias).
func NewLinear[T Float](inFeatures, outFeatures int, weight, bias []T) (*Linear[T], error) {
	if inFeatures <= 0 || outFeatures <= 0 {
		return nil, fmt.Errorf("%w: %d→%d features", deconv.ErrParam, inFeatures, outFeatures)
	}
	if _, ok := size.Mul(inFeatures, outFeatures); !ok {
		return nil, fmt.Errorf("%w: weight size overflows int", deconv.ErrParam)
	}
	l := &Linear[T]{in: inFeatures, out: outFeatures}
	if err := l.SetWeights(weight, bias); err != nil {
		return nil, err
	}
	return l, nil
}

// SetWeights replaces the weights and the bias (nil: no bias) with copies.
func (l *Linear[T]) SetWeights(weight, bias []T) error {
	if len(weight) != l.in*l.out {
		return fmt.Errorf("%w: weight has %d values, %d×%d needs %d", deconv.ErrShape, len(weight), l.out, l.in, l.in*l.out)
	}
	if bias != nil && len(bias) != l.out {
		return fmt.Errorf("%w: bias has %d values, want %d", deconv.ErrShape, len(bias), l.out)
	}
	if err := checkFinite(weight, "weight"); err != nil {
		return err
	}
	if err := checkFinite(bias, "bias"); err != nil {
		return err
	}
	l.weight = append(l.weight[:0], weight...)
	if bias == nil {
		l.bias = nil
	} else {
		l.bias = append(l.bias[:0:0], bias...)
	}
	return nil
}

// Weight returns a copy of the weights.
func (l *Linear[T]) Weight() []T { return append([]T(nil), l.weight...) }

// Bias returns a copy of the bias, or nil when the layer has none.
func (l *Linear[T]) Bias() []T {
	if l.bias == nil {
		return nil
	}
	return append([]T(nil), l.bias...)
}

// Forward computes dst = x·Wᵀ + b for batch rows of InFeatures values;
// dst receives batch × OutFeatures values.
func (l *Linear[T]) Forward(dst, x []T, batch int) error {
	inLen, ok1 := size.Mul(batch, l.in)
	outLen, ok2 := size.Mul(batch, l.out)
	if batch <= 0 || !ok1 || !ok2 || len(x) != inLen || len(dst) < outLen {
		return fmt.Errorf("%w: %d rows: input has %d values (want %d), output %d (want ≥ %d)", deconv.ErrShape, batch, len(x), inLen, len(dst), outLen)
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	return linearForward(dst, x, batch, l.in, l.out, l.weight, l.bias, l.Workers)
}

// linearForward computes dst = x·Wᵀ + b for validated inputs.
func linearForward[T Float](dst, x []T, batch, in, out int, weight, bias []T, workers int) error {
	var beta T
	if bias != nil {
		for r := 0; r < batch; r++ {
			copy(dst[r*out:(r+1)*out], bias)
		}
		beta = 1
	}
	return gemm.GemmDense(parallel.Workers(workers), gemm.NoTrans, gemm.Trans, batch, out, in, 1, x, in, weight, in, beta, dst, out)
}
