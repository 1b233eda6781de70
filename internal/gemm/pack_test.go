package gemm

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// TestPackStrided checks the strided packer element by element against
// its definition, on every family this CPU runs, for panel widths and row
// counts that exercise the eight-row, four-row and single-row loops, the
// register transposes' whole blocks and edges (rows and columns not
// multiples of 16 or 8) and the zero padding.
func TestPackStrided(t *testing.T) {
	for _, fam := range isa.Available() {
		t.Run(fam.String(), func(t *testing.T) {
			testPackStrided[float32](t, fam)
			testPackStrided[float64](t, fam)
		})
	}
}

func testPackStrided[T Float](t *testing.T, fam isa.Family) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		w := []int{4, 6, 8, 12, 16, 24, 32}[rng.IntN(7)]
		ni, np := 1+rng.IntN(70), 1+rng.IntN(70)
		i0, p0 := rng.IntN(5), rng.IntN(5)
		ld := p0 + np + rng.IntN(4)
		src := make([]T, (i0+ni)*ld)
		for i := range src {
			src[i] = T(rng.Float32())
		}
		nq := (ni + w - 1) / w
		dst := make([]T, nq*np*w)
		for i := range dst {
			dst[i] = -1 // every element is written
		}
		packStrided(dst, src, ld, i0, ni, p0, np, w, fam)
		for q := 0; q < nq; q++ {
			for p := 0; p < np; p++ {
				for i := 0; i < w; i++ {
					var want T
					if q*w+i < ni {
						want = src[(i0+q*w+i)*ld+p0+p]
					}
					if got := dst[q*np*w+p*w+i]; got != want {
						t.Fatalf("%v w %d ni %d np %d: dst[%d][%d][%d] = %g, want %g", fam, w, ni, np, q, p, i, got, want)
					}
				}
			}
		}
	}
}

// TestTransposeCopy checks TransposeCopy against its definition on every
// family, for sizes around the register blocks (1…40 rows and columns),
// leading dimensions larger than the rows, and checks that nothing
// outside the destination block is written.
func TestTransposeCopy(t *testing.T) {
	for _, fam := range isa.Available() {
		t.Run(fam.String(), func(t *testing.T) {
			testTransposeCopy[float32](t, fam)
			testTransposeCopy[float64](t, fam)
		})
	}
}

func testTransposeCopy[T Float](t *testing.T, fam isa.Family) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 400; trial++ {
		rows, cols := 1+rng.IntN(40), 1+rng.IntN(40)
		if trial < 4 {
			rows, cols = 16*(trial+1), 8*(trial+1)
		}
		lds, ldd := cols+rng.IntN(5), rows+rng.IntN(5)
		src := make([]T, (rows-1)*lds+cols)
		for i := range src {
			src[i] = T(rng.Float32() + 1)
		}
		dst := make([]T, (cols-1)*ldd+rows+3)
		TransposeCopy(fam, dst[:len(dst)-3], ldd, src, lds, rows, cols)
		for j := 0; j < cols; j++ {
			for i := 0; i < ldd; i++ {
				if j*ldd+i >= len(dst) {
					break
				}
				want := T(0) // not written
				if i < rows {
					want = src[i*lds+j]
				}
				if got := dst[j*ldd+i]; got != want {
					t.Fatalf("%v %d×%d lds %d ldd %d: dst[%d][%d] = %g, want %g", fam, rows, cols, lds, ldd, j, i, got, want)
				}
			}
		}
	}
}

// TestShiftedPack checks both packings of a Shifted matrix against its
// definition on every family: taps straddling panels, runs of up to two
// vectors, partial last panels.
func TestShiftedPack(t *testing.T) {
	for _, fam := range isa.Available() {
		t.Run(fam.String(), func(t *testing.T) {
			testShiftedPack[float32](t, fam)
			testShiftedPack[float64](t, fam)
		})
	}
}

