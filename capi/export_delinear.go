package main

/*
#include "internal.h"
*/
import "C"

import (
	"unsafe"

	"github.com/netdeconv/deconv/fold"
)

// The exported functions of Delinear and ChannelDeconv (those of
// FastDeconv are in export_layers.go).

//export deconv_delinear_config_default
func deconv_delinear_config_default(c *C.deconv_delinear_config, in, out C.int) {
	defer quiet()
	if c == nil {
		return
	}
	d := fold.NewDelinearConfig(1, 1)
	*c = C.deconv_delinear_config{struct_size: C.sizeof_deconv_delinear_config, in_features: in, out_features: out, bias: 1,
		eps: C.double(d.Eps), n_iter: C.int(d.NIter), momentum: C.double(d.Momentum), block: C.int(d.Block)}
}

func delinearCreateCall[T elem](c *C.deconv__cdelinear_config, weight unsafe.Pointer, wLen C.size_t, bias unsafe.Pointer, bLen C.size_t,
	out **C.deconv_delinear) error {
	if c == nil || out == nil {
		return errNull(pick(c == nil, "cfg", "out"))
	}
	if err := checkStructSize("deconv_delinear_config", uint64(c.struct_size), delinearConfigV1, C.sizeof_deconv_delinear_config,
		structTail(unsafe.Pointer(c), C.sizeof_deconv_delinear_config)); err != nil {
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
	h, err := newDelinear(delinearParams{InFeatures: int(c.in_features), OutFeatures: int(c.out_features), Bias: c.bias != 0,
		Eps: float64(c.eps), NIter: int(c.n_iter), Momentum: float64(c.momentum), Block: int(c.block), Workers: int(c.workers)}, w, b)
	return storeHandle(out, C.DECONV__MAGIC_DELINEAR, h, err)
}

//export deconv_delinear_create_f32
func deconv_delinear_create_f32(c *C.deconv__cdelinear_config, weight *C.deconv__cfloat, wLen C.size_t, bias *C.deconv__cfloat, bLen C.size_t,
	out **C.deconv_delinear, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, delinearCreateCall[float32](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

//export deconv_delinear_create_f64
func deconv_delinear_create_f64(c *C.deconv__cdelinear_config, weight *C.deconv__cdouble, wLen C.size_t, bias *C.deconv__cdouble, bLen C.size_t,
	out **C.deconv_delinear, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, delinearCreateCall[float64](c, unsafe.Pointer(weight), wLen, unsafe.Pointer(bias), bLen, out))
}

func delinearForwardCall[T elem](l *C.deconv_delinear, dst unsafe.Pointer, dstLen C.size_t, x unsafe.Pointer, xLen C.size_t, batch C.int) error {
	lh, err := layerOfHandle(unsafe.Pointer(l), dlMagic, "delinear")
	if err != nil {
		return err
	}
	d, xs, err := inOut[T](dst, dstLen, x, xLen)
	if err != nil {
		return err
	}
	return delinearForward(lh, d, xs, int(batch))
}

//export deconv_delinear_forward_f32
func deconv_delinear_forward_f32(l *C.deconv_delinear, dst *C.float, dstLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, delinearForwardCall[float32](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, batch))
}

//export deconv_delinear_forward_f64
func deconv_delinear_forward_f64(l *C.deconv_delinear, dst *C.double, dstLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, batch C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, delinearForwardCall[float64](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, batch))
}

//export deconv_delinear_folded
func deconv_delinear_folded(l *C.deconv_delinear, out **C.deconv_linear, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if out == nil {
		return report(e, errNull("out"))
	}
	lh, err := layerOfHandle(unsafe.Pointer(l), dlMagic, "delinear")
	if err != nil {
		return report(e, err)
	}
	f, err := delinearFolded(lh)
	return report(e, storeHandle(out, C.DECONV__MAGIC_LINEAR, f, err))
}

const dlMagic = C.DECONV__MAGIC_DELINEAR

//export deconv_delinear_free
func deconv_delinear_free(l *C.deconv_delinear) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(l)), dlMagic)
}

