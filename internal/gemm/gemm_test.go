package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

var ref gonum.Implementation

// sentinel marks memory a product must not write.
const sentinel = -7777.25

func randSlice[T Float](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(rng.Float64()*2 - 1)
	}
	return s
}

func to64[T Float](s []T) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

// tolerance for a sum of k products of magnitude ≤ 1 (inputs in [-1, 1],
// α, β ≤ 2 in magnitude).
func tolerance[T Float](k int) float64 {
	var z T
	eps := 1e-15
	if _, ok := any(z).(float32); ok {
		eps = 2e-7
	}
	return 8 * eps * float64(k+4)
}

// edgeSizes lists sizes around every block size of the kernel used for T
// by family f, plus small and prime sizes.
func edgeSizes[T Float](f isa.Family) []int {
	kr := kernelFor[T](f)
	s := []int{1, 2, 3, 5, 7, 13, 31, 61}
	for _, b := range []int{kr.mr, kr.nr, 2 * kr.mr, kr.kc, kr.nc, kr.mc} {
		s = append(s, b-1, b, b+1)
	}
	return s
}

type gemmCase struct {
	tA, tB           Transpose
	m, n, k          int
	alpha, beta      float64
	padA, padB, padC int
	threads          int
}

func (g gemmCase) String() string {
	return fmt.Sprintf("tA=%d tB=%d m=%d n=%d k=%d α=%g β=%g pads=%d,%d,%d threads=%d", g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.beta, g.padA, g.padB, g.padC, g.threads)
}