func testShiftedPack[T Float](t *testing.T, fam isa.Family) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		ch, ntap, cols := 1+rng.IntN(40), 1+rng.IntN(5), 1+rng.IntN(50)
		offs := make([]int, ntap)
		for i := range offs {
			offs[i] = rng.IntN(20)
		}
		maxOff := 0
		for _, o := range offs {
			maxOff = max(maxOff, o)
		}
		data := make([]T, (maxOff+cols)*ch)
		for i := range data {
			data[i] = T(rng.Float32() + 1)
		}
		var s Shifted[T]
		if err := s.Set(data, ch, offs, cols); err != nil {
			t.Fatal(err)
		}
		s.fam = fam
		at := func(r, c int) T { return data[(offs[r/ch]+c)*ch+r%ch] }
		rows := ntap * ch
		w := []int{4, 6, 8, 12, 16, 24, 32}[rng.IntN(7)]
		r0, c0 := rng.IntN(rows), rng.IntN(cols)
		nr, nc := 1+rng.IntN(rows-r0), 1+rng.IntN(cols-c0)
		nq := (nr + w - 1) / w
		dst := make([]T, nq*nc*w)
		for i := range dst {
			dst[i] = -1
		}
		s.PackRows(dst, r0, nr, c0, nc, w)
		for q := 0; q < nq; q++ {
			for p := 0; p < nc; p++ {
				for i := 0; i < w; i++ {
					var want T
					if q*w+i < nr {
						want = at(r0+q*w+i, c0+p)
					}
					if got := dst[q*nc*w+p*w+i]; got != want {
						t.Fatalf("%v PackRows ch %d offs %v: [%d][%d][%d] = %g, want %g", fam, ch, offs, q, p, i, got, want)
					}
				}
			}
		}
		nq = (nc + w - 1) / w
		dst = make([]T, nq*nr*w)
		for i := range dst {
			dst[i] = -1
		}
		s.PackCols(dst, r0, nr, c0, nc, w)
		for q := 0; q < nq; q++ {
			for p := 0; p < nr; p++ {
				for j := 0; j < w; j++ {
					var want T
					if q*w+j < nc {
						want = at(r0+p, c0+q*w+j)
					}
					if got := dst[q*nr*w+p*w+j]; got != want {
						t.Fatalf("%v PackCols: [%d][%d][%d] = %g, want %g", fam, q, p, j, got, want)
					}
				}
			}
		}
	}
}

// TestShiftedProduct multiplies a Shifted operand by a dense one through
// Gemm on every family and compares with the product of the explicit
// matrix, and checks Set's errors.
func TestShiftedProduct(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	prev := isa.Selected()
	defer isa.Select(prev)
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		for trial := 0; trial < 12; trial++ {
			ch, ntap, k, n := 1+rng.IntN(40), 1+rng.IntN(6), 1+rng.IntN(300), 1+rng.IntN(70)
			offs := make([]int, ntap)
			for i := range offs {
				offs[i] = rng.IntN(40)
			}
			data := make([]float64, (40+k)*ch)
			for i := range data {
				data[i] = rng.Float64() - 0.5
			}
			b := make([]float64, k*n)
			for i := range b {
				b[i] = rng.Float64() - 0.5
			}
			var s Shifted[float64]
			if err := s.Set(data, ch, offs, k); err != nil {
				t.Fatal(err)
			}
			bd, err := NewDense(b, k, n, n, false)
			if err != nil {
				t.Fatal(err)
			}
			m := ntap * ch
			c := make([]float64, m*n)
			if err := Gemm(1+trial%2, 1, &s, bd, 0, c, n); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var want float64
					for p := 0; p < k; p++ {
						want += data[(offs[i/ch]+p)*ch+i%ch] * b[p*n+j]
					}
					if d := c[i*n+j] - want; d > 1e-10 || d < -1e-10 {
						t.Fatalf("%v ch %d taps %d k %d n %d: C[%d][%d] = %g, want %g", fam, ch, ntap, k, n, i, j, c[i*n+j], want)
					}
				}
			}
		}
	}
	var s Shifted[float32]
	for _, c := range []struct {
		data      []float32
		ch, cols  int
		offs      []int
		wantError bool
	}{
		{make([]float32, 10), 2, 5, []int{0}, false},
		{make([]float32, 10), 2, 5, []int{1}, true}, // one pixel short
		{make([]float32, 10), 0, 5, []int{0}, true},
		{make([]float32, 10), 2, 2, []int{-1}, true},
		{make([]float32, 10), 2, -1, []int{0}, true},
	} {
		if err := s.Set(c.data, c.ch, c.offs, c.cols); (err != nil) != c.wantError {
			t.Errorf("Set(%d elements, %d channels, %d columns, %v): %v", len(c.data), c.ch, c.cols, c.offs, err)
		}
	}
}

