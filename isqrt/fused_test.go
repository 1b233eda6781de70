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
		mirrorUpper(n, want)
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
