package isqrt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// gradInput returns an n×n SPD test matrix, made slightly unsymmetric
// (well within DefaultSymmetryTol) so that the reference's transposes and
// the symmetrisation of the others are exercised.
func gradInput(n int, seed uint64, skew float64) []float64 {
	a := append([]float64(nil), newSPD(n, 10, 0.05, seed).a...)
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				a[i*n+j] += skew * rng.NormFloat64() * math.Sqrt(a[i*n+i]*a[j*n+j])
			}
		}
	}
	return a
}

func randMat(n int, rng *rand.Rand) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

// lossAt returns Σ g∘D for D the plan's result on a (count matrices).
func lossAt(t *testing.T, p *Plan[float64], a, g []float64, count int) float64 {
	t.Helper()
	d := make([]float64, len(a))
	if _, err := p.InvSqrtBatch(d, a, count); err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for i := range d {
		s += g[i] * d[i]
	}
	return s
}

// gradOptions lists every method × scaling, with and without Tol, at
// iterations k.
func gradOptions(k int) []Options {
	var os []Options
	for _, m := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
		if m == Eigen && k > 1 {
			continue
		}
		for _, sc := range []Scaling{ScaleFrobenius, ScaleSpectral} {
			os = append(os, Options{Method: m, Scaling: sc, Iterations: k, Grad: true})
		}
	}
	// Tol: the iterations performed are differentiated.
	tol := math.Pow(0.3, float64(k))
	os = append(os, Options{Method: Coupled, Iterations: 60, Tol: tol, Grad: true},
		Options{Method: CoupledReference, Scaling: ScaleSpectral, Iterations: 60, Tol: tol, Grad: true})
	return os
}

// TestBackwardFiniteDifferences checks every backward against central
// finite differences of the forward in float64, along random directions
// (unsymmetric ones included), for every method, scaling, iteration
// count 1 … 8, size and batch count.
func TestBackwardFiniteDifferences(t *testing.T) {
	sizes := []int{1, 2, 3, 5, 8, 13}
	if testing.Short() {
		sizes = []int{1, 3, 8}
	}
	for _, n := range sizes {
		for k := 1; k <= 8; k++ {
			for _, o := range gradOptions(k) {
				for _, count := range []int{1, 3} {
					name := fmt.Sprintf("n=%d/k=%d/%v/%v/tol=%g/count=%d", n, k, o.Method, o.Scaling, o.Tol, count)
					checkFiniteDifferences(t, name, n, o, count, uint64(n*100+k))
				}
			}
		}
	}
}

