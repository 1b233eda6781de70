package isqrt

import (
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/parallel"
)

// coupledTangent computes Coupled's gradient with respect to Ã, given
// Z̄_K in b.b[0], as the Fréchet derivative L(Ã, E) of the map Ã ↦ Z_K in
// the direction E = sym(Z̄_K), by propagating tangents forward through the
// kept iterations:
//
//	dT = −½·(dZ·Y + Z·dY),  dY' = dY·T + Y·dT,  dZ' = dT·Z + T·dZ,
//
// from dY₀ = E, dZ₀ = 0. This is the reverse-mode gradient, not an
// approximation of it: Z_K is a polynomial p in Ã (every iterate is), the
// adjoint of L_p(Ã, ·) is L_p(Ãᵀ, ·), which at the symmetric Ã of Coupled
// is L_p(Ã, ·) itself, and L_p(Ã, ·) commutes with transposition, so
// sym(L_p(Ã, ·)*[Z̄]) = L_p(Ã, sym Z̄). What it gains: every tangent is then
// the derivative of a polynomial in a symmetric matrix along a symmetric
// direction, hence symmetric, and each of the three sums above is computed
// on its upper triangle only and mirrored, as the forward computes its
// products. An iteration costs six half products, three full ones,
// against the six full products of the reverse recursion; K iterations
// cost 3K − 3 full products' worth (K ≥ 2).
func (b *bwork[T]) coupledTangent(m *gradMat[T]) ([]T, error) {
	n := b.p.n
	dy, dz, dt, dy2, dz2 := b.b[1], b.b[2], b.b[3], b.b[4], b.b[0]
	K := m.iters
	if K == 0 {
		clear(dz2)
		return dz2, nil
	}
	// dY₀ = E = sym(Z̄_K).
	zb := b.b[0]
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := 0.5*zb[i*n+j] + 0.5*zb[j*n+i]
			dy[i*n+j], dy[j*n+i] = v, v
		}
	}
	for k := 0; k < K; k++ {
		y, z, t := m.slot(k, 0), m.slot(k, 1), m.slot(k, 2)
		if z == nil {
			// Z₀ = I, dZ₀ = 0: dT = −½·dY = dZ₁.
			for i, v := range dy {
				dt[i] = -0.5 * v
			}
			copy(dz, dt)
			if k+1 < K {
				if err := b.sym2(sum2[T]{1, dy, t, 1, y, dt, dy2, gemm.SymA1 | gemm.SymA2}, sum2[T]{}); err != nil {
					return nil, err
				}
				dy, dy2 = dy2, dy
			}
			continue
		}
		if err := b.sym2(sum2[T]{-0.5, dz, y, -0.5, z, dy, dt, gemm.SymA1 | gemm.SymA2}, sum2[T]{}); err != nil {
			return nil, err
		}
		// dZ' and dY' both need dT only: one pass over the team.
		second := sum2[T]{}
		if k+1 < K {
			second = sum2[T]{1, dy, t, 1, y, dt, dy2, gemm.SymA1 | gemm.SymA2}
		}
		// T_k is exactly symmetric where the forward mirrored it.
		tflag := gemm.SymA1
		if keptTSymmetric(k) {
			tflag |= gemm.SymA2
		}
		if err := b.sym2(sum2[T]{1, dt, z, 1, t, dz, dz2, tflag}, second); err != nil {
			return nil, err
		}
		dz, dz2 = dz2, dz
		if k+1 < K {
			dy, dy2 = dy2, dy
		}
	}
	return dz, nil
}

// sum2 is one symmetric sum C = α₁·A₁·B₁ + α₂·A₂·B₂ for sym2; a zero
// sum2 (nil C) is none.
type sum2[T Float] struct {
	al1    T
	a1, b1 []T
	al2    T
	a2, b2 []T
	c      []T
	flags  gemm.SumFlags // which of a1, a2 are exactly symmetric as stored
}

// bteam splits one matrix's operations of the backward over goroutines
// (parallel.Parts), as the forward's team does.
type bteam[T Float] struct {
	n, nw int
	sums  [2]sum2[T]
	errs  [maxTeam]error
}

// sym2 computes one or two sums that are symmetric in exact arithmetic
// (the second may be the zero sum2): for each, the upper triangle by block
// rows C[i0:i1, i0:n] on the worker's goroutines, each block row then
// mirrored by the goroutine that computed it into the block column below
// it, which no other goroutine writes, so one synchronisation serves both
// sums. Small matrices take two full products per sum, then the
// mirroring.
func (b *bwork[T]) sym2(s0, s1 sum2[T]) error {
	n := b.p.n
	if n <= 4*symBlock {
		for _, s := range [2]sum2[T]{s0, s1} {
			if s.c == nil {
				continue
			}
			if err := b.gemmB(gemm.NoTrans, gemm.NoTrans, s.al1, s.a1, s.b1, 0, s.c); err != nil {
				return err
			}
			if err := b.gemmB(gemm.NoTrans, gemm.NoTrans, s.al2, s.a2, s.b2, 1, s.c); err != nil {
				return err
			}
			mirrorUpper(n, s.c)
		}
		return nil
	}
	if s0.al1 == s0.al2 && (s1.c == nil || s1.al1 == s1.al2) {
		for _, s := range [2]sum2[T]{s0, s1} {
			if s.c == nil {
				continue
			}
			if err := b.sum.Upper(b.threads, n, s.al1, s.a1, s.b1, s.a2, s.b2, s.c, s.flags|gemm.Mirror); err != nil {
				return err
			}
		}
		return nil
	}
	tm := &b.team
	tm.n, tm.nw = n, min(b.threads, maxTeam)
	tm.sums = [2]sum2[T]{s0, s1}
	parallel.Run(tm, tm.nw)
	tm.sums = [2]sum2[T]{}
	for _, err := range tm.errs[:tm.nw] {
		if err != nil {
			return err
		}
	}
	return nil
}

// RunPart runs part i of sym2: its block rows of each sum, each then
// mirrored.
func (tm *bteam[T]) RunPart(i int) {
	n, nw := tm.n, tm.nw
	tm.errs[i] = nil
	for blk, i0 := 0, 0; i0 < n; blk, i0 = blk+1, i0+symBlock {
		if !snake(blk, i, nw) {
			continue
		}
		i1 := min(n, i0+symBlock)
		for _, s := range tm.sums {
			c := s.c
			if c == nil {
				continue
			}
			err := gemmDense(1, gemm.NoTrans, gemm.NoTrans, i1-i0, n-i0, n, s.al1, s.a1[i0*n:], n, s.b1[i0:], n, 0, c[i0*n+i0:], n)
			if err == nil {
				err = gemmDense(1, gemm.NoTrans, gemm.NoTrans, i1-i0, n-i0, n, s.al2, s.a2[i0*n:], n, s.b2[i0:], n, 1, c[i0*n+i0:], n)
			}
			if err != nil {
				tm.errs[i] = err
				return
			}
			// Row j of the block column gets column j of the block row:
			// one contiguous write of up to i1 − i0 elements per row.
			for j := i0 + 1; j < n; j++ {
				row := c[j*n+i0 : j*n+min(j, i1)]
				for r := range row {
					row[r] = c[(i0+r)*n+j]
				}
			}
		}
	}
}
