package main

// The calls into package isqrt. Nothing else in this package imports it.

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/isqrt"
)

// isqrtConfig mirrors deconv_isqrt_config after its struct_size check.
type isqrtConfig struct {
	Method, Iterations, Scaling int
	Tol, SymmetryTol            float64
	Workers                     int
	Grad                        bool // since 0.2: keep what Backward needs
}

// defaultIsqrtConfig is what deconv_isqrt_config_default writes.
func defaultIsqrtConfig() isqrtConfig {
	return isqrtConfig{Method: int(isqrt.Coupled), Iterations: isqrt.DefaultIterations, Scaling: int(isqrt.ScaleFrobenius)}
}

// isqrtResult is what deconv_isqrt_result receives.
type isqrtResult struct {
	Iterations      int
	Scale, Residual float64
	TraceWritten    int
}

// isqrtHandle is the Go value behind a deconv_isqrt: plans of both
// element types, with and without the trace (made on first use), and the
// scratch results are computed into, so that a failing call leaves the
// caller's buffers as they were.
type isqrtHandle struct {
	busy
	n         int
	opt       isqrt.Options
	p32, t32  *isqrt.Plan[float32]
	p64, t64  *isqrt.Plan[float64]
	scratch32 []float32
	scratch64 []float64
	// last is the computation a backward differentiates: set by every
	// successful compute, cleared by a failed one (whose plan may have
	// overwritten part of what it kept).
	last isqrtLast
}

// isqrtLast records the handle's last successful computation: the plan
// that ran it (its element type is the plan's), and for a batch its count.
type isqrtLast struct {
	plan  any // *isqrt.Plan[float32] or [float64]; nil: none
	batch bool
	count int
}

func newIsqrt(n int, c isqrtConfig) (*isqrtHandle, error) {
	if err := enumArg("method", c.Method, int(isqrt.Eigen)); err != nil {
		return nil, err
	}
	if err := enumArg("scaling", c.Scaling, int(isqrt.ScaleSpectral)); err != nil {
		return nil, err
	}
	if c.Workers < 0 {
		return nil, fmt.Errorf("%w: workers %d", deconv.ErrParam, c.Workers)
	}
	if math.IsInf(c.Tol, 0) {
		return nil, fmt.Errorf("%w: tolerance %v", deconv.ErrParam, c.Tol)
	}
	opt := isqrt.Options{Method: isqrt.Method(c.Method), Iterations: c.Iterations, Scaling: isqrt.Scaling(c.Scaling),
		Tol: c.Tol, SymmetryTol: c.SymmetryTol, Workers: c.Workers, Grad: c.Grad}
	p32, err := isqrt.NewPlan[float32](n, opt)
	if err != nil {
		return nil, err
	}
	p64, err := isqrt.NewPlan[float64](n, opt)
	if err != nil {
		return nil, err
	}
	return &isqrtHandle{n: n, opt: p64.Options(), p32: p32, p64: p64}, nil
}

// traceLen is the length a trace buffer must have: the maximum iterations
// plus one.
func (h *isqrtHandle) traceLen() int { return h.opt.Iterations + 1 }

// plan returns the handle's plan for T, with or without the trace.
func isqrtPlan[T elem](h *isqrtHandle, traced bool) (*isqrt.Plan[T], error) {
	var p any
	switch any(T(0)).(type) {
	case float32:
		if traced && h.t32 == nil {
			o := h.opt
			o.Trace = true
			var err error
			if h.t32, err = isqrt.NewPlan[float32](h.n, o); err != nil {
				return nil, err
			}
		}
		p = pickPlan(traced, h.t32, h.p32)
	case float64:
		if traced && h.t64 == nil {
			o := h.opt
			o.Trace = true
			var err error
			if h.t64, err = isqrt.NewPlan[float64](h.n, o); err != nil {
				return nil, err
			}
		}
		p = pickPlan(traced, h.t64, h.p64)
	}
	return p.(*isqrt.Plan[T]), nil
}

func pickPlan[T elem](traced bool, t, p *isqrt.Plan[T]) *isqrt.Plan[T] {
	if traced {
		return t
	}
	return p
}

// scratch returns the handle's Go-owned buffer of n values of type T.
func isqrtScratch[T elem](h *isqrtHandle, n int) []T {
	var s any
	switch any(T(0)).(type) {
	case float32:
		if cap(h.scratch32) < n {
			h.scratch32 = make([]float32, n)
		}
		s = h.scratch32[:n]
	case float64:
		if cap(h.scratch64) < n {
			h.scratch64 = make([]float64, n)
		}
		s = h.scratch64[:n]
	}
	return s.([]T)
}

// isqrtCompute computes A^(-1/2) of a into dst and, when trace is not
// nil, the residual trace into it; on failure nothing is written.
func isqrtCompute[T elem](h *isqrtHandle, dst, a []T, trace []float64) (isqrtResult, error) {
	if err := h.acquire("deconv_isqrt"); err != nil {
		return isqrtResult{}, err
	}
	defer h.release()
	nn := h.n * h.n
	if err := exactLen("dst", len(dst), nn); err != nil {
		return isqrtResult{}, err
	}
	if err := exactLen("a", len(a), nn); err != nil {
		return isqrtResult{}, err
	}
	if trace != nil {
		if err := exactLen("trace", len(trace), h.traceLen()); err != nil {
			return isqrtResult{}, err
		}
	}
	p, err := isqrtPlan[T](h, trace != nil)
	if err != nil {
		return isqrtResult{}, err
	}
	// The plan computes in place on a Go copy of a: it then never sees
	// caller memory (its workspace would otherwise keep a reference to a
	// after a serial validation pass), and dst is written only on success.
	tmp := isqrtScratch[T](h, nn)
	copy(tmp, a)
	h.last = isqrtLast{}
	r, err := p.InvSqrt(tmp, tmp)
	if err != nil {
		return isqrtResult{}, err
	}
	h.last = isqrtLast{plan: p}
	res := isqrtResult{Iterations: r.Iterations, Scale: r.Scale, Residual: r.Residual}
	if trace != nil {
		res.TraceWritten = copy(trace, r.Trace)
		for i := res.TraceWritten; i < len(trace); i++ {
			trace[i] = math.NaN()
		}
	}
	copy(dst, tmp)
	return res, nil
}

// isqrtComputeBatch computes the inverse square roots of count matrices.
func isqrtComputeBatch[T elem](h *isqrtHandle, count int, dst, a []T) error {
	if err := h.acquire("deconv_isqrt"); err != nil {
		return err
	}
	defer h.release()
	nn := h.n * h.n
	if count > 0 && nn > math.MaxInt/count {
		return fmt.Errorf("%w: %d matrices of %d×%d", deconv.ErrOverflow, count, h.n, h.n)
	}
	if err := exactLen("dst", len(dst), count*nn); err != nil {
		return err
	}
	if err := exactLen("a", len(a), count*nn); err != nil {
		return err
	}
	if count == 0 {
		return nil
	}
	p, err := isqrtPlan[T](h, false)
	if err != nil {
		return err
	}
	tmp := make([]T, count*nn) // not kept: a batch may be large
	copy(tmp, a)               // as in isqrtCompute: the plan sees Go memory only
	h.last = isqrtLast{}
	if _, err := p.InvSqrtBatch(tmp, tmp, count); err != nil {
		return err
	}
	h.last = isqrtLast{plan: p, batch: true, count: count}
	copy(dst, tmp)
	return nil
}