func checkFiniteDifferences(t *testing.T, name string, n int, o Options, count int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	nn := n * n
	a := make([]float64, 0, count*nn)
	for i := range count {
		a = append(a, gradInput(n, seed+uint64(i), 1e-5)...)
	}
	g := randMat(count*nn, rng)
	p := mustPlan[float64](t, n, o)
	d := make([]float64, len(a))
	if _, err := p.InvSqrtBatch(d, a, count); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	da := make([]float64, len(a))
	if err := p.BackwardBatch(da, g, count); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	q := mustPlan[float64](t, n, o)
	norm := 0.0
	for _, v := range da {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	for dir := range 3 {
		e := randMat(count*nn, rng)
		if dir == 0 {
			// A symmetric direction: the one that matters to a covariance.
			for m := range count {
				em := e[m*nn : (m+1)*nn]
				for i := 0; i < n; i++ {
					for j := 0; j < i; j++ {
						em[i*n+j] = em[j*n+i]
					}
				}
			}
		}
		en := 0.0
		for _, v := range e {
			en += v * v
		}
		en = math.Sqrt(en)
		const h = 1e-6
		plus, minus := make([]float64, len(a)), make([]float64, len(a))
		for i := range a {
			plus[i] = a[i] + h*e[i]/en
			minus[i] = a[i] - h*e[i]/en
		}
		fd := (lossAt(t, q, plus, g, count) - lossAt(t, q, minus, g, count)) / (2 * h)
		an := 0.0
		for i := range da {
			an += da[i] * e[i] / en
		}
		if err := math.Abs(fd - an); err > 2e-6*(norm+math.Abs(fd)) {
			t.Errorf("%s, direction %d: finite difference %.12g, backward %.12g (|dA| %.3g)", name, dir, fd, an, norm)
		}
	}
}

// TestBackwardSameForEveryWorkerCount: the gradient is the same to the bit
// whatever the worker count (in float64, where a change in the order of a
// sum shows), for every method, at sizes whose O(n²)
// passes (the dot products of the scaling included) and products are
// split over several goroutines, and a batch's gradients are those of
// single calls.
func TestBackwardSameForEveryWorkerCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	sizes := []int{130, 257}
	if quickSweep() {
		sizes = sizes[:1] // four 32-row blocks and a partial one
	}
	for _, n := range sizes {
		a := gradInput(n, 7, 1e-5)
		g := randMat(n*n, rand.New(rand.NewPCG(8, uint64(n))))
		for _, meth := range []Method{Coupled, CoupledReference, Uncoupled} {
			var want []float64
			for _, workers := range []int{1, 2, 3, 4} {
				p := mustPlan[float64](t, n, Options{Method: meth, Grad: true, Workers: workers})
				if _, err := p.InvSqrt(make([]float64, n*n), a); err != nil {
					t.Fatal(err)
				}
				da := make([]float64, n*n)
				if err := p.Backward(da, g); err != nil {
					t.Fatal(err)
				}
				if want == nil {
					want = da
					// A batch of two spreads its matrices over the
					// workers, one goroutine each.
					q := mustPlan[float64](t, n, Options{Method: meth, Grad: true, Workers: 2})
					a2, g2 := append(append([]float64(nil), a...), a...), append(append([]float64(nil), g...), g...)
					if _, err := q.InvSqrtBatch(make([]float64, 2*n*n), a2, 2); err != nil {
						t.Fatal(err)
					}
					da2 := make([]float64, 2*n*n)
					if err := q.BackwardBatch(da2, g2, 2); err != nil {
						t.Fatal(err)
					}
					for i := range da2 {
						if da2[i] != want[i%(n*n)] {
							t.Fatalf("n=%d %v: batch element %d = %v, single call %v", n, meth, i, da2[i], want[i%(n*n)])
						}
					}
					continue
				}
				for i := range da {
					if da[i] != want[i] {
						t.Fatalf("n=%d %v, %d workers: da[%d] = %v, on one worker %v", n, meth, workers, i, da[i], want[i])
					}
				}
			}
		}
	}
}

// TestFinishRowsSymmetricSource: for an exactly symmetric Ā (Coupled's),
// finishRows may skip reading Ā down its columns; the gradient must be
// the same to the bit as with the symmetrising reads.
func TestFinishRowsSymmetricSource(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1, 2, 7, 33, 130} {
		atb := make([]float32, n*n)
		a := make([]float32, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := float32(rng.NormFloat64() * math.Exp(4*rng.NormFloat64()))
				atb[i*n+j], atb[j*n+i] = v, v
			}
		}
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		var b bwork[float32]
		got, want := make([]float32, n*n), make([]float32, n*n)
		for k, dst := range [2][]float32{got, want} {
			rp := &rowPass[float32]{b: &b, n: n, dst: dst, src: atb, m: &gradMat[float32]{a: a},
				inv: 1 / 3.7, fc: -0.25, symSrc: k == 0}
			b.finishRows(rp, 0, n)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: element %d: %v with the symmetric shortcut, %v without", n, i, got[i], want[i])
			}
		}
	}
}

// TestCoupledGradientSymmetric: Coupled's Ā is exactly symmetric (what
// finishRows relies on to skip its transposed reads), so for an exactly
// symmetric input the gradient is exactly symmetric too, whatever the
// upstream gradient, on both the small path (full products, mirrored)
// and the split one (gemm.UpperSum).
func TestCoupledGradientSymmetric(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{5, 40, 2*upperSplitMin + 3} {
		a := newSPD(n, 30, 0.05, uint64(n)).a
		a32 := make([]float32, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				a32[i*n+j], a32[j*n+i] = float32(a[i*n+j]), float32(a[i*n+j])
			}
		}
		g := make([]float32, n*n)
		for i := range g {
			g[i] = float32(rng.NormFloat64())
		}
		for _, iters := range []int{1, 2, 3, 5} {
			p := mustPlan[float32](t, n, Options{Grad: true, Iterations: iters})
			d, da := make([]float32, n*n), make([]float32, n*n)
			if _, err := p.InvSqrt(d, a32); err != nil {
				t.Fatal(err)
			}
			if err := p.Backward(da, g); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				for j := 0; j < i; j++ {
					if math.Float32bits(da[i*n+j]) != math.Float32bits(da[j*n+i]) {
						t.Fatalf("n=%d, %d iterations: da[%d,%d] = %v, da[%d,%d] = %v", n, iters, i, j, da[i*n+j], j, i, da[j*n+i])
					}
				}
			}
		}
	}
}
