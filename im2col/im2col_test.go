package im2col

import (
	"errors"
	"fmt"
	"github.com/netdeconv/deconv"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

func shapeCount(t *testing.T) int {
	if testing.Short() {
		return 150
	}
	return 600
}

// TestIm2colMatchesReference runs every layout and option against the naive
// loops at random shapes, for every kernel family this machine has, in both
// precisions. The output buffer starts as NaN so an element the transform
// forgot to write shows.
func TestIm2colMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < shapeCount(t); i++ {
		p := randomParams(rng)
		src := randomSlice(rng, p.Batch*p.Channels*p.Height*p.Width)
		for _, fam := range isa.Available() {
			pl, err := newPlan(p, fam)
			if err != nil {
				t.Fatalf("%+v: %v", p, err)
			}
			want := refLayout(pl, refIm2col(p, src))
			if len(want) != pl.DstLen() {
				t.Fatalf("%+v: plan says %d elements, reference has %d", p, pl.DstLen(), len(want))
			}
			got := make([]float64, pl.DstLen())
			for j := range got {
				got[j] = math.NaN()
			}
			if err := Im2col(pl, got, src); err != nil {
				t.Fatal(err)
			}
			if j := firstDiff(got, want); j >= 0 {
				t.Fatalf("float64 %v %+v: element %d = %v, want %v", fam, p, j, got[j], want[j])
			}
			src32 := make([]float32, len(src))
			for j, v := range src {
				src32[j] = float32(v)
			}
			got32 := make([]float32, pl.DstLen())
			if err := Im2col(pl, got32, src32); err != nil {
				t.Fatal(err)
			}
			for j := range got32 {
				if got32[j] != float32(want[j]) {
					t.Fatalf("float32 %v %+v: element %d = %v, want %v", fam, p, j, got32[j], want[j])
				}
			}
		}
	}
}

