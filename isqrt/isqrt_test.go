package isqrt

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
)

// quickSweep reports whether a test should sweep fewer cases: in the race
// run (-short) and on the portable kernels, which are slow; the full
// sweep runs on every vector family.
func quickSweep() bool { return testing.Short() || isa.Selected() == isa.Generic }

// testSizes are the matrix sizes swept: tiny, awkward, the 27 of a 3×3×3
// patch, sizes on both sides of the one-triangle threshold (2·symBlock), a
// layer's 576 and 1000.
func testSizes() []int {
	if testing.Short() {
		return []int{1, 2, 3, 5, 27, 64, 193}
	}
	if isa.Selected() == isa.Generic {
		// The portable kernels are slow; the sizes up to 250 take every
		// path of the iterations already.
		return []int{1, 2, 3, 5, 16, 27, 64, 100, 193, 250}
	}
	return []int{1, 2, 3, 5, 16, 27, 64, 100, 193, 250, 576, 1000}
}

var testConds = []float64{1, 1e2, 1e4, 1e6}

// iterTol is the accepted relative Frobenius error of K iterations against
// their exact result: a multiple of n·u, the rounding bound of one product,
// growing with the condition number for iterates near convergence (whose
// error is amplified by about √κ).
func iterTol[T Float](n int, cond float64, k int) float64 {
	u := 0x1p-53
	var z T
	if _, ok := any(z).(float32); ok {
		u = 0x1p-24
	}
	g := 1.0
	if k > 5 {
		g = math.Sqrt(cond)
	}
	return 64 * float64(n+8) * u * g
}

// TestIterationsMatchExact compares K iterations of every method, in both
// precisions, with the exact result of K iterations (from the known
// eigendecomposition) on SPD matrices with condition numbers 1 … 10⁶, plus
// the layer's eps = 1e-5; the matrices of each size go through one batched
// call.
func TestIterationsMatchExact(t *testing.T) {
	for _, n := range testSizes() {
		var ms []*spd
		for ci, cond := range testConds {
			if n > 300 && ci%3 != 0 {
				continue // κ = 1 and 10⁶ only: the large sizes are slow
			}
			ms = append(ms, newSPD(n, cond, 1e-5, uint64(ci+1)))
		}
		for _, k := range []int{1, 2, 5, 15} {
			if n > 300 && k != 5 {
				continue
			}
			want := make([][]float64, len(ms))
			for i, m := range ms {
				want[i] = m.exactIterate(k, m.frobenius())
			}
			for _, meth := range []Method{Coupled, CoupledReference, Uncoupled} {
				if meth == Uncoupled && (k > 5 || n > 300) {
					continue // diverges for k > 5, tested below
				}
				o := Options{Method: meth, Iterations: k, Workers: 2}
				checkIterates[float32](t, ms, o, want)
				if n < 1000 {
					checkIterates[float64](t, ms, o, want)
				}
			}
		}
	}
}

func checkIterates[T Float](t *testing.T, ms []*spd, o Options, want [][]float64) {
	t.Helper()
	n := ms[0].n
	nn := n * n
	a := make([]T, 0, len(ms)*nn)
	for _, m := range ms {
		for _, v := range m.a {
			a = append(a, T(v))
		}
	}
	dst := make([]T, len(a))
	res, err := mustPlan[T](t, n, o).InvSqrtBatch(dst, a, len(ms))
	if err != nil {
		t.Fatalf("%T n=%d %+v: %v", dst[0], n, o, err)
	}
	for i, m := range ms {
		d := dst[i*nn : (i+1)*nn]
		cond := m.lam[0] / m.lam[n-1]
		if res[i].Iterations != o.Iterations {
			t.Errorf("%T n=%d %+v: %d iterations done", d[0], n, o, res[i].Iterations)
		}
		if e, tol := relErr(d, want[i]), iterTol[T](n, cond, o.Iterations); !(e <= tol) {
			t.Errorf("%T n=%d cond %.0e %+v: relative error %.2e > %.2e", d[0], n, cond, o, e, tol)
		}
		if o.Method != Coupled {
			continue
		}
		for r := 0; r < n; r++ {
			for c := 0; c < r; c++ {
				if d[r*n+c] != d[c*n+r] {
					t.Fatalf("%T n=%d: result not symmetric at (%d, %d): %v ≠ %v", d[0], n, r, c, d[r*n+c], d[c*n+r])
				}
			}
		}
	}
}

