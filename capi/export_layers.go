package main

/*
#include "internal.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/fold"
)

// The first versions' sizes of the config structs.
const (
	conv2dConfigV1        = C.sizeof_deconv_conv2d_config
	linearConfigV1        = C.sizeof_deconv_linear_config
	fastDeconvConfigV1    = C.sizeof_deconv_fastdeconv_config
	delinearConfigV1      = C.sizeof_deconv_delinear_config
	channelDeconvConfigV1 = C.sizeof_deconv_channeldeconv_config
)

// hv returns the Go value of a handle of the given type tag.
func hv[T any](p unsafe.Pointer, magic C.uint64_t, name string) (T, error) {
	return handleValue[T]((*C.deconv__handle)(p), magic, name)
}

// storeHandle wraps v in a new handle and stores it in *out.
func storeHandle[P any](out **P, magic C.uint64_t, v any, err error) error {
	if err != nil {
		return err
	}
	h, err := newHandle(magic, v)
	if err != nil {
		return err
	}
	*out = (*P)(unsafe.Pointer(h))
	return nil
}

// nameArg converts a buffer or property name.
func nameArg(p *C.deconv__cchar) (string, error) {
	if p == nil {
		return "", errNull("name")
	}
	const maxName = 64
	c := (*C.char)(unsafe.Pointer(p))
	n := C.deconv__strnlen(c, maxName+1)
	if n > maxName {
		return "", fmt.Errorf("%w: name longer than %d bytes", deconv.ErrParam, maxName)
	}
	return C.GoStringN(c, C.int(n)), nil
}

// dtypeOf is the deconv_dtype of a layer value.
func dtypeOf(v any) C.int {
	switch v.(type) {
	case *fold.Conv2d[float32], *fold.Linear[float32], *fold.FastDeconv[float32], *fold.Delinear[float32], *fold.ChannelDeconv[float32]:
		return C.DECONV_DTYPE_F32
	case *fold.Conv2d[float64], *fold.Linear[float64], *fold.FastDeconv[float64], *fold.Delinear[float64], *fold.ChannelDeconv[float64]:
		return C.DECONV_DTYPE_F64
	}
	return -1
}

// ---- fold and restore

func blockingArg(b *C.deconv__cblocking) (blockingParams, error) {
	if b == nil {
		return blockingParams{}, errNull("blocking")
	}
	return blockingParams{Features: int(b.features), Block: int(b.block), Grouping: int(b.grouping)}, nil
}

// foldCall converts the arguments of fold and restore (outputs a, b;
// inputs c, d; the whitening dm and mean) and runs f.
func foldCall[T elem](a unsafe.Pointer, aLen C.size_t, b unsafe.Pointer, bLen C.size_t, c unsafe.Pointer, cLen C.size_t,
	d unsafe.Pointer, dLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, dm unsafe.Pointer, dmLen C.size_t,
	mean unsafe.Pointer, meanLen C.size_t, names [4]string,
	f func(a, b, c, d []T, rows int, bp blockingParams, dm, mean []T) error) error {
	bp, err := blockingArg(bl)
	if err != nil {
		return err
	}
	r, err := intArg("rows", uint64(rows))
	if err != nil {
		return err
	}
	var s [6][]T
	for i, arg := range []struct {
		p    unsafe.Pointer
		n    C.size_t
		name string
	}{{a, aLen, names[0]}, {b, bLen, names[1]}, {c, cLen, names[2]}, {d, dLen, names[3]}, {dm, dmLen, "d"}, {mean, meanLen, "mean"}} {
		if s[i], err = sliceAt[T](arg.p, uint64(arg.n), arg.name); err != nil {
			return err
		}
	}
	return f(s[0], s[1], s[2], s[3], r, bp, s[4], s[5])
}

var foldNames = [4]string{"w_out", "bias_out", "w", "bias"}
var restoreNames = [4]string{"w", "bias", "w_folded", "bias_folded"}

//export deconv_fold_f32
func deconv_fold_f32(wOut *C.float, wOutLen C.size_t, biasOut *C.float, biasOutLen C.size_t, w *C.deconv__cfloat, wLen C.size_t,
	bias *C.deconv__cfloat, biasLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, d *C.deconv__cfloat, dLen C.size_t,
	mean *C.deconv__cfloat, meanLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, foldCall[float32](unsafe.Pointer(wOut), wOutLen, unsafe.Pointer(biasOut), biasOutLen, unsafe.Pointer(w), wLen,
		unsafe.Pointer(bias), biasLen, rows, bl, unsafe.Pointer(d), dLen, unsafe.Pointer(mean), meanLen, foldNames, foldRun[float32]))
}

//export deconv_fold_f64
func deconv_fold_f64(wOut *C.double, wOutLen C.size_t, biasOut *C.double, biasOutLen C.size_t, w *C.deconv__cdouble, wLen C.size_t,
	bias *C.deconv__cdouble, biasLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, d *C.deconv__cdouble, dLen C.size_t,
	mean *C.deconv__cdouble, meanLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, foldCall[float64](unsafe.Pointer(wOut), wOutLen, unsafe.Pointer(biasOut), biasOutLen, unsafe.Pointer(w), wLen,
		unsafe.Pointer(bias), biasLen, rows, bl, unsafe.Pointer(d), dLen, unsafe.Pointer(mean), meanLen, foldNames, foldRun[float64]))
}

//export deconv_restore_f32
func deconv_restore_f32(w *C.float, wLen C.size_t, bias *C.float, biasLen C.size_t, wf *C.deconv__cfloat, wfLen C.size_t,
	bf *C.deconv__cfloat, bfLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, d *C.deconv__cfloat, dLen C.size_t,
	mean *C.deconv__cfloat, meanLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, foldCall[float32](unsafe.Pointer(w), wLen, unsafe.Pointer(bias), biasLen, unsafe.Pointer(wf), wfLen,
		unsafe.Pointer(bf), bfLen, rows, bl, unsafe.Pointer(d), dLen, unsafe.Pointer(mean), meanLen, restoreNames, restoreRun[float32]))
}

//export deconv_restore_f64
func deconv_restore_f64(w *C.double, wLen C.size_t, bias *C.double, biasLen C.size_t, wf *C.deconv__cdouble, wfLen C.size_t,
	bf *C.deconv__cdouble, bfLen C.size_t, rows C.size_t, bl *C.deconv__cblocking, d *C.deconv__cdouble, dLen C.size_t,
	mean *C.deconv__cdouble, meanLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, foldCall[float64](unsafe.Pointer(w), wLen, unsafe.Pointer(bias), biasLen, unsafe.Pointer(wf), wfLen,
		unsafe.Pointer(bf), bfLen, rows, bl, unsafe.Pointer(d), dLen, unsafe.Pointer(mean), meanLen, restoreNames, restoreRun[float64]))
}

// ---- conv2d

//export deconv_conv2d_config_default
func deconv_conv2d_config_default(c *C.deconv_conv2d_config, in, out, kernel C.int) {
	defer quiet()
	if c == nil {
		return
	}
	*c = C.deconv_conv2d_config{struct_size: C.sizeof_deconv_conv2d_config, in_channels: in, out_channels: out, groups: 1}
	squareGeometry(&c.geometry, kernel)
}

func conv2dCreateCall[T elem](c *C.deconv__cconv2d_config, weight unsafe.Pointer, wLen C.size_t, bias unsafe.Pointer, bLen C.size_t,
	out **C.deconv_conv2d) error {
	if c == nil || out == nil {
		return errNull(pick(c == nil, "cfg", "out"))
	}
	if err := checkStructSize("deconv_conv2d_config", uint64(c.struct_size), conv2dConfigV1, C.sizeof_deconv_conv2d_config,
		structTail(unsafe.Pointer(c), C.sizeof_deconv_conv2d_config)); err != nil {
		return err
	}
	w, err := sliceAt[T](weight, uint64(wLen), "weight")
	if err != nil {
		return err
	}
	b, err := sliceAt[T](bias, uint64(bLen), "bias")
	if err != nil {
		return err
	}
	h, err := newConv(convParams{InChannels: int(c.in_channels), OutChannels: int(c.out_channels), Geometry: goGeometry(&c.geometry),
		Groups: int(c.groups), Workers: int(c.workers)}, w, b)
	return storeHandle(out, C.DECONV__MAGIC_CONV2D, h, err)
}

//export deconv_conv2d_create_f32
func deconv_conv2d_create_f32(c *C.deconv__cconv2d_config, weight *C.deconv__cfloat, wLen C.size_t, bias *C.deconv__cfloat, bLen C.size_t,
	out **C.deconv_conv2d, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dCreateCall[float32](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

//export deconv_conv2d_create_f64
func deconv_conv2d_create_f64(c *C.deconv__cconv2d_config, weight *C.deconv__cdouble, wLen C.size_t, bias *C.deconv__cdouble, bLen C.size_t,
	out **C.deconv_conv2d, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dCreateCall[float64](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

//export deconv_conv2d_free
func deconv_conv2d_free(c *C.deconv_conv2d) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(c)), C.DECONV__MAGIC_CONV2D)
}

func convOf(c *C.deconv__cconv2d) (*convHandle, error) {
	return hv[*convHandle](unsafe.Pointer(c), C.DECONV__MAGIC_CONV2D, "conv2d")
}

//export deconv_conv2d_dtype
func deconv_conv2d_dtype(c *C.deconv__cconv2d) C.int {
	defer quiet()
	h, err := convOf(c)
	if err != nil {
		return -1
	}
	return dtypeOf(h.c)
}

// outputSize stores the output size f computes.
func outputSize(oh, ow *C.int, h, w C.int, f func(h, w int) (int, int, error)) error {
	if oh == nil || ow == nil {
		return errNull(pick(oh == nil, "out_h", "out_w"))
	}
	a, b, err := f(int(h), int(w))
	if err != nil {
		return err
	}
	*oh, *ow = C.int(a), C.int(b)
	return nil
}

//export deconv_conv2d_output_size
func deconv_conv2d_output_size(c *C.deconv__cconv2d, h, w C.int, oh, ow *C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	ch, err := convOf(c)
	if err != nil {
		return report(e, err)
	}
	return report(e, outputSize(oh, ow, h, w, func(h, w int) (int, int, error) { return convOutputSize(ch, h, w) }))
}

// inOut converts a forward call's dst and x.
func inOut[T elem](dst unsafe.Pointer, dstLen C.size_t, x unsafe.Pointer, xLen C.size_t) ([]T, []T, error) {
	d, err := sliceAt[T](dst, uint64(dstLen), "dst")
	if err != nil {
		return nil, nil, err
	}
	xs, err := sliceAt[T](x, uint64(xLen), "x")
	return d, xs, err
}

func conv2dForwardCall[T elem](c *C.deconv__cconv2d, dst unsafe.Pointer, dstLen C.size_t, x unsafe.Pointer, xLen C.size_t, n, h, w C.int) error {
	ch, err := convOf(c)
	if err != nil {
		return err
	}
	d, xs, err := inOut[T](dst, dstLen, x, xLen)
	if err != nil {
		return err
	}
	return convForward(ch, d, xs, int(n), int(h), int(w))
}

//export deconv_conv2d_forward_f32
func deconv_conv2d_forward_f32(c *C.deconv__cconv2d, dst *C.float, dstLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dForwardCall[float32](c, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, n, h, w))
}

//export deconv_conv2d_forward_f64
func deconv_conv2d_forward_f64(c *C.deconv__cconv2d, dst *C.double, dstLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dForwardCall[float64](c, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, n, h, w))
}

// lenCall stores the length f reports for a name.
func lenCall(name *C.deconv__cchar, n *C.size_t, f func(string) (int, error)) error {
	if n == nil {
		return errNull("len")
	}
	s, err := nameArg(name)
	if err != nil {
		return err
	}
	v, err := f(s)
	if err == nil {
		*n = C.size_t(v)
	}
	return err
}

// bufCall converts a name and a buffer and runs f.
func bufCall[T elem](name *C.deconv__cchar, buf unsafe.Pointer, n C.size_t, f func(string, []T) error) error {
	s, err := nameArg(name)
	if err != nil {
		return err
	}
	b, err := sliceAt[T](buf, uint64(n), "buf")
	if err != nil {
		return err
	}
	return f(s, b)
}

//export deconv_conv2d_len
func deconv_conv2d_len(c *C.deconv__cconv2d, name *C.deconv__cchar, n *C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	ch, err := convOf(c)
	if err != nil {
		return report(e, err)
	}
	return report(e, lenCall(name, n, func(s string) (int, error) { return convLen(ch, s) }))
}

func conv2dGetCall[T elem](c *C.deconv__cconv2d, name *C.deconv__cchar, buf unsafe.Pointer, n C.size_t) error {
	ch, err := convOf(c)
	if err != nil {
		return err
	}
	return bufCall(name, buf, n, func(s string, b []T) error { return convGet(ch, s, b) })
}

//export deconv_conv2d_get_f32
func deconv_conv2d_get_f32(c *C.deconv__cconv2d, name *C.deconv__cchar, buf *C.float, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dGetCall[float32](c, name, unsafe.Pointer(buf), n))
}

//export deconv_conv2d_get_f64
func deconv_conv2d_get_f64(c *C.deconv__cconv2d, name *C.deconv__cchar, buf *C.double, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, conv2dGetCall[float64](c, name, unsafe.Pointer(buf), n))
}

// ---- linear

//export deconv_linear_config_default
func deconv_linear_config_default(c *C.deconv_linear_config, in, out C.int) {
	defer quiet()
	if c == nil {
		return
	}
	*c = C.deconv_linear_config{struct_size: C.sizeof_deconv_linear_config, in_features: in, out_features: out}
}

func linearCreateCall[T elem](c *C.deconv__clinear_config, weight unsafe.Pointer, wLen C.size_t, bias unsafe.Pointer, bLen C.size_t,
	out **C.deconv_linear) error {
	if c == nil || out == nil {
		return errNull(pick(c == nil, "cfg", "out"))
	}
	if err := checkStructSize("deconv_linear_config", uint64(c.struct_size), linearConfigV1, C.sizeof_deconv_linear_config,
		structTail(unsafe.Pointer(c), C.sizeof_deconv_linear_config)); err != nil {
		return err
	}
	w, err := sliceAt[T](weight, uint64(wLen), "weight")
	if err != nil {
		return err
	}
	b, err := sliceAt[T](bias, uint64(bLen), "bias")
	if err != nil {
		return err
	}
	h, err := newLinear(linearParams{InFeatures: int(c.in_features), OutFeatures: int(c.out_features), Workers: int(c.workers)}, w, b)
	return storeHandle(out, C.DECONV__MAGIC_LINEAR, h, err)
}

//export deconv_linear_create_f32
func deconv_linear_create_f32(c *C.deconv__clinear_config, weight *C.deconv__cfloat, wLen C.size_t, bias *C.deconv__cfloat, bLen C.size_t,
	out **C.deconv_linear, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearCreateCall[float32](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

//export deconv_linear_create_f64
func deconv_linear_create_f64(c *C.deconv__clinear_config, weight *C.deconv__cdouble, wLen C.size_t, bias *C.deconv__cdouble, bLen C.size_t,
	out **C.deconv_linear, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearCreateCall[float64](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

//export deconv_linear_free
func deconv_linear_free(l *C.deconv_linear) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(l)), C.DECONV__MAGIC_LINEAR)
}

func linearOf(l *C.deconv__clinear) (*linearHandle, error) {
	return hv[*linearHandle](unsafe.Pointer(l), C.DECONV__MAGIC_LINEAR, "linear")
}

//export deconv_linear_dtype
func deconv_linear_dtype(l *C.deconv__clinear) C.int {
	defer quiet()
	h, err := linearOf(l)
	if err != nil {
		return -1
	}
	return dtypeOf(h.l)
}

func linearForwardCall[T elem](l *C.deconv__clinear, dst unsafe.Pointer, dstLen C.size_t, x unsafe.Pointer, xLen C.size_t, batch C.int) error {
	h, err := linearOf(l)
	if err != nil {
		return err
	}
	d, xs, err := inOut[T](dst, dstLen, x, xLen)
	if err != nil {
		return err
	}
	return linearForward(h, d, xs, int(batch))
}

//export deconv_linear_forward_f32
func deconv_linear_forward_f32(l *C.deconv__clinear, dst *C.float, dstLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearForwardCall[float32](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, batch))
}

//export deconv_linear_forward_f64
func deconv_linear_forward_f64(l *C.deconv__clinear, dst *C.double, dstLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearForwardCall[float64](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, batch))
}

//export deconv_linear_len
func deconv_linear_len(l *C.deconv__clinear, name *C.deconv__cchar, n *C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	h, err := linearOf(l)
	if err != nil {
		return report(e, err)
	}
	return report(e, lenCall(name, n, func(s string) (int, error) { return linearLen(h, s) }))
}

func linearGetCall[T elem](l *C.deconv__clinear, name *C.deconv__cchar, buf unsafe.Pointer, n C.size_t) error {
	h, err := linearOf(l)
	if err != nil {
		return err
	}
	return bufCall(name, buf, n, func(s string, b []T) error { return linearGet(h, s, b) })
}

//export deconv_linear_get_f32
func deconv_linear_get_f32(l *C.deconv__clinear, name *C.deconv__cchar, buf *C.float, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearGetCall[float32](l, name, unsafe.Pointer(buf), n))
}

//export deconv_linear_get_f64
func deconv_linear_get_f64(l *C.deconv__clinear, name *C.deconv__cchar, buf *C.double, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, linearGetCall[float64](l, name, unsafe.Pointer(buf), n))
}

// ---- the three layers: the calls they share

func layerOfHandle(p unsafe.Pointer, magic C.uint64_t, what string) (*layerHandle, error) {
	return hv[*layerHandle](p, magic, what)
}

func layerLenCall(p unsafe.Pointer, magic C.uint64_t, what string, name *C.deconv__cchar, n *C.size_t) error {
	h, err := layerOfHandle(p, magic, what)
	if err != nil {
		return err
	}
	return lenCall(name, n, func(s string) (int, error) { return layerLen(h, s) })
}

func layerGetCall[T elem](p unsafe.Pointer, magic C.uint64_t, what string, name *C.deconv__cchar, buf unsafe.Pointer, n C.size_t) error {
	h, err := layerOfHandle(p, magic, what)
	if err != nil {
		return err
	}
	return bufCall(name, buf, n, func(s string, b []T) error { return layerGet(h, s, b) })
}

func layerSetCall[T elem](p unsafe.Pointer, magic C.uint64_t, what string, name *C.deconv__cchar, buf unsafe.Pointer, n C.size_t) error {
	h, err := layerOfHandle(p, magic, what)
	if err != nil {
		return err
	}
	return bufCall(name, buf, n, func(s string, b []T) error { return layerSet(h, s, b) })
}

func layerGetIntCall(p unsafe.Pointer, magic C.uint64_t, what string, name *C.deconv__cchar, v *C.longlong) error {
	if v == nil {
		return errNull("value")
	}
	h, err := layerOfHandle(p, magic, what)
	if err != nil {
		return err
	}
	s, err := nameArg(name)
	if err != nil {
		return err
	}
	x, err := layerGetInt(h, s)
	if err == nil {
		*v = C.longlong(x)
	}
	return err
}

func layerSetIntCall(p unsafe.Pointer, magic C.uint64_t, what string, name *C.deconv__cchar, v C.longlong) error {
	h, err := layerOfHandle(p, magic, what)
	if err != nil {
		return err
	}
	s, err := nameArg(name)
	if err != nil {
		return err
	}
	return layerSetInt(h, s, int64(v))
}

func layerTrainingCall(p unsafe.Pointer, magic C.uint64_t, what string, on C.int) error {
	h, err := layerOfHandle(p, magic, what)
	if err != nil {
		return err
	}
	return layerSetInt(h, "training", int64(on))
}

func layerDtype(p unsafe.Pointer, magic C.uint64_t) C.int {
	defer quiet()
	h, err := layerOfHandle(p, magic, "layer")
	if err != nil {
		return -1
	}
	return dtypeOf(h.l)
}

// ---- FastDeconv

//export deconv_fastdeconv_config_default
func deconv_fastdeconv_config_default(c *C.deconv_fastdeconv_config, in, out, kernel C.int) {
	defer quiet()
	if c == nil {
		return
	}
	d := fold.NewFastDeconvConfig(1, 1, 1)
	*c = C.deconv_fastdeconv_config{struct_size: C.sizeof_deconv_fastdeconv_config, in_channels: in, out_channels: out,
		groups: C.int(d.Groups), bias: 1, eps: C.double(d.Eps), n_iter: C.int(d.NIter), momentum: C.double(d.Momentum),
		block: C.int(d.Block), sampling_stride: C.int(d.SamplingStride), freeze_iter: C.int(d.FreezeIter),
		grouping: C.DECONV_GROUPING_INTERLEAVED}
	squareGeometry(&c.geometry, kernel)
}

func fastDeconvCreateCall[T elem](c *C.deconv__cfastdeconv_config, weight unsafe.Pointer, wLen C.size_t, bias unsafe.Pointer, bLen C.size_t,
	out **C.deconv_fastdeconv) error {
	if c == nil || out == nil {
		return errNull(pick(c == nil, "cfg", "out"))
	}
	if err := checkStructSize("deconv_fastdeconv_config", uint64(c.struct_size), fastDeconvConfigV1, C.sizeof_deconv_fastdeconv_config,
		structTail(unsafe.Pointer(c), C.sizeof_deconv_fastdeconv_config)); err != nil {
		return err
	}
	w, err := sliceAt[T](weight, uint64(wLen), "weight")
	if err != nil {
		return err
	}
	b, err := sliceAt[T](bias, uint64(bLen), "bias")
	if err != nil {
		return err
	}
	h, err := newFastDeconv(fastDeconvParams{InChannels: int(c.in_channels), OutChannels: int(c.out_channels),
		Geometry: goGeometry(&c.geometry), Groups: int(c.groups), Bias: c.bias != 0, Eps: float64(c.eps), NIter: int(c.n_iter),
		Momentum: float64(c.momentum), Block: int(c.block), SamplingStride: int(c.sampling_stride), Freeze: c.freeze != 0,
		FreezeIter: int(c.freeze_iter), Grouping: int(c.grouping), Workers: int(c.workers)}, w, b)
	return storeHandle(out, C.DECONV__MAGIC_FASTDECONV, h, err)
}

//export deconv_fastdeconv_create_f32
func deconv_fastdeconv_create_f32(c *C.deconv__cfastdeconv_config, weight *C.deconv__cfloat, wLen C.size_t, bias *C.deconv__cfloat, bLen C.size_t,
	out **C.deconv_fastdeconv, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, fastDeconvCreateCall[float32](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

//export deconv_fastdeconv_create_f64
func deconv_fastdeconv_create_f64(c *C.deconv__cfastdeconv_config, weight *C.deconv__cdouble, wLen C.size_t, bias *C.deconv__cdouble, bLen C.size_t,
	out **C.deconv_fastdeconv, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, fastDeconvCreateCall[float64](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

const fdMagic = C.DECONV__MAGIC_FASTDECONV

//export deconv_fastdeconv_free
func deconv_fastdeconv_free(l *C.deconv_fastdeconv) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(l)), fdMagic)
}

//export deconv_fastdeconv_dtype
func deconv_fastdeconv_dtype(l *C.deconv__cfastdeconv) C.int {
	return layerDtype(unsafe.Pointer(l), fdMagic)
}

//export deconv_fastdeconv_set_training
func deconv_fastdeconv_set_training(l *C.deconv_fastdeconv, on C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerTrainingCall(unsafe.Pointer(l), fdMagic, "fastdeconv", on))
}

//export deconv_fastdeconv_output_size
func deconv_fastdeconv_output_size(l *C.deconv__cfastdeconv, h, w C.int, oh, ow *C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	lh, err := layerOfHandle(unsafe.Pointer(l), fdMagic, "fastdeconv")
	if err != nil {
		return report(e, err)
	}
	return report(e, outputSize(oh, ow, h, w, func(h, w int) (int, int, error) { return fastDeconvOutputSize(lh, h, w) }))
}

func fastDeconvForwardCall[T elem](l *C.deconv_fastdeconv, dst unsafe.Pointer, dstLen C.size_t, x unsafe.Pointer, xLen C.size_t, n, h, w C.int) error {
	lh, err := layerOfHandle(unsafe.Pointer(l), fdMagic, "fastdeconv")
	if err != nil {
		return err
	}
	d, xs, err := inOut[T](dst, dstLen, x, xLen)
	if err != nil {
		return err
	}
	return fastDeconvForward(lh, d, xs, int(n), int(h), int(w))
}

//export deconv_fastdeconv_forward_f32
func deconv_fastdeconv_forward_f32(l *C.deconv_fastdeconv, dst *C.float, dstLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, fastDeconvForwardCall[float32](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, n, h, w))
}

//export deconv_fastdeconv_forward_f64
func deconv_fastdeconv_forward_f64(l *C.deconv_fastdeconv, dst *C.double, dstLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, n, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, fastDeconvForwardCall[float64](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, n, h, w))
}

//export deconv_fastdeconv_folded
func deconv_fastdeconv_folded(l *C.deconv_fastdeconv, out **C.deconv_conv2d, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if out == nil {
		return report(e, errNull("out"))
	}
	lh, err := layerOfHandle(unsafe.Pointer(l), fdMagic, "fastdeconv")
	if err != nil {
		return report(e, err)
	}
	c, err := fastDeconvFolded(lh)
	return report(e, storeHandle(out, C.DECONV__MAGIC_CONV2D, c, err))
}

//export deconv_fastdeconv_len
func deconv_fastdeconv_len(l *C.deconv_fastdeconv, name *C.deconv__cchar, n *C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerLenCall(unsafe.Pointer(l), fdMagic, "fastdeconv", name, n))
}

//export deconv_fastdeconv_get_f32
func deconv_fastdeconv_get_f32(l *C.deconv_fastdeconv, name *C.deconv__cchar, buf *C.float, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetCall[float32](unsafe.Pointer(l), fdMagic, "fastdeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_fastdeconv_get_f64
func deconv_fastdeconv_get_f64(l *C.deconv_fastdeconv, name *C.deconv__cchar, buf *C.double, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetCall[float64](unsafe.Pointer(l), fdMagic, "fastdeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_fastdeconv_set_f32
func deconv_fastdeconv_set_f32(l *C.deconv_fastdeconv, name *C.deconv__cchar, buf *C.deconv__cfloat, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetCall[float32](unsafe.Pointer(l), fdMagic, "fastdeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_fastdeconv_set_f64
func deconv_fastdeconv_set_f64(l *C.deconv_fastdeconv, name *C.deconv__cchar, buf *C.deconv__cdouble, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetCall[float64](unsafe.Pointer(l), fdMagic, "fastdeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_fastdeconv_get_int
func deconv_fastdeconv_get_int(l *C.deconv_fastdeconv, name *C.deconv__cchar, v *C.longlong, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetIntCall(unsafe.Pointer(l), fdMagic, "fastdeconv", name, v))
}

//export deconv_fastdeconv_set_int
func deconv_fastdeconv_set_int(l *C.deconv_fastdeconv, name *C.deconv__cchar, v C.longlong, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetIntCall(unsafe.Pointer(l), fdMagic, "fastdeconv", name, v))
}
