package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// TestSmallPath checks the small-matrix path against gonum's reference on
// every family, for square products of every size from 1 to past the
// small path's bound (where the blocked path takes over), every
// combination of transposes, α and β (β = 0 with a NaN in C), padded
// leading dimensions, and a few rectangular shapes around the kernels'
// tiles. It also checks which path each product takes.
func TestSmallPath(t *testing.T) {
	for _, f := range isa.Available() {
		t.Run(f.String(), func(t *testing.T) {
			testSmallFamily[float32](t, f)
			testSmallFamily[float64](t, f)
		})
	}
}

func testSmallFamily[T Float](t *testing.T, f isa.Family) {
	rng := rand.New(rand.NewPCG(11, uint64(f)))
	top := smallMaxMN + 9
	step := 1
	if testing.Short() {
		step = 3
	}
	for n := 1; n <= top; n += step {
		g := gemmCase{
			tA: Transpose(n % 2), tB: Transpose(n / 2 % 2),
			m: n, n: n, k: n,
			alpha: scalars[1+n%2], beta: scalars[n%3],
			padA: n % 3, padB: (n + 1) % 3, padC: (n + 2) % 3,
			threads: 1 + n%2,
		}
		checkGemm[T](t, rng, f, g)
	}
	kr := kernelFor[T](f)
	var dims []int
	for _, b := range []int{kr.mr, kr.nr, 2 * kr.mr, 2 * kr.nr} {
		dims = append(dims, b-1, b, b+1)
	}
	// The masked kernels' heights (14: 27 = 2·14 − 1).
	for _, b := range []int{14, 28, 42} {
		dims = append(dims, b-1, b, b+1)
	}
	dims = append(dims, 1, 2, smallMaxMN-1, smallMaxMN, smallMaxMN+1, smallMaxN, smallMaxN+1)
	for it := 0; it < 60; it++ {
		g := gemmCase{
			tA: Transpose(rng.IntN(2)), tB: Transpose(rng.IntN(2)),
			m: dims[rng.IntN(len(dims))], n: dims[rng.IntN(len(dims))],
			k:     []int{1, 2, 7, 31, smallMaxK - 1, smallMaxK, smallMaxK + 1}[rng.IntN(7)],
			alpha: scalars[1+rng.IntN(2)], beta: scalars[rng.IntN(3)],
			padA: rng.IntN(3), padB: rng.IntN(3), padC: rng.IntN(3),
			threads: 1 + rng.IntN(2),
		}
		checkGemm[T](t, rng, f, g)
	}
}

// TestSmallDispatch checks the sizes that take the small path.
func TestSmallDispatch(t *testing.T) {
	cl := new(call[float32])
	for _, tc := range []struct {
		m, n, k, threads int
		alpha            float32
		want             bool
	}{
		{27, 27, 27, 2, 1, true},
		{1, 1, 1, 1, 1, true},
		{smallMaxMN, smallMaxMN, smallMaxK, 1, 1, true},
		{smallMaxMN + 1, 8, 8, 1, 1, false},
		{8, smallMaxN, 8, 1, 1, true},
		{8, smallMaxN + 1, 8, 1, 1, false},
		{8, 8, smallMaxK + 1, 1, 1, false},
		{smallMaxMN, smallMaxMN, smallMaxK, 2, 1, false}, // worth two workers
		{27, 27, 27, 1, 0, false},                        // β·C only
		{0, 27, 27, 1, 1, false},
		{27, 27, 0, 1, 1, false},
	} {
		cl.m, cl.n, cl.k, cl.alpha = tc.m, tc.n, tc.k, tc.alpha
		if got := cl.small(tc.threads); got != tc.want {
			t.Errorf("%d×%d×%d on %d threads, α=%v: small = %v, want %v", tc.m, tc.n, tc.k, tc.threads, tc.alpha, got, tc.want)
		}
	}
}

// TestSmallNoAllocs: repeated small products allocate nothing.
func TestSmallNoAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes pools drop their items")
	}
	const n = 27
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	allocs := testing.AllocsPerRun(20, func() {
		if err := GemmDense(1, NoTrans, NoTrans, n, n, n, 1, a, n, b, n, 0, c, n); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per call", allocs)
	}
}