func firstDiff(a, b []float64) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestCol2imIsAdjoint checks ⟨Im2col(x), y⟩ = ⟨x, Col2im(y)⟩, and Col2im
// against a naive scatter built from the reference gather.
func TestCol2imIsAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < shapeCount(t); i++ {
		p := randomParams(rng)
		pl, err := NewPlan(p)
		if err != nil {
			t.Fatal(err)
		}
		x := randomSlice(rng, pl.SrcLen())
		y := randomSlice(rng, pl.DstLen())
		ax := make([]float64, pl.DstLen())
		aty := make([]float64, pl.SrcLen())
		for j := range aty {
			aty[j] = math.NaN() // Col2im must overwrite, not accumulate
		}
		if err := Im2col(pl, ax, x); err != nil {
			t.Fatal(err)
		}
		if err := Col2im(pl, aty, y); err != nil {
			t.Fatal(err)
		}
		lhs, rhs, scale := 0.0, 0.0, 0.0
		for j := range ax {
			lhs += ax[j] * y[j]
			scale += math.Abs(ax[j] * y[j])
		}
		for j := range x {
			rhs += x[j] * aty[j]
		}
		if math.Abs(lhs-rhs) > 1e-12*(1+scale) {
			t.Fatalf("%+v: <Ax,y> = %v, <x,A'y> = %v", p, lhs, rhs)
		}
		// Exactly: Col2im(y)[i] = Σ_j y[j]·[Im2col(e_i)]_j, probed on a few pixels.
		for probe := 0; probe < 3; probe++ {
			i := rng.IntN(pl.SrcLen())
			e := make([]float64, pl.SrcLen())
			e[i] = 1
			if err := Im2col(pl, ax, e); err != nil {
				t.Fatal(err)
			}
			want := 0.0
			for j := range ax {
				want += ax[j] * y[j]
			}
			if math.Abs(aty[i]-want) > 1e-12*(1+math.Abs(want)) {
				t.Fatalf("%+v: Col2im[%d] = %v, want %v", p, i, aty[i], want)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	ok := Params{Batch: 1, Channels: 2, Height: 5, Width: 5, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3}}
	cases := []struct {
		name string
		edit func(*Params)
		want error
	}{
		{"zero batch", func(p *Params) { p.Batch = 0 }, deconv.ErrShape},
		{"negative width", func(p *Params) { p.Width = -1 }, deconv.ErrShape},
		{"zero kernel", func(p *Params) { p.KernelW = 0 }, deconv.ErrShape},
		{"negative stride", func(p *Params) { p.StrideH = -1 }, deconv.ErrParam},
		{"negative pad", func(p *Params) { p.PadW = -2 }, deconv.ErrParam},
		{"negative sampling", func(p *Params) { p.Sampling = -3 }, deconv.ErrParam},
		{"kernel too large", func(p *Params) { p.KernelH = 6 }, deconv.ErrShape},
		{"dilated kernel too large", func(p *Params) { p.DilationW = 3 }, deconv.ErrShape},
		{"overflowing input", func(p *Params) { p.Batch, p.Channels = math.MaxInt/4, 8 }, deconv.ErrOverflow},
		{"overflowing pad", func(p *Params) { p.PadH = math.MaxInt / 2 }, deconv.ErrOverflow},
		{"overflowing columns", func(p *Params) { p.Channels, p.KernelH, p.Height = math.MaxInt/2, 3, 3 }, deconv.ErrOverflow},
		{"flat with 3×3", func(p *Params) { p.FlatSampling = true }, deconv.ErrParam},
		{"flat with unfold", func(p *Params) { p.FlatSampling, p.KernelH, p.KernelW, p.Layout = true, 1, 1, Unfold }, deconv.ErrParam},
		{"unknown layout", func(p *Params) { p.Layout = 7 }, deconv.ErrParam},
	}
	for _, c := range cases {
		p := ok
		c.edit(&p)
		if _, err := NewPlan(p); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	pl, err := NewPlan(ok)
	if err != nil {
		t.Fatal(err)
	}
	if err := Im2col(pl, make([]float32, pl.DstLen()-1), make([]float32, pl.SrcLen())); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short destination: %v", err)
	}
	if err := Im2col(pl, make([]float32, pl.DstLen()), make([]float32, 3)); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short source: %v", err)
	}
	if err := Col2im(pl, make([]float64, pl.SrcLen()), make([]float64, 1)); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short columns: %v", err)
	}
	if err := Col2im(pl, nil, make([]float64, pl.DstLen())); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short image: %v", err)
	}
}

func TestOutputSize(t *testing.T) {
	for _, c := range []struct{ in, k, s, p, d, want int }{
		{128, 3, 1, 1, 1, 128}, {128, 3, 3, 1, 1, 43}, {5, 5, 1, 0, 1, 1}, {7, 3, 2, 0, 2, 2}, {1, 1, 9, 0, 1, 1},
	} {
		got, err := OutputSize(c.in, c.k, c.s, c.p, c.d)
		if err != nil || got != c.want {
			t.Errorf("OutputSize%v = %d, %v", c, got, err)
		}
	}
}

// TestZeroDefaults: a zero stride, dilation or sampling means 1.
func TestZeroDefaults(t *testing.T) {
	pl, err := NewPlan(Params{Batch: 1, Channels: 1, Height: 4, Width: 4, Geometry: deconv.Geometry{KernelH: 2, KernelW: 2}})
	if err != nil {
		t.Fatal(err)
	}
	p := pl.Params()
	if p.StrideH != 1 || p.StrideW != 1 || p.DilationH != 1 || p.DilationW != 1 || p.Sampling != 1 || pl.Positions() != 9 {
		t.Fatalf("defaults not applied: %+v positions %d", p, pl.Positions())
	}
}