// TestConvergesToInverseSqrt runs each method until a tolerance and checks
// the result against A^{-1/2} from the known eigendecomposition and against
// the Eigen method, whose accuracy is tested too.
func TestConvergesToInverseSqrt(t *testing.T) {
	for _, n := range testSizes() {
		if n > 200 || (testing.Short() && n > 64) {
			continue
		}
		for ci, cond := range testConds {
			m := newSPD(n, cond, 1e-5, uint64(10+ci))
			want := m.apply(func(l float64) float64 { return 1 / math.Sqrt(l) })
			// The inverse square root's relative condition number is about
			// √κ of the matrix with eps (κ ≤ 1e5 here).
			k := m.lam[0] / m.lam[n-1]
			for _, meth := range []Method{Coupled, CoupledReference, Eigen} {
				for _, sc := range []Scaling{ScaleFrobenius, ScaleSpectral} {
					o := Options{Method: meth, Iterations: 100, Tol: 1e-9, Scaling: sc}
					dst := make([]float64, n*n)
					res, err := mustPlan[float64](t, n, o).InvSqrt(dst, m.a)
					if err != nil {
						t.Fatalf("n=%d cond=%g %v %v: %v", n, cond, meth, sc, err)
					}
					if e := relErr(dst, want); e > 1e-13*float64(n+8)*math.Sqrt(k)+1e-9 {
						t.Errorf("n=%d cond=%g %v %v: relative error %.2e after %d iterations", n, cond, meth, sc, e, res.Iterations)
					}
					// In float32 the true residual of the result has a floor
					// of about u·κ·√n (0.1 for κ = 10⁵): beyond κ = 10⁴ the
					// tolerance cannot be met, which must be reported (as
					// ErrNotConverged, or ErrDiverged if the by-product
					// residual wanders up from its floor first).
					o.Tol = 1e-2
					dst32 := make([]float32, n*n)
					if _, err := mustPlan[float32](t, n, o).InvSqrt(dst32, to32(m.a)); err != nil && !(cond > 1e4 && (errors.Is(err, deconv.ErrNotConverged) || errors.Is(err, deconv.ErrDiverged))) {
						t.Fatalf("float32 n=%d cond=%g %v %v: %v", n, cond, meth, sc, err)
					}
					if e := relErr(dst32, want); e > 1e-6*float64(n+8)*math.Sqrt(k)+o.Tol {
						t.Errorf("float32 n=%d cond=%g %v %v: relative error %.2e", n, cond, meth, sc, e)
					}
				}
			}
		}
	}
}

// TestConvergenceRate checks the trace against the exact residuals of the
// scalar recurrence e ← e·(3 − e)²/4 on the eigenvalues, which the matrix
// iteration reproduces eigenvalue by eigenvalue: linear growth of the small
// eigenvalues (e ← 9e/4) first, then quadratic convergence
// (1 − e ← ¾(1 − e)²), until rounding takes over.
func TestConvergenceRate(t *testing.T) {
	m := newSPD(64, 1e4, 0, 3)
	const iters = 30
	want := m.exactResiduals(iters, m.frobenius())
	for _, meth := range []Method{Coupled, CoupledReference} {
		p := mustPlan[float64](t, 64, Options{Method: meth, Iterations: iters, Trace: true})
		res, err := p.InvSqrt(make([]float64, 64*64), m.a)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Trace) != iters+1 {
			t.Fatalf("%v: trace has %d values, want %d", meth, len(res.Trace), iters+1)
		}
		floor := 1e-11
		for k, r := range res.Trace {
			if math.Abs(r-want[k]) > 1e-9*want[k]+floor {
				t.Errorf("%v: residual of iterate %d is %.6e, exact %.6e", meth, k, r, want[k])
			}
			if k > 0 && want[k-1] < 0.5 && want[k] > floor && r > 0.75*res.Trace[k-1]*res.Trace[k-1]+floor {
				t.Errorf("%v: not quadratic at %d: %.3e after %.3e", meth, k, r, res.Trace[k-1])
			}
		}
	}
}

