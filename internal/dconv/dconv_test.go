package dconv

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// blocks are the channel blocks Rows takes.
var blocks = []int{Channels, WideChannels}

// naive is Rows's contract in float64.
func naive[T Float](ch, ldd, ldc int, src []T, lds, rows, cols int, w []T, wld int, offs []int, bias []T) []float64 {
	out := make([]float64, (ch-1)*ldc+(rows-1)*ldd+cols)
	for c := range ch {
		for r := range rows {
			for x := range cols {
				s := float64(bias[c])
				for t, off := range offs {
					s += float64(w[c/4*wld+4*t+c%4]) * float64(src[r*lds+off+x])
				}
				out[c*ldc+r*ldd+x] = s
			}
		}
	}
	return out
}

// families are the kernel families to test: the selected one and every
// one below it this CPU has.
func families() []isa.Family {
	var fs []isa.Family
	for _, f := range []isa.Family{isa.Generic, isa.AVX2, isa.AVX512} {
		if f <= isa.Selected() {
			fs = append(fs, f)
		}
	}
	return fs
}

// TestRows checks Rows against the float64 contract on random shapes:
// rows across the kernel's blocks (1 to 13), widths that are and are not
// multiples of a vector, gaps between rows and channels that must stay
// untouched, and term lists of 1 to 300, for both channel blocks (rows
// not multiples of their 6 and 3 rows), in both element types (float64
// runs the portable loop) and on every kernel family.
func TestRows(t *testing.T) {
	checkRows[float32](t, 1e-5)
	checkRows[float64](t, 1e-13)
}

func checkRows[T Float](t *testing.T, eps float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fam := range families() {
		for trial := range 800 {
			ch := blocks[trial%2]
			rows, cols := 1+rng.IntN(13), 1+rng.IntN(70)
			if trial%4 == 0 {
				cols = Lanes * (1 + rng.IntN(3))
			}
			ldd := cols + rng.IntN(5)
			ldc := (rows-1)*ldd + cols + rng.IntN(7)
			nt := 1 + rng.IntN(40)
			if trial%10 == 0 {
				nt = 200 + rng.IntN(100)
			}
			var o Offsets
			offs := make([]int, nt)
			for i := range offs {
				offs[i] = rng.IntN(60)
				o.Add(offs[i])
			}
			lds := cols + rng.IntN(10)
			src := make([]T, (rows-1)*lds+o.maxOff+cols)
			for i := range src {
				src[i] = T(rng.NormFloat64())
			}
			// Two blocks of 4 channels' weights, with a gap between them
			// (a group's packed weights with an input chunk's terms).
			wld := Channels*nt + rng.IntN(9)
			w := make([]T, wld+Channels*nt)
			for i := range w {
				w[i] = T(rng.NormFloat64())
			}
			if ch == Channels {
				w = w[:Channels*nt]
			}
			bias := make([]T, ch)
			for i := range bias {
				bias[i] = T(rng.NormFloat64())
			}
			want := naive(ch, ldd, ldc, src, lds, rows, cols, w, wld, offs, bias)
			const sentinel = 12345
			dst := make([]T, len(want)+3)
			for i := range dst {
				dst[i] = sentinel
			}
			if trial%3 == 0 && nt > 1 {
				// In two parts: a prefix of the terms with the bias, then
				// the rest added to it.
				k := 1 + rng.IntN(nt-1)
				Rows(fam, ch, dst, ldd, ldc, src, lds, rows, cols, w, wld, &o, k, bias)
				var rest Offsets
				for _, off := range offs[k:] {
					rest.Add(off)
				}
				Rows(fam, ch, dst, ldd, ldc, src, lds, rows, cols, w[k*Channels:], wld, &rest, nt-k, nil)
			} else {
				Rows(fam, ch, dst, ldd, ldc, src, lds, rows, cols, w, wld, &o, nt, bias)
			}
			tol := eps * math.Sqrt(float64(nt))
			// Every element of dst: an output within the tolerance, or
			// untouched (the gaps between rows and channels, and past the
			// end).
			out := make([]bool, len(dst))
			for c := range ch {
				for r := range rows {
					for x := range cols {
						out[c*ldc+r*ldd+x] = true
					}
				}
			}
			for i, v := range dst {
				if !out[i] {
					if v != sentinel {
						t.Fatalf("%v ch %d trial %d: dst[%d] outside the output written", fam, ch, trial, i)
					}
					continue
				}
				if d := math.Abs(float64(v) - want[i]); d > tol*(1+math.Abs(want[i])) {
					c, r, x := i/ldc, i%ldc/ldd, i%ldc%ldd
					t.Fatalf("%v ch %d trial %d (rows %d cols %d terms %d): channel %d row %d col %d = %v, want %v", fam, ch, trial, rows, cols, nt, c, r, x, v, want[i])
				}
			}
		}
	}
}

