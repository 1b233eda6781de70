package winograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// alpha6Tiles are algorithms with 6×6 input tiles: F(4,3) and two others
// on other points, so nothing in the kernel may rest on F(4,3)'s zeros.
var alpha6Tiles = []*Tile{
	F43,
	mustNew(3, 4, []float64{0, 1, -1, 0.5, -3}),
	mustNew(5, 2, []float64{0.25, -1, 2, -0.5, 3}),
}

// naiveInput is Bᵀ·d·B of one tile in float64, straight from the
// definition, and Σ|Bᵀ|·|d|·|B| per entry (the scale of its rounding).
func naiveInput(t *Tile, d []float64) (v, scale []float64) {
	a := t.Alpha
	v, scale = make([]float64, a*a), make([]float64, a*a)
	for i := 0; i < a; i++ {
		for j := 0; j < a; j++ {
			for u := 0; u < a; u++ {
				for w := 0; w < a; w++ {
					p := t.BT[i][u] * d[u*a+w] * t.BT[j][w]
					v[i*a+j] += p
					scale[i*a+j] += math.Abs(p)
				}
			}
		}
	}
	return v, scale
}

// TestInputTransform: on every family this machine runs, InputTransform
// either reports that it has no kernel and leaves dst as it was, or (for
// float32, α = 6 and AVX-512, where it must) matches naiveInput on every
// tile of many sizes, out of place and in place, and writes nothing
// outside the whole vectors of tiles it covers.
func TestInputTransform(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	tiles := append([]*Tile{F23, F63}, alpha6Tiles...)
	for _, fam := range isa.Available() {
		for _, tl := range tiles {
			want := tl.Alpha == 6 && fam >= isa.AVX512 && isa.Supported(fam)
			ran := 0
			for nt := 1; nt <= 70; nt++ {
				c := []int{1, 2, 3, 5}[rng.IntN(4)]
				w := (nt + 15) &^ 15
				ld := w + []int{0, 0, 16, 5}[rng.IntN(4)]
				rs := c*ld + []int{0, 7, 32}[rng.IntN(3)]
				inPlace := rng.IntN(3) == 0
				if got := checkInput(t, rng, fam, tl, rs, c, ld, nt, inPlace); got != want {
					t.Fatalf("%v F(%d,%d) nt=%d: kernel used %v, want %v", fam, tl.M, tl.R, nt, got, want)
				}
				ran++
			}
			if !want {
				// float64 never has a kernel: the caller's GEMM path runs.
				d := make([]float64, tl.Alpha*tl.Alpha*16)
				if InputTransform(fam, tl, d, d, 16, 1, 16, 16) {
					t.Fatalf("%v: float64 input transform claims a kernel", fam)
				}
			}
			if ran == 0 {
				t.Fatal("no case ran")
			}
		}
	}
}

// checkInput runs one InputTransform of float32 tiles and checks it
// against naiveInput; it reports whether the kernel ran.
func checkInput(t *testing.T, rng *rand.Rand, fam isa.Family, tl *Tile, rs, c, ld, nt int, inPlace bool) bool {
	t.Helper()
	a2 := tl.Alpha * tl.Alpha
	n := (a2-1)*rs + (c-1)*ld + ld + rng.IntN(3)
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	orig := append([]float32(nil), src...)
	dst := src
	if !inPlace {
		dst = make([]float32, n)
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
	}
	before := append([]float32(nil), dst...)
	if !InputTransform(fam, tl, dst, src, rs, c, ld, nt) {
		for i := range dst {
			if math.Float32bits(dst[i]) != math.Float32bits(before[i]) {
				t.Fatalf("%v: no kernel, but dst[%d] changed", fam, i)
			}
		}
		return false
	}
	if !inPlace {
		for i := range src {
			if src[i] != orig[i] {
				t.Fatalf("%v: src[%d] changed", fam, i)
			}
		}
	}
	w := (nt + 15) &^ 15
	covered := make([]bool, n)
	d := make([]float64, a2)
	for ci := 0; ci < c; ci++ {
		for tt := 0; tt < w; tt++ {
			for k := 0; k < a2; k++ {
				d[k] = float64(orig[k*rs+ci*ld+tt])
				covered[k*rs+ci*ld+tt] = true
			}
			v, scale := naiveInput(tl, d)
			for k := 0; k < a2; k++ {
				got := float64(dst[k*rs+ci*ld+tt])
				if math.Abs(got-v[k]) > 1e-6*scale[k]+1e-30 {
					t.Fatalf("%v F(%d,%d) rs=%d c=%d ld=%d nt=%d in place %v: channel %d tile %d position %d: %v, want %v",
						fam, tl.M, tl.R, rs, c, ld, nt, inPlace, ci, tt, k, got, v[k])
				}
			}
		}
	}
	for i := range dst {
		if !covered[i] && math.Float32bits(dst[i]) != math.Float32bits(before[i]) {
			t.Fatalf("%v rs=%d c=%d ld=%d nt=%d: dst[%d] outside the tiles changed", fam, rs, c, ld, nt, i)
		}
	}
	return true
}

// TestInputTransformPanicsOnShortSlices: sizes that do not fit the slices
// are a programming error of the caller, reported by a panic before any
// write, whether or not a kernel would run.
func TestInputTransformPanicsOnShortSlices(t *testing.T) {
	src := make([]float32, 35*16+15)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	InputTransform(isa.Selected(), F43, src, src, 16, 1, 16, 16)
}

// TestInputKernelsAllocateNothing: InputTransform and GatherInput
// allocate nothing per call, with or without a kernel.
func TestInputKernelsAllocateNothing(t *testing.T) {
	const c, h, w, tw, th, ld, rs = 3, 9, 30, 7, 2, 32, 100
	x := make([]float32, c*h*w)
	src, dst := make([]float32, 36*rs), make([]float32, 36*rs)
	band := make([]float32, BandLen(F43, tw))
	for _, fam := range isa.Available() {
		if n := testing.AllocsPerRun(20, func() { InputTransform(fam, F43, dst, src, rs, c, ld, 20) }); n != 0 {
			t.Errorf("%v: InputTransform allocates %v times per call", fam, n)
		}
		if n := testing.AllocsPerRun(20, func() { GatherInput(fam, F43, dst, rs, ld, x, c, h, w, 1, 1, th, tw, 0, 2, band) }); n != 0 {
			t.Errorf("%v: GatherInput allocates %v times per call", fam, n)
		}
	}
}