// TestFloat32AgreesWithFloat64 is the acceptance check: 5 coupled
// iterations in float32 on a layer's 576×576 covariance agree with the same
// iteration in float64 to 1e-5, relative.
func TestFloat32AgreesWithFloat64(t *testing.T) {
	b := 64
	if testing.Short() || isa.Selected() == isa.Generic {
		b = 16
	}
	cov32 := to32(layerCovariance(b, 1e-5, 1))
	n := 9 * b
	want := make([]float64, n*n)
	if _, err := mustPlan[float64](t, n, Options{Method: CoupledReference}).InvSqrt(want, to64(cov32)); err != nil {
		t.Fatal(err)
	}
	for _, meth := range []Method{Coupled, CoupledReference} {
		got := make([]float32, n*n)
		if _, err := mustPlan[float32](t, n, Options{Method: meth}).InvSqrt(got, cov32); err != nil {
			t.Fatal(err)
		}
		e := relErr(got, want)
		t.Logf("%v: float32 vs float64 relative difference %.2e", meth, e)
		if e > 1e-5 {
			t.Errorf("%v: float32 differs from float64 by %.2e", meth, e)
		}
	}
}

// TestBatch: a batched call gives, matrix by matrix, exactly what single
// calls give, with several workers and a failing matrix in the middle.
func TestBatch(t *testing.T) {
	for _, n := range []int{9, 27, 130} {
		const count = 7
		a := make([]float32, 0, count*n*n)
		for i := range count {
			a = append(a, to32(newSPD(n, math.Pow(10, float64(i%4)), 1e-5, uint64(i)).a)...)
		}
		a[3*n*n+1] = float32(math.NaN())
		for _, workers := range []int{1, 2, 3} {
			p := mustPlan[float32](t, n, Options{Workers: workers, Trace: true})
			dst := make([]float32, len(a))
			res, err := p.InvSqrtBatch(dst, a, count)
			if !errors.Is(err, deconv.ErrNonFinite) {
				t.Fatalf("n=%d: error %v, want deconv.ErrNonFinite from matrix 3", n, err)
			}
			if len(res) != count {
				t.Fatalf("%d results", len(res))
			}
			single := mustPlan[float32](t, n, Options{Trace: true})
			for i := range count {
				want := make([]float32, n*n)
				r, err := single.InvSqrt(want, a[i*n*n:(i+1)*n*n])
				if (err != nil) != (i == 3) {
					t.Fatalf("matrix %d: %v", i, err)
				}
				if i == 3 {
					continue
				}
				for j := range want {
					if dst[i*n*n+j] != want[j] {
						t.Fatalf("n=%d workers=%d matrix %d element %d: %v, single call %v", n, workers, i, j, dst[i*n*n+j], want[j])
					}
				}
				if res[i].Iterations != r.Iterations || len(res[i].Trace) != len(r.Trace) || res[i].Trace[5] != r.Trace[5] {
					t.Fatalf("n=%d matrix %d: result %+v, single call %+v", n, i, res[i], r)
				}
			}
		}
	}
}

// TestUncoupledDiverges: the uncoupled iteration is stable only when the
// eigenvalue ratios are small (below about 2.4), and otherwise its
// divergence is reported, with the best iterate in dst.
func TestUncoupledDiverges(t *testing.T) {
	n := 40
	stable := newSPD(n, 2, 0, 5)
	dst := make([]float64, n*n)
	if _, err := mustPlan[float64](t, n, Options{Method: Uncoupled, Iterations: 60}).InvSqrt(dst, stable.a); err != nil {
		t.Fatalf("condition 2: %v", err)
	}
	if e := relErr(dst, stable.apply(func(l float64) float64 { return 1 / math.Sqrt(l) })); e > 1e-13 {
		t.Errorf("condition 2: error %.2e", e)
	}
	m := newSPD(n, 1e4, 1e-5, 6)
	for _, o := range []Options{{Method: Uncoupled, Iterations: 60}, {Method: Uncoupled, Iterations: 60, Tol: 1e-30}} {
		p := mustPlan[float64](t, n, o)
		res, err := p.InvSqrt(dst, m.a)
		if !errors.Is(err, deconv.ErrDiverged) {
			t.Fatalf("%+v: error %v, want deconv.ErrDiverged", o, err)
		}
		if res.Iterations >= 30 {
			t.Errorf("divergence seen only after %d iterations", res.Iterations)
		}
		// dst is the best iterate: its residual is the smallest seen.
		r, _ := naiveResidual(n, dst, m.a)
		if best := p.ws[0].mon.min; math.Abs(r-best) > 1e-6*best {
			t.Errorf("dst's residual %.6e, the best seen %.6e", r, best)
		}
	}
}

