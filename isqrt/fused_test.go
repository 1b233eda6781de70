package isqrt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
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
	sizes = append(sizes, 127, 147, 200)
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

// TestCholeskyBaseBitwise checks the base case of cholesky (two rows per pass)
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

// checkTileRowPlain is the validation pass of one tile row one pair at a
// time, row by row: the reference of checkTileRow's blocked loops (the
// same sums in the same order, the same writes, the same first error).
func checkTileRowPlain[T Float](w *work[T], n int, a []T, i0 int) (float64, error) {
	root := w.spec[:n]
	i1 := min(n, i0+checkTile)
	sum := 0.0
	for j0 := i0; j0 < n; j0 += checkTile {
		j1 := min(n, j0+checkTile)
		for i := i0; i < i1; i++ {
			s0, s1 := 0.0, 0.0
			for j := max(j0, i+1); j < j1; j++ {
				x, z := float64(a[i*n+j]), float64(a[j*n+i])
				if err := pairError(i, j, x, z, root[i]*root[j], w.symTol, minorTol); err != nil {
					return 0, err
				}
				s := 0.5*x + 0.5*z
				s0 += x * x
				s1 += z * z
				w.y[i*n+j], w.y[j*n+i] = T(s), T(s)
				w.chol[i*n+j] = s
			}
			sum += s0 + s1
		}
	}
	return sum, nil
}

// TestCheckTileRow checks the validation pass against checkTileRowPlain:
// sums bitwise on the generic family (within the rounding of another
// order of additions on the others), S in both triangles of w.y and in the upper one of
// w.chol, and the error of the first failing pair, on asymmetric inputs
// within the tolerance and with one or two pairs beyond it, for every
// size up to past two tiles, each tile row on another part's stale
// scratch.
func TestCheckTileRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 17))
	failed := 0
	for n := 1; n <= 2*checkTile+7; n++ {
		for trial := range 4 {
			m := newSPD(n, 100, 1e-5, uint64(7*n+trial))
			a := to32(m.apply(func(x float64) float64 { return x }))
			for i := 0; i < n; i++ {
				for j := i + 1; j < n; j++ {
					a[i*n+j] *= 1 + float32(1e-6*rng.Float64())
				}
			}
			for range trial / 2 * (1 + rng.IntN(2)) { // trials 2, 3: bad pairs
				if n > 1 {
					i, j := rng.IntN(n), rng.IntN(n)
					if i != j {
						a[i*n+j] += 1
					}
				}
			}
			ws := [2]*work[float32]{new(work[float32]), new(work[float32])}
			var sums [2]float64
			var errs [2]error
			for k, w := range ws {
				w.spec = make([]float64, n)
				for i := range n {
					w.spec[i] = math.Sqrt(float64(a[i*n+i]))
				}
				w.y, w.chol, w.symTol = make([]float32, n*n), make([]float64, n*n), 1e-4
				if k == 0 {
					// Every part's scratch holds a stale tile of NaNs, as
					// after an earlier call: the pass must overwrite what it
					// reads of it.
					for p := range w.checkT {
						w.checkT[p] = slices.Repeat([]float32{float32(math.NaN())}, checkTile*checkTile)
					}
				}
				for i0 := 0; i0 < n && errs[k] == nil; i0 += checkTile {
					var s float64
					if k == 0 {
						// Each tile row on another part (0 for the first
						// row of trial 0, up to maxTeam − 1), so that the
						// per-part scratch is exercised beyond part 0.
						part := (i0/checkTile*5 + trial*7) % maxTeam
						s, errs[k] = w.checkTileRow(n, a, i0, part)
					} else {
						s, errs[k] = checkTileRowPlain(w, n, a, i0)
					}
					sums[k] += s
				}
			}
			if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && errs[0].Error() != errs[1].Error() {
				t.Fatalf("n=%d trial %d: error %v, want %v", n, trial, errs[0], errs[1])
			}
			if errs[0] != nil {
				failed++
				continue
			}
			if !slices.Equal(ws[0].y, ws[1].y) || !slices.Equal(ws[0].chol, ws[1].chol) {
				t.Fatalf("n=%d trial %d: S differs", n, trial)
			}
			// The generic family adds in the plain loop's order; the vector
			// kernels add each run's squares in another (vec.PairCheck).
			// All terms are exact squares of float32 values, none negative,
			// so each sum is within γ_d of the exact one, d the depth of its
			// additions: at most one run's (2·checkTile + 2) plus one per
			// run of the tile rows (at most 3·checkTile each here), plus
			// the tile rows.
			if isa.Selected() == isa.Generic {
				if math.Float64bits(sums[0]) != math.Float64bits(sums[1]) {
					t.Fatalf("n=%d trial %d: sum %v, want %v", n, trial, sums[0], sums[1])
				}
			} else {
				d := float64(2*checkTile + 2 + 3*3*checkTile + 3)
				if tol := 2 * d * 0x1p-53 * sums[1]; !(math.Abs(sums[0]-sums[1]) <= tol) { // fails on NaN too
					t.Fatalf("n=%d trial %d: sum %v, want %v within %.3g", n, trial, sums[0], sums[1], tol)
				}
			}
		}
	}
	if failed < 2*checkTile {
		t.Fatalf("only %d inputs failed the checks: the bad pairs do not test the error path", failed)
	}
	t.Logf("%d inputs failed the checks", failed)
}
