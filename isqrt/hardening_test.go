package isqrt

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/netdeconv/deconv"
)

// isSentinel reports whether err wraps one of the library's sentinels.
func isSentinel(err error) bool {
	for _, s := range deconv.Errors() {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestErrorSentinels: every error path of NewPlan, InvSqrt and
// InvSqrtBatch returns the library's sentinel for its cause, wrapped with
// the numbers that explain it.
func TestErrorSentinels(t *testing.T) {
	const n = 4
	good := newSPD(n, 10, 0, 1).a
	mod := func(f func(a []float64)) []float64 {
		a := append([]float64(nil), good...)
		f(a)
		return a
	}
	indefinite := newSPD(n, 10, 0, 2)
	indefinite.lam[n-1] = -0.05
	buf := make([]float64, 3*n*n)
	for _, c := range []struct {
		name string
		call func() error
		want error
		nums []int // numbers the message must name
	}{
		{"n = 0", func() error { _, err := NewPlan[float64](0, Options{}); return err }, deconv.ErrShape, []int{0}},
		{"n < 0", func() error { _, err := NewPlan[float64](-3, Options{}); return err }, deconv.ErrShape, []int{-3}},
		{"n > MaxN", func() error { _, err := NewPlan[float64](MaxN+1, Options{}); return err }, deconv.ErrOverflow, []int{MaxN + 1}},
		{"n = maxint", func() error { _, err := NewPlan[float32](math.MaxInt, Options{}); return err }, deconv.ErrOverflow, nil},
		{"unknown method", func() error { _, err := NewPlan[float64](n, Options{Method: 9}); return err }, deconv.ErrParam, []int{9}},
		{"unknown scaling", func() error { _, err := NewPlan[float64](n, Options{Scaling: 7}); return err }, deconv.ErrParam, []int{7}},
		{"negative iterations", func() error { _, err := NewPlan[float64](n, Options{Iterations: -1}); return err }, deconv.ErrParam, []int{-1}},
		{"too many iterations", func() error { _, err := NewPlan[float64](n, Options{Iterations: MaxIterations + 1}); return err }, deconv.ErrParam, []int{MaxIterations + 1}},
		{"negative tolerance", func() error { _, err := NewPlan[float64](n, Options{Tol: -1}); return err }, deconv.ErrParam, nil},
		{"NaN tolerance", func() error { _, err := NewPlan[float64](n, Options{Tol: math.NaN()}); return err }, deconv.ErrParam, nil},
		{"infinite tolerance", func() error { _, err := NewPlan[float64](n, Options{Tol: math.Inf(1)}); return err }, deconv.ErrParam, nil},
		{"NaN symmetry tolerance", func() error { _, err := NewPlan[float64](n, Options{SymmetryTol: math.NaN()}); return err }, deconv.ErrParam, nil},
		{"negative workers", func() error { _, err := NewPlan[float64](n, Options{Workers: -2}); return err }, deconv.ErrParam, []int{-2}},
		{"short dst", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n-1), good)
			return err
		}, deconv.ErrShape, []int{n*n - 1, n * n}},
		{"long dst", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n+1), good)
			return err
		}, deconv.ErrShape, []int{n*n + 1, n * n}},
		{"long a", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n), append(good, 0))
			return err
		}, deconv.ErrShape, []int{n*n + 1, n * n}},
		{"overlap", func() error {
			copy(buf[1:], good)
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(buf[:n*n], buf[1:n*n+1])
			return err
		}, deconv.ErrOverlap, nil},
		{"NaN", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n), mod(func(a []float64) { a[6] = math.NaN() }))
			return err
		}, deconv.ErrNonFinite, []int{1, 2}},
		{"Inf", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n), mod(func(a []float64) { a[6], a[9] = math.Inf(1), math.Inf(1) }))
			return err
		}, deconv.ErrNonFinite, []int{1, 2}},
		{"not symmetric", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n), mod(func(a []float64) { a[7] += 0.5 }))
			return err
		}, deconv.ErrNotSymmetric, []int{1, 3}},
		{"zero diagonal", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n), mod(func(a []float64) { a[5] = 0 }))
			return err
		}, deconv.ErrNotPositiveDefinite, []int{1}},
		{"indefinite", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrt(make([]float64, n*n), indefinite.apply(func(l float64) float64 { return l }))
			return err
		}, deconv.ErrNotPositiveDefinite, nil},
		{"diverged", func() error {
			_, err := mustPlan[float64](t, 40, Options{Method: Uncoupled, Iterations: 60}).InvSqrt(make([]float64, 1600), newSPD(40, 1e4, 1e-5, 6).a)
			return err
		}, deconv.ErrDiverged, nil},
		{"not converged", func() error {
			_, err := mustPlan[float64](t, n, Options{Iterations: 2, Tol: 1e-12}).InvSqrt(make([]float64, n*n), good)
			return err
		}, deconv.ErrNotConverged, []int{2}},
		{"negative count", func() error { _, err := mustPlan[float64](t, n, Options{}).InvSqrtBatch(nil, nil, -1); return err }, deconv.ErrShape, []int{-1}},
		{"count overflows", func() error {
			_, err := mustPlan[float64](t, 1000, Options{}).InvSqrtBatch(nil, nil, math.MaxInt/1000)
			return err
		}, deconv.ErrOverflow, nil},
		{"short batch", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrtBatch(make([]float64, 2*n*n), good, 2)
			return err
		}, deconv.ErrShape, []int{2 * n * n, n * n}},
		{"long batch", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrtBatch(make([]float64, 3*n*n), make([]float64, 3*n*n), 2)
			return err
		}, deconv.ErrShape, []int{3 * n * n, 2 * n * n}},
		{"batch overlap", func() error {
			_, err := mustPlan[float64](t, n, Options{}).InvSqrtBatch(buf[n:n+2*n*n], buf[:2*n*n], 2)
			return err
		}, deconv.ErrOverlap, nil},
		{"batch matrix error", func() error {
			a := append(append([]float64(nil), good...), mod(func(a []float64) { a[0] = -1 })...)
			_, err := mustPlan[float64](t, n, Options{Workers: 2}).InvSqrtBatch(make([]float64, 2*n*n), a, 2)
			return err
		}, deconv.ErrNotPositiveDefinite, []int{1}},
	} {
		err := c.call()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
			continue
		}
		if err.Error() == c.want.Error() {
			t.Errorf("%s: the sentinel is not wrapped with an explanation", c.name)
		}
		for _, v := range c.nums {
			if !strings.Contains(err.Error(), strconv.Itoa(v)) {
				t.Errorf("%s: %q does not name %d", c.name, err, v)
			}
		}
	}
	// The bounds themselves are accepted; in place is.
	if _, err := NewPlan[float64](n, Options{Iterations: MaxIterations}); err != nil {
		t.Errorf("MaxIterations: %v", err)
	}
	a := append([]float64(nil), good...)
	if _, err := mustPlan[float64](t, n, Options{}).InvSqrt(a, a); err != nil {
		t.Errorf("in place: %v", err)
	}
	two := append(append([]float64(nil), good...), good...)
	if _, err := mustPlan[float64](t, n, Options{}).InvSqrtBatch(two, two, 2); err != nil {
		t.Errorf("batch in place: %v", err)
	}
	if _, err := mustPlan[float64](t, n, Options{}).InvSqrtBatch(nil, nil, 0); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

