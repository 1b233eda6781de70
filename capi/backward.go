package main

// The backward passes behind the *_backward_* entry points: the checks
// the C interface adds (lengths, overlaps, the handle's state) around the
// Backward methods of packages cov, isqrt and fold.

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/fold"
	"github.com/netdeconv/deconv/isqrt"
)

// orNil turns an empty buffer into nil: a destination (or an optional
// gradient) of length 0 is "not computed" (or zero) whatever its pointer.
func orNil[T elem](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// covBackward adds the gradient with respect to x into dx. It computes
// into a Go copy of dx, so that a failing call leaves dx as it was.
func covBackward[T elem](pl *covPlan, dx, dmean, dcov, x, mean []T) error {
	dmean, dcov = orNil(dmean), orNil(dcov)
	if err := exactLen("dx", len(dx), pl.SrcLen()); err != nil {
		return err
	}
	if err := exactLen("x", len(x), pl.SrcLen()); err != nil {
		return err
	}
	if err := exactLen("mean", len(mean), pl.MeanLen()); err != nil {
		return err
	}
	if dmean != nil {
		if err := exactLen("dmean", len(dmean), pl.MeanLen()); err != nil {
			return err
		}
	}
	if dcov != nil {
		if err := exactLen("dcov", len(dcov), pl.CovLen()); err != nil {
			return err
		}
	}
	if err := noOverlap([]string{"dx", "dmean", "dcov", "x", "mean"}, dx, dmean, dcov, x, mean); err != nil {
		return err
	}
	tmp := make([]T, len(dx)) // not kept: x may be large
	copy(tmp, dx)
	if err := cov.Backward(pl, tmp, dmean, dcov, x, mean); err != nil {
		return err
	}
	copy(dx, tmp)
	return nil
}

// isqrtBackward differentiates the handle's last computation: a single
// matrix (batch false) or a batch of count. Like the forward it runs on Go
// copies, so the plan never sees caller memory and da is written only on
// success.
func isqrtBackward[T elem](h *isqrtHandle, da, dd []T, batch bool, count int) error {
	if err := h.acquire("deconv_isqrt"); err != nil {
		return err
	}
	defer h.release()
	if !h.opt.Grad {
		return fmt.Errorf("%w: deconv_isqrt was created without grad", deconv.ErrParam)
	}
	nn := h.n * h.n
	if count < 0 || (count > 0 && nn > int(^uint(0)>>1)/count) {
		return fmt.Errorf("%w: %d matrices of %d×%d", deconv.ErrOverflow, count, h.n, h.n)
	}
	want := nn
	if batch {
		want = count * nn
	}
	if err := exactLen("da", len(da), want); err != nil {
		return err
	}
	if err := exactLen("dd", len(dd), want); err != nil {
		return err
	}
	if overlap(da, dd) {
		return errOverlap("da", "dd")
	}
	if batch && count == 0 {
		return nil
	}
	p, ok := h.last.plan.(*isqrt.Plan[T])
	switch {
	case !ok:
		return fmt.Errorf("%w: deconv_isqrt has no successful %s computation to differentiate", deconv.ErrParam, typeName[T]())
	case h.last.batch != batch:
		return fmt.Errorf("%w: the last computation was %s, not %s", deconv.ErrParam,
			pick(h.last.batch, "a batch", "a single matrix"), pick(batch, "a batch", "a single matrix"))
	case batch && h.last.count != count:
		return fmt.Errorf("%w: count %d, the last batch had %d matrices", deconv.ErrShape, count, h.last.count)
	}
	var tmp []T
	if batch {
		tmp = make([]T, 2*want) // not kept: a batch may be large
	} else {
		tmp = isqrtScratch[T](h, 2*want)
	}
	tdd, tda := tmp[:want], tmp[want:]
	copy(tdd, dd)
	var err error
	if batch {
		err = p.BackwardBatch(tda, tdd, count)
	} else {
		err = p.Backward(tda, tdd)
	}
	if err != nil {
		return err
	}
	copy(da, tda)
	return nil
}

// typeName is "float" or "double", as the C side names T.
func typeName[T elem]() string {
	var z T
	if _, ok := any(z).(float32); ok {
		return "float"
	}
	return "double"
}

// foldBackwardRun differentiates Fold. Destinations of length 0 are not
// computed; dbiasOut of length 0 is a zero gradient.
func foldBackwardRun[T elem](dw, dbias, dd, dmean, dwOut, dbiasOut, w []T, rows int, bp blockingParams, d, mean []T) error {
	bl, err := bp.blocking()
	if err != nil {
		return err
	}
	dw, dbias, dd, dmean, dbiasOut = orNil(dw), orNil(dbias), orNil(dd), orNil(dmean), orNil(dbiasOut)
	if err := noOverlap([]string{"dw", "dbias", "dd", "dmean", "dw_out", "dbias_out", "w", "d", "mean"},
		dw, dbias, dd, dmean, dwOut, dbiasOut, w, d, mean); err != nil {
		return err
	}
	return fold.FoldBackward(dw, dbias, dd, dmean, dwOut, dbiasOut, w, rows, bl, d, mean)
}

// gradNames are the buffers of a weighted layer's backward, in the order
// they are passed to noOverlap.
var gradNames = []string{"dx", "dw", "db", "dy", "x"}

func convBackward[T elem](h *convHandle, dx, dw, db, dy, x []T, n, hh, w int) error {
	c, err := layerOf[*fold.Conv2d[T]](h.c, "conv2d", errDtype[T])
	if err != nil {
		return err
	}
	dx, dw, db = orNil(dx), orNil(dw), orNil(db)
	if err := noOverlap(gradNames, dx, dw, db, dy, x); err != nil {
		return err
	}
	return c.Backward(dx, dw, db, dy, x, n, hh, w)
}

func linearBackward[T elem](h *linearHandle, dx, dw, db, dy, x []T, batch int) error {
	l, err := layerOf[*fold.Linear[T]](h.l, "linear", errDtype[T])
	if err != nil {
		return err
	}
	dx, dw, db = orNil(dx), orNil(dw), orNil(db)
	if err := noOverlap(gradNames, dx, dw, db, dy, x); err != nil {
		return err
	}
	return l.Backward(dx, dw, db, dy, x, batch)
}

func fastDeconvBackward[T elem](h *layerHandle, dx, dw, db, dy, x []T, n, hh, w int) error {
	l, err := claim[*fold.FastDeconv[T], T](h)
	if err != nil {
		return err
	}
	defer h.release()
	dx, dw, db = orNil(dx), orNil(dw), orNil(db)
	if err := noOverlap(gradNames, dx, dw, db, dy, x); err != nil {
		return err
	}
	return l.Backward(dx, dw, db, dy, x, n, hh, w)
}

func delinearBackward[T elem](h *layerHandle, dx, dw, db, dy, x []T, batch int) error {
	l, err := claim[*fold.Delinear[T], T](h)
	if err != nil {
		return err
	}
	defer h.release()
	dx, dw, db = orNil(dx), orNil(dw), orNil(db)
	if err := noOverlap(gradNames, dx, dw, db, dy, x); err != nil {
		return err
	}
	return l.Backward(dx, dw, db, dy, x, batch)
}

func channelDeconvBackward[T elem](h *layerHandle, dx, dy, x []T, n, c, hh, w int) error {
	l, err := claim[*fold.ChannelDeconv[T], T](h)
	if err != nil {
		return err
	}
	defer h.release()
	dx = orNil(dx)
	if err := noOverlap([]string{"dx", "dy", "x"}, dx, dy, x); err != nil {
		return err
	}
	return l.Backward(dx, dy, x, n, c, hh, w)
}
