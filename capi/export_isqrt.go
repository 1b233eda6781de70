package main

/*
#include "internal.h"
*/
import "C"

import (
	"unsafe"
)

const (
	// 0.2 added grad in what was the 0.1 struct's tail padding, so the
	// first version's size is where grad begins (rounded up by the
	// compiler to the same sizeof on the 64-bit targets).
	isqrtConfigV1 = uint64(unsafe.Offsetof(C.deconv_isqrt_config{}.grad))
	isqrtResultV1 = C.sizeof_deconv_isqrt_result
)

// isqrtGradEnd is the struct_size from which deconv_isqrt_config.grad is
// read; a smaller struct means grad 0.
const isqrtGradEnd = unsafe.Offsetof(C.deconv_isqrt_config{}.grad) + unsafe.Sizeof(C.int(0))

// isqrtConfigLayout is sizeof(deconv_isqrt_config) and the offset of its
// grad field, for the test that grad sits in the 0.1 struct's tail padding.
func isqrtConfigLayout() (size, gradOffset uintptr) {
	return C.sizeof_deconv_isqrt_config, unsafe.Offsetof(C.deconv_isqrt_config{}.grad)
}

func isqrtOf(p *C.deconv__cisqrt) (*isqrtHandle, error) {
	return handleValue[*isqrtHandle]((*C.deconv__handle)(unsafe.Pointer(p)), C.DECONV__MAGIC_ISQRT, "deconv_isqrt")
}

//export deconv_isqrt_config_default
func deconv_isqrt_config_default(c *C.deconv_isqrt_config) {
	defer quiet()
	if c == nil {
		return
	}
	d := defaultIsqrtConfig()
	*c = C.deconv_isqrt_config{struct_size: C.sizeof_deconv_isqrt_config, method: C.int(d.Method),
		iterations: C.int(d.Iterations), scaling: C.int(d.Scaling), tol: C.double(d.Tol),
		symmetry_tol: C.double(d.SymmetryTol), workers: C.int(d.Workers), grad: C.int(b2i(d.Grad))}
}

//export deconv_isqrt_create
func deconv_isqrt_create(n C.size_t, cfg *C.deconv__cisqrt_config, out **C.deconv_isqrt, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if out == nil {
		return report(e, errNull("out"))
	}
	c := defaultIsqrtConfig()
	if cfg != nil {
		if err := checkStructSize("deconv_isqrt_config", uint64(cfg.struct_size), isqrtConfigV1, C.sizeof_deconv_isqrt_config,
			structTail(unsafe.Pointer(cfg), C.sizeof_deconv_isqrt_config)); err != nil {
			return report(e, err)
		}
		c = isqrtConfig{Method: int(cfg.method), Iterations: int(cfg.iterations), Scaling: int(cfg.scaling),
			Tol: float64(cfg.tol), SymmetryTol: float64(cfg.symmetry_tol), Workers: int(cfg.workers)}
		if uint64(cfg.struct_size) >= uint64(isqrtGradEnd) {
			c.Grad = cfg.grad != 0
		}
	}
	size, err := intArg("n", uint64(n))
	if err != nil {
		return report(e, err)
	}
	hv, err := newIsqrt(size, c)
	if err != nil {
		return report(e, err)
	}
	h, err := newHandle(C.DECONV__MAGIC_ISQRT, hv)
	if err != nil {
		return report(e, err)
	}
	*out = (*C.deconv_isqrt)(unsafe.Pointer(h))
	return report(e, nil)
}

//export deconv_isqrt_free
func deconv_isqrt_free(h *C.deconv_isqrt) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(h)), C.DECONV__MAGIC_ISQRT)
}

//export deconv_isqrt_n
func deconv_isqrt_n(h *C.deconv__cisqrt) (n C.size_t) {
	defer quiet()
	hv, err := isqrtOf(h)
	if err != nil {
		return 0
	}
	return C.size_t(hv.n)
}

