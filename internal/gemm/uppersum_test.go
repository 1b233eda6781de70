package gemm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// symmetricSlice returns a random n×n matrix that is exactly symmetric.
func symmetricSlice[T Float](rng *rand.Rand, n int) []T {
	a := randSlice[T](rng, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			a[i*n+j] = a[j*n+i]
		}
	}
	return a
}

// checkUpperSum runs one UpperSum call and compares every element of the
// upper triangle with the float64 sum of products, the lower triangle with
// the mirror (or the untouched sentinel) and the padding after C with the
// sentinel.
func checkUpperSum[T Float](t *testing.T, rng *rand.Rand, u *UpperSum[T], f isa.Family, n, ops, workers int, alpha float64, flags SumFlags) {
	t.Helper()
	name := fmt.Sprintf("n=%d ops=%d workers=%d α=%g flags=%03b", n, ops, workers, alpha, flags)
	mirror := flags&Mirror != 0
	var a [2][]T
	var b [2][]T
	for s := 0; s < ops; s++ {
		if flags&(SymA1<<s) != 0 {
			a[s] = symmetricSlice[T](rng, n)
		} else {
			a[s] = randSlice[T](rng, n*n)
		}
		b[s] = randSlice[T](rng, n*n)
	}
	const pad = 5
	c := make([]T, n*n+pad)
	for i := range c {
		c[i] = sentinel
	}
	if err := u.upper(f, workers, n, T(alpha), a[0], b[0], a[1], b[1], c[:n*n], flags); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	tol := tolerance[T](ops * n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			want := 0.0
			for s := 0; s < ops; s++ {
				for p := 0; p < n; p++ {
					want += float64(a[s][i*n+p]) * float64(b[s][p*n+j])
				}
			}
			want *= alpha
			if got := float64(c[i*n+j]); math.Abs(got-want) > tol*math.Abs(alpha) {
				t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i, j, got, want)
			}
		}
		for j := 0; j < i; j++ {
			want := T(sentinel)
			if mirror {
				want = c[j*n+i]
			}
			if c[i*n+j] != want {
				t.Fatalf("%s: C[%d][%d] = %v below the diagonal, want %v", name, i, j, c[i*n+j], want)
			}
		}
	}
	for k := n * n; k < len(c); k++ {
		if c[k] != sentinel {
			t.Fatalf("%s: padding %d written", name, k-n*n)
		}
	}
}

// flagsOf returns the flags of symmetric A operands and mirroring.
func flagsOf(symA, mirror bool) SumFlags {
	var f SumFlags
	if symA {
		f |= SymA1 | SymA2
	}
	if mirror {
		f |= Mirror
	}
	return f
}

func testUpperSumFamily[T Float](t *testing.T, f isa.Family) {
	rng := rand.New(rand.NewPCG(7, uint64(f)))
	kr := kernelFor[T](f)
	kmax := kr.kc + kr.kc/4
	sizes := []int{1, 2, 3, 5, 13, 31, 61, 97}
	for _, s := range []int{kr.mr, kr.nr, 2 * kr.nr} {
		sizes = append(sizes, s-1, s, s+1)
	}
	// Products this small run on one worker (minWorkPerThread): 150 is
	// the first size in the list that splits, onto 2 or 3 workers.
	sizes = append(sizes, 150)
	workerCounts := []int{1, 2, 3}
	// Around the depth blocks' edges (one and two blocks per product) and
	// rows a multiple of 1 KiB apart (128 and 256: B packed). The float64
	// reference is cubic, so one configuration each, and only the block
	// edge in short runs, none under the race detector.
	bigs := []int{kmax, kmax + 1, 2*kmax + 7, 128, 256}
	if testing.Short() {
		workerCounts = []int{1, 2}
		bigs = []int{kmax + 1, 256}
		if race.Enabled {
			bigs = nil
		}
	}
	var u UpperSum[T] // reused across sizes, as its owners do
	for _, n := range sizes {
		for _, workers := range workerCounts {
			for ops := 1; ops <= 2; ops++ {
				symA, mirror := (n+workers+ops)%2 == 0, (n+ops)%3 != 0
				alpha := []float64{1, -0.5, 1.75}[(n+workers)%3]
				checkUpperSum(t, rng, &u, f, n, ops, workers, alpha, flagsOf(symA, mirror))
			}
		}
	}
	for i, n := range bigs {
		checkUpperSum(t, rng, &u, f, n, 2, 2+i%2, 1, flagsOf(i != 1, i != 2))
	}
	// Every combination of the flags once at a size with edges.
	for flags := SumFlags(0); flags <= SymA1|SymA2|Mirror; flags++ {
		checkUpperSum(t, rng, &u, f, kr.nr*3+kr.mr+1, 2, 2, -0.5, flags)
	}
}

// TestUpperSum checks UpperSum against float64 sums on every family, at
// sizes around the tile and depth-block edges, on 1 to 3 workers.
func TestUpperSum(t *testing.T) {
	for _, f := range isa.Available() {
		t.Run(f.String(), func(t *testing.T) {
			testUpperSumFamily[float32](t, f)
			testUpperSumFamily[float64](t, f)
		})
	}
}

// TestUpperSumZero: n = 0 writes nothing, α = 0 writes zeros (not NaN)
// whatever the operands hold.
func TestUpperSumZero(t *testing.T) {
	var u UpperSum[float32]
	if err := u.Upper(2, 0, 1, nil, nil, nil, nil, nil, Mirror); err != nil {
		t.Fatal(err)
	}
	n := 40
	nan := make([]float32, n*n)
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	c := make([]float32, n*n)
	for i := range c {
		c[i] = sentinel
	}
	if err := u.Upper(2, n, 0, nan, nan, nan, nan, c, SymA1|SymA2); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			want := float32(0)
			if j < i {
				want = sentinel
			}
			if c[i*n+j] != want {
				t.Fatalf("C[%d][%d] = %v, want %v", i, j, c[i*n+j], want)
			}
		}
	}
}