// checkGemm runs one case through gemmDense with family f and compares it
// with gonum's reference Dgemm, checks that A and B were not modified and
// that no element outside C was written.
func checkGemm[T Float](t *testing.T, rng *rand.Rand, f isa.Family, g gemmCase) {
	t.Helper()
	ar, ac := g.m, g.k
	if g.tA == Trans {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.tB == Trans {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc := max(1, ac+g.padA), max(1, bc+g.padB), max(1, g.n+g.padC)
	a := randSlice[T](rng, max(0, ar*lda))
	b := randSlice[T](rng, max(0, br*ldb))
	c := randSlice[T](rng, g.m*ldc)
	for i := 0; i < g.m; i++ {
		for j := g.n; j < ldc; j++ {
			c[i*ldc+j] = sentinel
		}
	}
	if g.beta == 0 && g.m > 0 && g.n > 0 {
		c[0] = T(math.NaN()) // β = 0 must not read C
	}
	a0, b0 := slices.Clone(a), slices.Clone(b)
	want := to64(c)
	if g.beta == 0 && len(want) > 0 {
		want[0] = 0
	}
	if g.m > 0 && g.n > 0 {
		ref.Dgemm(blasT(g.tA), blasT(g.tB), g.m, g.n, g.k, g.alpha, to64(a), lda, to64(b), ldb, g.beta, want, ldc)
	}
	err := gemmDense(f, g.threads, g.tA, g.tB, g.m, g.n, g.k, T(g.alpha), a, lda, b, ldb, T(g.beta), c, ldc)
	if err != nil {
		t.Fatalf("%v: %v", g, err)
	}
	if !slices.Equal(a, a0) || !slices.Equal(b, b0) {
		t.Fatalf("%v: inputs modified", g)
	}
	tol := tolerance[T](g.k)
	for i := 0; i < g.m; i++ {
		for j := 0; j < ldc; j++ {
			got, w := float64(c[i*ldc+j]), want[i*ldc+j]
			if j >= g.n {
				if got != sentinel {
					t.Fatalf("%v: wrote outside C at (%d,%d)", g, i, j)
				}
				continue
			}
			if !(math.Abs(got-w) <= tol*(1+math.Abs(w))) {
				t.Fatalf("%v: C[%d][%d] = %g, want %g", g, i, j, got, w)
			}
		}
	}
}

func blasT(t Transpose) blas.Transpose {
	if t == Trans {
		return blas.Trans
	}
	return blas.NoTrans
}

var scalars = []float64{0, 1, -1.5}

func testGemmFamily[T Float](t *testing.T, f isa.Family) {
	rng := rand.New(rand.NewPCG(1, uint64(f)))
	sizes := edgeSizes[T](f)
	n := 120
	if testing.Short() {
		n = 30
	}
	pick := func() int { return sizes[rng.IntN(len(sizes))] }
	for it := 0; it < n; it++ {
		g := gemmCase{
			tA: Transpose(rng.IntN(2)), tB: Transpose(rng.IntN(2)),
			m: pick(), n: pick(), k: pick(),
			alpha: scalars[rng.IntN(3)], beta: scalars[rng.IntN(3)],
			padA: rng.IntN(3), padB: rng.IntN(3), padC: rng.IntN(3),
			threads: 1 + rng.IntN(3),
		}
		// Keep the float64 reference quick: at most one large dimension.
		if g.m*g.n*g.k > 1<<22 {
			g.k = 1 + rng.IntN(40)
		}
		checkGemm[T](t, rng, f, g)
	}
	// k much larger than m and n: exercises the K split.
	for _, g := range []gemmCase{
		{m: 13, n: 37, k: 3001, alpha: 1, beta: 0, threads: 2},
		{tA: Trans, m: 40, n: 33, k: 2000, alpha: -1.5, beta: 1, threads: 3},
		{tB: Trans, m: 1, n: 1, k: 5000, alpha: 1, beta: -1.5, threads: 2},
		{m: 0, n: 5, k: 3, alpha: 1, beta: 1, threads: 1},
		{m: 4, n: 5, k: 0, alpha: 1, beta: -1.5, threads: 1},
		{m: 100, n: 300, k: 70, alpha: 1, beta: 1, threads: 2},
		{m: 300, n: 100, k: 70, alpha: 1, beta: 1, threads: 2},
	} {
		checkGemm[T](t, rng, f, g)
	}
}

func TestGemm(t *testing.T) {
	for _, f := range isa.Available() {
		t.Run("f64/"+f.String(), func(t *testing.T) { testGemmFamily[float64](t, f) })
		t.Run("f32/"+f.String(), func(t *testing.T) { testGemmFamily[float32](t, f) })
	}
}

// checkSyrk compares syrkDense with gonum's Dsyrk (C = α·AᵀA + β·C, A k×n).
func checkSyrk[T Float](t *testing.T, rng *rand.Rand, f isa.Family, uplo Uplo, n, k int, alpha, beta float64, pad, threads int) {
	t.Helper()
	name := fmt.Sprintf("uplo=%d n=%d k=%d α=%g β=%g pad=%d threads=%d", uplo, n, k, alpha, beta, pad, threads)
	lda, ldc := max(1, n+pad), max(1, n+pad)
	a := randSlice[T](rng, k*lda)
	c := randSlice[T](rng, n*ldc)
	a0 := slices.Clone(a)
	c0 := to64(c)
	want := to64(c)
	ul := blas.Upper
	if uplo == Lower {
		ul = blas.Lower
	}
	if n > 0 {
		ref.Dsyrk(ul, blas.Trans, n, k, alpha, to64(a), lda, beta, want, ldc)
	}
	if err := syrkDense(f, threads, uplo, n, k, T(alpha), a, lda, T(beta), c, ldc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !slices.Equal(a, a0) {
		t.Fatalf("%s: A modified", name)
	}
	tol := tolerance[T](k)
	for i := 0; i < n; i++ {
		for j := 0; j < ldc; j++ {
			got := float64(c[i*ldc+j])
			w := want[i*ldc+j]
			switch {
			case j >= n || (uplo == Upper && j < i) || (uplo == Lower && j > i):
				w = c0[i*ldc+j] // untouched
			case uplo == Full && j < i:
				w = want[j*ldc+i]
			}
			if j >= n || (uplo != Full && w == c0[i*ldc+j] && ((uplo == Upper && j < i) || (uplo == Lower && j > i))) {
				if got != w {
					t.Fatalf("%s: wrote outside the triangle at (%d,%d)", name, i, j)
				}
				continue
			}
			if !(math.Abs(got-w) <= tol*(1+math.Abs(w))) {
				t.Fatalf("%s: C[%d][%d] = %g, want %g", name, i, j, got, w)
			}
		}
	}
}

func testSyrkFamily[T Float](t *testing.T, f isa.Family) {
	rng := rand.New(rand.NewPCG(2, uint64(f)))
	sizes := edgeSizes[T](f)
	iters := 60
	if testing.Short() {
		iters = 15
	}
	for it := 0; it < iters; it++ {
		n, k := sizes[rng.IntN(len(sizes))], sizes[rng.IntN(len(sizes))]
		if n*n*k > 1<<22 {
			k = 1 + rng.IntN(50)
		}
		checkSyrk[T](t, rng, f, Uplo(rng.IntN(3)), n, k, scalars[rng.IntN(3)], scalars[rng.IntN(3)], rng.IntN(2), 1+rng.IntN(3))
	}
	for _, uplo := range []Uplo{Upper, Lower, Full} {
		checkSyrk[T](t, rng, f, uplo, 70, 3000, 1, 0, 0, 2) // K split
		checkSyrk[T](t, rng, f, uplo, 100, 50, -1.5, 1, 1, 3)
	}
}

func TestSyrk(t *testing.T) {
	for _, f := range isa.Available() {
		t.Run("f64/"+f.String(), func(t *testing.T) { testSyrkFamily[float64](t, f) })
		t.Run("f32/"+f.String(), func(t *testing.T) { testSyrkFamily[float32](t, f) })
	}
}

func TestInvalid(t *testing.T) {
	a := make([]float64, 100)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"negative m", Dgemm(NoTrans, NoTrans, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2)},
		{"lda too small", Dgemm(NoTrans, NoTrans, 3, 3, 4, 1, a, 3, a, 3, 0, a, 3)},
		{"ldb too small (trans)", Dgemm(NoTrans, Trans, 3, 5, 4, 1, a, 4, a, 3, 0, a, 5)},
		{"ldc too small", Dgemm(NoTrans, NoTrans, 3, 3, 3, 1, a, 3, a, 3, 0, a, 2)},
		{"C too short", Dgemm(NoTrans, NoTrans, 3, 40, 3, 1, a, 3, a, 40, 0, a, 40)},
		{"bad transpose", Dgemm(Transpose(7), NoTrans, 1, 1, 1, 1, a, 1, a, 1, 0, a, 1)},
		{"syrk bad uplo", Dsyrk(Uplo(9), 2, 2, 1, a, 2, 0, a, 2)},
		{"syrk negative k", Dsyrk(Upper, 2, -2, 1, a, 2, 0, a, 2)},
		{"syrk A too short", Dsyrk(Upper, 20, 20, 1, a, 20, 0, make([]float64, 400), 20)},
		{"gemm nil", Gemm[float64](1, 1, nil, nil, 0, a, 1)},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	d, _ := NewDense(a, 3, 4, 4, false)
	if err := Gemm[float64](1, 1, d, d, 0, a, 4); err == nil {
		t.Error("Gemm with mismatched inner dimensions: no error")
	}
	if _, err := NewDense(a, 11, 10, 10, false); err == nil {
		t.Error("NewDense with short data: no error")
	}
}

// TestNoAllocs checks that a repeated product at one size allocates
// nothing after the first call, single- and multi-threaded.
func TestNoAllocs(t *testing.T) {
	if testing.Short() && race.Enabled {
		t.Skip("allocation counts differ under the race detector")
	}
	const m, n, k = 200, 300, 400
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, n*n)
	for _, th := range []int{1, 2} {
		allocs := testing.AllocsPerRun(10, func() {
			if err := GemmDense(th, NoTrans, NoTrans, m, n, k, 1, a, k, b, n, 0, c, n); err != nil {
				t.Fatal(err)
			}
			if err := SyrkDense(th, Full, n, k, 1, b, n, 0, c[:n*n], n); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("threads=%d: %v allocations per call", th, allocs)
		}
	}
}

// TestSyrkDense checks that the worker-bounded entry point computes what
// Ssyrk and Dsyrk compute, for one worker and for the default.
func TestSyrkDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const n, k = 37, 300
	a32, a64 := randSlice[float32](rng, k*n), randSlice[float64](rng, k*n)
	for _, workers := range []int{0, 1, 2} {
		want32, got32 := make([]float32, n*n), make([]float32, n*n)
		want64, got64 := make([]float64, n*n), make([]float64, n*n)
		if err := Ssyrk(Full, n, k, 1, a32, n, 0, want32, n); err != nil {
			t.Fatal(err)
		}
		if err := Dsyrk(Upper, n, k, 1, a64, n, 0, want64, n); err != nil {
			t.Fatal(err)
		}
		if err := SyrkDense(workers, Full, n, k, 1, a32, n, 0, got32, n); err != nil {
			t.Fatal(err)
		}
		if err := SyrkDense(workers, Upper, n, k, 1, a64, n, 0, got64, n); err != nil {
			t.Fatal(err)
		}
		for i := range want32 {
			if math.Abs(float64(got32[i]-want32[i])) > 1e-3*(1+math.Abs(float64(want32[i]))) || math.Abs(got64[i]-want64[i]) > 1e-10*(1+math.Abs(want64[i])) {
				t.Fatalf("workers=%d: element %d differs", workers, i)
			}
		}
	}
	if SyrkDense(1, Full, n, k, 1, a32[:10], n, 0, make([]float32, n*n), n) == nil {
		t.Fatal("short A accepted")
	}
}

// FuzzGemm checks products of fuzzed shapes, transposes, leading
// dimensions and thread counts against gonum's reference Dgemm, on every
// kernel family.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(5), uint8(7), uint8(3), uint8(0), uint8(1), uint8(2), uint64(1))
	f.Add(uint8(33), uint8(1), uint8(64), uint8(3), uint8(0), uint8(0), uint64(2))
	f.Fuzz(func(t *testing.T, m, n, k, trans, pad, threads uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 9))
		for _, fam := range isa.Available() {
			checkGemm[float64](t, rng, fam, gemmCase{
				tA: Transpose(trans & 1), tB: Transpose(trans >> 1 & 1),
				m: int(m % 80), n: int(n % 80), k: int(k % 80),
				alpha: scalars[seed%3], beta: scalars[seed/3%3],
				padA: int(pad % 4), padB: int(pad / 4 % 4), padC: int(pad / 16 % 4),
				threads: 1 + int(threads%4),
			})
		}
	})
}
