package main

/*
#include "internal.h"
*/
import "C"

import (
	"unsafe"
)

// The exported backward passes (since 0.2): covariance, inverse square
// root, folding, the plain convolution and linear layers, and the three
// layers. The Go bodies are in backward.go.

// buf describes one pointer argument of a backward call.
type buf struct {
	p    unsafe.Pointer
	n    C.size_t
	name string
}

// slices converts the pointer arguments of one call, in order.
func slices[T elem](args ...buf) ([][]T, error) {
	out := make([][]T, len(args))
	for i, a := range args {
		s, err := sliceAt[T](a.p, uint64(a.n), a.name)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// ---- cov

func covBackwardCall[T elem](p *C.deconv__ccov_plan, dx unsafe.Pointer, dxLen C.size_t, dmean unsafe.Pointer, dmeanLen C.size_t,
	dcov unsafe.Pointer, dcovLen C.size_t, x unsafe.Pointer, xLen C.size_t, mean unsafe.Pointer, meanLen C.size_t) error {
	pl, err := covPlanOf(p)
	if err != nil {
		return err
	}
	s, err := slices[T](buf{dx, dxLen, "dx"}, buf{dmean, dmeanLen, "dmean"}, buf{dcov, dcovLen, "dcov"},
		buf{x, xLen, "x"}, buf{mean, meanLen, "mean"})
	if err != nil {
		return err
	}
	return covBackward(pl, s[0], s[1], s[2], s[3], s[4])
}

//export deconv_cov_backward_f32
func deconv_cov_backward_f32(p *C.deconv__ccov_plan, dx *C.float, dxLen C.size_t, dmean *C.deconv__cfloat, dmeanLen C.size_t,
	dcov *C.deconv__cfloat, dcovLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, mean *C.deconv__cfloat, meanLen C.size_t,
	e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covBackwardCall[float32](p, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dmean), dmeanLen,
		unsafe.Pointer(dcov), dcovLen, unsafe.Pointer(x), xLen, unsafe.Pointer(mean), meanLen))
}

//export deconv_cov_backward_f64
func deconv_cov_backward_f64(p *C.deconv__ccov_plan, dx *C.double, dxLen C.size_t, dmean *C.deconv__cdouble, dmeanLen C.size_t,
	dcov *C.deconv__cdouble, dcovLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, mean *C.deconv__cdouble, meanLen C.size_t,
	e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covBackwardCall[float64](p, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dmean), dmeanLen,
		unsafe.Pointer(dcov), dcovLen, unsafe.Pointer(x), xLen, unsafe.Pointer(mean), meanLen))
}

// ---- isqrt

func isqrtBackwardCall[T elem](h *C.deconv_isqrt, batch bool, count C.size_t, da unsafe.Pointer, daLen C.size_t,
	dd unsafe.Pointer, ddLen C.size_t) error {
	hv, err := isqrtOf((*C.deconv__cisqrt)(h))
	if err != nil {
		return err
	}
	cnt, err := intArg("count", uint64(count))
	if err != nil {
		return err
	}
	s, err := slices[T](buf{da, daLen, "da"}, buf{dd, ddLen, "dd"})
	if err != nil {
		return err
	}
	return isqrtBackward(hv, s[0], s[1], batch, cnt)
}

//export deconv_isqrt_backward_f32
func deconv_isqrt_backward_f32(h *C.deconv_isqrt, da *C.float, daLen C.size_t, dd *C.deconv__cfloat, ddLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtBackwardCall[float32](h, false, 1, unsafe.Pointer(da), daLen, unsafe.Pointer(dd), ddLen))
}

//export deconv_isqrt_backward_f64
func deconv_isqrt_backward_f64(h *C.deconv_isqrt, da *C.double, daLen C.size_t, dd *C.deconv__cdouble, ddLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtBackwardCall[float64](h, false, 1, unsafe.Pointer(da), daLen, unsafe.Pointer(dd), ddLen))
}

//export deconv_isqrt_backward_batch_f32
func deconv_isqrt_backward_batch_f32(h *C.deconv_isqrt, count C.size_t, da *C.float, daLen C.size_t, dd *C.deconv__cfloat, ddLen C.size_t,
	e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtBackwardCall[float32](h, true, count, unsafe.Pointer(da), daLen, unsafe.Pointer(dd), ddLen))
}

