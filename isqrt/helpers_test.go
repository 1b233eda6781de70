package isqrt

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/netdeconv/deconv/internal/gemm"
)

// layerCovariance returns the covariance a deconvolution layer with 3×3
// kernels and blocks of B channels sees: the (9·B)×(9·B) covariance of the
// 3×3 windows of a B-channel image batch whose channels mix a few 1/f
// fields plus a little independent noise, plus eps·I, computed in float64.
func layerCovariance(b int, eps float64, seed uint64) []float64 {
	const side, images, sources = 32, 8, 12
	rng := rand.New(rand.NewPCG(seed, 7))
	n := 9 * b
	rows := images * (side - 2) * (side - 2)
	x := make([]float64, rows*n)
	for im := 0; im < images; im++ {
		var fields [sources][]float64
		for f := range fields {
			fields[f] = pinkField(side, side, rng)
		}
		planes := make([][]float64, b)
		for c := range planes {
			var w [sources]float64
			for f := range w {
				w[f] = rng.NormFloat64() / float64(f+1)
			}
			planes[c] = make([]float64, side*side)
			for i := range planes[c] {
				v := 0.05 * rng.NormFloat64()
				for f := range w {
					v += w[f] * fields[f][i]
				}
				planes[c][i] = v
			}
		}
		for yy := 0; yy+3 <= side; yy++ {
			for xx := 0; xx+3 <= side; xx++ {
				r := (im*(side-2)+yy)*(side-2) + xx
				row := x[r*n : (r+1)*n]
				for c := 0; c < b; c++ {
					for ki := 0; ki < 3; ki++ {
						for kj := 0; kj < 3; kj++ {
							row[(c*3+ki)*3+kj] = planes[c][(yy+ki)*side+xx+kj]
						}
					}
				}
			}
		}
	}
	for j := 0; j < n; j++ {
		m := 0.0
		for i := 0; i < rows; i++ {
			m += x[i*n+j]
		}
		m /= float64(rows)
		for i := 0; i < rows; i++ {
			x[i*n+j] -= m
		}
	}
	cov := make([]float64, n*n)
	if err := gemm.Dsyrk(gemm.Full, n, rows, 1/float64(rows), x, n, 0, cov, n); err != nil {
		panic(err)
	}
	for i := 0; i < n; i++ {
		cov[i*n+i] += eps
	}
	return cov
}

func to32(a []float64) []float32 {
	out := make([]float32, len(a))
	for i, v := range a {
		out[i] = float32(v)
	}
	return out
}

func to64[T Float](a []T) []float64 {
	out := make([]float64, len(a))
	for i, v := range a {
		out[i] = float64(v)
	}
	return out
}

// relErr returns ‖got − want‖_F / ‖want‖_F.
func relErr[T Float](got []T, want []float64) float64 {
	s, t := 0.0, 0.0
	for i, w := range want {
		d := float64(got[i]) - w
		s += d * d
		t += w * w
	}
	return math.Sqrt(s / t)
}

func mustPlan[T Float](t testing.TB, n int, o Options) *Plan[T] {
	t.Helper()
	p, err := NewPlan[T](n, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// spd is a symmetric positive definite test matrix with a known
// eigendecomposition A = Q·diag(λ)·Qᵀ, so that every function of it has an
// exact reference.
type spd struct {
	n   int
	q   []float64 // orthogonal, row-major
	lam []float64
	a   []float64 // A, computed in float64
}

// newSPD returns an n×n matrix with eigenvalues spaced geometrically from
// 1 down to 1/cond, plus eps (the layer's eps·I), and dense random
// eigenvectors: an orthonormal DCT-II basis with random signs, a random
// permutation of its rows and two random Householder reflections, cheap to
// build at any size.
func newSPD(n int, cond, eps float64, seed uint64) *spd {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	q := make([]float64, n*n)
	perm := rng.Perm(n)
	for k := 0; k < n; k++ {
		sign := 1.0
		if rng.IntN(2) == 0 {
			sign = -1
		}
		s := math.Sqrt(2 / float64(n))
		if k == 0 {
			s = math.Sqrt(1 / float64(n))
		}
		row := q[perm[k]*n : perm[k]*n+n]
		for j := range row {
			row[j] = sign * s * math.Cos(math.Pi*(float64(j)+0.5)*float64(k)/float64(n))
		}
	}
	for range 2 {
		v := make([]float64, n)
		nv := 0.0
		for i := range v {
			v[i] = rng.NormFloat64()
			nv += v[i] * v[i]
		}
		// Q ← (I − 2vvᵀ/vᵀv)·Q
		for j := 0; j < n; j++ {
			d := 0.0
			for i := 0; i < n; i++ {
				d += v[i] * q[i*n+j]
			}
			d *= 2 / nv
			for i := 0; i < n; i++ {
				q[i*n+j] -= d * v[i]
			}
		}
	}
	lam := make([]float64, n)
	for i := range lam {
		t := 0.0
		if n > 1 {
			t = float64(i) / float64(n-1)
		}
		lam[i] = math.Pow(cond, -t) + eps
	}
	m := &spd{n: n, q: q, lam: lam}
	m.a = m.apply(func(l float64) float64 { return l })
	return m
}

// apply returns Q·diag(f(λ))·Qᵀ, exactly symmetric.
func (m *spd) apply(f func(float64) float64) []float64 {
	n := m.n
	w := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			w[i*n+k] = m.q[i*n+k] * math.Sqrt(math.Abs(f(m.lam[k])))
		}
	}
	// Q·diag(f)·Qᵀ = W·Wᵀ for f ≥ 0; the sign is put back for f < 0.
	out := make([]float64, n*n)
	neg := false
	for _, l := range m.lam {
		neg = neg || f(l) < 0
	}
	if !neg {
		if err := gemm.Dgemm(gemm.NoTrans, gemm.Trans, n, n, n, 1, w, n, w, n, 0, out, n); err != nil {
			panic(err)
		}
		return out
	}
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			w[i*n+k] = m.q[i*n+k] * f(m.lam[k])
		}
	}
	if err := gemm.Dgemm(gemm.NoTrans, gemm.Trans, n, n, n, 1, w, n, m.q, n, 0, out, n); err != nil {
		panic(err)
	}
	return out
}