// TestCoupledStaysStable: many iterations of the coupled iteration, in
// both formulations, keep the residual at its floor.
func TestCoupledStaysStable(t *testing.T) {
	for _, cond := range []float64{1e3, 1e6} {
		m := newSPD(100, cond, 0, 7)
		for _, meth := range []Method{Coupled, CoupledReference} {
			p := mustPlan[float64](t, 100, Options{Method: meth, Iterations: 120, Trace: true})
			res, err := p.InvSqrt(make([]float64, 100*100), m.a)
			if err != nil {
				t.Fatalf("cond %g %v: %v", cond, meth, err)
			}
			best, at := Best(res.Trace)
			if last := res.Trace[len(res.Trace)-1]; last > 10*best {
				t.Errorf("cond %g %v: residual %.2e after 120 iterations, best %.2e at %d", cond, meth, last, best, at)
			}
		}
	}
}

// TestTolerance: early stop, and deconv.ErrNotConverged when the iterations do
// not reach the tolerance.
func TestTolerance(t *testing.T) {
	for _, meth := range []Method{Coupled, CoupledReference, Uncoupled} {
		cond := 100.0
		if meth == Uncoupled {
			cond = 2 // where it is stable
		}
		m := newSPD(30, cond, 0, 8)
		exact := m.exactResiduals(40, m.frobenius())
		need := 0
		for exact[need] > 1e-6 {
			need++
		}
		res, err := mustPlan[float64](t, 30, Options{Method: meth, Iterations: 40, Tol: 1e-6}).InvSqrt(make([]float64, 900), m.a)
		if err != nil {
			t.Fatalf("%v: %v", meth, err)
		}
		if res.Iterations != need || !(res.Residual <= 1e-6) {
			t.Errorf("%v: stopped after %d iterations with residual %.2e, want %d", meth, res.Iterations, res.Residual, need)
		}
		_, err = mustPlan[float64](t, 30, Options{Method: meth, Iterations: need - 1, Tol: 1e-6}).InvSqrt(make([]float64, 900), m.a)
		if !errors.Is(err, deconv.ErrNotConverged) {
			t.Errorf("%v with %d iterations: error %v, want deconv.ErrNotConverged", meth, need-1, err)
		}
	}
}

// TestSpectralScaling: the spectral bound is an upper bound on λ_max,
// at most ‖A‖_F, and speeds convergence when the spectrum is flat.
func TestSpectralScaling(t *testing.T) {
	m := newSPD(200, 2, 0, 9) // eigenvalues in [0.5, 1]: ‖A‖_F ≈ 11·λ_max
	iters := map[Scaling]int{}
	for _, sc := range []Scaling{ScaleFrobenius, ScaleSpectral} {
		res, err := mustPlan[float64](t, 200, Options{Scaling: sc, Iterations: 50, Tol: 1e-8}).InvSqrt(make([]float64, 200*200), m.a)
		if err != nil {
			t.Fatal(err)
		}
		if res.Scale < m.lam[0]*(1-1e-12) || res.Scale > m.frobenius()*(1+1e-12) {
			t.Errorf("%v: scale %v outside [λ_max, ‖A‖_F] = [%v, %v]", sc, res.Scale, m.lam[0], m.frobenius())
		}
		iters[sc] = res.Iterations
	}
	if iters[ScaleSpectral] >= iters[ScaleFrobenius] {
		t.Errorf("iterations: spectral %d, Frobenius %d", iters[ScaleSpectral], iters[ScaleFrobenius])
	}
	// An upper bound also with negative entries and a dominant eigenvalue.
	for seed := range uint64(20) {
		m := newSPD(50, 1e3, 0, 100+seed)
		p := mustPlan[float64](t, 50, Options{Scaling: ScaleSpectral})
		res, err := p.InvSqrt(make([]float64, 2500), m.a)
		if err != nil {
			t.Fatal(err)
		}
		if res.Scale < m.lam[0] {
			t.Fatalf("seed %d: scale %v below λ_max %v", seed, res.Scale, m.lam[0])
		}
	}
}