//export deconv_isqrt_backward_batch_f64
func deconv_isqrt_backward_batch_f64(h *C.deconv_isqrt, count C.size_t, da *C.double, daLen C.size_t, dd *C.deconv__cdouble, ddLen C.size_t,
	e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtBackwardCall[float64](h, true, count, unsafe.Pointer(da), daLen, unsafe.Pointer(dd), ddLen))
}

// ---- fold

func foldBackwardCall[T elem](dw unsafe.Pointer, dwLen C.size_t, dbias unsafe.Pointer, dbiasLen C.size_t, dd unsafe.Pointer, ddLen C.size_t,
	dmean unsafe.Pointer, dmeanLen C.size_t, dwOut unsafe.Pointer, dwOutLen C.size_t, dbiasOut unsafe.Pointer, dbiasOutLen C.size_t,
	w unsafe.Pointer, wLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, d unsafe.Pointer, dLen C.size_t,
	mean unsafe.Pointer, meanLen C.size_t) error {
	bp, err := blockingArg(bl)
	if err != nil {
		return err
	}
	r, err := intArg("rows", uint64(rows))
	if err != nil {
		return err
	}
	s, err := slices[T](buf{dw, dwLen, "dw"}, buf{dbias, dbiasLen, "dbias"}, buf{dd, ddLen, "dd"}, buf{dmean, dmeanLen, "dmean"},
		buf{dwOut, dwOutLen, "dw_out"}, buf{dbiasOut, dbiasOutLen, "dbias_out"}, buf{w, wLen, "w"}, buf{d, dLen, "d"},
		buf{mean, meanLen, "mean"})
	if err != nil {
		return err
	}
	return foldBackwardRun(s[0], s[1], s[2], s[3], s[4], s[5], s[6], r, bp, s[7], s[8])
}

//export deconv_fold_backward_f32
func deconv_fold_backward_f32(dw *C.float, dwLen C.size_t, dbias *C.float, dbiasLen C.size_t, dd *C.float, ddLen C.size_t,
	dmean *C.float, dmeanLen C.size_t, dwOut *C.deconv__cfloat, dwOutLen C.size_t, dbiasOut *C.deconv__cfloat, dbiasOutLen C.size_t,
	w *C.deconv__cfloat, wLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, d *C.deconv__cfloat, dLen C.size_t,
	mean *C.deconv__cfloat, meanLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, foldBackwardCall[float32](unsafe.Pointer(dw), dwLen, unsafe.Pointer(dbias), dbiasLen, unsafe.Pointer(dd), ddLen,
		unsafe.Pointer(dmean), dmeanLen, unsafe.Pointer(dwOut), dwOutLen, unsafe.Pointer(dbiasOut), dbiasOutLen,
		unsafe.Pointer(w), wLen, rows, bl, unsafe.Pointer(d), dLen, unsafe.Pointer(mean), meanLen))
}

//export deconv_fold_backward_f64
func deconv_fold_backward_f64(dw *C.double, dwLen C.size_t, dbias *C.double, dbiasLen C.size_t, dd *C.double, ddLen C.size_t,
	dmean *C.double, dmeanLen C.size_t, dwOut *C.deconv__cdouble, dwOutLen C.size_t, dbiasOut *C.deconv__cdouble, dbiasOutLen C.size_t,
	w *C.deconv__cdouble, wLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, d *C.deconv__cdouble, dLen C.size_t,
	mean *C.deconv__cdouble, meanLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, foldBackwardCall[float64](unsafe.Pointer(dw), dwLen, unsafe.Pointer(dbias), dbiasLen, unsafe.Pointer(dd), ddLen,
		unsafe.Pointer(dmean), dmeanLen, unsafe.Pointer(dwOut), dwOutLen, unsafe.Pointer(dbiasOut), dbiasOutLen,
		unsafe.Pointer(w), wLen, rows, bl, unsafe.Pointer(d), dLen, unsafe.Pointer(mean), meanLen))
}