// TestNewPlanAllocatesNothing: the size is validated before anything is
// allocated, and a Plan allocates its workspaces on its first call only,
// so NewPlan at MaxN is cheap and beyond it is an error.
func TestNewPlanAllocatesNothing(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p, err := NewPlan[float64](MaxN, Options{})
	runtime.ReadMemStats(&after)
	if err != nil || p.N() != MaxN {
		t.Fatalf("NewPlan(MaxN): %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<16 {
		t.Errorf("NewPlan(MaxN) allocated %d bytes", d)
	}
}

// TestToleranceMet: with Tol set, a nil error guarantees the true residual
// ‖D·D·A − I‖_F ≤ Tol of the result, recomputed here independently in
// float64 (up to the rounding of that evaluation), in both precisions and
// for condition numbers up to 10⁸, where the residual the iteration
// monitors (‖Z·Y − I‖_F) is far below the true one in float32. Result.Residual
// is that same quantity.
func TestToleranceMet(t *testing.T) {
	met, refused := 0, 0
	for _, n := range []int{16, 50} {
		for ci, cond := range []float64{1e2, 1e4, 1e6, 1e8} {
			m := newSPD(n, cond, 0, uint64(20+ci))
			for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
				for _, tol := range []float64{1e-1, 1e-2, 1e-4, 1e-8} {
					o := Options{Method: meth, Iterations: 100, Tol: tol}
					if tol >= 1e-4 {
						a32 := to32(m.a)
						met, refused = checkTolerance(t, n, o, a32, to64(a32), met, refused)
					}
					if tol <= 1e-2 {
						met, refused = checkTolerance(t, n, o, m.a, m.a, met, refused)
					}
				}
			}
		}
	}
	t.Logf("%d calls met the tolerance, %d reported that they could not", met, refused)
	if met < 50 || refused < 10 {
		t.Errorf("%d calls met the tolerance and %d did not: the sweep does not test both", met, refused)
	}
}