// TestBadInput: every invalid input is an error, never a panic nor a
// result.
func TestBadInput(t *testing.T) {
	n := 4
	good := newSPD(n, 10, 0, 1).a
	mod := func(f func(a []float64)) []float64 {
		a := append([]float64(nil), good...)
		f(a)
		return a
	}
	cases := []struct {
		name string
		a    []float64
		want error
	}{
		{"NaN", mod(func(a []float64) { a[5] = math.NaN() }), deconv.ErrNonFinite},
		{"Inf off the diagonal", mod(func(a []float64) { a[1] = math.Inf(1) }), deconv.ErrNonFinite},
		{"Inf below the diagonal", mod(func(a []float64) { a[4] = math.Inf(-1) }), deconv.ErrNonFinite},
		{"not symmetric", mod(func(a []float64) { a[1] += 0.1 }), deconv.ErrNotSymmetric},
		{"zero diagonal", mod(func(a []float64) { a[0] = 0 }), deconv.ErrNotPositiveDefinite},
		{"negative diagonal", mod(func(a []float64) { a[10] = -1 }), deconv.ErrNotPositiveDefinite},
		{"indefinite 2×2 minor", mod(func(a []float64) { a[1], a[4] = 5, 5 }), deconv.ErrNotPositiveDefinite},
		{"zero", make([]float64, n*n), deconv.ErrNotPositiveDefinite},
		{"norm beyond float64", mod(func(a []float64) {
			for i := range a {
				a[i] = math.MaxFloat64 / 2
			}
		}), deconv.ErrNonFinite},
	}
	for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
		p := mustPlan[float64](t, n, Options{Method: meth})
		for _, c := range cases {
			dst := make([]float64, n*n)
			if _, err := p.InvSqrt(dst, c.a); !errors.Is(err, c.want) {
				t.Errorf("%v %s: error %v, want %v", meth, c.name, err, c.want)
			}
			for _, v := range dst {
				if v != 0 {
					t.Fatalf("%v %s: dst written", meth, c.name)
				}
			}
		}
		if _, err := p.InvSqrt(make([]float64, n*n-1), good); !errors.Is(err, deconv.ErrShape) {
			t.Errorf("short dst: %v", err)
		}
		if _, err := p.InvSqrtBatch(make([]float64, 2*n*n), good, 2); !errors.Is(err, deconv.ErrShape) {
			t.Errorf("short batch: %v", err)
		}
		if _, err := p.InvSqrtBatch(nil, nil, -1); !errors.Is(err, deconv.ErrShape) {
			t.Errorf("negative count: %v", err)
		}
	}
	// The same checks where they run split over goroutines.
	big := newSPD(4*symBlock+11, 10, 0, 3)
	nb := big.n
	for _, c := range []struct {
		i, j int
		v    float64
		want error
	}{{7, 150, math.NaN(), deconv.ErrNonFinite}, {190, 3, 1, deconv.ErrNotSymmetric}, {100, 101, 50, deconv.ErrNotPositiveDefinite}, {nb - 1, nb - 2, math.Inf(1), deconv.ErrNonFinite}} {
		a := append([]float64(nil), big.a...)
		a[c.i*nb+c.j] = c.v
		if c.want == deconv.ErrNotPositiveDefinite {
			a[c.j*nb+c.i] = c.v
		}
		if _, err := mustPlan[float64](t, nb, Options{}).InvSqrt(make([]float64, nb*nb), a); !errors.Is(err, c.want) {
			t.Errorf("n=%d, a[%d][%d] = %v: %v, want %v", nb, c.i, c.j, c.v, err, c.want)
		}
	}
	// A matrix that is indefinite without a telling 2×2 minor: the
	// Cholesky check reports it (TestIndefinite sweeps more).
	ind := newSPD(20, 10, 0, 2)
	ind.lam[19] = -0.5
	a := ind.apply(func(l float64) float64 { return l })
	if _, err := mustPlan[float64](t, 20, Options{Iterations: 40}).InvSqrt(make([]float64, 400), a); !errors.Is(err, deconv.ErrNotPositiveDefinite) {
		t.Errorf("indefinite, coupled: %v, want ErrNotPositiveDefinite", err)
	}
	if _, err := mustPlan[float64](t, 20, Options{Method: Eigen}).InvSqrt(make([]float64, 400), a); !errors.Is(err, deconv.ErrNotPositiveDefinite) {
		t.Errorf("indefinite, eigen: %v, want deconv.ErrNotPositiveDefinite", err)
	}
	// Asymmetry within the tolerance is accepted (the symmetric part is
	// used); a negative tolerance accepts any.
	a = mod(func(a []float64) { a[1] *= 1 + 1e-6 })
	if _, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n), a); err != nil {
		t.Errorf("rounding-level asymmetry: %v", err)
	}
	a = mod(func(a []float64) { a[1] += 0.1 })
	if _, err := mustPlan[float64](t, n, Options{SymmetryTol: -1}).InvSqrt(make([]float64, n*n), a); err != nil {
		t.Errorf("asymmetry with the check off: %v", err)
	}
	for _, o := range []Options{{Iterations: -1}, {Method: 9}, {Scaling: 7}, {Tol: -1}, {Tol: math.NaN()}} {
		if _, err := NewPlan[float32](3, o); !errors.Is(err, deconv.ErrParam) {
			t.Errorf("%+v: %v, want deconv.ErrParam", o, err)
		}
	}
	for _, n := range []int{0, -1} {
		if _, err := NewPlan[float32](n, Options{}); !errors.Is(err, deconv.ErrShape) {
			t.Errorf("n=%d: %v, want ErrShape", n, err)
		}
	}
	if _, err := NewPlan[float32](1<<20, Options{}); !errors.Is(err, deconv.ErrOverflow) {
		t.Errorf("n=2²⁰: %v, want ErrOverflow", err)
	}
}

