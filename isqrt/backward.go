package isqrt

import (
	"fmt"

	"github.com/netdeconv/deconv"
)

// Backward differentiates the Plan's last InvSqrt call: given dd, the
// gradient of a scalar loss with respect to the result D (n×n), it writes
// da, the gradient with respect to the input A, exactly as reverse-mode
// automatic differentiation of the computation the forward performed
// would (through every iteration and through the pre-scaling). The Plan
// must have been built with Options.Grad.
func (p *Plan[T]) Backward(da, dd []T) error {
	return fmt.Errorf("%w: isqrt backward is not built yet", deconv.ErrUnsupported)
}

// BackwardBatch is Backward for the Plan's last InvSqrtBatch call of
// count matrices, stored one after another in da and dd.
func (p *Plan[T]) BackwardBatch(da, dd []T, count int) error {
	return fmt.Errorf("%w: isqrt backward is not built yet", deconv.ErrUnsupported)
}