func checkTolerance[T Float](t *testing.T, n int, o Options, a []T, a64 []float64, met, refused int) (int, int) {
	t.Helper()
	dst := make([]T, n*n)
	res, err := mustPlan[T](t, n, o).InvSqrt(dst, a)
	if err != nil {
		if !errors.Is(err, deconv.ErrNotConverged) && !errors.Is(err, deconv.ErrDiverged) && !errors.Is(err, deconv.ErrNotPositiveDefinite) {
			t.Errorf("%T n=%d %+v: %v", dst[0], n, o, err)
		}
		return met, refused + 1
	}
	r, evalErr := naiveResidual(n, dst, a64)
	if !(r <= o.Tol+evalErr) {
		t.Errorf("%T n=%d %+v: nil error, but the residual is %.3g (evaluated to ±%.1g)", dst[0], n, o, r, evalErr)
	}
	if !(math.Abs(res.Residual-r) <= 2*evalErr+1e-12*r) || !(res.Residual <= o.Tol) {
		t.Errorf("%T n=%d %+v: Result.Residual %.6g, recomputed %.6g (±%.1g)", dst[0], n, o, res.Residual, r, evalErr)
	}
	return met + 1, refused
}

// TestResultResidual: Result.Residual is the true residual of the result
// when Trace is set, and NaN when neither Tol nor Trace asks for it.
func TestResultResidual(t *testing.T) {
	const n = 30
	m := newSPD(n, 1e3, 0, 4)
	for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
		dst := make([]float32, n*n)
		a := to32(m.a)
		res, err := mustPlan[float32](t, n, Options{Method: meth, Trace: true}).InvSqrt(dst, a)
		if err != nil {
			t.Fatal(err)
		}
		r, evalErr := naiveResidual(n, dst, to64(a))
		if math.Abs(res.Residual-r) > 2*evalErr+1e-12 {
			t.Errorf("%v: Result.Residual %.6g, recomputed %.6g", meth, res.Residual, r)
		}
		res, _ = mustPlan[float32](t, n, Options{Method: meth}).InvSqrt(dst, a)
		if !math.IsNaN(res.Residual) {
			t.Errorf("%v: Result.Residual %v without Tol or Trace", meth, res.Residual)
		}
	}
}

