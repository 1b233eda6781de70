package cov

import (
	"fmt"

	"github.com/netdeconv/deconv"
)

// Backward differentiates Compute: given dmean and dcov, the gradients of
// a scalar loss with respect to the mean and covariance Compute returned
// for the input x (mean is that forward's mean), it adds the gradient with
// respect to x into dx (SrcLen values). Either of dmean and dcov may be
// nil (a zero gradient).
func Backward[T Float](pl *Plan, dx, dmean, dcov, x, mean []T) error {
	return fmt.Errorf("%w: cov backward is not built yet", deconv.ErrUnsupported)
}
