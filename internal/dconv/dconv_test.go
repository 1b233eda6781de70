package dconv

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// naive is Rows's contract in float64.
func naive[T Float](ldd, ldc int, src []T, lds, rows, cols int, w []T, offs []int, bias []T) []float64 {
	out := make([]float64, (Channels-1)*ldc+(rows-1)*ldd+cols)
	for c := range Channels {
		for r := range rows {
			for x := range cols {
				s := float64(bias[c])
				for t, off := range offs {
					s += float64(w[t*Channels+c]) * float64(src[r*lds+off+x])
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
// untouched, and term lists of 1 to 300, in both element types (float64
// runs the portable loop) and on every kernel family.
func TestRows(t *testing.T) {
	checkRows[float32](t, 1e-5)
	checkRows[float64](t, 1e-13)
}

func checkRows[T Float](t *testing.T, eps float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fam := range families() {
		for trial := range 400 {
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
			w := make([]T, Channels*nt)
			for i := range w {
				w[i] = T(rng.NormFloat64())
			}
			bias := make([]T, Channels)
			for i := range bias {
				bias[i] = T(rng.NormFloat64())
			}
			want := naive(ldd, ldc, src, lds, rows, cols, w, offs, bias)
			const sentinel = 12345
			dst := make([]T, len(want)+3)
			for i := range dst {
				dst[i] = sentinel
			}
			if trial%3 == 0 && nt > 1 {
				// In two parts: a prefix of the terms with the bias, then
				// the rest added to it.
				k := 1 + rng.IntN(nt-1)
				Rows(fam, dst, ldd, ldc, src, lds, rows, cols, w, &o, k, bias)
				var rest Offsets
				for _, off := range offs[k:] {
					rest.Add(off)
				}
				Rows(fam, dst, ldd, ldc, src, lds, rows, cols, w[k*Channels:], &rest, nt-k, nil)
			} else {
				Rows(fam, dst, ldd, ldc, src, lds, rows, cols, w, &o, nt, bias)
			}
			tol := eps * math.Sqrt(float64(nt))
			for c := range Channels {
				for r := range rows {
					for x := range ldd {
						i := c*ldc + r*ldd + x
						if i >= len(want) {
							break
						}
						if x >= cols {
							if dst[i] != sentinel && !written(i, ldd, ldc, rows, cols) {
								t.Fatalf("%v trial %d: dst[%d] outside the output written", fam, trial, i)
							}
							continue
						}
						if d := math.Abs(float64(dst[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
							t.Fatalf("%v trial %d (rows %d cols %d terms %d): channel %d row %d col %d = %v, want %v", fam, trial, rows, cols, nt, c, r, x, dst[i], want[i])
						}
					}
				}
			}
			for i := len(want); i < len(dst); i++ {
				if dst[i] != sentinel {
					t.Fatalf("%v trial %d: dst[%d] past the end written", fam, trial, i)
				}
			}
		}
	}
}

// written reports whether element i is an output of some (channel, row)
// (rows of different channels may interleave when ldc < rows·ldd).
func written(i, ldd, ldc, rows, cols int) bool {
	for c := range Channels {
		for r := range rows {
			if s := c*ldc + r*ldd; i >= s && i < s+cols {
				return true
			}
		}
	}
	return false
}

// TestKernelMatchesGeneric checks that the vector kernel sums the terms in
// the order the portable loop does: on inputs whose sums round, the two
// agree bit for bit apart from fused multiply-adds, so within one rounding
// per term.
func TestKernelMatchesGeneric(t *testing.T) {
	if !Available[float32](isa.Selected()) {
		t.Skipf("no vector kernel for %v on this CPU (the portable loop is what runs)", isa.Selected())
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		rows, cols, nt := 1+rng.IntN(16), 1+rng.IntN(48), 1+rng.IntN(150)
		var o Offsets
		for range nt {
			o.Add(rng.IntN(30))
		}
		lds := cols + 2
		src := make([]float32, (rows-1)*lds+o.maxOff+cols)
		for i := range src {
			src[i] = float32(rng.NormFloat64())
		}
		w := make([]float32, Channels*nt)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		bias := []float32{1, -2, 0.5, 0}
		ldc := rows * cols
		a, b := make([]float32, Channels*ldc), make([]float32, Channels*ldc)
		Rows(isa.Selected(), a, cols, ldc, src, lds, rows, cols, w, &o, nt, bias)
		Generic(b, cols, ldc, src, lds, rows, cols, w, &o, nt, bias)
		for i := range a {
			if d := math.Abs(float64(a[i] - b[i])); d > 1e-6*float64(nt)*(1+math.Abs(float64(b[i]))) {
				t.Fatalf("element %d: kernel %v, portable loop %v", i, a[i], b[i])
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

// TestRowsPanics checks that short slices and term counts out of range panic
// instead of reading or writing out of bounds.
func TestRowsPanics(t *testing.T) {
	var o Offsets
	o.Add(2)
	w := make([]float32, Channels)
	bias := make([]float32, Channels)
	for name, f := range map[string]func(){
		"short dst": func() { Rows(isa.Selected(), make([]float32, 10), 4, 4, make([]float32, 8), 4, 1, 4, w, &o, 1, bias) },
		"short src": func() { Rows(isa.Selected(), make([]float32, 16), 4, 4, make([]float32, 5), 4, 1, 4, w, &o, 1, bias) },
		"short bias": func() {
			Rows(isa.Selected(), make([]float32, 16), 4, 4, make([]float32, 8), 4, 1, 4, w, &o, 1, bias[:2])
		},
		"too many": func() { Rows(isa.Selected(), make([]float32, 16), 4, 4, make([]float32, 8), 4, 1, 4, w, &o, 2, bias) },
		"no terms": func() {
			Rows(isa.Selected(), make([]float32, 16), 4, 4, make([]float32, 8), 4, 1, 4, w, new(Offsets), 0, bias)
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