// TestIndefinite: indefinite input is ErrNotPositiveDefinite whatever the
// method and the iteration count, at sizes that take every path of the
// blocked factorization; so is a semidefinite matrix with an exactly zero
// eigenvalue; a non-symmetric one is ErrNotSymmetric. SPD matrices far
// more ill-conditioned than any the iterations can resolve still pass.
func TestIndefinite(t *testing.T) {
	for _, n := range []int{3, 20, 100, 4*symBlock + 11} {
		for k, neg := range []float64{-1e-6, -1e-3, -0.5} {
			m := newSPD(n, 100, 0, uint64(30+k))
			m.lam[n/2] = neg * m.lam[0]
			a := m.apply(func(l float64) float64 { return l })
			for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
				for _, iters := range []int{1, 5, 100} {
					o := Options{Method: meth, Iterations: iters}
					if _, err := mustPlan[float64](t, n, o).InvSqrt(make([]float64, n*n), a); !errors.Is(err, deconv.ErrNotPositiveDefinite) {
						t.Errorf("n=%d λ=%g %+v: %v, want ErrNotPositiveDefinite", n, neg, o, err)
					}
					if _, err := mustPlan[float32](t, n, o).InvSqrt(make([]float32, n*n), to32(a)); !errors.Is(err, deconv.ErrNotPositiveDefinite) {
						t.Errorf("float32 n=%d λ=%g %+v: %v, want ErrNotPositiveDefinite", n, neg, o, err)
					}
				}
			}
		}
		// Semidefinite: X·Xᵀ for an integer n×(n−1) X, exactly, so the
		// matrix has an exactly zero eigenvalue (and is exact in float32).
		rng := rand.New(rand.NewPCG(uint64(n), 3))
		x := make([]float64, n*(n-1))
		for i := range x {
			x[i] = float64(rng.IntN(5) - 2)
		}
		s := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				for k := 0; k < n-1; k++ {
					s[i*n+j] += x[i*(n-1)+k] * x[j*(n-1)+k]
				}
			}
		}
		if n == 3 {
			s = []float64{1, 1, 0, 1, 1, 0, 0, 0, 1}
		}
		for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
			o := Options{Method: meth}
			if _, err := mustPlan[float64](t, n, o).InvSqrt(make([]float64, n*n), s); !errors.Is(err, deconv.ErrNotPositiveDefinite) {
				t.Errorf("semidefinite n=%d %v: %v, want ErrNotPositiveDefinite", n, meth, err)
			}
			if _, err := mustPlan[float32](t, n, o).InvSqrt(make([]float32, n*n), to32(s)); !errors.Is(err, deconv.ErrNotPositiveDefinite) {
				t.Errorf("float32 semidefinite n=%d %v: %v, want ErrNotPositiveDefinite", n, meth, err)
			}
		}
		// Not symmetric: one pair far apart.
		a := append([]float64(nil), newSPD(n, 10, 0, 5).a...)
		a[(n-1)*n] += 0.5
		for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
			if _, err := mustPlan[float64](t, n, Options{Method: meth}).InvSqrt(make([]float64, n*n), a); !errors.Is(err, deconv.ErrNotSymmetric) {
				t.Errorf("n=%d %v: %v, want ErrNotSymmetric", n, meth, err)
			}
		}
		// SPD up to κ = 10¹⁰ passes the check (Eigen: no iteration).
		spd := newSPD(n, 1e10, 0, 6)
		if _, err := mustPlan[float64](t, n, Options{Method: Eigen}).InvSqrt(make([]float64, n*n), spd.a); err != nil {
			t.Errorf("n=%d κ=1e10: %v", n, err)
		}
	}
}

// TestCholeskyPivots: the blocked factorization computes the same pivots
// as the textbook one.
func TestCholeskyPivots(t *testing.T) {
	for _, n := range []int{1, 7, 33, 64, 65, 150, 300} {
		m := newSPD(n, 1e3, 0, 7)
		p := mustPlan[float64](t, n, Options{})
		w := p.worker(0)
		w.setThreads(2)
		w.chol = grow(&w.chol, n*n)
		a := append([]float64(nil), m.a...)
		if k, d, err := w.cholesky(a, n, n, 0); k >= 0 || err != nil {
			t.Fatalf("n=%d: pivot %d = %v, %v", n, k, d, err)
		}
		// The textbook factorization, by columns.
		l := append([]float64(nil), m.a...)
		for j := 0; j < n; j++ {
			d := l[j*n+j]
			for k := 0; k < j; k++ {
				d -= l[j*n+k] * l[j*n+k]
			}
			d = math.Sqrt(d)
			l[j*n+j] = d
			for i := j + 1; i < n; i++ {
				s := l[i*n+j]
				for k := 0; k < j; k++ {
					s -= l[i*n+k] * l[j*n+k]
				}
				l[i*n+j] = s / d
			}
			if e := math.Abs(a[j*n+j] - d); e > 1e-9*d {
				t.Fatalf("n=%d: diagonal %d of R is %v, textbook %v", n, j, a[j*n+j], d)
			}
		}
	}
}

