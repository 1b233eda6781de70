package fold

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/size"
)

// MaxFeatures is the largest side F of a covariance, and of a
// deconvolution matrix, that a layer accepts: the limit of the isqrt
// package on its matrices, 2¹⁵. A FastDeconv's F is KernelH·KernelW·B, a
// Delinear's and a ChannelDeconv's is B. Constructors return
// deconv.ErrOverflow for a larger F before they allocate anything, since a
// layer keeps several F² buffers (at F = 2¹⁵, 4 GiB each in float32).
const MaxFeatures = 1 << 15

// errBusy is returned by a layer method called while another call on the
// same layer is in progress. It is built once, so that the refusal itself
// allocates nothing.
var errBusy = fmt.Errorf("%w: the layer is in use by another call", deconv.ErrBusy)

// busyFlag marks a layer in use by one call. Layers are documented as
// unsafe for concurrent use; the flag turns a concurrent call from a data
// race on the workspaces (which can panic on a worker goroutine and kill
// the process) into deconv.ErrBusy.
type busyFlag struct{ on atomic.Bool }

// acquire claims the flag, or returns errBusy when another call holds it.
func (b *busyFlag) acquire() error {
	if !b.on.CompareAndSwap(false, true) {
		return errBusy
	}
	return nil
}

// release frees the flag claimed by acquire.
func (b *busyFlag) release() { b.on.Store(false) }

// checkFeatures returns deconv.ErrOverflow when F exceeds MaxFeatures or
// groups·F² values cannot be counted in an int.
func checkFeatures(what string, F, groups int) error {
	if F <= 0 {
		return fmt.Errorf("%w: %s has %d features", deconv.ErrShape, what, F)
	}
	if F > MaxFeatures {
		return fmt.Errorf("%w: %s has %d features, more than MaxFeatures = %d", deconv.ErrOverflow, what, F, MaxFeatures)
	}
	if _, ok := size.Mul(groups, F, F); !ok {
		return fmt.Errorf("%w: %s: %d matrices of %d×%d", deconv.ErrOverflow, what, groups, F, F)
	}
	return nil
}

// checkCommon validates the parameters every deconvolution layer shares:
// iterations, momentum, eps and workers.
func checkCommon(what string, nIter int, momentum, eps float64, workers int) error {
	switch {
	case nIter <= 0:
		return fmt.Errorf("%w: %s: %d iterations", deconv.ErrParam, what, nIter)
	case !(momentum >= 0 && momentum <= 1):
		return fmt.Errorf("%w: %s: momentum %v is not in [0, 1]", deconv.ErrParam, what, momentum)
	case !(eps >= 0) || math.IsInf(eps, 0):
		return fmt.Errorf("%w: %s: eps %v is not finite and non-negative", deconv.ErrParam, what, eps)
	case workers < 0:
		return fmt.Errorf("%w: %s: %d workers", deconv.ErrParam, what, workers)
	}
	return nil
}
