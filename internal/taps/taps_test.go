package taps

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

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

func checkCo[T Float](t *testing.T, rng *rand.Rand, fam isa.Family, tol float64) {
	nco := coBlock(fam)
	if nco == 0 {
		nco = 1 + rng.IntN(4)
	}
	for trial := 0; trial < 200; trial++ {
		rows, cols := 1+rng.IntN(9), 1+rng.IntN(70)
		ldd := cols + rng.IntN(5)
		ldc := rows*ldd + rng.IntN(7)
		var p CoTaps[T]
		p.Reset(nco)
		var offs []int
		var ws [][]T
		for range 1 + rng.IntN(30) {
			off := rng.IntN(40)
			w := make([]T, nco)
			for c := range w {
				w[c] = T(rng.NormFloat64())
			}
			p.Add(off, w)
			offs, ws = append(offs, off), append(ws, w)
		}
		maxOff := 0
		for _, o := range offs {
			maxOff = max(maxOff, o)
		}
		lds := cols + rng.IntN(10)
		src := make([]T, (rows-1)*lds+maxOff+cols)
		for i := range src {
			src[i] = T(rng.NormFloat64())
		}
		dst := make([]T, (nco-1)*ldc+(rows-1)*ldd+cols)
		init := make([]T, len(dst))
		for i := range dst {
			init[i] = T(rng.NormFloat64())
		}
		copy(dst, init)
		done := vectorCo(fam, dst, ldd, ldc, src, lds, rows, cols, &p)
		if fam != isa.Generic && coBlock(fam) == nco && cols >= 64/int(unsafe.Sizeof(T(0))) && done == 0 {
			t.Fatalf("%v: the kernel computed no columns of %d", fam, cols)
		}
		// The rest as RowsCo does it, through the exported entry with the
		// columns the kernel left.
		if done < cols {
			for c := 0; c < nco; c++ {
				for r := 0; r < rows; r++ {
					for x := done; x < cols; x++ {
						s := dst[c*ldc+r*ldd+x]
						for ti, off := range offs {
							s += ws[ti][c] * src[r*lds+off+x]
						}
						dst[c*ldc+r*ldd+x] = s
					}
				}
			}
		}
		scale := 1.0
		for _, w := range ws {
			for _, v := range w {
				scale += math.Abs(float64(v)) * 4
			}
		}
		for i := range dst {
			c, rem := i/ldc, i%ldc
			r, x := rem/ldd, rem%ldd
			if c >= nco || r >= rows || x >= cols {
				if dst[i] != init[i] {
					t.Fatalf("%v: element %d outside the output changed", fam, i)
				}
				continue
			}
			want := float64(init[i])
			for ti, off := range offs {
				want += float64(ws[ti][c]) * float64(src[r*lds+off+x])
			}
			if d := math.Abs(float64(dst[i]) - want); d > tol*scale {
				t.Fatalf("%v nco %d rows %d cols %d: (%d,%d,%d) = %v, want %v", fam, nco, rows, cols, c, r, x, dst[i], want)
			}
		}
	}
}

// TestRowsCoMatchesNaive: the multi-channel kernels of every family this
// CPU has against float64 sums (the part they leave to the portable loop
// done naively).
func TestRowsCoMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, fam := range []isa.Family{isa.AVX2, isa.AVX512} {
		if !isa.Supported(fam) {
			t.Logf("%v: not on this CPU", fam)
			continue
		}
		checkCo[float32](t, rng, fam, 1e-5)
		checkCo[float64](t, rng, fam, 1e-13)
	}
}

// TestRowsCoPortable: RowsCo's portable loop (a block the selected family
// has no kernel for) against float64 sums.
func TestRowsCoPortable(t *testing.T) {
	var p CoTaps[float64]
	p.Reset(3)
	p.Add(0, []float64{1, 2, 3})
	p.Add(2, []float64{-1, 0.5, 4})
	src := make([]float64, 40)
	for i := range src {
		src[i] = float64(i)
	}
	dst := make([]float64, 3*10)
	RowsCo(dst, 5, 10, src, 8, 2, 5, &p)
	for c, w := range [][2]float64{{1, -1}, {2, 0.5}, {3, 4}} {
		for r := 0; r < 2; r++ {
			for x := 0; x < 5; x++ {
				want := w[0]*src[r*8+x] + w[1]*src[r*8+x+2]
				if got := dst[c*10+r*5+x]; got != want {
					t.Fatalf("(%d,%d,%d) = %v, want %v", c, r, x, got, want)
				}
			}
		}
	}
}
