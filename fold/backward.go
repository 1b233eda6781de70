package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
)

var errNoBackward = fmt.Errorf("%w: backward is not built yet", deconv.ErrUnsupported)

// FoldBackward differentiates Fold: given dwOut and dbiasOut, the
// gradients of a loss with respect to W' and b', it writes the gradients
// with respect to W (dw), b (dbias), D (dd) and μ (dmean). Destinations
// that are nil are not computed.
func FoldBackward[T Float](dw, dbias, dd, dmean, dwOut, dbiasOut, w []T, rows int, bl Blocking, d, mean []T) error {
	return errNoBackward
}

// Backward computes the gradients of a loss with respect to the input
// (dx), the weights (dw) and the bias (db) of the convolution y = conv(x),
// given dy. Destinations that are nil are not computed; they are
// overwritten, not accumulated.
func (c *Conv2d[T]) Backward(dx, dw, db, dy, x []T, n, h, w int) error {
	return errNoBackward
}

// Backward is Conv2d.Backward for the fully-connected layer.
func (l *Linear[T]) Backward(dx, dw, db, dy, x []T, batch int) error {
	return errNoBackward
}

// Backward differentiates the layer's last Forward, which must have been
// called on the same x: in training mode through the batch statistics
// (mean and deconvolution matrix), as autograd of the reference does; in
// evaluation mode or frozen with the running buffers as constants.
func (l *FastDeconv[T]) Backward(dx, dw, db, dy, x []T, n, h, w int) error {
	return errNoBackward
}

// Backward is FastDeconv.Backward for the fully-connected layer.
func (l *Delinear[T]) Backward(dx, dw, db, dy, x []T, batch int) error {
	return errNoBackward
}

// Backward is FastDeconv.Backward for the weightless channel whitening.
func (l *ChannelDeconv[T]) Backward(dx, dy, x []T, n, c, h, w int) error {
	return errNoBackward
}