//export deconv_delinear_dtype
func deconv_delinear_dtype(l *C.deconv__cdelinear) C.int {
	return layerDtype(unsafe.Pointer(l), dlMagic)
}

//export deconv_delinear_set_training
func deconv_delinear_set_training(l *C.deconv_delinear, on C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerTrainingCall(unsafe.Pointer(l), dlMagic, "delinear", on))
}

//export deconv_delinear_len
func deconv_delinear_len(l *C.deconv_delinear, name *C.deconv__cchar, n *C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerLenCall(unsafe.Pointer(l), dlMagic, "delinear", name, n))
}

//export deconv_delinear_get_f32
func deconv_delinear_get_f32(l *C.deconv_delinear, name *C.deconv__cchar, buf *C.float, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetCall[float32](unsafe.Pointer(l), dlMagic, "delinear", name, unsafe.Pointer(buf), n))
}

//export deconv_delinear_get_f64
func deconv_delinear_get_f64(l *C.deconv_delinear, name *C.deconv__cchar, buf *C.double, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetCall[float64](unsafe.Pointer(l), dlMagic, "delinear", name, unsafe.Pointer(buf), n))
}

//export deconv_delinear_set_f32
func deconv_delinear_set_f32(l *C.deconv_delinear, name *C.deconv__cchar, buf *C.deconv__cfloat, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetCall[float32](unsafe.Pointer(l), dlMagic, "delinear", name, unsafe.Pointer(buf), n))
}

//export deconv_delinear_set_f64
func deconv_delinear_set_f64(l *C.deconv_delinear, name *C.deconv__cchar, buf *C.deconv__cdouble, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetCall[float64](unsafe.Pointer(l), dlMagic, "delinear", name, unsafe.Pointer(buf), n))
}

//export deconv_delinear_get_int
func deconv_delinear_get_int(l *C.deconv_delinear, name *C.deconv__cchar, v *C.longlong, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetIntCall(unsafe.Pointer(l), dlMagic, "delinear", name, v))
}

//export deconv_delinear_set_int
func deconv_delinear_set_int(l *C.deconv_delinear, name *C.deconv__cchar, v C.longlong, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetIntCall(unsafe.Pointer(l), dlMagic, "delinear", name, v))
}

//export deconv_channeldeconv_config_default
func deconv_channeldeconv_config_default(c *C.deconv_channeldeconv_config, block C.int) {
	defer quiet()
	if c == nil {
		return
	}
	d := fold.NewChannelDeconvConfig(1)
	*c = C.deconv_channeldeconv_config{struct_size: C.sizeof_deconv_channeldeconv_config, block: block, eps: C.double(d.Eps),
		n_iter: C.int(d.NIter), momentum: C.double(d.Momentum), sampling_stride: C.int(d.SamplingStride)}
}

func channelDeconvCreateCall[T elem](c *C.deconv__cchanneldeconv_config, out **C.deconv_channeldeconv) error {
	if c == nil || out == nil {
		return errNull(pick(c == nil, "cfg", "out"))
	}
	if err := checkStructSize("deconv_channeldeconv_config", uint64(c.struct_size), channelDeconvConfigV1, C.sizeof_deconv_channeldeconv_config,
		structTail(unsafe.Pointer(c), C.sizeof_deconv_channeldeconv_config)); err != nil {
		return err
	}
	h, err := newChannelDeconv[T](channelDeconvParams{Block: int(c.block), Eps: float64(c.eps), NIter: int(c.n_iter),
		Momentum: float64(c.momentum), SamplingStride: int(c.sampling_stride), Uncentred: c.uncentred != 0, Workers: int(c.workers)})
	return storeHandle(out, C.DECONV__MAGIC_CHANNELDECONV, h, err)
}

//export deconv_channeldeconv_create_f32
func deconv_channeldeconv_create_f32(c *C.deconv__cchanneldeconv_config, out **C.deconv_channeldeconv, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, channelDeconvCreateCall[float32](c, out))
}

