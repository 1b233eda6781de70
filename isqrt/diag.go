package isqrt

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gemm"
)

// startResidual keeps the pre-scaled input Ã = A/c in float64, as the
// iteration sees it (the symmetric part, unless the method is the
// reference), for the true residuals of Options.Tol, Result.Residual and
// the trace.
func (w *work[T]) startResidual(p *Plan[T], a []T, c float64) {
	n := p.n
	a64 := grow(&w.a64, n*n)
	asIs := p.opt.Method == CoupledReference
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v := float64(a[i*n+j])
			if !asIs {
				v = 0.5*v + 0.5*float64(a[j*n+i])
			}
			a64[i*n+j] = v / c
		}
	}
	w.z64 = grow(&w.z64, n*n)
	w.s64 = grow(&w.s64, n*n)
	w.trace = w.trace[:0]
}

// traceAt appends the true residual ‖Z·Z·Ã − I‖_F of iterate k, computed
// in float64 from the iterate z.
func (w *work[T]) traceAt(n, k int, z []T) {
	for len(w.trace) <= k {
		w.trace = append(w.trace, math.NaN())
	}
	for i, v := range z[:n*n] {
		w.z64[i] = float64(v)
	}
	w.trace[k] = w.residual64(n)
}

// outputResidual returns the true residual ‖Ž·Ž·Ã − I‖_F of the result the
// iterate z gives: Ž = √c·D with D = z/√c rounded to the element type, as
// finish writes it. It is the quantity Options.Tol bounds.
func (w *work[T]) outputResidual(n int, z []T, c float64) float64 {
	s, r := 1/math.Sqrt(c), math.Sqrt(c)
	for i, v := range z[:n*n] {
		w.z64[i] = float64(T(float64(v)*s)) * r
	}
	return w.residual64(n)
}

// residual64 returns ‖Z·Z·Ã − I‖_F in float64 for Z in w.z64 and Ã in
// w.a64, using w.s64 as scratch (and overwriting w.z64), on the run's
// goroutines.
func (w *work[T]) residual64(n int) float64 {
	z64, s64 := w.z64, w.s64
	if err := gemmDense(w.threads, gemm.NoTrans, gemm.NoTrans, n, n, n, 1, z64, n, z64, n, 0, s64, n); err != nil {
		return math.NaN()
	}
	if err := gemmDense(w.threads, gemm.NoTrans, gemm.NoTrans, n, n, n, 1, s64, n, w.a64, n, 0, z64, n); err != nil {
		return math.NaN()
	}
	return identityResidual(n, z64)
}

// eigen computes V·Λ^{-1/2}·Vᵀ of the symmetric part of a in float64: of
// Ã = S/c, so that no scale of the input under- or overflows, then
// divided by √c.
func (w *work[T]) eigen(p *Plan[T], dst, a []T) (Result, error) {
	n := p.n
	// The same validation as the iterations (w.y is scratch here).
	c, _, err := w.prepare(p, a, false)
	if err != nil {
		return Result{Residual: math.NaN()}, err
	}
	res := Result{Scale: c, Residual: math.NaN()}
	check := p.opt.Tol > 0 || p.opt.Trace
	if check {
		w.startResidual(p, a, c) // before dst is written: dst may be a
	}
	s := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s[i*n+j] = (0.5*float64(a[i*n+j]) + 0.5*float64(a[j*n+i])) / c
		}
	}
	d, vals, vec, err := invSqrtEigen(w.threads, n, s)
	if err != nil {
		return res, err
	}
	if w.gm != nil {
		w.gm.c = c
		w.gm.keepEigen(n, vals, c, vec)
	}
	f := 1 / math.Sqrt(c)
	for i, v := range d {
		dst[i] = T(v * f)
	}
	if !check {
		return res, nil
	}
	r := math.Sqrt(c)
	for i, v := range dst {
		w.z64[i] = float64(v) * r
	}
	res.Residual = w.residual64(n)
	if tol := p.opt.Tol; tol > 0 && !(res.Residual <= tol) {
		return res, fmt.Errorf("%w: residual ‖Z·Z·Ã − I‖_F = %.3g of the rounded exact result, tolerance %.3g",
			deconv.ErrNotConverged, res.Residual, tol)
	}
	return res, nil
}

// invSqrtEigen returns S^{-1/2} of the symmetric n×n matrix s (row-major,
// float64) by eigendecomposition: with S = V·Λ·Vᵀ and U = Λ^{-1/4}·Vᵀ, the
// result UᵀU = V·Λ^{-1/2}·Vᵀ is computed as a symmetric rank-n product on
// threads goroutines, so it is exactly symmetric. It fails when an
// eigenvalue is not positive.
// It also returns the eigenvalues and eigenvectors, which Backward keeps.
func invSqrtEigen(threads, n int, s []float64) (d, vals []float64, v *mat.Dense, err error) {
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, s), true) {
		return nil, nil, nil, fmt.Errorf("%w: eigendecomposition did not converge", deconv.ErrNonFinite)
	}
	vals = es.Values(nil)
	v = new(mat.Dense)
	es.VectorsTo(v)
	u := make([]float64, n*n)
	for k, l := range vals {
		if !(l > 0) {
			return nil, nil, nil, fmt.Errorf("%w: eigenvalue %d is %v", deconv.ErrNotPositiveDefinite, k, l)
		}
		f := math.Pow(l, -0.25)
		for j := 0; j < n; j++ {
			u[k*n+j] = v.At(j, k) * f
		}
	}
	d = make([]float64, n*n)
	if err := syrkDense(threads, gemm.Full, n, n, 1, u, n, 0, d, n); err != nil {
		return nil, nil, nil, err
	}
	return d, vals, v, nil
}
