package winograd

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// outCase is one output side to check: a batch of n images of cout
// channels of oh×ow outputs, tile rows [row0, row1) of it, products laid
// out with position stride rs and channel stride ld.
type outCase struct {
	n, cout, oh, ow, row0, row1, rs, ld int
	bias                                bool
	stream                              bool // ask for non-temporal stores
	misalign                            bool // dst not 64-byte aligned
}

// runOutput fills products and a sentinel output for c, runs Output for
// family fam (or, where it has no kernel, the Kronecker transform and
// Scatter with the same strides) and returns the output, the products
// and the bias. The products' padding (columns past the span's tiles)
// holds NaN, which must reach no output.
func runOutput[T Float](t *testing.T, fam isa.Family, tl *Tile, c outCase, rng *rand.Rand) (dst, y, bias []T, kernel bool) {
	th, tw := Tiles(tl, c.oh, c.ow)
	a2 := tl.Alpha * tl.Alpha
	nt := (c.row1 - c.row0) * tw
	y = make([]T, (a2-1)*c.rs+(c.cout-1)*c.ld+nt)
	for i := range y {
		y[i] = T(math.NaN())
	}
	for k := 0; k < a2; k++ {
		for co := 0; co < c.cout; co++ {
			for j := 0; j < nt; j++ {
				y[k*c.rs+co*c.ld+j] = T(rng.NormFloat64())
			}
		}
	}
	if c.bias {
		bias = make([]T, c.cout)
		for i := range bias {
			bias[i] = T(rng.NormFloat64())
		}
	}
	dst = alignedOut[T](c.n*c.cout*c.oh*c.ow, c.misalign)
	for i := range dst {
		dst[i] = 1234.5
	}
	if ran, finite := Output(fam, tl, dst, y, c.rs, c.ld, bias, c.cout, c.oh, c.ow, th, tw, c.row0, c.row1, c.stream); ran {
		if !finite {
			t.Fatalf("%v %+v: finite outputs reported non-finite", fam, c)
		}
		return dst, y, bias, true
	}
	// The fallback the layers run: Y = (Aᵀ⊗Aᵀ)·M over all columns, then
	// Scatter with channel stride ld and tile stride 1.
	m2, kout := tl.M*tl.M, OutputMatrix[T](tl)
	cols := (c.cout-1)*c.ld + (c.row1-c.row0)*tw
	yt := make([]T, (m2-1)*c.rs+cols)
	for k := 0; k < m2; k++ {
		for col := 0; col < cols; col++ {
			var s T
			for l := 0; l < a2; l++ {
				s += kout[k*a2+l] * y[l*c.rs+col]
			}
			yt[k*c.rs+col] = s
		}
	}
	Scatter(tl, dst, yt, c.rs, c.ld, 1, bias, c.cout, c.oh, c.ow, th, tw, c.row0, c.row1)
	return dst, y, bias, false
}

// alignedOut returns n elements starting at a 64-byte boundary, or one
// element past one.
func alignedOut[T Float](n int, misalign bool) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	buf := make([]T, n+64/size+1)
	off := (64 - int(uintptr(unsafe.Pointer(&buf[0]))%64)) % 64 / size
	if misalign {
		off++
	}
	return buf[off : off+n : off+n]
}

// checkOutput compares dst with Aᵀ·M·A + bias computed in float64 from
// the products, and checks that outputs outside the span's tile rows
// kept the sentinel.
func checkOutput[T Float](t *testing.T, tl *Tile, c outCase, dst, y, bias []T, tol float64) {
	t.Helper()
	m, a := tl.M, tl.Alpha
	th, tw := Tiles(tl, c.oh, c.ow)
	for img := 0; img < c.n; img++ {
		for co := 0; co < c.cout; co++ {
			for oy := 0; oy < c.oh; oy++ {
				row := img*th + oy/m
				for ox := 0; ox < c.ow; ox++ {
					got := float64(dst[((img*c.cout+co)*c.oh+oy)*c.ow+ox])
					if row < c.row0 || row >= c.row1 {
						if got != 1234.5 {
							t.Fatalf("%+v: output (%d,%d,%d,%d) outside the span written: %v", c, img, co, oy, ox, got)
						}
						continue
					}
					tile := (row-c.row0)*tw + ox/m
					i, j := oy%m, ox%m
					// want and the magnitude of its terms, which bounds the
					// rounding error of any order of summation.
					want, mag := 0.0, 0.0
					if bias != nil {
						want, mag = float64(bias[co]), math.Abs(float64(bias[co]))
					}
					for p := 0; p < a; p++ {
						for q := 0; q < a; q++ {
							v := tl.AT[i][p] * float64(y[(p*a+q)*c.rs+co*c.ld+tile]) * tl.AT[j][q]
							want += v
							mag += math.Abs(v)
						}
					}
					if math.Abs(got-want) > tol*mag {
						t.Fatalf("%+v: output (%d,%d,%d,%d) = %v, want %v", c, img, co, oy, ox, got, want)
					}
				}
			}
		}
	}
}