// TestKernelMatchesGeneric checks that the vector kernel sums the terms in
// the order the portable loop does, bit for bit: the weights are small
// integers and the inputs small integers times powers of two from 2⁻¹² to
// 2¹², so every product is exact (a fused multiply-add rounds as a
// multiply then an add would) while the sums of such different
// magnitudes round, and a different order of the terms gives a different
// result.
func TestKernelMatchesGeneric(t *testing.T) {
	if !Available[float32](isa.Selected()) {
		t.Skipf("no vector kernel for %v on this CPU (the portable loop is what runs)", isa.Selected())
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 100 {
		ch := blocks[trial%2]
		rows, cols, nt := 1+rng.IntN(16), 1+rng.IntN(48), 1+rng.IntN(150)
		var o Offsets
		for range nt {
			o.Add(rng.IntN(30))
		}
		lds := cols + 2
		src := make([]float32, (rows-1)*lds+o.maxOff+cols)
		for i := range src {
			src[i] = float32(math.Ldexp(float64(rng.IntN(31)-15), rng.IntN(25)-12))
		}
		wld := Channels * nt
		w := make([]float32, ch*nt)
		for i := range w {
			w[i] = float32(rng.IntN(31) - 15)
		}
		bias := []float32{1, -2, 0.5, 0, 3, -1, 0.25, 7}[:ch]
		ldc := rows * cols
		a, b := make([]float32, ch*ldc), make([]float32, ch*ldc)
		Rows(isa.Selected(), ch, a, cols, ldc, src, lds, rows, cols, w, wld, &o, nt, bias)
		Generic(ch, b, cols, ldc, src, lds, rows, cols, w, wld, &o, nt, bias)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("ch %d element %d: kernel %v, portable loop %v", ch, i, a[i], b[i])
			}
		}
	}
}

// TestPack checks the packed order against its definition.
func TestPack(t *testing.T) {
	const terms = 7
	wt := make([]float32, Channels*terms)
	for i := range wt {
		wt[i] = float32(i)
	}
	dst := make([]float32, len(wt))
	Pack(dst, wt, terms)
	for c := range Channels {
		for tm := range terms {
			if got, want := dst[tm*Channels+c], wt[c*terms+tm]; got != want {
				t.Fatalf("term %d channel %d: %v, want %v", tm, c, got, want)
			}
		}
	}
}

// TestRowsPanics checks that short slices, term counts out of range and
// negative offsets panic instead of reading or writing out of bounds.
func TestRowsPanics(t *testing.T) {
	var o Offsets
	o.Add(2)
	w := make([]float32, WideChannels)
	bias := make([]float32, Channels)
	for name, f := range map[string]func(){
		"block of 6": func() {
			Rows(isa.Selected(), 6, make([]float32, 64), 4, 4, make([]float32, 8), 4, 1, 4, w, 4, &o, 1, nil)
		},
		"short bias of 8": func() {
			Rows(isa.Selected(), WideChannels, make([]float32, 64), 4, 4, make([]float32, 8), 4, 1, 4, w, 4, &o, 1, bias)
		},
		"short weights of 8": func() {
			Rows(isa.Selected(), WideChannels, make([]float32, 64), 4, 4, make([]float32, 8), 4, 1, 4, w[:7], 4, &o, 1, nil)
		},
		"overlapping blocks": func() {
			Rows(isa.Selected(), WideChannels, make([]float32, 64), 4, 4, make([]float32, 8), 4, 1, 4, w, 3, &o, 1, nil)
		},
		"short dst": func() {
			Rows(isa.Selected(), Channels, make([]float32, 10), 4, 4, make([]float32, 8), 4, 1, 4, w, 0, &o, 1, bias)
		},
		"short src": func() {
			Rows(isa.Selected(), Channels, make([]float32, 16), 4, 4, make([]float32, 5), 4, 1, 4, w, 0, &o, 1, bias)
		},
		"short bias": func() {
			Rows(isa.Selected(), Channels, make([]float32, 16), 4, 4, make([]float32, 8), 4, 1, 4, w, 0, &o, 1, bias[:2])
		},
		"too many": func() {
			Rows(isa.Selected(), Channels, make([]float32, 16), 4, 4, make([]float32, 8), 4, 1, 4, w, 0, &o, 2, bias)
		},
		"negative offset": func() {
			new(Offsets).Add(-1)
		},
		"no terms": func() {
			Rows(isa.Selected(), Channels, make([]float32, 16), 4, 4, make([]float32, 8), 4, 1, 4, w, 0, new(Offsets), 0, bias)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
