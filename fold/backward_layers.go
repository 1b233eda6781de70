package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/isqrt"
)

// fwdState is what a layer's Forward leaves for its Backward, beside the
// values in the layer's workspaces (batch mean and D, folded weights,
// statistics plan, and the isqrt Plan's iterates).
type fwdState[T Float] struct {
	ok    bool        // a Forward succeeded and nothing invalidated it since
	batch bool        // it used the batch statistics (training, not frozen)
	shape [4]int      // its input shape
	p     *weights[T] // the (immutable) weights it folded
	// ChannelDeconv: the rest channels' mean and variance it used.
	mean2, variance T
}

// gradWork holds a layer's backward workspaces, allocated by the first
// Backward and reused: the gradients of the folded weights and bias, of
// D, of the mean and of the covariance.
type gradWork[T Float] struct {
	dwf, dbf, dd, dmean, dcov []T
}

// ensure sizes the workspaces (allocating only the first time).
func (g *gradWork[T]) ensure(weights, rows, matrices, means int) {
	if g.dd == nil {
		g.dwf, g.dbf = make([]T, weights), make([]T, rows)
		g.dd, g.dcov, g.dmean = make([]T, matrices), make([]T, matrices), make([]T, means)
	}
}

// checkSaved checks that a layer's Backward has a Forward to
// differentiate, of the given shape.
func checkSaved[T Float](s *fwdState[T], shape [4]int) error {
	if !s.ok {
		return errNoForward
	}
	if s.shape != shape {
		return fmt.Errorf("%w: Backward on an input of shape %v, the last Forward's was %v", deconv.ErrShape, shape, s.shape)
	}
	return nil
}

// statsBackward propagates the gradients of D (dd) and of the mean (dmean)
// of count matrices to the input x: through the isqrt Plan's last call to
// the covariance, and through the statistics plan into dx (added).
func statsBackward[T Float](isq *isqrt.Plan[T], pl *cov.Plan, dx, dcov, dd, dmean, x, mean []T, count int) error {
	var err error
	if count == 1 {
		err = isq.Backward(dcov, dd)
	} else {
		err = isq.BackwardBatch(dcov, dd, count)
	}
	if err != nil {
		return fmt.Errorf("deconvolution matrix backward: %w", err)
	}
	if err := cov.Backward(pl, dx, dmean, dcov, x, mean); err != nil {
		return fmt.Errorf("statistics backward: %w", err)
	}
	return checkFinite(dx, "input gradient")
}

// Backward differentiates the layer's last Forward, which must have been
// called on the same x: in training mode through the batch statistics
// (mean and deconvolution matrix), as autograd of the reference does; in
// evaluation mode or frozen with the running buffers as constants.
//
// It writes the gradients of a scalar loss with respect to the input
// (dx), the weights (dw) and the bias (db, nil for a layer without one),
// given dy, the gradient with respect to the output; nil destinations are
// skipped (the statistics path, the most expensive, runs only for dx).
// The steps: the convolution's backward with the folded weights W' gives
// dx, dW' and db'; FoldBackward turns them into dW, db and the gradients
// of D and μ; the isqrt Plan's backward turns dD into the covariance's
// gradient, and cov.Backward adds what the mean and covariance pass on
// into dx.
//
// Backward changes no state of the layer (weights, running buffers,
// counter); it may be called again for the same Forward. Errors:
// deconv.ErrParam without a Forward to differentiate (none yet, one that
// failed, or SetRunningStats since), or for db given to a layer without a
// bias; deconv.ErrShape for a shape other than the Forward's or
// destinations of the wrong length; deconv.ErrOverlap; deconv.ErrNonFinite
// for a NaN or infinity in dy, or in x (through the gradients computed
// from it), or a gradient that overflows (the destinations are then
// partly written); deconv.ErrBusy while another
// call on the layer is in progress.
func (l *FastDeconv[T]) Backward(dx, dw, db, dy, x []T, n, h, w int) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	s := &l.saved
	if err := checkSaved(s, [4]int{n, h, w}); err != nil {
		return err
	}
	oh, ow, err := l.conv.checkForward(dy, x, n, h, w)
	if err != nil {
		return err
	}
	if err := l.conv.checkBackward(dx, dw, db, dy, x); err != nil {
		return err
	}
	if db != nil && !l.cfg.Bias {
		return fmt.Errorf("%w: a bias gradient for a layer without a bias", deconv.ErrParam)
	}
	// x is not scanned here: the Forward checked it, and a different x
	// holding a NaN or an infinity makes dW or dx non-finite, which the
	// checks of the results report.
	g := l.conv.Geom()
	gw := &l.grad
	gw.ensure(g.WeightLen(), g.OutChannels, len(l.runningDeconv), len(l.runningMean))
	stats := s.batch && dx != nil
	mean, dm := l.runningMean, l.runningDeconv
	if s.batch {
		mean, dm = l.mean, l.dm
	}
	var dwf []T
	if dw != nil || stats {
		dwf = gw.dwf
	}
	if err := l.conv.backward(dx, dwf, gw.dbf, dy, x, n, h, w, oh, ow, l.wFolded, l.cfg.Workers, !stats); err != nil {
		return err
	}
	var dd, dmean []T
	if stats {
		dd, dmean = gw.dd, gw.dmean
	}
	if err := foldGrads(dw, db, dd, dmean, dwf, gw.dbf, s.p.weight, g.OutChannels, l.blocking(), dm, mean, l.groups, l.cfg.Workers); err != nil {
		return err
	}
	if !stats {
		return nil
	}
	return statsBackward(l.isq, l.covPlan, dx, gw.dcov, dd, dmean, x, mean, l.groups)
}

