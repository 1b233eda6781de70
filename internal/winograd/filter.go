package winograd

// FilterTransform writes U = G g Gᵀ of every kernel g of a weight tensor
// w (cout × cin × r × r, row-major) into dst (α² × cin rows of ldu): U_ξ
// for position ξ = a·α+b is stored transposed, the weight of output
// channel co on input channel ci at dst[(ξ·cin+ci)·ldu+co], so that the
// micro-kernels read it in place as the transposed left operand of
// M_ξ = U_ξ·V_ξ (op(A) = Aᵀ). For grouped weights (cin per group) group
// k's block starts at column k·cout/groups. The arithmetic is float64,
// rounded once at the end, so float32 filters carry one rounding.
// len(w) must be cout·cin·r², ldu ≥ cout and len(dst) ≥ α²·cin·ldu;
// columns cout … ldu−1 are left as they are.
func FilterTransform[T Float](t *Tile, dst, w []T, cout, cin, ldu int) {
	r, a := t.R, t.Alpha
	a2 := a * a
	var g [8 * 8]float64   // one kernel (r ≤ 8)
	var gg [16 * 8]float64 // G·g, α×r (α ≤ 16)
	_ = dst[(a2*cin-1)*ldu+cout-1]
	for co := 0; co < cout; co++ {
		for ci := 0; ci < cin; ci++ {
			k := w[(co*cin+ci)*r*r : (co*cin+ci+1)*r*r]
			for i, v := range k {
				g[i] = float64(v)
			}
			for i := 0; i < a; i++ {
				for l := 0; l < r; l++ {
					s := 0.0
					for j := 0; j < r; j++ {
						s += t.G[i][j] * g[j*r+l]
					}
					gg[i*r+l] = s
				}
			}
			for i := 0; i < a; i++ {
				for j := 0; j < a; j++ {
					s := 0.0
					for l := 0; l < r; l++ {
						s += gg[i*r+l] * t.G[j][l]
					}
					dst[((i*a+j)*cin+ci)*ldu+co] = T(s)
				}
			}
		}
	}
}
