package isqrt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestResidualToTMirrored checks the fused pass of the half products
// against the two passes it replaces, upperResidualToT then mirrorUpper,
// bitwise (matrix and residual), for every size up to past mirrorSmall,
// through residualToTSym (which takes the two passes above it).
func TestResidualToTMirrored(t *testing.T) {
	testResidualToTMirrored[float32](t)
	testResidualToTMirrored[float64](t)
}

func testResidualToTMirrored[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	for n := 1; n <= mirrorSmall+3; n++ {
		p := make([]T, n*n)
		for i := range p {
			p[i] = T(rng.Float64()*2 - 0.5)
		}
		want := slices.Clone(p)
		rw := upperResidualToT(n, want)
		naiveMirror(n, want)
		got := slices.Clone(p)
		w := new(work[T])
		w.setThreads(1)
		rg := w.residualToTSym(n, got)
		if !slices.Equal(got, want) || math.Float64bits(rg) != math.Float64bits(rw) {
			t.Fatalf("%T n=%d: fused residual and T differ from the two passes (residual %v, want %v)", p[0], n, rg, rw)
		}
	}
}

// TestPrepareSymmetricY checks that the validation pass leaves S exactly
// symmetric in w.y, equal to its upper triangle mirrored, for inputs that
// are symmetric only within the tolerance, on one goroutine and on the
// team (sizes past the team's threshold).
func TestPrepareSymmetricY(t *testing.T) {
	for _, n := range []int{1, 2, 27, 33, 64, 4*symBlock + 5} {
		for _, threads := range []int{1, 2} {
			m := newSPD(n, 100, 1e-5, uint64(n))
			a := to32(m.apply(func(x float64) float64 { return x }))
			for i := 0; i < n; i++ {
				for j := i + 1; j < n; j++ {
					a[i*n+j] *= 1 + 1e-6 // asymmetric within the tolerance
				}
			}
			p := mustPlan[float32](t, n, Options{})
			w := p.worker(0)
			w.setThreads(threads)
			if _, _, err := w.prepare(p, a, false); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			for i := 0; i < n; i++ {
				for j := i; j < n; j++ {
					s := float32(0.5*float64(a[i*n+j]) + 0.5*float64(a[j*n+i]))
					if w.y[i*n+j] != s || w.y[j*n+i] != s {
						t.Fatalf("n=%d threads=%d: y[%d,%d] = %v, y[%d,%d] = %v, want %v", n, threads, i, j, w.y[i*n+j], j, i, w.y[j*n+i], s)
					}
				}
			}
		}
	}
}

// TestCholeskyFirstFailedPivot: for A = L·diag(p)·Lᵀ, L unit lower
// triangular, the pivots of the factorization are p; with p_k the first
// not above the threshold, the factorization (the base case for n ≤
// cholBase, the recursion above it) reports pivot k with value p_k.
func TestCholeskyFirstFailedPivot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for _, n := range []int{1, 2, 3, 5, 16, 27, cholBase, cholBase + 1, 47, 80} {
		for _, k := range []int{0, n / 3, n / 2, n - 1} {
			l := make([]float64, n*n)
			for i := 0; i < n; i++ {
				l[i*n+i] = 1
				for j := 0; j < i; j++ {
					l[i*n+j] = (rng.Float64() - 0.5) * 0.5
				}
			}
			piv := make([]float64, n)
			for i := range piv {
				piv[i] = 0.5 + rng.Float64()
			}
			piv[k] = -0.25
			a := make([]float64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					s := 0.0
					for q := 0; q <= min(i, j); q++ {
						s += l[i*n+q] * piv[q] * l[j*n+q]
					}
					a[i*n+j] = s
				}
			}
			p := mustPlan[float64](t, n, Options{})
			w := p.worker(0)
			w.setThreads(1)
			got, d, err := w.cholesky(a, n, n, 1e-12)
			if err != nil || got != k || math.Abs(d-piv[k]) > 1e-9 {
				t.Fatalf("n=%d: first failed pivot %d = %v (%v), want %d = %v", n, got, d, err, k, piv[k])
			}
		}
	}
}

// naiveMirror copies the strict upper triangle of the n×n c to the lower,
// element by element: the reference of the mirroring passes.
func naiveMirror[T Float](n int, c []T) {
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			c[i*n+j] = c[j*n+i]
		}
	}
}

// TestMirrorUpper checks mirrorUpper (the blocked small-matrix copy below
// mirrorSmall, the tiled one above) against naiveMirror, bitwise, for
// every size up to past mirrorSmall and a few larger ones.
func TestMirrorUpper(t *testing.T) {
	testMirrorUpper[float32](t)
	testMirrorUpper[float64](t)
}

func testMirrorUpper[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 11))
	sizes := []int{}
	for n := 1; n <= mirrorSmall+9; n++ {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 127, 200)
	for _, n := range sizes {
		c := make([]T, n*n)
		for i := range c {
			c[i] = T(rng.NormFloat64())
		}
		want := slices.Clone(c)
		naiveMirror(n, want)
		mirrorUpper(n, c)
		if !slices.Equal(c, want) {
			t.Fatalf("%T n=%d: mirrorUpper differs from the plain copy", c[0], n)
		}
	}
}

// TestCholeskyBaseBitwise checks the unrolled base case of cholesky
// against the plain right-looking loop (one row of the update at a time),
// bitwise on the upper triangle, for every size up to cholBase.
func TestCholeskyBaseBitwise(t *testing.T) {
	w := new(work[float32])
	w.setThreads(1)
	for n := 1; n <= cholBase; n++ {
		m := newSPD(n, 1e3, 1e-3, uint64(100+n))
		a := m.apply(func(x float64) float64 { return x })
		want := slices.Clone(a)
		for i := 0; i < n; i++ {
			r := math.Sqrt(want[i*n+i])
			want[i*n+i] = r
			for j := i + 1; j < n; j++ {
				want[i*n+j] *= 1 / r
			}
			for k := i + 1; k < n; k++ {
				for j := k; j < n; j++ {
					want[k*n+j] -= want[i*n+k] * want[i*n+j]
				}
			}
		}
		got := slices.Clone(a)
		if k, _, err := w.cholesky(got, n, n, 0); k >= 0 || err != nil {
			t.Fatalf("n=%d: pivot %d failed, err %v", n, k, err)
		}
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				if math.Float64bits(got[i*n+j]) != math.Float64bits(want[i*n+j]) {
					t.Fatalf("n=%d: R[%d,%d] = %v, want %v", n, i, j, got[i*n+j], want[i*n+j])
				}
			}
		}
	}
}