// ---- the weighted layers' buffers: dx, dw, db, dy, x

func gradSlices[T elem](dx unsafe.Pointer, dxLen C.size_t, dw unsafe.Pointer, dwLen C.size_t, db unsafe.Pointer, dbLen C.size_t,
	dy unsafe.Pointer, dyLen C.size_t, x unsafe.Pointer, xLen C.size_t) ([][]T, error) {
	return slices[T](buf{dx, dxLen, "dx"}, buf{dw, dwLen, "dw"}, buf{db, dbLen, "db"}, buf{dy, dyLen, "dy"}, buf{x, xLen, "x"})
}

// ---- conv2d

func conv2dBackwardCall[T elem](c *C.deconv__cconv2d, dx unsafe.Pointer, dxLen C.size_t, dw unsafe.Pointer, dwLen C.size_t,
	db unsafe.Pointer, dbLen C.size_t, dy unsafe.Pointer, dyLen C.size_t, x unsafe.Pointer, xLen C.size_t, n, h, w C.int) error {
	ch, err := convOf(c)
	if err != nil {
		return err
	}
	s, err := gradSlices[T](dx, dxLen, dw, dwLen, db, dbLen, dy, dyLen, x, xLen)
	if err != nil {
		return err
	}
	return convBackward(ch, s[0], s[1], s[2], s[3], s[4], int(n), int(h), int(w))
}

//export deconv_conv2d_backward_f32
func deconv_conv2d_backward_f32(c *C.deconv__cconv2d, dx *C.float, dxLen C.size_t, dw *C.float, dwLen C.size_t, db *C.float, dbLen C.size_t,
	dy *C.deconv__cfloat, dyLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dBackwardCall[float32](c, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, n, h, w))
}

//export deconv_conv2d_backward_f64
func deconv_conv2d_backward_f64(c *C.deconv__cconv2d, dx *C.double, dxLen C.size_t, dw *C.double, dwLen C.size_t, db *C.double, dbLen C.size_t,
	dy *C.deconv__cdouble, dyLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dBackwardCall[float64](c, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, n, h, w))
}

// ---- linear

func linearBackwardCall[T elem](l *C.deconv__clinear, dx unsafe.Pointer, dxLen C.size_t, dw unsafe.Pointer, dwLen C.size_t,
	db unsafe.Pointer, dbLen C.size_t, dy unsafe.Pointer, dyLen C.size_t, x unsafe.Pointer, xLen C.size_t, batch C.int) error {
	h, err := linearOf(l)
	if err != nil {
		return err
	}
	s, err := gradSlices[T](dx, dxLen, dw, dwLen, db, dbLen, dy, dyLen, x, xLen)
	if err != nil {
		return err
	}
	return linearBackward(h, s[0], s[1], s[2], s[3], s[4], int(batch))
}

//export deconv_linear_backward_f32
func deconv_linear_backward_f32(l *C.deconv__clinear, dx *C.float, dxLen C.size_t, dw *C.float, dwLen C.size_t, db *C.float, dbLen C.size_t,
	dy *C.deconv__cfloat, dyLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearBackwardCall[float32](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, batch))
}

//export deconv_linear_backward_f64
func deconv_linear_backward_f64(l *C.deconv__clinear, dx *C.double, dxLen C.size_t, dw *C.double, dwLen C.size_t, db *C.double, dbLen C.size_t,
	dy *C.deconv__cdouble, dyLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearBackwardCall[float64](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, batch))
}

// ---- FastDeconv

func fastDeconvBackwardCall[T elem](l *C.deconv_fastdeconv, dx unsafe.Pointer, dxLen C.size_t, dw unsafe.Pointer, dwLen C.size_t,
	db unsafe.Pointer, dbLen C.size_t, dy unsafe.Pointer, dyLen C.size_t, x unsafe.Pointer, xLen C.size_t, n, h, w C.int) error {
	lh, err := layerOfHandle(unsafe.Pointer(l), fdMagic, "fastdeconv")
	if err != nil {
		return err
	}
	s, err := gradSlices[T](dx, dxLen, dw, dwLen, db, dbLen, dy, dyLen, x, xLen)
	if err != nil {
		return err
	}
	return fastDeconvBackward(lh, s[0], s[1], s[2], s[3], s[4], int(n), int(h), int(w))
}

