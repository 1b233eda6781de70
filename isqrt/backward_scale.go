package isqrt

import "math"

// spectralChosen recomputes, in b.f0, b.u and b.v, the ScaleSpectral
// bound of the last forward call as prepare computed it (the same power
// steps on |S|, S rounded to the element type as the forward held it) and
// reports whether it, rather than ‖A‖_F, was the scale. It records the
// steps' arguments of the maxima for spectralGrad.
func (b *bwork[T]) spectralChosen(m *gradMat[T], asIs bool) bool {
	n := b.p.n
	s := grow(&b.f0, n*n)
	a := m.a
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if asIs {
				s[i*n+j] = float64(a[i*n+j])
			} else {
				s[i*n+j] = float64(T(0.5*float64(a[i*n+j]) + 0.5*float64(a[j*n+i])))
			}
		}
	}
	u := grow(&b.u, spectralSteps*n)
	v := grow(&b.v, (spectralSteps+1)*n)
	for i := range v[:n] {
		v[i] = 1
	}
	best := math.Inf(1)
	bestStep := -1
	for t := range spectralSteps {
		vt, ut := v[t*n:(t+1)*n], u[t*n:(t+1)*n]
		ratio, top := 0.0, 0.0
		ri, ti := 0, 0
		for i := 0; i < n; i++ {
			sum := 0.0
			for j, x := range s[i*n : i*n+n] {
				sum += math.Abs(x) * vt[j]
			}
			ut[i] = sum
			if r := sum / vt[i]; r > ratio {
				ratio, ri = r, i
			}
			if sum > top {
				top, ti = sum, i
			}
		}
		b.idx[t], b.top[t], b.tops[t], b.ratios[t] = ri, ti, top, ratio
		if ratio < best {
			best, bestStep = ratio, t
		}
		vn := v[(t+1)*n : (t+2)*n]
		for i := range vn {
			vn[i] = ut[i] / top
		}
	}
	b.bestStep = bestStep
	bound := best * (1 + float64(n)*0x1p-52)
	return bound < scaledNorm(n, a)
}

// spectralGrad writes into sb (n×n) c̄ times the gradient of the spectral
// bound with respect to S: the reverse of the power steps through the
// step whose Collatz–Wielandt ratio was the smallest, the maxima and the
// absolute values differentiated at the arguments the forward took
// (almost everywhere the derivative; at a tie or a zero element, one of
// its one-sided values).
func (b *bwork[T]) spectralGrad(n int, cbar float64, sb []float64) {
	clear(sb)
	s, u, v := b.f0, b.u, b.v
	ub := grow(&b.ub, n)
	vb := grow(&b.vb, n)
	clear(ub)
	clear(vb)
	t := b.bestStep
	rbar := cbar * (1 + float64(n)*0x1p-52)
	// ratio = u_i/v_i at i = idx[t].
	i := b.idx[t]
	ut, vt := u[t*n:(t+1)*n], v[t*n:(t+1)*n]
	ub[i] += rbar / vt[i]
	vb[i] -= rbar * ut[i] / (vt[i] * vt[i])
	for ; t >= 0; t-- {
		ut, vt = u[t*n:(t+1)*n], v[t*n:(t+1)*n]
		// u = |S|·v
		for i := 0; i < n; i++ {
			g := ub[i]
			if g == 0 {
				continue
			}
			row, srow := s[i*n:i*n+n], sb[i*n:i*n+n]
			for j, x := range row {
				switch {
				case x > 0:
					srow[j] += g * vt[j]
					vb[j] += g * x
				case x < 0:
					srow[j] -= g * vt[j]
					vb[j] -= g * x
				}
			}
		}
		if t == 0 {
			break // v₀ is the constant all-ones vector
		}
		// v_t = u_{t−1}/top_{t−1}, top_{t−1} = u_{t−1}[top[t−1]]
		up := u[(t-1)*n : t*n]
		top := b.tops[t-1]
		topBar := 0.0
		for i := range ub {
			ub[i] = vb[i] / top
			topBar -= vb[i] * up[i] / (top * top)
			vb[i] = 0
		}
		ub[b.top[t-1]] += topBar
	}
}