//export deconv_isqrt_trace_len
func deconv_isqrt_trace_len(h *C.deconv__cisqrt) (n C.size_t) {
	defer quiet()
	hv, err := isqrtOf(h)
	if err != nil {
		return 0
	}
	return C.size_t(hv.traceLen())
}

func isqrtCall[T elem](h *C.deconv_isqrt, dst unsafe.Pointer, dstLen C.size_t, a unsafe.Pointer, aLen C.size_t,
	trace *C.double, traceLen C.size_t, result *C.deconv_isqrt_result) error {
	hv, err := isqrtOf((*C.deconv__cisqrt)(h))
	if err != nil {
		return err
	}
	d, err := sliceAt[T](dst, uint64(dstLen), "dst")
	if err != nil {
		return err
	}
	as, err := sliceAt[T](a, uint64(aLen), "a")
	if err != nil {
		return err
	}
	tr, err := sliceAt[float64](unsafe.Pointer(trace), uint64(traceLen), "trace")
	if err != nil {
		return err
	}
	if result != nil {
		if err := checkStructSize("deconv_isqrt_result", uint64(result.struct_size), isqrtResultV1, C.sizeof_deconv_isqrt_result,
			func(int) []byte { return nil }); err != nil {
			return err
		}
	}
	if tr != nil && (overlap(tr, d) || overlap(tr, as)) {
		return errOverlap("trace", "a matrix")
	}
	r, err := isqrtCompute(hv, d, as, tr)
	if err != nil {
		return err
	}
	if result != nil {
		result.iterations = C.int(r.Iterations)
		result.scale = C.double(r.Scale)
		result.residual = C.double(r.Residual)
		result.trace_written = C.size_t(r.TraceWritten)
	}
	return nil
}

//export deconv_isqrt_compute_f32
func deconv_isqrt_compute_f32(h *C.deconv_isqrt, dst *C.float, dstLen C.size_t, a *C.deconv__cfloat, aLen C.size_t,
	trace *C.double, traceLen C.size_t, result *C.deconv_isqrt_result, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtCall[float32](h, unsafe.Pointer(dst), dstLen, unsafe.Pointer(a), aLen, trace, traceLen, result))
}

//export deconv_isqrt_compute_f64
func deconv_isqrt_compute_f64(h *C.deconv_isqrt, dst *C.double, dstLen C.size_t, a *C.deconv__cdouble, aLen C.size_t,
	trace *C.double, traceLen C.size_t, result *C.deconv_isqrt_result, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtCall[float64](h, unsafe.Pointer(dst), dstLen, unsafe.Pointer(a), aLen, trace, traceLen, result))
}

func isqrtBatchCall[T elem](h *C.deconv_isqrt, count C.size_t, dst unsafe.Pointer, dstLen C.size_t, a unsafe.Pointer, aLen C.size_t) error {
	hv, err := isqrtOf((*C.deconv__cisqrt)(h))
	if err != nil {
		return err
	}
	cnt, err := intArg("count", uint64(count))
	if err != nil {
		return err
	}
	d, err := sliceAt[T](dst, uint64(dstLen), "dst")
	if err != nil {
		return err
	}
	as, err := sliceAt[T](a, uint64(aLen), "a")
	if err != nil {
		return err
	}
	return isqrtComputeBatch(hv, cnt, d, as)
}

//export deconv_isqrt_compute_batch_f32
func deconv_isqrt_compute_batch_f32(h *C.deconv_isqrt, count C.size_t, dst *C.float, dstLen C.size_t, a *C.deconv__cfloat, aLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtBatchCall[float32](h, count, unsafe.Pointer(dst), dstLen, unsafe.Pointer(a), aLen))
}

//export deconv_isqrt_compute_batch_f64
func deconv_isqrt_compute_batch_f64(h *C.deconv_isqrt, count C.size_t, dst *C.double, dstLen C.size_t, a *C.deconv__cdouble, aLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, isqrtBatchCall[float64](h, count, unsafe.Pointer(dst), dstLen, unsafe.Pointer(a), aLen))
}