//export deconv_fastdeconv_backward_f32
func deconv_fastdeconv_backward_f32(l *C.deconv_fastdeconv, dx *C.float, dxLen C.size_t, dw *C.float, dwLen C.size_t, db *C.float, dbLen C.size_t,
	dy *C.deconv__cfloat, dyLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, fastDeconvBackwardCall[float32](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, n, h, w))
}

//export deconv_fastdeconv_backward_f64
func deconv_fastdeconv_backward_f64(l *C.deconv_fastdeconv, dx *C.double, dxLen C.size_t, dw *C.double, dwLen C.size_t, db *C.double, dbLen C.size_t,
	dy *C.deconv__cdouble, dyLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, fastDeconvBackwardCall[float64](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, n, h, w))
}

// ---- Delinear

func delinearBackwardCall[T elem](l *C.deconv_delinear, dx unsafe.Pointer, dxLen C.size_t, dw unsafe.Pointer, dwLen C.size_t,
	db unsafe.Pointer, dbLen C.size_t, dy unsafe.Pointer, dyLen C.size_t, x unsafe.Pointer, xLen C.size_t, batch C.int) error {
	lh, err := layerOfHandle(unsafe.Pointer(l), dlMagic, "delinear")
	if err != nil {
		return err
	}
	s, err := gradSlices[T](dx, dxLen, dw, dwLen, db, dbLen, dy, dyLen, x, xLen)
	if err != nil {
		return err
	}
	return delinearBackward(lh, s[0], s[1], s[2], s[3], s[4], int(batch))
}

//export deconv_delinear_backward_f32
func deconv_delinear_backward_f32(l *C.deconv_delinear, dx *C.float, dxLen C.size_t, dw *C.float, dwLen C.size_t, db *C.float, dbLen C.size_t,
	dy *C.deconv__cfloat, dyLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, delinearBackwardCall[float32](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, batch))
}

//export deconv_delinear_backward_f64
func deconv_delinear_backward_f64(l *C.deconv_delinear, dx *C.double, dxLen C.size_t, dw *C.double, dwLen C.size_t, db *C.double, dbLen C.size_t,
	dy *C.deconv__cdouble, dyLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, delinearBackwardCall[float64](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dw), dwLen, unsafe.Pointer(db), dbLen,
		unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, batch))
}

// ---- ChannelDeconv

func channelDeconvBackwardCall[T elem](l *C.deconv_channeldeconv, dx unsafe.Pointer, dxLen C.size_t, dy unsafe.Pointer, dyLen C.size_t,
	x unsafe.Pointer, xLen C.size_t, n, c, h, w C.int) error {
	lh, err := layerOfHandle(unsafe.Pointer(l), cdMagic, "channeldeconv")
	if err != nil {
		return err
	}
	s, err := slices[T](buf{dx, dxLen, "dx"}, buf{dy, dyLen, "dy"}, buf{x, xLen, "x"})
	if err != nil {
		return err
	}
	return channelDeconvBackward(lh, s[0], s[1], s[2], int(n), int(c), int(h), int(w))
}

//export deconv_channeldeconv_backward_f32
func deconv_channeldeconv_backward_f32(l *C.deconv_channeldeconv, dx *C.float, dxLen C.size_t, dy *C.deconv__cfloat, dyLen C.size_t,
	x *C.deconv__cfloat, xLen C.size_t, n, c, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, channelDeconvBackwardCall[float32](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, n, c, h, w))
}

//export deconv_channeldeconv_backward_f64
func deconv_channeldeconv_backward_f64(l *C.deconv_channeldeconv, dx *C.double, dxLen C.size_t, dy *C.deconv__cdouble, dyLen C.size_t,
	x *C.deconv__cdouble, xLen C.size_t, n, c, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, channelDeconvBackwardCall[float64](l, unsafe.Pointer(dx), dxLen, unsafe.Pointer(dy), dyLen, unsafe.Pointer(x), xLen, n, c, h, w))
}
