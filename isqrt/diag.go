package isqrt

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/netdeconv/deconv/internal/gemm"
)

// startTrace keeps the pre-scaled input in float64, as the iteration sees
// it (the symmetric part, unless the method is the reference), for the
// true residuals of the trace.
func (w *work[T]) startTrace(p *Plan[T], a []T, c float64) {
	n := p.n
	a64 := grow(&w.a64, n*n)
	asIs := p.opt.Method == CoupledReference
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v := float64(a[i*n+j])
			if !asIs {
				v = 0.5 * (v + float64(a[j*n+i]))
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
	w.trace[k] = residual64(n, z, w.a64, w.z64, w.s64)
}

// residual64 returns ‖Z·Z·A − I‖_F in float64, using z64 and s64 (n×n) as
// scratch.
func residual64[T Float](n int, z []T, a, z64, s64 []float64) float64 {
	for i, v := range z[:n*n] {
		z64[i] = float64(v)
	}
	if err := gemm.Dgemm(gemm.NoTrans, gemm.NoTrans, n, n, n, 1, z64, n, z64, n, 0, s64, n); err != nil {
		return math.NaN()
	}
	if err := gemm.Dgemm(gemm.NoTrans, gemm.NoTrans, n, n, n, 1, s64, n, a, n, 0, z64, n); err != nil {
		return math.NaN()
	}
	return identityResidual(n, z64)
}

// eigen computes V·Λ^{-1/2}·Vᵀ of the symmetric part of a in float64.
func (w *work[T]) eigen(p *Plan[T], dst, a []T) (Result, error) {
	n := p.n
	// The same validation as the iterations (w.y is scratch here).
	if _, err := w.prepare(p, a, false); err != nil {
		return Result{}, err
	}
	s := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s[i*n+j] = 0.5 * (float64(a[i*n+j]) + float64(a[j*n+i]))
		}
	}
	d, err := invSqrtEigen(n, s)
	if err != nil {
		return Result{}, err
	}
	for i, v := range d {
		dst[i] = T(v)
	}
	return Result{Scale: 1, Residual: math.NaN()}, nil
}

// invSqrtEigen returns S^{-1/2} of the symmetric n×n matrix s (row-major,
// float64) by eigendecomposition: with S = V·Λ·Vᵀ and U = Λ^{-1/4}·Vᵀ, the
// result UᵀU = V·Λ^{-1/2}·Vᵀ is computed as a symmetric rank-n product, so
// it is exactly symmetric. It fails when an eigenvalue is not positive.
func invSqrtEigen(n int, s []float64) ([]float64, error) {
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, s), true) {
		return nil, fmt.Errorf("%w: eigendecomposition did not converge", ErrNotFinite)
	}
	vals := es.Values(nil)
	var v mat.Dense
	es.VectorsTo(&v)
	u := make([]float64, n*n)
	for k, l := range vals {
		if !(l > 0) {
			return nil, fmt.Errorf("%w: eigenvalue %d is %v", ErrNotPositiveDefinite, k, l)
		}
		f := math.Pow(l, -0.25)
		for j := 0; j < n; j++ {
			u[k*n+j] = v.At(j, k) * f
		}
	}
	d := make([]float64, n*n)
	if err := gemm.Dsyrk(gemm.Full, n, n, 1, u, n, 0, d, n); err != nil {
		return nil, err
	}
	return d, nil
}
