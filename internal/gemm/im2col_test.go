package gemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// naiveIm2col materialises the blocked im2col matrix of g straight from
// its definition (Im2colGeom's doc comment).
func naiveIm2col(x []float64, g Im2colGeom) (rows, cols int, out []float64) {
	step := g.Stride * g.Sampling
	oh := (g.H+2*g.Pad-g.Dilation*(g.KH-1)-1)/step + 1
	ow := (g.W+2*g.Pad-g.Dilation*(g.KW-1)-1)/step + 1
	nf := g.C * g.KH * g.KW
	flat := make([]float64, g.N*oh*ow*nf) // unblocked rows
	for n := 0; n < g.N; n++ {
		for y := 0; y < oh; y++ {
			for xo := 0; xo < ow; xo++ {
				r := (n*oh+y)*ow + xo
				for c := 0; c < g.C; c++ {
					for ki := 0; ki < g.KH; ki++ {
						for kj := 0; kj < g.KW; kj++ {
							iy, ix := y*step+ki*g.Dilation-g.Pad, xo*step+kj*g.Dilation-g.Pad
							v := 0.0
							if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
								v = x[((n*g.C+c)*g.H+iy)*g.W+ix]
							}
							flat[r*nf+(c*g.KH+ki)*g.KW+kj] = v
						}
					}
				}
			}
		}
	}
	b := g.Block
	if b == 0 {
		b = g.C
	}
	groups, fb := g.C/b, b*g.KH*g.KW
	out = make([]float64, len(flat))
	for r := 0; r < g.N*oh*ow; r++ {
		for gi := 0; gi < groups; gi++ {
			for j := 0; j < fb; j++ {
				f := gi*fb + j
				if g.Interleaved {
					f = j*groups + gi
				}
				out[(r*groups+gi)*fb+j] = flat[r*nf+f]
			}
		}
	}
	return g.N * oh * ow * groups, fb, out
}

// checkIm2colPanels compares every panel layout of the implicit packer
// with the dense packer over the materialised matrix.
func checkIm2colPanels(t *testing.T, rng *rand.Rand, g Im2colGeom) (*Im2col[float64], *Dense[float64]) {
	t.Helper()
	x := randSlice[float64](rng, g.N*g.C*g.H*g.W)
	im, err := NewIm2col(x, g)
	if err != nil {
		t.Fatalf("%+v: %v", g, err)
	}
	rows, cols, mat := naiveIm2col(x, g)
	if r, c := im.Dims(); r != rows || c != cols {
		t.Fatalf("%+v: Dims = %d×%d, want %d×%d", g, r, c, rows, cols)
	}
	d, err := NewDense(mat, rows, cols, max(1, cols), false)
	if err != nil {
		t.Fatal(err)
	}
	for it := 0; it < 6 && rows > 0; it++ {
		r0, c0 := rng.IntN(rows), rng.IntN(cols)
		nr, nc := 1+rng.IntN(rows-r0), 1+rng.IntN(cols-c0)
		w := []int{1, 4, 6, 12, 16, 32}[rng.IntN(6)]
		for _, rowsMode := range []bool{false, true} {
			n := (nr + w - 1) / w * w * nc
			if !rowsMode {
				n = (nc + w - 1) / w * w * nr
			}
			got, want := make([]float64, n), make([]float64, n)
			for i := range got {
				got[i] = sentinel // padding must be written as zero
			}
			if rowsMode {
				im.PackRows(got, r0, nr, c0, nc, w)
				d.PackRows(want, r0, nr, c0, nc, w)
			} else {
				im.PackCols(got, r0, nr, c0, nc, w)
				d.PackCols(want, r0, nr, c0, nc, w)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%+v: rows=%v block (%d+%d, %d+%d) w=%d differs from dense", g, rowsMode, r0, nr, c0, nc, w)
			}
		}
	}
	return im, d
}

func randGeom(rng *rand.Rand) Im2colGeom {
	g := Im2colGeom{
		N: 1 + rng.IntN(3), C: 1 + rng.IntN(6), H: 1 + rng.IntN(12), W: 1 + rng.IntN(12),
		KH: 1 + rng.IntN(3), KW: 1 + rng.IntN(3),
		Stride: 1 + rng.IntN(2), Pad: rng.IntN(3), Dilation: 1 + rng.IntN(2), Sampling: 1 + rng.IntN(3),
		Interleaved: rng.IntN(2) == 0,
	}
	if divs := divisors(g.C); rng.IntN(2) == 0 {
		g.Block = divs[rng.IntN(len(divs))]
	}
	for g.H+2*g.Pad < g.Dilation*(g.KH-1)+1 {
		g.H++
	}
	for g.W+2*g.Pad < g.Dilation*(g.KW-1)+1 {
		g.W++
	}
	return g
}

