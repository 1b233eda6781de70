package gemm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
)

// panelsOf writes X (k×n row-major) into A panels ka rows deep and a row
// panel of leading dimension ldy, with NaN in every lane beyond n and
// every A row beyond k, which the product must never let reach C.
func panelsOf[T Float](ps *Panels[T], x []T, n, k, ka, ldy int) (pa, y []T) {
	mr := ps.MR()
	nan := T(math.NaN())
	pa = make([]T, ps.ALen(n, ka))
	y = make([]T, max(0, k-1)*ldy+ps.BSpan(n))
	for i := range pa {
		pa[i] = nan
	}
	for i := range y {
		y[i] = nan
	}
	for p := 0; p < k; p++ {
		copy(y[p*ldy:p*ldy+n], x[p*n:(p+1)*n])
		for f := 0; f < n; f++ {
			pa[f/mr*ka*mr+p*mr+f%mr] = x[p*n+f]
		}
	}
	return pa, y
}

func testPanelsUpper[T Float](t *testing.T, f isa.Family) {
	rng := rand.New(rand.NewPCG(11, uint64(f)))
	var ps Panels[T]
	ps.InitFamily(f)
	kr := ps.kern
	ns := []int{1, 2, 9, 17, 63, 65, kr.mr - 1, kr.mr, kr.mr + 1, kr.nr - 1, kr.nr, kr.nr + 1, kr.nc - 1, kr.nc + 1, 150}
	ks := []int{1, 3, 17, kr.kc - 1, kr.kc, kr.kc + 5}
	for trial := 0; trial < 40; trial++ {
		n := ns[rng.IntN(len(ns))]
		k := ks[rng.IntN(len(ks))]
		ldy := n + rng.IntN(3)
		if trial%3 == 0 {
			ldy = ps.LD(n)
		}
		ldc := n + rng.IntN(3)
		alpha := T(1)
		beta := []T{0, 1, 0.5}[rng.IntN(3)]
		if trial%5 == 4 {
			alpha = 0.25
		}
		x := randSlice[T](rng, k*n)
		ka := k + rng.IntN(3)
		pa, y := panelsOf(&ps, x, n, k, ka, ldy)
		c := randSlice[T](rng, n*ldc)
		c0 := to64(c)
		if beta == 0 {
			for i := range c {
				c[i] = T(math.NaN()) // β = 0 must not read C
			}
		}
		if err := ps.Upper(n, k, alpha, pa, ka, y, ldy, beta, c, ldc); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%v n=%d k=%d ka=%d ldy=%d ldc=%d α=%v β=%v", f, n, k, ka, ldy, ldc, alpha, beta)
		tol := tolerance[T](k)
		for i := 0; i < n; i++ {
			for j := 0; j < ldc; j++ {
				got := float64(c[i*ldc+j])
				if j < i || j >= n {
					// Untouched: below the diagonal and beyond the row.
					if beta == 0 {
						if !math.IsNaN(got) {
							t.Fatalf("%s: wrote C[%d][%d] outside the upper triangle", name, i, j)
						}
					} else if got != float64(T(c0[i*ldc+j])) {
						t.Fatalf("%s: wrote C[%d][%d] outside the upper triangle", name, i, j)
					}
					continue
				}
				var s float64
				for p := 0; p < k; p++ {
					s += float64(x[p*n+i]) * float64(x[p*n+j])
				}
				want := float64(alpha) * s
				if beta != 0 {
					want += float64(beta) * c0[i*ldc+j]
				}
				if math.Abs(got-want) > tol || math.IsNaN(got) {
					t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i, j, got, want)
				}
			}
		}
	}
}

// TestPanelsUpper checks the caller-packed SYRK against float64 sums on
// every family, at sizes around the tile and block edges, with NaN in the
// unused lanes of the panels.
func TestPanelsUpper(t *testing.T) {
	for _, f := range isa.Available() {
		t.Run(f.String(), func(t *testing.T) {
			testPanelsUpper[float32](t, f)
			testPanelsUpper[float64](t, f)
		})
	}
}

func TestPanelsErrors(t *testing.T) {
	var ps Panels[float32]
	if err := ps.Upper(1, 1, 1, make([]float32, 64), 1, make([]float32, 64), 64, 0, make([]float32, 1), 1); !errors.Is(err, errs.ErrParam) {
		t.Errorf("before Init: %v", err)
	}
	ps.Init()
	n, k := 20, 5
	ldy := ps.LD(n)
	pa, y, c := make([]float32, ps.ALen(n, k)), make([]float32, (k-1)*ldy+ps.BSpan(n)), make([]float32, n*n)
	cases := []struct {
		name string
		err  error
		run  func() error
	}{
		{"negative n", errs.ErrParam, func() error { return ps.Upper(-1, k, 1, pa, k, y, ldy, 0, c, n) }},
		{"negative k", errs.ErrParam, func() error { return ps.Upper(n, -1, 1, pa, k, y, ldy, 0, c, n) }},
		{"ka < k", errs.ErrParam, func() error { return ps.Upper(n, k, 1, pa, k-1, y, ldy, 0, c, n) }},
		{"ldy < n", errs.ErrShape, func() error { return ps.Upper(n, k, 1, pa, k, y, n-1, 0, c, n) }},
		{"short A", errs.ErrShape, func() error { return ps.Upper(n, k, 1, pa[:len(pa)-1], k, y, ldy, 0, c, n) }},
		{"short panel", errs.ErrShape, func() error { return ps.Upper(n, k, 1, pa, k, y[:len(y)-1], ldy, 0, c, n) }},
		{"short C", errs.ErrShape, func() error { return ps.Upper(n, k, 1, pa, k, y, ldy, 0, c[:n*n-1], n) }},
		{"small ldc", errs.ErrShape, func() error { return ps.Upper(n, k, 1, pa, k, y, ldy, 0, c, n-1) }},
		{"overflow", errs.ErrOverflow, func() error { return ps.Upper(n, k, 1, pa, k, y, math.MaxInt/2, 0, c, n) }},
	}
	for _, tc := range cases {
		if err := tc.run(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if err := ps.Upper(n, k, 1, pa, k, y, ldy, 0, c, n); err != nil {
		t.Errorf("valid: %v", err)
	}
}

func TestPanelsAllocatesNothing(t *testing.T) {
	var ps Panels[float32]
	ps.Init()
	n, k := 100, 64
	rng := rand.New(rand.NewPCG(1, 1))
	pa, y := panelsOf(&ps, randSlice[float32](rng, n*k), n, k, k, ps.LD(n))
	c := make([]float32, n*n)
	if a := testing.AllocsPerRun(10, func() {
		ps.Init()
		if err := ps.Upper(n, k, 1, pa, k, y, ps.LD(n), 1, c, n); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}