// TestScaleExtremes: matrices whose Frobenius norm under- or overflows in
// float64 (or whose squares do), and their float32 counterparts, are
// rescaled rather than refused, with every method, in and out of place.
func TestScaleExtremes(t *testing.T) {
	const n = 12
	id := make([]float64, n*n)
	for i := 0; i < n; i++ {
		id[i*n+i] = 1
	}
	for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
		o := Options{Method: meth, Iterations: 60, Tol: 1e-10}
		m := newSPD(n, 10, 0, 8)
		if meth == Uncoupled {
			m = newSPD(n, 2, 0, 8) // where it is stable
		}
		want := m.apply(func(l float64) float64 { return 1 / math.Sqrt(l) })
		for _, s := range []float64{1e-300, 1e-200, 1e-150, 1e150, 1e200, 1e300} {
			for _, base := range [][]float64{id, m.a} {
				a := make([]float64, n*n)
				exact := make([]float64, n*n)
				for i := range a {
					a[i] = base[i] * s
					if &base[0] == &id[0] {
						exact[i] = id[i] / math.Sqrt(s)
					} else {
						exact[i] = want[i] / math.Sqrt(s)
					}
				}
				dst := make([]float64, n*n)
				if _, err := mustPlan[float64](t, n, o).InvSqrt(dst, a); err != nil {
					t.Errorf("%v, %g·A: %v", meth, s, err)
					continue
				}
				if e := relErr(dst, exact); !(e < 1e-9) {
					t.Errorf("%v, %g·A: relative error %.2e", meth, s, e)
				}
			}
		}
		o32 := o
		if o32.Tol > 0 {
			o32.Tol = 1e-3
		}
		for _, s := range []float64{1e-35, 1e-30, 1e30, 1e35} {
			a := make([]float32, n*n)
			exact := make([]float64, n*n)
			for i := range a {
				a[i] = float32(m.a[i] * s)
			}
			for i := range exact {
				exact[i] = want[i] / math.Sqrt(s)
			}
			dst := make([]float32, n*n)
			if _, err := mustPlan[float32](t, n, o32).InvSqrt(dst, a); err != nil {
				t.Errorf("float32 %v, %g·A: %v", meth, s, err)
				continue
			}
			if e := relErr(dst, exact); !(e < 1e-4) {
				t.Errorf("float32 %v, %g·A: relative error %.2e", meth, s, e)
			}
		}
	}
}

// TestWorkersObeyed: every product and every team part of a call runs on
// at most Options.Workers goroutines (0: deconv.Threads()), whatever the
// engine's own setting and GOMAXPROCS say.
func TestWorkersObeyed(t *testing.T) {
	prevProcs := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prevProcs)
	if err := deconv.SetThreads(4); err != nil {
		t.Fatal(err)
	}
	defer deconv.SetThreads(0)
	n := 4*symBlock + 13
	a := to32(newSPD(n, 1e3, 1e-5, 9).a)
	small := to32(newSPD(30, 1e3, 1e-5, 9).a)
	for _, workers := range []int{1, 2} {
		var mu sync.Mutex
		maxThreads := 0
		running, maxRunning := 0, 0
		goroutines := map[string]bool{}
		testHookThreads = func(threads int) {
			mu.Lock()
			maxThreads = max(maxThreads, threads)
			mu.Unlock()
		}
		testHookPart = func(delta int) {
			var b [64]byte
			id := strings.Fields(string(b[:runtime.Stack(b[:], false)]))[1]
			mu.Lock()
			goroutines[id] = true
			running += delta
			maxRunning = max(maxRunning, running)
			mu.Unlock()
		}
		for _, meth := range []Method{Coupled, CoupledReference, Uncoupled, Eigen} {
			o := Options{Method: meth, Iterations: 6, Workers: workers, Trace: true}
			if _, err := mustPlan[float32](t, n, o).InvSqrt(make([]float32, n*n), a); err != nil && !errors.Is(err, deconv.ErrDiverged) {
				t.Fatal(err)
			}
			batch := append(append([]float32(nil), small...), small...)
			if _, err := mustPlan[float32](t, 30, o).InvSqrtBatch(make([]float32, len(batch)), batch, 2); err != nil && !errors.Is(err, deconv.ErrDiverged) {
				t.Fatal(err)
			}
		}
		testHookThreads, testHookPart = nil, nil
		if maxThreads < 1 || maxThreads > workers {
			t.Errorf("Workers = %d: a product was given %d goroutines", workers, maxThreads)
		}
		// Parts of one operation may run on different pool goroutines from
		// one operation to the next; at most Workers run at once. (With
		// one worker the products, which are the engine's, are the only
		// parallel work: no team part need run.)
		if maxRunning > workers || (workers == 1 && len(goroutines) > 1) {
			t.Errorf("Workers = %d: up to %d team parts ran at once, on %d goroutines in all", workers, maxRunning, len(goroutines))
		}
		if workers == 2 && (maxThreads != 2 || len(goroutines) < 2) {
			t.Errorf("Workers = 2: products got at most %d goroutines, parts ran on %d: the call does not use what it may", maxThreads, len(goroutines))
		}
	}
	// Workers = 0 is the process default.
	if err := deconv.SetThreads(1); err != nil {
		t.Fatal(err)
	}
	defer deconv.SetThreads(0)
	maxThreads := 0
	testHookThreads = func(threads int) { maxThreads = max(maxThreads, threads) }
	defer func() { testHookThreads = nil }()
	if _, err := mustPlan[float32](t, n, Options{Tol: 1e-2, Iterations: 40}).InvSqrt(make([]float32, n*n), a); err != nil && !errors.Is(err, deconv.ErrNotConverged) {
		t.Fatal(err)
	}
	if maxThreads != 1 {
		t.Errorf("deconv.SetThreads(1): a product was given %d goroutines", maxThreads)
	}
}

