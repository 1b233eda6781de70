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
		} else {
			if err := b.upper2(-0.5, dz, y, -0.5, z, dy, dt); err != nil {
				return nil, err
			}
			b.mirrorB(dt)
			if err := b.upper2(1, dt, z, 1, t, dz, dz2); err != nil {
				return nil, err
			}
			b.mirrorB(dz2)
			dz, dz2 = dz2, dz
		}
		if k+1 < K {
			if err := b.upper2(1, dy, t, 1, y, dt, dy2); err != nil {
				return nil, err
			}
			b.mirrorB(dy2)
			dy, dy2 = dy2, dy
		}
	}
	return dz, nil
}

// The backward's team operations (bwork.op).
const (
	bopUpper2 = iota
	bopMirror
)

// bteam splits one matrix's operations of the backward over goroutines
// (parallel.Parts), as the forward's team does.
type bteam[T Float] struct {
	n, nw          int
	op             int
	a1, b1, a2, b2 []T
	al1, al2       T
	c              []T
	errs           [maxTeam]error
}

// upper2 sets the upper triangle of C to α₁·A₁·B₁ + α₂·A₂·B₂ (n×n), by
// block rows C[i0:i1, i0:n] on the worker's goroutines; the strict lower
// triangle is left undefined. Small matrices take two full products.
func (b *bwork[T]) upper2(al1 T, a1, b1 []T, al2 T, a2, b2, c []T) error {
	n := b.p.n
	if n <= 4*symBlock {
		if err := b.gemmB(gemm.NoTrans, gemm.NoTrans, al1, a1, b1, 0, c); err != nil {
			return err
		}
		return b.gemmB(gemm.NoTrans, gemm.NoTrans, al2, a2, b2, 1, c)
	}
	tm := &b.team
	tm.n, tm.nw = n, min(b.threads, maxTeam)
	tm.op, tm.a1, tm.b1, tm.a2, tm.b2, tm.al1, tm.al2, tm.c = bopUpper2, a1, b1, a2, b2, al1, al2, c
	parallel.Run(tm, tm.nw)
	tm.a1, tm.b1, tm.a2, tm.b2, tm.c = nil, nil, nil, nil, nil
	for _, err := range tm.errs[:tm.nw] {
		if err != nil {
			return err
		}
	}
	return nil
}

// mirrorB copies the upper triangle of c into the lower one, on the
// worker's goroutines.
func (b *bwork[T]) mirrorB(c []T) {
	n := b.p.n
	nw := min(b.threads, maxTeam)
	if nw <= 1 || n <= 4*symBlock {
		mirrorUpper(n, c)
		return
	}
	tm := &b.team
	tm.n, tm.nw, tm.op, tm.c = n, nw, bopMirror, c
	parallel.Run(tm, nw)
	tm.c = nil
}

// RunPart runs part i of the team's operation.
func (tm *bteam[T]) RunPart(i int) {
	n, nw, c := tm.n, tm.nw, tm.c
	switch tm.op {
	case bopUpper2:
		tm.errs[i] = nil
		for blk, i0 := 0, 0; i0 < n; blk, i0 = blk+1, i0+symBlock {
			if !snake(blk, i, nw) {
				continue
			}
			h := min(n, i0+symBlock) - i0
			err := gemmDense(1, gemm.NoTrans, gemm.NoTrans, h, n-i0, n, tm.al1, tm.a1[i0*n:], n, tm.b1[i0:], n, 0, c[i0*n+i0:], n)
			if err == nil {
				err = gemmDense(1, gemm.NoTrans, gemm.NoTrans, h, n-i0, n, tm.al2, tm.a2[i0*n:], n, tm.b2[i0:], n, 1, c[i0*n+i0:], n)
			}
			if err != nil {
				tm.errs[i] = err
				return
			}
		}
	case bopMirror:
		nb := (n + mirrorTile - 1) / mirrorTile
		for blk, i0 := 0, 0; i0 < n; blk, i0 = blk+1, i0+mirrorTile {
			if snake(nb-1-blk, i, nw) {
				mirrorTileRow(n, c, i0)
			}
		}
	}
}
