package taps

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// naive is Rows's contract in float64.
func naive[T Float](ldd int, src []T, lds, sx, rows, cols int, offs []int, w []T, bias T) []float64 {
	out := make([]float64, (rows-1)*ldd+cols)
	for r := 0; r < rows; r++ {
		for x := 0; x < cols; x++ {
			s := float64(bias)
			for t, off := range offs {
				s += float64(w[t]) * float64(src[r*lds+off+x*sx])
			}
			out[r*ldd+x] = s
		}
	}
	return out
}

func check[T Float](t *testing.T, rng *rand.Rand, fam isa.Family, tol float64) {
	for trial := 0; trial < 300; trial++ {
		rows, cols := 1+rng.IntN(9), 1+rng.IntN(70)
		sx := 1
		if rng.IntN(4) == 0 {
			sx = 2 + rng.IntN(2)
		}
		ldd := cols + rng.IntN(5)
		var p Taps[T]
		var offs []int
		var w []T
		for range rng.IntN(30) {
			off, wt := rng.IntN(40), T(rng.NormFloat64())
			p.Add(off, wt)
			offs, w = append(offs, off), append(w, wt)
		}
		maxOff := 0
		for _, o := range offs {
			maxOff = max(maxOff, o)
		}
		lds := (cols-1)*sx + 1 + rng.IntN(10)
		src := make([]T, (rows-1)*lds+maxOff+(cols-1)*sx+1)
		for i := range src {
			src[i] = T(rng.NormFloat64())
		}
		bias := T(rng.NormFloat64())
		want := naive(ldd, src, lds, sx, rows, cols, offs, w, bias)
		dst := make([]T, (rows-1)*ldd+cols+3)
		sentinel := T(12345)
		for i := range dst {
			dst[i] = sentinel
		}
		done := 0
		if sx == 1 {
			done = vector(fam, dst, ldd, src, lds, rows, cols, &p, bias)
		}
		if done < cols {
			generic(dst[done:], ldd, src[done*sx:], lds, sx, rows, cols-done, &p, bias)
		}
		for r := 0; r < rows; r++ {
			for x := 0; x < ldd && r*ldd+x < len(dst); x++ {
				i := r*ldd + x
				if x >= cols || (r == rows-1 && x >= cols) {
					if dst[i] != sentinel {
						t.Fatalf("%v: element (%d,%d) outside the output written", fam, r, x)
					}
					continue
				}
				scale := 1.0
				for _, wt := range w {
					scale += math.Abs(float64(wt)) * 4
				}
				if d := math.Abs(float64(dst[i]) - want[i]); d > tol*scale {
					t.Fatalf("%v rows %d cols %d sx %d taps %d: (%d,%d) = %v, want %v", fam, rows, cols, sx, len(offs), r, x, dst[i], want[i])
				}
			}
		}
	}
}

// TestRowsMatchesNaive runs every kernel family this CPU has (and the
// portable loop) on random rows, columns (vector tails included), column
// strides and tap lists against float64 sums.
func TestRowsMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, fam := range []isa.Family{isa.Generic, isa.AVX2, isa.AVX512} {
		if fam != isa.Generic && !isa.Supported(fam) {
			t.Logf("%v: not on this CPU", fam)
			continue
		}
		check[float32](t, rng, fam, 1e-5)
		check[float64](t, rng, fam, 1e-13)
	}
}

// TestRowsSelected: the exported entry point on the process's family.
func TestRowsSelected(t *testing.T) {
	var p Taps[float32]
	p.Add(0, 1)
	p.Add(1, 2)
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	dst := make([]float32, 19)
	Rows(dst, 19, src, 20, 1, 1, 19, &p, 0.5)
	for x, v := range dst {
		if want := src[x] + 2*src[x+1] + 0.5; v != want {
			t.Fatalf("dst[%d] = %v, want %v", x, v, want)
		}
	}
	p.Reset()
	Rows(dst, 19, src, 20, 1, 1, 19, &p, 3)
	for x, v := range dst {
		if v != 3 {
			t.Fatalf("no taps: dst[%d] = %v, want the bias", x, v)
		}
	}
}
