package isqrt

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"

	"github.com/netdeconv/deconv"
)

// besideSizes are the sizes whose check runs beside the iteration, with
// their bounds.
var besideSizes = []int{besideMinN, 100, 147, besideMaxN - 1, besideMaxN}

// checkBeside fails the test unless the plan's last single call ran its
// check beside the iteration exactly when want says: a test of that path
// must not pass by running another (parallel.Workers is clamped to
// GOMAXPROCS, so the tests raise it).
func checkBeside[T Float](t *testing.T, p *Plan[T], want bool) {
	t.Helper()
	if got := p.worker(0).besideFits(p); got != want {
		t.Fatalf("n=%d %+v: check beside the iteration %v, want %v (GOMAXPROCS %d)",
			p.n, p.opt, got, want, runtime.GOMAXPROCS(0))
	}
}

// TestBesideBitwise: a call with its check beside the iteration (2 or 3
// goroutines) gives bit for bit the result of one goroutine, in float32
// and float64, for iteration counts that take the half products only and
// the full ones after them, in place too.
func TestBesideBitwise(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	sizes := besideSizes
	if quickSweep() {
		sizes = []int{besideSizes[0], besideSizes[len(besideSizes)-1]} // the bounds
	}
	for _, n := range sizes {
		besideBitwise[float32](t, n)
		besideBitwise[float64](t, n)
	}
}