func TestUpperSumErrors(t *testing.T) {
	var u UpperSum[float32]
	n := 10
	m, short := make([]float32, n*n), make([]float32, n*n-1)
	cases := []struct {
		name string
		err  error
		run  func() error
	}{
		{"negative n", errs.ErrParam, func() error { return u.Upper(1, -1, 1, m, m, nil, nil, m, 0) }},
		{"A2 without B2", errs.ErrParam, func() error { return u.Upper(1, n, 1, m, m, m, nil, m, 0) }},
		{"B2 without A2", errs.ErrParam, func() error { return u.Upper(1, n, 1, m, m, nil, m, m, 0) }},
		{"short A1", errs.ErrShape, func() error { return u.Upper(1, n, 1, short, m, nil, nil, m, 0) }},
		{"short B1", errs.ErrShape, func() error { return u.Upper(1, n, 1, m, short, nil, nil, m, 0) }},
		{"short A2", errs.ErrShape, func() error { return u.Upper(1, n, 1, m, m, short, m, m, 0) }},
		{"short B2", errs.ErrShape, func() error { return u.Upper(1, n, 1, m, m, m, short, m, 0) }},
		{"overflow", errs.ErrOverflow, func() error { return u.Upper(1, math.MaxInt/2, 1, m, m, nil, nil, m, 0) }},
		{"short C", errs.ErrShape, func() error { return u.Upper(1, n, 1, m, m, nil, nil, short, 0) }},
	}
	for _, tc := range cases {
		if err := tc.run(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestUpperSumAllocatesNothing(t *testing.T) {
	var u UpperSum[float32]
	n := 150
	rng := rand.New(rand.NewPCG(2, 2))
	a, b := symmetricSlice[float32](rng, n), randSlice[float32](rng, n*n)
	c := make([]float32, n*n)
	run := func() {
		if err := u.Upper(2, n, 1, a, b, b, a, c, SymA1|Mirror); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if allocs := testing.AllocsPerRun(10, run); allocs != 0 {
		t.Errorf("%v allocations per call", allocs)
	}
}

// BenchmarkUpperSum576: the sum of two 576×576 products on its upper
// triangle, mirrored (a sum of the isqrt backward); GFLOP/s counts the
// multiply-adds of the triangle, n²(n+1) per product.
func BenchmarkUpperSum576(b *testing.B) {
	const n = 576
	var u UpperSum[float32]
	rng := rand.New(rand.NewPCG(3, 3))
	a1, a2 := symmetricSlice[float32](rng, n), symmetricSlice[float32](rng, n)
	b1, b2 := randSlice[float32](rng, n*n), randSlice[float32](rng, n*n)
	c := make([]float32, n*n)
	for i := 0; i < b.N; i++ {
		if err := u.Upper(0, n, 1, a1, b1, a2, b2, c, SymA1|SymA2|Mirror); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(n)*float64(n)*float64(n+1)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestUpperSumSplits: the sizes testUpperSumFamily runs on several
// workers are indeed split (a change of minWorkPerThread or of the
// balance would otherwise leave the parallel path untested).
func TestUpperSumSplits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	for _, f := range isa.Available() {
		var u UpperSum[float32]
		rng := rand.New(rand.NewPCG(4, 4))
		for workers := 2; workers <= 3; workers++ {
			checkUpperSum(t, rng, &u, f, 150, 2, workers, 1, SymA1|Mirror)
			if u.nw < 2 || u.nw > workers {
				t.Errorf("%v: n=150 on %d workers ran on %d", f, workers, u.nw)
			}
		}
	}
}

// TestUpperSumCuts: for every size up to 700 and 2 to 8 workers, the
// rows are cut into non-empty parts in order, and no part has more than
// its equal share of the tiles plus one row panel (the rule cuts at the
// panel boundary nearest each share).
func TestUpperSumCuts(t *testing.T) {
	for _, f := range isa.Available() {
		kr := kernelFor[float32](f)
		for n := 1; n <= 700; n++ {
			for threads := 2; threads <= 8; threads++ {
				u := UpperSum[float32]{kern: kr, n: n}
				u.plan(threads, 2)
				np := (n + kr.mr - 1) / kr.mr
				nq := (n + kr.nr - 1) / kr.nr
				tiles := func(t int) int { return nq - t*kr.mr/kr.nr + 1 }
				total, widest := 0, 0
				for p := 0; p < np; p++ {
					total += tiles(p)
					widest = max(widest, tiles(p))
				}
				if u.nw < 1 || u.nw > threads || len(u.cut) != u.nw+1 || u.cut[0] != 0 || u.cut[u.nw] != np {
					t.Fatalf("%v n=%d threads=%d: %d parts, cuts %v", f, n, threads, u.nw, u.cut)
				}
				for w := 0; w < u.nw; w++ {
					if u.cut[w] >= u.cut[w+1] {
						t.Fatalf("%v n=%d threads=%d: part %d empty or out of order, cuts %v", f, n, threads, w, u.cut)
					}
					part := 0
					for p := u.cut[w]; p < u.cut[w+1]; p++ {
						part += tiles(p)
					}
					if part*u.nw > total+widest*u.nw {
						t.Errorf("%v n=%d threads=%d: part %d has %d of %d tiles in %d parts, cuts %v", f, n, threads, w, part, total, u.nw, u.cut)
					}
				}
			}
		}
	}
}