// TestPackAsmUsed checks that the AVX-512 family's packers run assembly
// and the generic family's none.
func TestPackAsmUsed(t *testing.T) {
	var asm atomic.Int64
	testHookAsm = func() { asm.Add(1) }
	defer func() { testHookAsm = nil }()
	src := make([]float32, 64*64)
	dst := make([]float32, 2*64*64)
	for _, fam := range isa.Available() {
		asm.Store(0)
		packStrided(dst, src, 64, 0, 64, 0, 64, 32, fam)
		var s Shifted[float32]
		if err := s.Set(src, 64, []int{0, 1}, 32); err != nil {
			t.Fatal(err)
		}
		s.fam = fam
		s.PackRows(dst, 0, 128, 0, 32, 12)
		got := asm.Load()
		want := fam == isa.AVX512 && transposeAsm()
		if (got > 0) != want {
			t.Errorf("%v: %d assembly calls", fam, got)
		}
	}
}

// transposeAsm reports whether this build has the AVX-512 packers.
func transposeAsm() bool {
	k, _ := transposeKernel[float32](isa.AVX512)
	return k != nil
}

// BenchmarkPackStrided packs a 576×256 block of a row-major matrix into
// 32- and 12-wide panels (the transposed operands of the convolution's dW
// product), by each family, side by side.
func BenchmarkPackStrided(b *testing.B) {
	const ni, np, ld = 576, 256, 1040
	src := make([]float32, ni*ld)
	for _, w := range []int{12, 32} {
		dst := make([]float32, (ni+w-1)/w*np*w)
		for _, fam := range isa.Available() {
			b.Run(fmt.Sprintf("w%d/%v", w, fam), func(b *testing.B) {
				b.SetBytes(int64(ni * np * 4))
				for i := 0; i < b.N; i++ {
					packStrided(dst, src, ld, 0, ni, 0, np, w, fam)
				}
			})
		}
	}
}

// BenchmarkShiftedPack packs the A block of a stride-1 convolution's
// dW product (9 taps × 64 channels, 256 positions) into 12-wide panels.
func BenchmarkShiftedPack(b *testing.B) {
	const ch, np, w = 64, 256, 12
	offs := []int{0, 1, 2, 130, 131, 132, 260, 261, 262}
	data := make([]float32, (262+np)*ch)
	dst := make([]float32, (9*ch+w-1)/w*np*w)
	for _, fam := range isa.Available() {
		b.Run(fam.String(), func(b *testing.B) {
			var s Shifted[float32]
			if err := s.Set(data, ch, offs, np); err != nil {
				b.Fatal(err)
			}
			s.fam = fam
			b.SetBytes(int64(9 * ch * np * 4))
			for i := 0; i < b.N; i++ {
				s.PackRows(dst, 0, 9*ch, 0, np, w)
			}
		})
	}
}

// TestDenseReset checks that Reset gives the matrix NewDense gives, and
// leaves the Dense unchanged on a bad shape.
func TestDenseReset(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6}
	want, err := NewDense(data, 2, 3, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	var d Dense[float32]
	if err := d.Reset(data, 2, 3, 2, true); err != nil || d.rows != want.rows || d.cols != want.cols || d.stride != want.stride || d.trans != want.trans || &d.data[0] != &want.data[0] {
		t.Fatalf("Reset: %v, %+v, want %+v", err, d, *want)
	}
	for _, c := range []struct{ rows, cols, stride int }{{4, 2, 2}, {3, 2, 1}, {-1, 2, 2}} {
		if err := d.Reset(data, c.rows, c.cols, c.stride, false); err == nil {
			t.Errorf("Reset(%d×%d, stride %d) of 6 elements: no error", c.rows, c.cols, c.stride)
		}
		if d.rows != 2 || d.cols != 3 || !d.trans {
			t.Fatalf("a failed Reset changed the matrix: %+v", d)
		}
	}
}