// BenchmarkSmallGemm times square float32 products on one goroutine, by
// the small path and by the blocked one, side by side: where the blocked
// path wins is where smallMaxMN must stop.
func BenchmarkSmallGemm(b *testing.B) {
	fam := isa.Selected()
	for _, n := range []int{9, 27, 48, 64, 96, 128, 160, 192, 256} {
		rng := rand.New(rand.NewPCG(3, uint64(n)))
		x, y := randSlice[float32](rng, n*n), randSlice[float32](rng, n*n)
		c := make([]float32, n*n)
		for _, path := range []string{"small", "blocked"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, path), func(b *testing.B) {
				for b.Loop() {
					cl := getCall[float32]()
					cl.da = Dense[float32]{data: x, rows: n, cols: n, stride: n}
					cl.db = Dense[float32]{data: y, rows: n, cols: n, stride: n}
					cl.setup(n, n, n, 1, &cl.da, &cl.db, 0, c, n, whole, false)
					if path == "small" {
						cl.runSmall(fam)
					} else {
						cl.run(fam, 1)
					}
					putCall(cl)
				}
				b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestSmallSlack checks the in-place reads of partial panels: operands
// whose slices have SmallSlack elements of capacity past their end, filled
// with NaN, which must reach no element of C. Each size is checked against
// gonum's reference on every family, with a transposed A and a row-major B
// (the operands read in place).
func TestSmallSlack(t *testing.T) {
	for _, f := range isa.Available() {
		t.Run(f.String(), func(t *testing.T) {
			testSlack[float32](t, f)
			testSlack[float64](t, f)
		})
	}
}

func testSlack[T Float](t *testing.T, f isa.Family) {
	rng := rand.New(rand.NewPCG(13, uint64(f)))
	withSlack := func(n int) []T {
		s := make([]T, n+SmallSlack)
		for i := range s {
			if i < n {
				s[i] = T(rng.Float64()*2 - 1)
			} else {
				s[i] = T(math.NaN())
			}
		}
		return s[:n]
	}
	for n := 1; n <= 70; n++ {
		m, k := n, n
		if n%3 == 0 {
			m, k = n+5, n/3+1
		}
		a, b := withSlack(k*m), withSlack(k*n) // A stored k×m (transposed)
		c := make([]T, m*n)
		want := make([]float64, m*n)
		ref.Dgemm(blas.Trans, blas.NoTrans, m, n, k, -1.5, to64(a), m, to64(b), n, 0, want, n)
		if err := gemmDense(f, 1, Trans, NoTrans, m, n, k, -1.5, a, m, b, n, 0, c, n); err != nil {
			t.Fatal(err)
		}
		tol := tolerance[T](k)
		for i, w := range want {
			if got := float64(c[i]); !(math.Abs(got-w) <= tol*(1+math.Abs(w))) {
				t.Fatalf("m=%d n=%d k=%d: C[%d][%d] = %g, want %g", m, n, k, i/n, i%n, got, w)
			}
		}
	}
}

// TestStridedKernels checks each strided micro-kernel against its packed
// twin: with lda = MR the same panel, bitwise; with a wider lda, the
// panel packed from the strided rows.
func TestStridedKernels(t *testing.T) {
	for _, f := range isa.Available() {
		testStrided[float32](t, f)
		testStrided[float64](t, f)
	}
}

func testStrided[T Float](t *testing.T, f isa.Family) {
	kr := kernelFor[T](f)
	fs := stridedKernelFor[T](f)
	rng := rand.New(rand.NewPCG(17, uint64(f)))
	for _, k := range []int{1, 2, 3, 4, 5, 9, 27, 64} {
		for _, lda := range []int{kr.mr, kr.mr + 3} {
			a := randSlice[T](rng, (k-1)*lda+kr.mr)
			packed := make([]T, k*kr.mr)
			for p := 0; p < k; p++ {
				copy(packed[p*kr.mr:(p+1)*kr.mr], a[p*lda:p*lda+kr.mr])
			}
			b := randSlice[T](rng, k*kr.nr)
			for _, load := range []int{0, 1} {
				c0 := randSlice[T](rng, kr.mr*kr.nr)
				c1 := slices.Clone(c0)
				kr.fn(k, &packed[0], &b[0], kr.nr, &c0[0], kr.nr, -1.5, 0.5, load)
				fs(k, &a[0], lda, &b[0], kr.nr, &c1[0], kr.nr, -1.5, 0.5, load)
				if !slices.Equal(c0, c1) {
					t.Fatalf("%v %T k=%d lda=%d load=%d: strided kernel differs from the packed one", f, c0[0], k, lda, load)
				}
			}
		}
	}
}

// TestMaskedKernels checks each masked kernel, for every row count and
// column count of its tile, both with and without β, against the strided
// 12×32 kernel of the same family, bitwise (each element is the same
// sequence of multiply-adds): the elements in the rows and columns asked
// for are the strided kernel's, and nothing else of C (sentinels around
// the tile, a leading dimension wider than the tile) is written; B's
// columns past the mask are NaN and must not reach C. Families without
// masked kernels have nothing to check.
func TestMaskedKernels(t *testing.T) {
	for _, f := range isa.Available() {
		m12, m14 := maskedKernels[float32](f)
		if m12 == nil {
			if f == isa.AVX512 && isa.Supported(isa.AVX512) {
				t.Fatalf("%v: no masked kernels", f)
			}
			continue
		}
		fs := stridedKernelFor[float32](f)
		rng := rand.New(rand.NewPCG(19, uint64(f)))
		const nr, ldc, lda = maskedNR, maskedNR + 5, 14 + 3
		for _, mk := range []struct {
			mr int
			fn maskedKernel[float32]
		}{{12, m12}, {14, m14}} {
			for _, k := range []int{1, 3, 4, 5, 27} {
				a := randSlice[float32](rng, (k-1)*lda+mk.mr+2)
				for rows := 1; rows <= mk.mr; rows++ {
					for cols := 1; cols <= nr; cols++ {
						b := randSlice[float32](rng, k*nr)
						for p := 0; p < k; p++ {
							for j := cols; j < nr; j++ {
								b[p*nr+j] = float32(math.NaN())
							}
						}
						for _, load := range []int{0, 1} {
							// C: the tile at row 1, column 2 of a
							// (mr+2)×ldc sentinel frame.
							c := make([]float32, (mk.mr+2)*ldc)
							for i := range c {
								c[i] = sentinel
							}
							init := randSlice[float32](rng, mk.mr*nr)
							for i := 0; i < rows; i++ {
								copy(c[(i+1)*ldc+2:(i+1)*ldc+2+cols], init[i*nr:i*nr+cols])
							}
							mk.fn(k, &a[0], lda, &b[0], nr, &c[ldc+2], ldc, -1.5, 0.5, load, rows, uint32(uint64(1)<<cols-1))
							// The reference: the strided 12-row kernel on
							// rows r0…r0+11 of the panel, for each row.
							for i := 0; i < mk.mr+2; i++ {
								for j := 0; j < ldc; j++ {
									got := c[i*ldc+j]
									ti, tj := i-1, j-2
									if ti < 0 || ti >= rows || tj < 0 || tj >= cols {
										if got != sentinel {
											t.Fatalf("%v M%d k=%d rows=%d cols=%d load=%d: wrote (%d,%d) outside the tile", f, mk.mr, k, rows, cols, load, ti, tj)
										}
										continue
									}
									r0 := min(ti, mk.mr-12)
									ref := slices.Clone(init[r0*nr : (r0+12)*nr])
									for x := range ref {
										if math.IsNaN(float64(ref[x])) {
											ref[x] = 0
										}
									}
									fs(k, &a[r0], lda, &b[0], nr, &ref[0], nr, -1.5, 0.5, load)
									if want := ref[(ti-r0)*nr+tj]; got != want {
										t.Fatalf("%v M%d k=%d rows=%d cols=%d load=%d: C[%d][%d] = %v, want %v", f, mk.mr, k, rows, cols, load, ti, tj, got, want)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestMaskedMR checks the choice of tile height for the masked kernels.
func TestMaskedMR(t *testing.T) {
	for _, tc := range []struct{ m, want int }{
		{1, 12}, {9, 12}, {12, 12}, {13, 14}, {14, 14}, {24, 12}, {27, 14}, {28, 14}, {36, 12}, {48, 12}, {56, 14}, {128, 12},
	} {
		if got := maskedMR(tc.m); got != tc.want {
			t.Errorf("maskedMR(%d) = %d, want %d", tc.m, got, tc.want)
		}
	}
}
