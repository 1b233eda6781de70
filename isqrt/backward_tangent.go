package isqrt

import "github.com/netdeconv/deconv/internal/gemm"

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
	rp := &b.rows
	rp.op, rp.n, rp.dst, rp.src = passSym, n, dy, b.b[0]
	rp.run(b.threads)
	for k := 0; k < K; k++ {
		y, z, t := m.slot(k, 0), m.slot(k, 1), m.slot(k, 2)
		if z == nil {
			// Z₀ = I, dZ₀ = 0: dT = −½·dY = dZ₁.
			rp.op, rp.n, rp.dst, rp.dst2, rp.src = passHalf, n, dt, dz, dy
			rp.run(b.threads)
			if k+1 < K {
				if err := b.sym2(sum2[T]{1, dy, t, y, dt, dy2, gemm.SymA1 | gemm.SymA2}, sum2[T]{}); err != nil {
					return nil, err
				}
				dy, dy2 = dy2, dy
			}
			continue
		}
		if err := b.sym2(sum2[T]{-0.5, dz, y, z, dy, dt, gemm.SymA1 | gemm.SymA2}, sum2[T]{}); err != nil {
			return nil, err
		}
		// dZ' and dY' both need dT only (dY' is not needed after the last
		// iteration).
		second := sum2[T]{}
		if k+1 < K {
			second = sum2[T]{1, dy, t, y, dt, dy2, gemm.SymA1 | gemm.SymA2}
		}
		// T_k is exactly symmetric where the forward mirrored it.
		tflag := gemm.SymA1
		if keptTSymmetric(k) {
			tflag |= gemm.SymA2
		}
		if err := b.sym2(sum2[T]{1, dt, z, t, dz, dz2, tflag}, second); err != nil {
			return nil, err
		}
		dz, dz2 = dz2, dz
		if k+1 < K {
			dy, dy2 = dy2, dy
		}
	}
	return dz, nil
}

// sum2 is one symmetric sum C = α·(A₁·B₁ + A₂·B₂) for sym2; a zero sum2
// (nil C) is none. flags say which A is exactly symmetric as stored.
type sum2[T Float] struct {
	al     T
	a1, b1 []T
	a2, b2 []T
	c      []T
	flags  gemm.SumFlags
}

// sym2 computes one or two sums that are symmetric in exact arithmetic
// (the second may be the zero sum2), each exactly symmetric as written.
// Large matrices take each sum as one product of depth 2n on its upper
// triangle, mirrored (gemm.UpperSum: B packed once and shared by the
// worker's goroutines, symmetric A read in place, rows split by equal
// work). Small ones take two full products per sum, then the mirroring.
func (b *bwork[T]) sym2(s0, s1 sum2[T]) error {
	n := b.p.n
	for _, s := range [2]sum2[T]{s0, s1} {
		if s.c == nil {
			continue
		}
		if n > upperSplitMin {
			if err := upperSum(b.threads, &b.sum, n, s.al, s.a1, s.b1, s.a2, s.b2, s.c, s.flags|gemm.Mirror); err != nil {
				return err
			}
			continue
		}
		if err := b.gemmB(gemm.NoTrans, gemm.NoTrans, s.al, s.a1, s.b1, 0, s.c); err != nil {
			return err
		}
		if err := b.gemmB(gemm.NoTrans, gemm.NoTrans, s.al, s.a2, s.b2, 1, s.c); err != nil {
			return err
		}
		mirrorUpper(n, s.c)
	}
	return nil
}