// TestNoAllocation: a call at the plan's size allocates nothing after the
// first.
func TestNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes pools drop their items")
	}
	// A collection empties the engine's pools and the parallel package's,
	// and one can start during the count on a loaded machine (n = 147 goes
	// through parallel.Run); refilling a pool is the runtime's allocation,
	// not the call's, so none runs meanwhile.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, n := range []int{27, 147, 250} {
		a := to32(newSPD(n, 100, 1e-5, 1).a)
		dst := make([]float32, n*n)
		for _, o := range []Options{{}, {Method: CoupledReference}, {Method: Uncoupled, Iterations: 3}, {Scaling: ScaleSpectral, Tol: 1e-2, Iterations: 40}} {
			p := mustPlan[float32](t, n, o)
			// A few calls first: the engine's pooled workspaces for every
			// shape of product a call makes (the definiteness check's
			// float64 ones included) reach their sizes.
			for range 4 {
				if _, err := p.InvSqrt(dst, a); err != nil && !errors.Is(err, deconv.ErrNotConverged) {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(3, func() {
				if _, err := p.InvSqrt(dst, a); err != nil && !errors.Is(err, deconv.ErrNotConverged) {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("n=%d %+v: %v allocations per call", n, o, allocs)
			}
		}
	}
}

// TestEveryISA runs the accuracy tests again in a child process for each
// kernel family this machine has besides the selected one, so one go test
// run covers every path of the GEMM engine the iterations use.
func TestEveryISA(t *testing.T) {
	if os.Getenv("ISQRT_ISA_CHILD") != "" {
		t.Skip("in a child")
	}
	if testing.Short() {
		t.Skip("short: make test runs the whole suite with each family forced")
	}
	for _, fam := range isa.Available() {
		if fam == isa.Selected() {
			continue
		}
		t.Run(fam.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^(TestIterationsMatchExact|TestFloat32AgreesWithFloat64)$", "-test.short")
			cmd.Env = append(os.Environ(), isa.EnvVar+"="+fam.String(), "ISQRT_ISA_CHILD=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s=%s: %v\n%s", isa.EnvVar, fam, err, out)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []fmt.Stringer{Coupled, CoupledReference, Uncoupled, Eigen, Method(9), ScaleFrobenius, ScaleSpectral, Scaling(5)} {
		if s.String() == "" {
			t.Errorf("%#v: empty name", s)
		}
	}
}

// TestTeamSizes: the triangular products split over any number of
// goroutines give bit for bit the result of one goroutine (each block row
// is the same single-threaded product wherever it runs).
func TestTeamSizes(t *testing.T) {
	n := 4*symBlock + 37
	a := to32(newSPD(n, 1e3, 1e-5, 4).a)
	// Workers is clamped to GOMAXPROCS: allow more for the test.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	run := func(threads int) []float32 {
		dst := make([]float32, n*n)
		if _, err := mustPlan[float32](t, n, Options{Iterations: 3, Workers: threads}).InvSqrt(dst, a); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	want := run(1)
	for _, threads := range []int{2, 3, 5} {
		got := run(threads)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%d threads: element %d = %v, one thread %v", threads, i, got[i], want[i])
			}
		}
	}
}

// TestInPlace: dst may be the input itself.
func TestInPlace(t *testing.T) {
	for _, n := range []int{5, 4*symBlock + 5} {
		for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
			a := newSPD(n, 10, 1e-5, 2).a
			p := mustPlan[float64](t, n, Options{Method: meth, Iterations: 4})
			want := make([]float64, n*n)
			if _, err := p.InvSqrt(want, a); err != nil {
				t.Fatal(err)
			}
			if _, err := p.InvSqrt(a, a); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if a[i] != want[i] {
					t.Fatalf("n=%d %v: in place, element %d = %v, want %v", n, meth, i, a[i], want[i])
				}
			}
		}
	}
}