// TestOutputMatchesNaive: on every family, Output (or the Kronecker
// transform and Scatter where it has no kernel) equals the naive
// Aᵀ·M·A + bias on many shapes: outputs from 1 to 40 wide and high
// (multiples of 4 and 64 and neither), tile counts around 16, spans
// that start and end inside a batch, padded strides, bias or none.
func TestOutputMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	tl := F43
	var cases []outCase
	for _, ow := range []int{1, 3, 4, 5, 8, 17, 31, 32, 33, 36, 40, 60, 61, 63, 64, 65, 68, 69, 127, 128, 129} {
		oh := 1 + rng.IntN(40)
		cases = append(cases, outCase{n: 1 + rng.IntN(2), cout: 1 + rng.IntN(5), oh: oh, ow: ow, bias: rng.IntN(2) == 0})
	}
	for i := 0; i < 40; i++ {
		cases = append(cases, outCase{n: 1 + rng.IntN(3), cout: 1 + rng.IntN(6), oh: 1 + rng.IntN(40), ow: 1 + rng.IntN(40), bias: i%2 == 0})
	}
	// Non-temporal stores: widths that allow them, aligned or not.
	for _, ow := range []int{16, 48, 64, 128, 144, 192} {
		for _, mis := range []bool{false, true} {
			cases = append(cases, outCase{n: 2, cout: 1 + rng.IntN(4), oh: 1 + rng.IntN(30), ow: ow, bias: true, stream: true, misalign: mis})
		}
	}
	for i := range cases {
		cases[i].stream = cases[i].stream || i%3 == 0
	}
	for i := range cases {
		c := &cases[i]
		th, tw := Tiles(tl, c.oh, c.ow)
		rows := c.n * th
		c.row0 = rng.IntN(rows)
		c.row1 = c.row0 + 1 + rng.IntN(rows-c.row0)
		nt := (c.row1 - c.row0) * tw
		c.ld = nt + rng.IntN(20)
		c.rs = c.cout*c.ld + rng.IntN(20)
	}
	kernels := 0
	for _, fam := range isa.Available() {
		for _, c := range cases {
			dst, y, bias, k := runOutput[float32](t, fam, tl, c, rng)
			if k {
				kernels++
			}
			checkOutput(t, tl, c, dst, y, bias, 1e-5)
			dst64, y64, bias64, k64 := runOutput[float64](t, fam, tl, c, rng)
			if k64 {
				t.Fatalf("%v: a float64 output kernel ran; the tests expect none", fam)
			}
			checkOutput(t, tl, c, dst64, y64, bias64, 1e-12)
		}
		if want := HasOutputKernel[float32](fam, tl); want != (kernels > 0) {
			t.Fatalf("%v: kernel expected %v, ran %d times", fam, want, kernels)
		}
		kernels = 0
	}
}

// TestOutputOtherPoints: the kernel reads Aᵀ from the tile, so an
// F(4×4, 3×3) on other points is transformed by its own matrix.
func TestOutputOtherPoints(t *testing.T) {
	tl, err := New(4, 3, []float64{0, 0.5, -0.5, 1.5, -3})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 9))
	for _, fam := range isa.Available() {
		c := outCase{n: 2, cout: 3, oh: 23, ow: 70, bias: true}
		th, tw := Tiles(tl, c.oh, c.ow)
		c.row0, c.row1 = 1, 2*th
		c.ld = (c.row1-c.row0)*tw + 3
		c.rs = c.cout*c.ld + 5
		dst, y, bias, _ := runOutput[float32](t, fam, tl, c, rng)
		checkOutput(t, tl, c, dst, y, bias, 1e-5)
	}
}

// TestOutputReportsNonFinite: an infinite or NaN product in any tile of
// the span makes the kernel report non-finite outputs.
func TestOutputReportsNonFinite(t *testing.T) {
	tl := F43
	rng := rand.New(rand.NewPCG(11, 13))
	fam := isa.Selected()
	if !HasOutputKernel[float32](fam, tl) {
		t.Skip("no output kernel on this family")
	}
	for trial := 0; trial < 50; trial++ {
		c := outCase{n: 1 + rng.IntN(2), cout: 1 + rng.IntN(4), oh: 1 + rng.IntN(40), ow: 1 + rng.IntN(140), stream: trial%2 == 0}
		th, tw := Tiles(tl, c.oh, c.ow)
		c.row0 = rng.IntN(c.n * th)
		c.row1 = c.row0 + 1 + rng.IntN(c.n*th-c.row0)
		nt := (c.row1 - c.row0) * tw
		c.ld, c.rs = nt+1, c.cout*(nt+1)+3
		y := make([]float32, 36*c.rs)
		bad := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}[trial%3]
		y[rng.IntN(36)*c.rs+rng.IntN(c.cout)*c.ld+rng.IntN(nt)] = bad
		dst := make([]float32, c.n*c.cout*c.oh*c.ow)
		ran, finite := Output(fam, tl, dst, y, c.rs, c.ld, nil, c.cout, c.oh, c.ow, th, tw, c.row0, c.row1, c.stream)
		if !ran || finite {
			t.Fatalf("%+v: a %v product: ran %v, finite %v", c, bad, ran, finite)
		}
	}
}

// TestOutputOtherTiles: tiles other than m = 4, α = 6 have no kernel.
func TestOutputOtherTiles(t *testing.T) {
	for _, fam := range isa.Available() {
		for _, tl := range []*Tile{F23, F63} {
			if HasOutputKernel[float32](fam, tl) {
				t.Fatalf("%v: F(%d,%d) reports a kernel", fam, tl.M, tl.R)
			}
		}
	}
}

// TestOutputAllocates: a call allocates nothing.
func TestOutputAllocates(t *testing.T) {
	tl := F43
	c := outCase{n: 1, cout: 4, oh: 20, ow: 36}
	th, tw := Tiles(tl, c.oh, c.ow)
	c.row0, c.row1 = 0, th
	c.ld = th*tw + 16
	c.rs = c.cout * c.ld
	y := make([]float32, 36*c.rs)
	dst := make([]float32, c.cout*c.oh*c.ow)
	bias := make([]float32, c.cout)
	fam := isa.Selected()
	if n := testing.AllocsPerRun(20, func() {
		Output(fam, tl, dst, y, c.rs, c.ld, bias, c.cout, c.oh, c.ow, th, tw, c.row0, c.row1, false)
	}); n != 0 {
		t.Fatalf("Output allocates %v times per call", n)
	}
}