//export deconv_channeldeconv_create_f64
func deconv_channeldeconv_create_f64(c *C.deconv__cchanneldeconv_config, out **C.deconv_channeldeconv, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, channelDeconvCreateCall[float64](c, out))
}

func channelDeconvForwardCall[T elem](l *C.deconv_channeldeconv, dst unsafe.Pointer, dstLen C.size_t, x unsafe.Pointer, xLen C.size_t, n, c, h, w C.int) error {
	lh, err := layerOfHandle(unsafe.Pointer(l), cdMagic, "channeldeconv")
	if err != nil {
		return err
	}
	d, xs, err := inOut[T](dst, dstLen, x, xLen)
	if err != nil {
		return err
	}
	return channelDeconvForward(lh, d, xs, int(n), int(c), int(h), int(w))
}

//export deconv_channeldeconv_forward_f32
func deconv_channeldeconv_forward_f32(l *C.deconv_channeldeconv, dst *C.float, dstLen C.size_t, x *C.deconv__cfloat, xLen C.size_t, n, c, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, channelDeconvForwardCall[float32](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, n, c, h, w))
}

//export deconv_channeldeconv_forward_f64
func deconv_channeldeconv_forward_f64(l *C.deconv_channeldeconv, dst *C.double, dstLen C.size_t, x *C.deconv__cdouble, xLen C.size_t, n, c, h, w C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, channelDeconvForwardCall[float64](l, unsafe.Pointer(dst), dstLen, unsafe.Pointer(x), xLen, n, c, h, w))
}

const cdMagic = C.DECONV__MAGIC_CHANNELDECONV

//export deconv_channeldeconv_free
func deconv_channeldeconv_free(l *C.deconv_channeldeconv) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(l)), cdMagic)
}

//export deconv_channeldeconv_dtype
func deconv_channeldeconv_dtype(l *C.deconv__cchanneldeconv) C.int {
	return layerDtype(unsafe.Pointer(l), cdMagic)
}

//export deconv_channeldeconv_set_training
func deconv_channeldeconv_set_training(l *C.deconv_channeldeconv, on C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerTrainingCall(unsafe.Pointer(l), cdMagic, "channeldeconv", on))
}

//export deconv_channeldeconv_len
func deconv_channeldeconv_len(l *C.deconv_channeldeconv, name *C.deconv__cchar, n *C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerLenCall(unsafe.Pointer(l), cdMagic, "channeldeconv", name, n))
}

//export deconv_channeldeconv_get_f32
func deconv_channeldeconv_get_f32(l *C.deconv_channeldeconv, name *C.deconv__cchar, buf *C.float, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetCall[float32](unsafe.Pointer(l), cdMagic, "channeldeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_channeldeconv_get_f64
func deconv_channeldeconv_get_f64(l *C.deconv_channeldeconv, name *C.deconv__cchar, buf *C.double, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetCall[float64](unsafe.Pointer(l), cdMagic, "channeldeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_channeldeconv_set_f32
func deconv_channeldeconv_set_f32(l *C.deconv_channeldeconv, name *C.deconv__cchar, buf *C.deconv__cfloat, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetCall[float32](unsafe.Pointer(l), cdMagic, "channeldeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_channeldeconv_set_f64
func deconv_channeldeconv_set_f64(l *C.deconv_channeldeconv, name *C.deconv__cchar, buf *C.deconv__cdouble, n C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetCall[float64](unsafe.Pointer(l), cdMagic, "channeldeconv", name, unsafe.Pointer(buf), n))
}

//export deconv_channeldeconv_get_int
func deconv_channeldeconv_get_int(l *C.deconv_channeldeconv, name *C.deconv__cchar, v *C.longlong, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerGetIntCall(unsafe.Pointer(l), cdMagic, "channeldeconv", name, v))
}

//export deconv_channeldeconv_set_int
func deconv_channeldeconv_set_int(l *C.deconv_channeldeconv, name *C.deconv__cchar, v C.longlong, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, layerSetIntCall(unsafe.Pointer(l), cdMagic, "channeldeconv", name, v))
}
