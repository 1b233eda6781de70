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

// panelsOf writes X (k×n row-major) into panels ld rows deep, with NaN
// in every lane beyond n and every row beyond k, which the product must
// never let reach C.
func panelsOf[T Float](ps *Panels[T], x []T, n, k, ld int) []T {
	nr := ps.NR()
	nan := T(math.NaN())
	pb := make([]T, ps.Len(n, ld))
	for i := range pb {
		pb[i] = nan
	}
	for p := 0; p < k; p++ {
		for f := 0; f < n; f++ {
			pb[f/nr*ld*nr+p*nr+f%nr] = x[p*n+f]
		}
	}
	return pb
}

func testPanelsUpper[T Float](t *testing.T, f isa.Family, scratch bool) {
	rng := rand.New(rand.NewPCG(11, uint64(f)))
	var ps Panels[T]
	ps.InitFamily(f)
	kr := ps.kern
	if kr.nr%kr.mr != 0 {
		t.Fatalf("%v: NR %d is not a multiple of MR %d", f, kr.nr, kr.mr)
	}
	ns := []int{1, 2, 9, 17, 63, 65, kr.mr - 1, kr.mr, kr.mr + 1, kr.nr - 1, kr.nr, kr.nr + 1, 2*kr.nr + kr.mr, kr.nc - 1, kr.nc + 1, 150, 576}
	ks := []int{1, 3, 17, 255, 256, 261}
	for trial := 0; trial < 40; trial++ {
		n := ns[rng.IntN(len(ns))]
		k := ks[rng.IntN(len(ks))]
		ld := k + rng.IntN(3)
		ldc := n + rng.IntN(3)
		alpha := T(1)
		beta := []T{0, 1, 0.5}[rng.IntN(3)]
		if trial%5 == 4 {
			alpha = 0.25
		}
		x := randSlice[T](rng, k*n)
		pb := panelsOf(&ps, x, n, k, ld)
		c := randSlice[T](rng, n*ldc)
		c0 := to64(c)
		if beta == 0 {
			for i := range c {
				c[i] = T(math.NaN()) // β = 0 must not read C
			}
		}
		run := ps.Upper
		if scratch {
			run = ps.UpperScratch
		}
		if err := run(n, k, ld, alpha, pb, beta, c, ldc); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%v n=%d k=%d ld=%d ldc=%d α=%v β=%v scratch=%v", f, n, k, ld, ldc, alpha, beta, scratch)
		tol := tolerance[T](k)
		for i := 0; i < n; i++ {
			for j := 0; j < ldc; j++ {
				got := float64(c[i*ldc+j])
				if j < i && j < n && scratch && i/kr.mr*kr.mr < j/kr.nr*kr.nr+kr.nr && j/kr.nr*kr.nr < i/kr.mr*kr.mr+kr.mr {
					// Scratch below the diagonal, in a tile that the
					// diagonal crosses: any finite value, or untouched.
					if math.IsNaN(got) || math.IsInf(got, 0) {
						if beta == 0 && math.IsNaN(got) {
							continue
						}
						t.Fatalf("%s: C[%d][%d] = %v below the diagonal", name, i, j, got)
					}
					continue
				}
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

// TestPanelsUpper checks the caller-packed SYRK, and its variant with a
// scratch lower triangle, against float64 sums on every family, at sizes
// around the tile and block edges, with NaN in the unused lanes of the
// panels; only UpperScratch may write below the diagonal, and only in the
// tiles the diagonal crosses.
func TestPanelsUpper(t *testing.T) {
	for _, f := range isa.Available() {
		t.Run(f.String(), func(t *testing.T) {
			for _, scratch := range []bool{false, true} {
				testPanelsUpper[float32](t, f, scratch)
				testPanelsUpper[float64](t, f, scratch)
			}
		})
	}
}

func TestPanelsErrors(t *testing.T) {
	var ps Panels[float32]
	if err := ps.Upper(1, 1, 1, 1, make([]float32, 64), 0, make([]float32, 1), 1); !errors.Is(err, errs.ErrParam) {
		t.Errorf("before Init: %v", err)
	}
	ps.Init()
	n, k := 20, 5
	pb, c := make([]float32, ps.Len(n, k)), make([]float32, n*n)
	cases := []struct {
		name string
		err  error
		run  func() error
	}{
		{"negative n", errs.ErrParam, func() error { return ps.Upper(-1, k, k, 1, pb, 0, c, n) }},
		{"negative k", errs.ErrParam, func() error { return ps.Upper(n, -1, k, 1, pb, 0, c, n) }},
		{"ld < k", errs.ErrParam, func() error { return ps.Upper(n, k, k-1, 1, pb, 0, c, n) }},
		{"short panels", errs.ErrShape, func() error { return ps.Upper(n, k, k, 1, pb[:len(pb)-1], 0, c, n) }},
		{"short C", errs.ErrShape, func() error { return ps.Upper(n, k, k, 1, pb, 0, c[:n*n-1], n) }},
		{"small ldc", errs.ErrShape, func() error { return ps.Upper(n, k, k, 1, pb, 0, c, n-1) }},
		{"overflow", errs.ErrOverflow, func() error { return ps.Upper(n, k, math.MaxInt/2, 1, pb, 0, c, n) }},
	}
	for _, tc := range cases {
		if err := tc.run(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if err := ps.Upper(n, k, k, 1, pb, 0, c, n); err != nil {
		t.Errorf("valid: %v", err)
	}
}

func TestPanelsAllocatesNothing(t *testing.T) {
	var ps Panels[float32]
	ps.Init()
	n, k := 100, 64
	rng := rand.New(rand.NewPCG(1, 1))
	pb := panelsOf(&ps, randSlice[float32](rng, n*k), n, k, k)
	c := make([]float32, n*n)
	if a := testing.AllocsPerRun(10, func() {
		ps.Init()
		if err := ps.Upper(n, k, k, 1, pb, 1, c, n); err != nil {
			t.Fatal(err)
		}
		if err := ps.UpperScratch(n, k, k, 1, pb, 1, c, n); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}