func divisors(n int) []int {
	var d []int
	for i := 1; i <= n; i++ {
		if n%i == 0 {
			d = append(d, i)
		}
	}
	return d
}

// TestIm2col checks the implicit packer panel by panel, then whole
// products: the covariance XᵀX (SYRK) and a convolution-shaped GEMM
// W·Xᵀ, against dense products over the materialised matrix.
func TestIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	iters := 150
	if testing.Short() {
		iters = 40
	}
	for it := 0; it < iters; it++ {
		checkIm2colPanels(t, rng, randGeom(rng))
	}
	geoms := []Im2colGeom{
		{N: 2, C: 8, H: 13, W: 11, KH: 3, KW: 3, Stride: 1, Pad: 1, Dilation: 1, Sampling: 3, Block: 4, Interleaved: true},
		{N: 3, C: 6, H: 9, W: 10, KH: 3, KW: 2, Stride: 2, Pad: 2, Dilation: 2, Sampling: 1, Block: 3},
		{N: 1, C: 5, H: 16, W: 16, KH: 1, KW: 1, Stride: 1, Pad: 0, Dilation: 1, Sampling: 1},
	}
	for _, f := range isa.Available() {
		for _, g := range geoms {
			im, d := checkIm2colPanels(t, rng, g)
			rows, cols := im.Dims()
			for _, uplo := range []Uplo{Upper, Lower, Full} {
				got, want := make([]float64, cols*cols), make([]float64, cols*cols)
				if err := syrk(f, 2, uplo, 0.5, Packer[float64](im), 0, got, cols, nil); err != nil {
					t.Fatal(err)
				}
				if err := syrk(f, 2, uplo, 0.5, Packer[float64](d), 0, want, cols, nil); err != nil {
					t.Fatal(err)
				}
				closeSlices(t, f, "syrk", got, want, rows)
			}
			// Convolution shape: Y (Cout × rows) = Wt (Cout × cols) · Xᵀ.
			const cout = 7
			wt := randSlice[float64](rng, cout*cols)
			wd, _ := NewDense(wt, cout, cols, cols, false)
			got, want := make([]float64, cout*rows), make([]float64, cout*rows)
			for _, pair := range []struct {
				b   Packer[float64]
				out []float64
			}{{&transposed[float64]{im}, got}, {&transposed[float64]{d}, want}} {
				cl := getCall[float64]()
				cl.setup(cout, rows, cols, 1, wd, pair.b, 0, pair.out, rows, whole, false)
				cl.run(f, 2)
				putCall(cl)
			}
			closeSlices(t, f, "conv", got, want, cols)
		}
	}
}

func closeSlices(t *testing.T, f isa.Family, what string, got, want []float64, k int) {
	t.Helper()
	tol := tolerance[float64](k)
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol*(1+math.Abs(want[i]))) {
			t.Fatalf("%v %s: element %d = %g, want %g", f, what, i, got[i], want[i])
		}
	}
}

func TestIm2colInvalid(t *testing.T) {
	x := make([]float32, 100)
	for _, g := range []Im2colGeom{
		{N: 1, C: 1, H: 10, W: 10, KH: 3, KW: 3, Stride: 0, Dilation: 1, Sampling: 1},
		{N: 1, C: 5, H: 5, W: 5, KH: 3, KW: 3, Stride: 1, Dilation: 1, Sampling: 1},            // x too short
		{N: 1, C: 3, H: 2, W: 2, KH: 3, KW: 3, Stride: 1, Dilation: 1, Sampling: 1, Block: 2},  // block ∤ C
		{N: 1, C: 1, H: 2, W: 2, KH: 5, KW: 1, Stride: 1, Dilation: 1, Sampling: 1},            // kernel too large
		{N: 1, C: 1, H: 10, W: 10, KH: 3, KW: 3, Stride: 1, Dilation: 1, Sampling: 1, Pad: -1}, // negative pad
	} {
		if _, err := NewIm2col(x, g); err == nil {
			t.Errorf("%+v: no error", g)
		}
	}
}

// FuzzGemm checks products of fuzzed shapes, transposes, leading
// dimensions and thread counts against gonum's reference Dgemm, on every
// kernel family, and the implicit im2col packer of a fuzzed geometry
// against the materialised matrix.
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
		checkIm2colPanels(t, rng, randGeom(rng))
	})
}