// frobenius returns ‖A‖_F = (Σλ²)^{1/2}.
func (m *spd) frobenius() float64 {
	s := 0.0
	for _, l := range m.lam {
		s += l * l
	}
	return math.Sqrt(s)
}

// iterateScalar returns z_K(a) of the coupled iteration on the scalar a
// (the eigenvalue of Ã): z ← t·z, y ← y·t, t = (3 − z·y)/2 from z = 1, y = a.
func iterateScalar(a float64, k int) float64 {
	y, z := a, 1.0
	for range k {
		t := (3 - z*y) / 2
		y, z = y*t, t*z
	}
	return z
}

// exactIterate returns the exact result of K coupled iterations with
// pre-scaling c: Q·diag(z_K(λ/c)/√c)·Qᵀ.
func (m *spd) exactIterate(k int, c float64) []float64 {
	return m.apply(func(l float64) float64 { return iterateScalar(l/c, k) / math.Sqrt(c) })
}

// exactResiduals returns ‖Z_k²·Ã − I‖_F for k = 0 … K in exact arithmetic.
func (m *spd) exactResiduals(k int, c float64) []float64 {
	out := make([]float64, k+1)
	for it := 0; it <= k; it++ {
		s := 0.0
		for _, l := range m.lam {
			z := iterateScalar(l/c, it)
			d := z*z*l/c - 1
			s += d * d
		}
		out[it] = math.Sqrt(s)
	}
	return out
}

// naiveResidual returns ‖D·D·A − I‖_F computed in float64 by plain loops,
// independently of the package, and a bound on the rounding error of that
// evaluation: γ_{2n}·‖|D|·|D|·|A|‖_F with γ_k = k·u/(1 − k·u), which the
// computed value is within of the exact residual of the given D and A.
func naiveResidual[T Float](n int, d []T, a []float64) (r, evalErr float64) {
	dd := make([]float64, n*n)
	ad := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			x := float64(d[i*n+k])
			for j := 0; j < n; j++ {
				y := float64(d[k*n+j])
				dd[i*n+j] += x * y
				ad[i*n+j] += math.Abs(x) * math.Abs(y)
			}
		}
	}
	s, b := 0.0, 0.0
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v, av := 0.0, 0.0
			for k := 0; k < n; k++ {
				v += dd[i*n+k] * a[k*n+j]
				av += ad[i*n+k] * math.Abs(a[k*n+j])
			}
			if i == j {
				v--
			}
			s += v * v
			b += av * av
		}
	}
	u := 0x1p-53
	g := 2 * float64(n+1) * u / (1 - 2*float64(n+1)*u)
	return math.Sqrt(s), 2 * g * math.Sqrt(b)
}

// pinkField returns a real field of width×height with unit variance whose
// Fourier amplitude is 1/f with uniformly random phases (f the radial
// frequency; the mean is zero).
func pinkField(width, height int, rng *rand.Rand) []float64 {
	spec := make([]complex128, width*height)
	for v := 0; v < height; v++ {
		fy := float64(min(v, height-v)) / float64(height)
		for u := 0; u < width; u++ {
			fx := float64(min(u, width-u)) / float64(width)
			f := math.Hypot(fx, fy)
			if f == 0 {
				continue
			}
			spec[v*width+u] = cmplx.Rect(1/f, 2*math.Pi*rng.Float64())
		}
	}
	// Inverse 2-D transform: rows, then columns. Taking the real part of
	// the result is the same as symmetrising the random spectrum.
	row := fourier.NewCmplxFFT(width)
	buf := make([]complex128, max(width, height))
	for v := 0; v < height; v++ {
		r := spec[v*width : (v+1)*width]
		copy(r, row.Sequence(buf[:width], r))
	}
	col := fourier.NewCmplxFFT(height)
	tmp := make([]complex128, height)
	for u := 0; u < width; u++ {
		for v := 0; v < height; v++ {
			tmp[v] = spec[v*width+u]
		}
		out := col.Sequence(buf[:height], tmp)
		for v := 0; v < height; v++ {
			spec[v*width+u] = out[v]
		}
	}
	field := make([]float64, width*height)
	mean, sq := 0.0, 0.0
	for i, c := range spec {
		field[i] = real(c)
		mean += field[i]
	}
	mean /= float64(len(field))
	for i := range field {
		field[i] -= mean
		sq += field[i] * field[i]
	}
	s := 1 / math.Sqrt(sq/float64(len(field)))
	for i := range field {
		field[i] *= s
	}
	return field
}

// Best returns the smallest value of a residual series and its iteration.
func Best(series []float64) (float64, int) {
	best, at := math.Inf(1), -1
	for k, v := range series {
		if v < best {
			best, at = v, k
		}
	}
	return best, at
}
