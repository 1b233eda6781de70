package main

/*
#include "internal.h"
*/
import "C"

import (
	"unsafe"
)

const im2colParamsV1 = C.sizeof_deconv_im2col_params // the first version's size

func im2colPlanOf(p *C.deconv__cim2col_plan) (*im2colPlan, error) {
	return handleValue[*im2colPlan]((*C.deconv__handle)(unsafe.Pointer(p)), C.DECONV__MAGIC_IM2COL_PLAN, "deconv_im2col_plan")
}

//export deconv_im2col_params_default
func deconv_im2col_params_default(p *C.deconv_im2col_params, batch, channels, height, width, kernel C.int) {
	defer quiet()
	if p == nil {
		return
	}
	*p = C.deconv_im2col_params{struct_size: C.sizeof_deconv_im2col_params, batch: batch, channels: channels,
		height: height, width: width, sampling: 1, layout: C.DECONV_LAYOUT_ROWS}
	squareGeometry(&p.geometry, kernel)
}

// readIm2colParams checks struct_size and copies the fields.
func readIm2colParams(p *C.deconv__cim2col_params) (im2colParams, error) {
	if p == nil {
		return im2colParams{}, errNull("params")
	}
	if err := checkStructSize("deconv_im2col_params", uint64(p.struct_size), im2colParamsV1, C.sizeof_deconv_im2col_params,
		structTail(unsafe.Pointer(p), C.sizeof_deconv_im2col_params)); err != nil {
		return im2colParams{}, err
	}
	return im2colParams{
		Batch: int(p.batch), Channels: int(p.channels), Height: int(p.height), Width: int(p.width),
		Geometry: goGeometry(&p.geometry), Sampling: int(p.sampling), FlatSampling: p.flat_sampling != 0,
		Layout: int(p.layout), Workers: int(p.workers),
	}, nil
}

//export deconv_im2col_plan_create
func deconv_im2col_plan_create(params *C.deconv__cim2col_params, out **C.deconv_im2col_plan, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if out == nil {
		return report(e, errNull("out"))
	}
	gp, err := readIm2colParams(params)
	if err != nil {
		return report(e, err)
	}
	pl, err := newIm2colPlan(gp)
	if err != nil {
		return report(e, err)
	}
	h, err := newHandle(C.DECONV__MAGIC_IM2COL_PLAN, pl)
	if err != nil {
		return report(e, err)
	}
	*out = (*C.deconv_im2col_plan)(unsafe.Pointer(h))
	return report(e, nil)
}

//export deconv_im2col_plan_free
func deconv_im2col_plan_free(p *C.deconv_im2col_plan) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(p)), C.DECONV__MAGIC_IM2COL_PLAN)
}

func im2colSize(p *C.deconv__cim2col_plan, i int) (n C.size_t) {
	defer quiet()
	pl, err := im2colPlanOf(p)
	if err != nil {
		return 0
	}
	return C.size_t(im2colSizes(pl)[i])
}

//export deconv_im2col_plan_src_len
func deconv_im2col_plan_src_len(p *C.deconv__cim2col_plan) C.size_t { return im2colSize(p, 0) }

//export deconv_im2col_plan_dst_len
func deconv_im2col_plan_dst_len(p *C.deconv__cim2col_plan) C.size_t { return im2colSize(p, 1) }

//export deconv_im2col_plan_rows
func deconv_im2col_plan_rows(p *C.deconv__cim2col_plan) C.size_t { return im2colSize(p, 2) }

//export deconv_im2col_plan_cols
func deconv_im2col_plan_cols(p *C.deconv__cim2col_plan) C.size_t { return im2colSize(p, 3) }

//export deconv_im2col_plan_out_h
func deconv_im2col_plan_out_h(p *C.deconv__cim2col_plan) C.size_t { return im2colSize(p, 4) }

//export deconv_im2col_plan_out_w
func deconv_im2col_plan_out_w(p *C.deconv__cim2col_plan) C.size_t { return im2colSize(p, 5) }

// im2colCall converts the arguments of the four transforms and runs f.
func im2colCall[T any](p *C.deconv__cim2col_plan, dst unsafe.Pointer, dstLen C.size_t, src unsafe.Pointer, srcLen C.size_t,
	srcName string, f func(pl *im2colPlan, dst, src []T) error) error {
	pl, err := im2colPlanOf(p)
	if err != nil {
		return err
	}
	d, err := sliceAt[T](dst, uint64(dstLen), "dst")
	if err != nil {
		return err
	}
	s, err := sliceAt[T](src, uint64(srcLen), srcName)
	if err != nil {
		return err
	}
	return f(pl, d, s)
}

//export deconv_im2col_f32
func deconv_im2col_f32(p *C.deconv__cim2col_plan, dst *C.float, dstLen C.size_t, src *C.deconv__cfloat, srcLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, im2colCall(p, unsafe.Pointer(dst), dstLen, unsafe.Pointer(src), srcLen, "src", im2colRun[float32]))
}

//export deconv_im2col_f64
func deconv_im2col_f64(p *C.deconv__cim2col_plan, dst *C.double, dstLen C.size_t, src *C.deconv__cdouble, srcLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, im2colCall(p, unsafe.Pointer(dst), dstLen, unsafe.Pointer(src), srcLen, "src", im2colRun[float64]))
}

//export deconv_col2im_f32
func deconv_col2im_f32(p *C.deconv__cim2col_plan, dst *C.float, dstLen C.size_t, cols *C.deconv__cfloat, colsLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, im2colCall(p, unsafe.Pointer(dst), dstLen, unsafe.Pointer(cols), colsLen, "cols", col2imRun[float32]))
}

//export deconv_col2im_f64
func deconv_col2im_f64(p *C.deconv__cim2col_plan, dst *C.double, dstLen C.size_t, cols *C.deconv__cdouble, colsLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, im2colCall(p, unsafe.Pointer(dst), dstLen, unsafe.Pointer(cols), colsLen, "cols", col2imRun[float64]))
}