func ExampleIm2col() {
	// A 1×1×3×3 image, 2×2 kernel, stride 1: four patches of four pixels.
	pl, err := NewPlan(Params{Batch: 1, Channels: 1, Height: 3, Width: 3, Geometry: deconv.Geometry{KernelH: 2, KernelW: 2}})
	if err != nil {
		panic(err)
	}
	x := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	rows := make([]float32, pl.DstLen())
	if err := Im2col(pl, rows, x); err != nil {
		panic(err)
	}
	for r := 0; r < pl.NumRows(); r++ {
		fmt.Println(rows[r*pl.Cols() : (r+1)*pl.Cols()])
	}
	// Output:
	// [1 2 4 5]
	// [2 3 5 6]
	// [4 5 7 8]
	// [5 6 8 9]
}

func ExampleParams_sampling() {
	// The paper's subsampling: a 3×3 kernel with padding 1 over a 6×6 image
	// has 36 output positions; Sampling 3 keeps every third along each axis.
	pl, err := NewPlan(Params{Batch: 1, Channels: 2, Height: 6, Width: 6, Sampling: 3, Layout: Unfold,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(pl.OutH(), pl.OutW(), pl.Cols(), pl.DstLen())
	// Output: 2 2 18 72
}

func ExampleCol2im() {
	// Col2im sums overlapping patches back onto the image: with a 2×2 kernel
	// and stride 1, the centre pixel of a 3×3 image is in all four patches.
	pl, _ := NewPlan(Params{Batch: 1, Channels: 1, Height: 3, Width: 3, Geometry: deconv.Geometry{KernelH: 2, KernelW: 2}})
	ones := make([]float64, pl.DstLen())
	for i := range ones {
		ones[i] = 1
	}
	img := make([]float64, pl.SrcLen())
	_ = Col2im(pl, img, ones)
	fmt.Println(img)
	// Output: [1 2 1 2 4 2 1 2 1]
}

// TestUnfoldBlock compares blocks of output rows with the same rows of the
// whole unfold-layout transform, for every family.
func TestUnfoldBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < shapeCount(t)/2; i++ {
		p := randomParams(rng)
		if p.FlatSampling {
			continue
		}
		p.Layout = Unfold
		src := randomSlice(rng, p.Batch*p.Channels*p.Height*p.Width)
		for _, fam := range isa.Available() {
			pl, err := newPlan(p, fam)
			if err != nil {
				t.Fatal(err)
			}
			whole := make([]float64, pl.DstLen())
			if err := Im2col(pl, whole, src); err != nil {
				t.Fatal(err)
			}
			n := rng.IntN(p.Batch)
			oh0 := rng.IntN(pl.OutH())
			oh1 := oh0 + 1 + rng.IntN(pl.OutH()-oh0)
			width := (oh1 - oh0) * pl.OutW()
			ld := width + rng.IntN(3)
			block := make([]float64, (pl.Cols()-1)*ld+width)
			for j := range block {
				block[j] = math.NaN()
			}
			if err := UnfoldBlock(pl, block, ld, src, n, oh0, oh1); err != nil {
				t.Fatal(err)
			}
			for f := 0; f < pl.Cols(); f++ {
				want := whole[(n*pl.Cols()+f)*pl.Positions()+oh0*pl.OutW():][:width]
				got := block[f*ld:][:width]
				if j := firstDiff(got, want); j >= 0 {
					t.Fatalf("%v %+v n=%d rows [%d,%d): feature %d position %d = %v, want %v", fam, p, n, oh0, oh1, f, j, got[j], want[j])
				}
			}
		}
	}
	pl, _ := NewPlan(Params{Batch: 1, Channels: 1, Height: 4, Width: 4, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3}})
	for _, c := range []struct{ n, oh0, oh1, ld, dst int }{{1, 0, 1, 2, 100}, {0, 1, 0, 2, 100}, {0, 0, 3, 4, 100}, {0, 0, 1, 1, 100}, {0, 0, 2, 4, 10}} {
		if err := UnfoldBlock(pl, make([]float32, c.dst), c.ld, make([]float32, 16), c.n, c.oh0, c.oh1); err == nil {
			t.Errorf("UnfoldBlock%+v: no error", c)
		}
	}
}
