// The cgo side of the boundary: errors, handles and the process-wide
// settings.

package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -I${SRCDIR}
#include "internal.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"

	"github.com/netdeconv/deconv"
)

func init() { versionString = C.GoString(C.deconv__version_text()) }

// setErr fills *e (when not NULL) with the status and message, always
// NUL-terminated and truncated on a UTF-8 boundary.
func setErr(e *C.deconv_error, status int, msg string) {
	if e == nil {
		return
	}
	e.status = C.int(status)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&e.message[0])), len(e.message))
	n := copy(buf[:len(buf)-1], truncateUTF8(msg, len(buf)-1))
	buf[n] = 0
}

// report returns the status of err and describes it in *e.
func report(e *C.deconv_error, err error) C.int {
	st := statusOf(err)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	setErr(e, st, msg)
	return C.int(st)
}

// guard, deferred by every exported function that returns a status,
// turns a panic into DECONV_E_INTERNAL.
func guard(st *C.int, e *C.deconv_error) {
	if r := recover(); r != nil {
		*st = report(e, fmt.Errorf("%w: panic: %v", errInternal, r))
	}
}

// quiet, deferred by exported functions without a status (getters, free),
// swallows a panic so that it never unwinds into C.
func quiet() { _ = recover() }

// Handles. A handle is a malloc'd deconv__handle holding a type tag and a
// runtime/cgo.Handle, so C never holds a Go pointer.

func newHandle(magic C.uint64_t, v any) (*C.deconv__handle, error) {
	p := (*C.deconv__handle)(C.malloc(C.sizeof_deconv__handle))
	if p == nil {
		return nil, fmt.Errorf("%w: a handle of %d bytes", errNoMem, C.sizeof_deconv__handle)
	}
	p.magic = magic
	p.value = C.uintptr_t(cgo.NewHandle(v))
	return p, nil
}

// handleValue returns the Go value behind a handle of the given type.
func handleValue[T any](p *C.deconv__handle, magic C.uint64_t, name string) (T, error) {
	var zero T
	if p == nil {
		return zero, fmt.Errorf("%w: %s is NULL", deconv.ErrParam, name)
	}
	if p.magic != magic {
		return zero, fmt.Errorf("%w: %s is not a live %s handle", deconv.ErrParam, name, name)
	}
	v, ok := cgo.Handle(p.value).Value().(T)
	if !ok {
		return zero, fmt.Errorf("%w: %s is not a %s handle", deconv.ErrParam, name, name)
	}
	return v, nil
}

func freeHandle(p *C.deconv__handle, magic C.uint64_t) {
	if p == nil || p.magic != magic {
		return
	}
	cgo.Handle(p.value).Delete()
	p.magic, p.value = 0, 0
	C.free(unsafe.Pointer(p))
}

// structTail views n bytes of a struct beyond its known size.
func structTail(p unsafe.Pointer, known uintptr) func(n int) []byte {
	return func(n int) []byte { return unsafe.Slice((*byte)(unsafe.Add(p, known)), n) }
}

// goGeometry converts the C geometry.
func goGeometry(g *C.deconv_geometry) deconv.Geometry {
	return deconv.Geometry{
		KernelH: int(g.kernel_h), KernelW: int(g.kernel_w),
		StrideH: int(g.stride_h), StrideW: int(g.stride_w),
		PadH: int(g.pad_h), PadW: int(g.pad_w),
		DilationH: int(g.dilation_h), DilationW: int(g.dilation_w),
	}
}

func squareGeometry(g *C.deconv_geometry, kernel C.int) {
	*g = C.deconv_geometry{kernel_h: kernel, kernel_w: kernel, stride_h: 1, stride_w: 1, dilation_h: 1, dilation_w: 1}
}

// cstr gives a static C string the const type of the prototypes.
func cstr(s *C.char) *C.deconv__cchar { return (*C.deconv__cchar)(unsafe.Pointer(s)) }

// Version, status and settings.

//export deconv_version_number
func deconv_version_number() C.uint { return C.DECONV_VERSION_NUMBER }

//export deconv_version_string
func deconv_version_string() *C.deconv__cchar { return cstr(C.deconv__version_text()) }

//export deconv_status_message
func deconv_status_message(status C.int) *C.deconv__cchar { return cstr(C.deconv__status_text(status)) }

//export deconv_isa_name
func deconv_isa_name() (s *C.deconv__cchar) {
	defer func() {
		if recover() != nil {
			s = cstr(C.deconv__isa_text(-1))
		}
	}()
	return cstr(C.deconv__isa_text(C.int(isaIndex(deconv.ISA()))))
}

// isaIndex numbers the family names as deconv__isa_text does.
func isaIndex(name string) int {
	switch name {
	case "generic":
		return 0
	case "avx2":
		return 1
	case "avx512":
		return 2
	}
	return -1
}

//export deconv_set_isa
func deconv_set_isa(name *C.deconv__cchar, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if name == nil {
		return report(e, fmt.Errorf("%w: ISA name is NULL", deconv.ErrParam))
	}
	const maxName = 64
	p := (*C.char)(unsafe.Pointer(name))
	n := C.deconv__strnlen(p, maxName+1)
	if n > maxName {
		return report(e, fmt.Errorf("%w: ISA name longer than %d bytes", deconv.ErrParam, maxName))
	}
	return report(e, setISA(C.GoStringN(p, C.int(n))))
}

//export deconv_set_threads
func deconv_set_threads(n C.int, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, deconv.SetThreads(int(n)))
}

//export deconv_threads
func deconv_threads() (n C.int) {
	defer quiet()
	return C.int(deconv.Threads())
}

// headerStatuses lists the status values of deconv.h in the order of
// deconv.Errors(), followed by DECONV_E_NOMEM and DECONV_E_INTERNAL, so
// that a test can check that statusOf agrees with the header.
func headerStatuses() []int {
	return []int{
		C.DECONV_E_SHAPE, C.DECONV_E_PARAM, C.DECONV_E_OVERFLOW, C.DECONV_E_NONFINITE,
		C.DECONV_E_NOT_SYMMETRIC, C.DECONV_E_NOT_POSITIVE_DEFINITE, C.DECONV_E_DIVERGED,
		C.DECONV_E_NOT_CONVERGED, C.DECONV_E_EMPTY, C.DECONV_E_BUSY, C.DECONV_E_OVERLAP,
		C.DECONV_E_UNSUPPORTED, C.DECONV_E_NOMEM, C.DECONV_E_INTERNAL,
	}
}

// headerMessage is deconv_status_message as a Go string, for tests.
func headerMessage(status int) string { return C.GoString(C.deconv__status_text(C.int(status))) }

// headerVersion is DECONV_VERSION_NUMBER and the version string.
func headerVersion() (int, string) { return C.DECONV_VERSION_NUMBER, versionString }

// callForTest runs body as an exported function runs its Go body (the
// deferred guard, then report) with a malloc'd deconv_error, and returns
// the status, the status written into the struct and its message. The
// tests use it, since test files cannot use cgo.
func callForTest(body func() error) (st, errStatus int, msg string) {
	e := (*C.deconv_error)(C.malloc(C.sizeof_deconv_error))
	if e == nil {
		panic("out of memory")
	}
	defer C.free(unsafe.Pointer(e))
	st = int(func() (st C.int) {
		defer guard(&st, e)
		return report(e, body())
	}())
	return st, int(e.status), C.GoString(&e.message[0])
}