// TestNoNonFiniteResult: no call returns a non-finite result with a nil
// error: the uncoupled iteration run until it overflows (the monitor's
// growth test switched off, as Figure 7 does) reports ErrDiverged and
// leaves the best finite iterate, and the final scaling's own check
// catches a non-finite iterate.
func TestNoNonFiniteResult(t *testing.T) {
	for _, n := range []int{10, 40} {
		for _, cond := range []float64{1e2, 1e4} {
			a := newSPD(n, cond, 0, 11).a
			for _, keepGoing := range []bool{false, true} {
				p := mustPlan[float64](t, n, Options{Method: Uncoupled, Iterations: MaxIterations})
				p.keepGoing = keepGoing
				dst := make([]float64, n*n)
				_, err := p.InvSqrt(dst, a)
				if !errors.Is(err, deconv.ErrDiverged) {
					t.Errorf("n=%d κ=%g keepGoing=%v: %v, want ErrDiverged", n, cond, keepGoing, err)
				}
				for i, v := range dst {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("n=%d κ=%g keepGoing=%v: dst[%d] = %v", n, cond, keepGoing, i, v)
					}
				}
			}
		}
	}
	// finish reports a non-finite iterate, on one goroutine and on a team,
	// and a float32 result that overflows in the final scaling.
	for _, n := range []int{5, 4*symBlock + 1} {
		p := mustPlan[float32](t, n, Options{})
		w := p.worker(0)
		for _, threads := range []int{1, 2} {
			w.setThreads(threads)
			z := make([]float32, n*n)
			dst := make([]float32, n*n)
			if !w.finish(n, dst, z, 1) {
				t.Errorf("n=%d: a zero iterate reported non-finite", n)
			}
			z[n*n-1] = float32(math.Inf(1))
			if w.finish(n, dst, z, 1) {
				t.Errorf("n=%d: an infinite element not reported", n)
			}
			z[n*n-1] = 1e30
			if w.finish(n, dst, z, 1e-40) {
				t.Errorf("n=%d: an overflowing scaling not reported", n)
			}
		}
	}
}

// TestInputUntouched: a is not modified when dst is another slice, for
// every method and outcome.
func TestInputUntouched(t *testing.T) {
	for _, n := range []int{7, 4*symBlock + 3} {
		m := newSPD(n, 1e3, 1e-5, 12)
		a := to32(m.a)
		keep := append([]float32(nil), a...)
		for _, o := range []Options{{}, {Method: CoupledReference, Tol: 1e-3, Iterations: 50}, {Method: Uncoupled, Iterations: 40}, {Method: Eigen, Trace: true}, {Scaling: ScaleSpectral, Trace: true}} {
			_, err := mustPlan[float32](t, n, o).InvSqrt(make([]float32, n*n), a)
			if err != nil && !isSentinel(err) {
				t.Fatal(err)
			}
			for i := range a {
				if a[i] != keep[i] {
					t.Fatalf("n=%d %+v: a[%d] changed to %v from %v", n, o, i, a[i], keep[i])
				}
			}
		}
	}
}
