package isqrt

import (
	"math"

	"github.com/netdeconv/deconv/internal/gemm"
)

// eigenBackward differentiates Method Eigen: D = S^{-1/2} = V·f(M)·Vᵀ with
// f(μ) = μ^{-1/2}, S = V·M·Vᵀ the symmetric part of A (the pre-scaling by c
// cancels exactly: (S/c)^{-1/2}/√c = S^{-1/2}, so it has no gradient). It
// uses the Daleckii–Krein formula in the kept eigenbasis,
//
//	S̄ = V·(F ∘ (Vᵀ·D̄·V))·Vᵀ,  F_ij = (f(μ_i) − f(μ_j))/(μ_i − μ_j),
//
// with F_ij = −1/(√μ_i·√μ_j·(√μ_i + √μ_j)), the divided difference in a
// form without cancellation, which is also f'(μ_i) = −½·μ_i^{-3/2} when
// μ_i = μ_j: close or repeated eigenvalues need no special case. A
// Lyapunov form (solving D·X + X·D = −D·D̄·D, from D·D·S = I) would need
// the same decomposition, or an iterative solver, for a Sylvester
// equation; the forward has the decomposition already, so the gradient
// costs four float64 products. da is the symmetric part of S̄.
func (b *bwork[T]) eigenBackward(m *gradMat[T], da, dd []T) error {
	n := b.p.n
	nn := n * n
	g := grow(&b.f0, nn)
	h := grow(&b.f1, nn)
	for i, v := range dd {
		g[i] = float64(v)
	}
	vec := m.vec
	gd := func(tA, tB gemm.Transpose, x, y, c []float64) error {
		return gemmDense(b.threads, tA, tB, n, n, n, 1, x, n, y, n, 0, c, n)
	}
	if err := gd(gemm.Trans, gemm.NoTrans, vec, g, h); err != nil {
		return err
	}
	if err := gd(gemm.NoTrans, gemm.NoTrans, h, vec, g); err != nil {
		return err
	}
	root := grow(&b.ub, n)
	for i, mu := range m.mu {
		root[i] = math.Sqrt(mu)
	}
	for i := 0; i < n; i++ {
		ri := root[i]
		row := g[i*n : i*n+n]
		for j, rj := range root {
			row[j] *= -1 / (ri * rj * (ri + rj))
		}
	}
	if err := gd(gemm.NoTrans, gemm.NoTrans, vec, g, h); err != nil {
		return err
	}
	if err := gd(gemm.NoTrans, gemm.Trans, h, vec, g); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			da[i*n+j] = T(0.5*g[i*n+j] + 0.5*g[j*n+i])
		}
	}
	return nil
}