// foldGrads runs foldBackward when the folded weights' gradient dwf was
// computed (otherwise only db = dbf is wanted), and checks the weight and
// bias gradients.
func foldGrads[T Float](dw, db, dd, dmean, dwf, dbf, w []T, rows int, bl Blocking, d, mean []T, q, workers int) error {
	if dwf != nil {
		foldBackward(dw, db, dd, dmean, dwf, dbf, w, rows, bl, d, mean, q, workers)
	} else if db != nil {
		copy(db, dbf)
	}
	if err := checkFinite(dw, "weight gradient"); err != nil {
		return err
	}
	return checkFinite(db, "bias gradient")
}

// Backward is FastDeconv.Backward for the fully-connected layer: the
// linear layer's backward with the folded weights, FoldBackward, and in
// training mode the statistics' backward into dx.
func (l *Delinear[T]) Backward(dx, dw, db, dy, x []T, batch int) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	s := &l.saved
	if err := checkSaved(s, [4]int{batch}); err != nil {
		return err
	}
	in, out := l.cfg.InFeatures, l.cfg.OutFeatures
	if err := checkLinearShapes(dy, x, batch, in, out); err != nil {
		return err
	}
	if err := checkDest(dx, len(x), "input gradient"); err != nil {
		return err
	}
	if err := checkDest(dw, in*out, "weight gradient"); err != nil {
		return err
	}
	if err := checkDest(db, out, "bias gradient"); err != nil {
		return err
	}
	if err := checkNoOverlap([][]T{dx, dw, db}, [][]T{dy, x}); err != nil {
		return err
	}
	if db != nil && !l.cfg.Bias {
		return fmt.Errorf("%w: a bias gradient for a layer without a bias", deconv.ErrParam)
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	if err := checkFinite(dy, "output gradient"); err != nil {
		return err
	}
	gw := &l.grad
	gw.ensure(in*out, out, len(l.runningDeconv), len(l.runningMean))
	stats := s.batch && dx != nil
	mean, dm := l.runningMean, l.runningDeconv
	if s.batch {
		mean, dm = l.mean, l.dm
	}
	var dwf []T
	if dw != nil || stats {
		dwf = gw.dwf
	}
	if err := linearBackward(dx, dwf, gw.dbf, dy, x, batch, in, out, l.wFolded, l.cfg.Workers); err != nil {
		return err
	}
	var dd, dmean []T
	if stats {
		dd, dmean = gw.dd, gw.dmean
	}
	bl := Blocking{Features: in, Block: l.block, Grouping: deconv.Contiguous}
	if err := foldGrads(dw, db, dd, dmean, dwf, gw.dbf, s.p.weight, out, bl, dm, mean, 1, l.cfg.Workers); err != nil {
		return err
	}
	if !stats {
		return nil
	}
	return statsBackward(l.isq, l.covPlan, dx, gw.dcov, dd, dmean, x, mean, 1)
}