func besideBitwise[T Float](t *testing.T, n int) {
	t.Helper()
	m := newSPD(n, 1e3, 1e-5, uint64(n))
	a := make([]T, n*n)
	for i, v := range m.a {
		a[i] = T(v)
	}
	for _, iters := range []int{1, 2, 5, halfProductIters + 3} {
		run := func(workers int, inPlace bool) ([]T, Result) {
			dst := make([]T, n*n)
			src := a
			if inPlace {
				copy(dst, a)
				src = dst
			}
			p := mustPlan[T](t, n, Options{Iterations: iters, Workers: workers})
			var r Result
			var err error
			for range 2 { // the second call on warm workspaces
				if inPlace {
					copy(dst, a)
				}
				if r, err = p.InvSqrt(dst, src); err != nil {
					t.Fatalf("n=%d iterations=%d workers=%d: %v", n, iters, workers, err)
				}
			}
			checkBeside(t, p, workers > 1)
			return dst, r
		}
		want, wr := run(1, false)
		for _, workers := range []int{2, 3} {
			for _, inPlace := range []bool{false, true} {
				got, gr := run(workers, inPlace)
				if gr.Scale != wr.Scale || gr.Iterations != wr.Iterations {
					t.Fatalf("%T n=%d iterations=%d workers=%d: %+v, one goroutine %+v", a[0], n, iters, workers, gr, wr)
				}
				for i := range want {
					if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
						t.Fatalf("%T n=%d iterations=%d workers=%d in place %v: element %d = %v, one goroutine %v",
							a[0], n, iters, workers, inPlace, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestBesideErrors: with the check beside the iteration, bad input gets
// the error one goroutine reports, word for word, and dst is left
// untouched: an indefinite matrix (found by the check that runs beside the
// iteration), a non-symmetric one, a NaN, each in every tile row.
func TestBesideErrors(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{besideMinN, 147, besideMaxN} {
		cases := map[string][]float64{}
		m := newSPD(n, 100, 0, 7)
		m.lam[n/3] = -1e-3 * m.lam[0]
		cases["indefinite"] = m.apply(func(l float64) float64 { return l })
		m.lam[n/3] = -1e-7 * m.lam[0] // close to singular: only the factorization sees it
		cases["barely indefinite"] = m.apply(func(l float64) float64 { return l })
		for _, i := range []int{0, n/2 + 1, n - 2} {
			a := append([]float64(nil), newSPD(n, 10, 0, 5).a...)
			a[i*n+n-1] += 0.5
			cases[fmt.Sprintf("not symmetric in row %d", i)] = a
			b := append([]float64(nil), newSPD(n, 10, 0, 5).a...)
			b[i*n+n-1] = math.NaN()
			cases[fmt.Sprintf("NaN in row %d", i)] = b
		}
		// Two bad tile rows: the first is reported.
		two := append([]float64(nil), newSPD(n, 10, 0, 5).a...)
		two[(n-3)*n+n-1] += 0.5
		two[checkTile*n+checkTile+1] = 10 * two[checkTile*n+checkTile]
		cases["two tile rows"] = two
		for name, a := range cases {
			for _, workers := range []int{1, 2} {
				errs := [2]error{}
				for k, inPlace := range []bool{false, true} {
					a32 := to32(a)
					dst := make([]float32, n*n)
					for i := range dst {
						dst[i] = 7
					}
					src := a32
					if inPlace {
						dst, src = a32, a32
					}
					p := mustPlan[float32](t, n, Options{Workers: workers})
					_, errs[k] = p.InvSqrt(dst, src)
					checkBeside(t, p, workers > 1)
					for i, v := range dst {
						if want := float32(7); !inPlace && v != want || inPlace && v != float32(a[i]) && !math.IsNaN(a[i]) {
							t.Fatalf("n=%d %s workers=%d in place %v: dst[%d] written (%v)", n, name, workers, inPlace, i, v)
						}
					}
				}
				if errs[0] == nil || errs[1] == nil || errs[0].Error() != errs[1].Error() {
					t.Fatalf("n=%d %s workers=%d: errors %v, %v", n, name, workers, errs[0], errs[1])
				}
				_, want := mustPlan[float32](t, n, Options{Workers: 1}).InvSqrt(make([]float32, n*n), to32(a))
				if errs[0].Error() != want.Error() {
					t.Errorf("n=%d %s workers=%d: %v, one goroutine %v", n, name, workers, errs[0], want)
				}
				for _, sentinel := range []error{deconv.ErrNotPositiveDefinite, deconv.ErrNotSymmetric, deconv.ErrNonFinite} {
					if errors.Is(want, sentinel) != errors.Is(errs[0], sentinel) {
						t.Errorf("n=%d %s: %v", n, name, errs[0])
					}
				}
			}
		}
	}
}

// TestBesidePanic: a call whose iteration panics beside its check passes
// the panic to the caller, and leaves the plan's work as it found it:
// threads restored, the beside flag down, the caller's slices released;
// the next call gives the result of a fresh plan, bit for bit.
func TestBesidePanic(t *testing.T) {
	const n = 147
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	a := to32(newSPD(n, 1e3, 1e-5, 13).a)
	p := mustPlan[float32](t, n, Options{Workers: 2})
	dst := make([]float32, n*n)
	func() {
		// Products beside a check are single-threaded; the others, on two
		// goroutines, would not reach the path under test.
		testHookThreads = func(threads int) {
			if threads == 1 {
				panic("test panic")
			}
		}
		defer func() {
			testHookThreads = nil
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		p.InvSqrt(dst, a)
	}()
	w := p.worker(0)
	if w.beside || w.threads != 2 || w.nw != 2 || w.tm.dst != nil || w.tm.a != nil || w.tm.ta != nil {
		t.Fatalf("after the panic: beside %v, threads %d, nw %d, slices held %v",
			w.beside, w.threads, w.nw, w.tm.dst != nil || w.tm.a != nil || w.tm.ta != nil)
	}
	if _, err := p.InvSqrt(dst, a); err != nil {
		t.Fatal(err)
	}
	checkBeside(t, p, true)
	want := make([]float32, n*n)
	if _, err := mustPlan[float32](t, n, Options{Workers: 1}).InvSqrt(want, a); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("after the panic: element %d = %v, a fresh plan %v", i, dst[i], want[i])
		}
	}
}

// TestBesideCrowded: many calls at once, more than the pool's goroutines,
// so that members start late, or run after their leader has finished (the
// pool full), or park and are woken: every result is still one
// goroutine's, and an indefinite input among them is still refused.
func TestBesideCrowded(t *testing.T) {
	const n, calls = 147, 24
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	good := to32(newSPD(n, 1e3, 1e-5, 3).a)
	m := newSPD(n, 100, 0, 8)
	m.lam[5] = -0.1 * m.lam[0]
	bad := to32(m.apply(func(l float64) float64 { return l }))
	want := make([]float32, n*n)
	if _, err := mustPlan[float32](t, n, Options{Workers: 1}).InvSqrt(want, good); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, calls)
	for c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := NewPlan[float32](n, Options{Workers: 4})
			if err != nil {
				errs[c] = err
				return
			}
			dst := make([]float32, n*n)
			for r := range 6 {
				in := good
				if (c+r)%5 == 0 {
					in = bad
				}
				_, err := p.InvSqrt(dst, in)
				switch {
				case (c+r)%5 == 0 && !errors.Is(err, deconv.ErrNotPositiveDefinite):
					errs[c] = fmt.Errorf("call %d round %d: %v, want ErrNotPositiveDefinite", c, r, err)
					return
				case (c+r)%5 != 0 && err != nil:
					errs[c] = fmt.Errorf("call %d round %d: %v", c, r, err)
					return
				case (c+r)%5 != 0:
					for i := range want {
						if dst[i] != want[i] {
							errs[c] = fmt.Errorf("call %d round %d: element %d = %v, want %v", c, r, i, dst[i], want[i])
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestGradKeptOnTeam: what a forward with Options.Grad keeps, copied on a
// team for a large matrix (and on the caller beside a helper for a
// 147×147 one), gives the backward of one goroutine, bit for bit.
func TestGradKeptOnTeam(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{147, 4*symBlock + 29} {
		a := to32(newSPD(n, 1e3, 1e-5, 11).a)
		dd := to32(newSPD(n, 10, 0, 12).a)
		grad := func(workers int) ([]float32, []float32) {
			p := mustPlan[float32](t, n, Options{Grad: true, Workers: workers})
			d, da := make([]float32, n*n), make([]float32, n*n)
			if _, err := p.InvSqrt(d, a); err != nil {
				t.Fatal(err)
			}
			checkBeside(t, p, workers > 1 && n <= besideMaxN)
			if err := p.Backward(da, dd); err != nil {
				t.Fatal(err)
			}
			return d, da
		}
		wd, wda := grad(1)
		d, da := grad(2)
		for i := range wd {
			if d[i] != wd[i] || da[i] != wda[i] {
				t.Fatalf("n=%d element %d: D %v, dA %v with two goroutines; %v, %v with one", n, i, d[i], da[i], wd[i], wda[i])
			}
		}
	}
}
