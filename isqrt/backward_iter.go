package isqrt

import "github.com/netdeconv/deconv/internal/gemm"

// gemmB is C = α·op(A)·op(B) + β·C for n×n matrices on the worker's
// goroutines.
func (b *bwork[T]) gemmB(tA, tB gemm.Transpose, alpha T, x, y []T, beta T, c []T) error {
	n := b.p.n
	return gemmDense(b.threads, tA, tB, n, n, n, alpha, x, n, y, n, beta, c, n)
}

// coupledReverse runs CoupledReference's iteration backwards from Z̄_K in
// b.b[0] (Ȳ_K = 0: Y_K is not used) and returns Ā, the gradient with
// respect to Ã = Y₀. Iteration k computed P = Z·Y, T = ½(3I − P),
// Y' = Y·T, Z' = T·Z, so its reverse, from the cotangents Ȳ', Z̄' of Y',
// Z', is
//
//	T̄ = Yᵀ·Ȳ' + Z̄'·Zᵀ
//	Ȳ = Ȳ'·Tᵀ − ½·Zᵀ·T̄
//	Z̄ = Tᵀ·Z̄' − ½·T̄·Yᵀ
//
// six products, with the terms of a zero Ȳ' (the last iteration) and of
// Z₀ = I (the first, where Z̄₀ is not needed either) left out: K
// iterations cost 6K − 6 products (K ≥ 2). The transposes are those of
// the stored iterates (the reference's are not symmetric for an
// unsymmetric input), so this is reverse-mode differentiation of its
// products exactly. (Coupled uses coupledTangent instead.)
func (b *bwork[T]) coupledReverse(m *gradMat[T]) ([]T, error) {
	yb, zb, tb, yb2, zb2 := b.b[4], b.b[0], b.b[1], b.b[2], b.b[3]
	yZero := true
	for k := m.iters - 1; k >= 0; k-- {
		y, z, t := m.slot(k, 0), m.slot(k, 1), m.slot(k, 2)
		// T̄ = Yᵀ·Ȳ' + Z̄'·Zᵀ
		if z == nil {
			copy(tb, zb)
		} else if err := b.gemmB(gemm.NoTrans, gemm.Trans, 1, zb, z, 0, tb); err != nil {
			return nil, err
		}
		if !yZero {
			if err := b.gemmB(gemm.Trans, gemm.NoTrans, 1, y, yb, 1, tb); err != nil {
				return nil, err
			}
		}
		// Ȳ = Ȳ'·Tᵀ − ½·Zᵀ·T̄
		if z == nil {
			for i, v := range tb {
				yb2[i] = -0.5 * v
			}
		} else if err := b.gemmB(gemm.Trans, gemm.NoTrans, -0.5, z, tb, 0, yb2); err != nil {
			return nil, err
		}
		if !yZero {
			if err := b.gemmB(gemm.NoTrans, gemm.Trans, 1, yb, t, 1, yb2); err != nil {
				return nil, err
			}
		}
		// Z̄ = Tᵀ·Z̄' − ½·T̄·Yᵀ, not needed for the constant Z₀ = I.
		if z != nil {
			if err := b.gemmB(gemm.Trans, gemm.NoTrans, 1, t, zb, 0, zb2); err != nil {
				return nil, err
			}
			if err := b.gemmB(gemm.NoTrans, gemm.Trans, -0.5, tb, y, 1, zb2); err != nil {
				return nil, err
			}
			zb, zb2 = zb2, zb
		}
		yb, yb2 = yb2, yb
		yZero = false
	}
	if yZero {
		// No iteration: D = Z₀/√c = I/√c does not depend on Ã.
		clear(yb)
	}
	return yb, nil
}

// uncoupledReverse runs the uncoupled iteration backwards from X̄_K in
// b.b[0] and returns Ā. Iteration k computed S = X·X (I for X₀ = I),
// R = S·Ã (Ã itself for k = 0), M = 3I − R, X' = ½·X·M, so its reverse is
//
//	M̄ = ½·Xᵀ·X̄'
//	X̄ = ½·X̄'·Mᵀ + S̄·Xᵀ + Xᵀ·S̄,  S̄ = −M̄·Ãᵀ
//	Ā −= Sᵀ·M̄
//
// six products per iteration, none for the first.
func (b *bwork[T]) uncoupledReverse(m *gradMat[T]) ([]T, error) {
	xb, mb, xb2, sb, atb := b.b[0], b.b[1], b.b[2], b.b[3], b.b[4]
	at := m.at
	clear(atb)
	for k := m.iters - 1; k >= 0; k-- {
		x, sq, mm := m.slot(k, 0), m.slot(k, 1), m.slot(k, 2)
		if x == nil {
			// k = 0: X₀ = I, R₀ = Ã: Ā −= M̄ = ½·X̄'.
			for i, v := range xb {
				atb[i] -= 0.5 * v
			}
			break
		}
		if err := b.gemmB(gemm.Trans, gemm.NoTrans, 0.5, x, xb, 0, mb); err != nil {
			return nil, err
		}
		if err := b.gemmB(gemm.NoTrans, gemm.Trans, 0.5, xb, mm, 0, xb2); err != nil {
			return nil, err
		}
		if err := b.gemmB(gemm.NoTrans, gemm.Trans, -1, mb, at, 0, sb); err != nil {
			return nil, err
		}
		if err := b.gemmB(gemm.Trans, gemm.NoTrans, -1, sq, mb, 1, atb); err != nil {
			return nil, err
		}
		if err := b.gemmB(gemm.NoTrans, gemm.Trans, 1, sb, x, 1, xb2); err != nil {
			return nil, err
		}
		if err := b.gemmB(gemm.Trans, gemm.NoTrans, 1, x, sb, 1, xb2); err != nil {
			return nil, err
		}
		xb, xb2 = xb2, xb
	}
	return atb, nil
}
