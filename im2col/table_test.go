package im2col

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
)

// TestUnfoldTableMatchesReference runs the Unfold layout of small images
// (1–20 pixels a side, kernels 1–5, padding, dilation, strides, sampling
// strides, 1–40 channels) against the naive loops, through the offset
// table and, with the table removed from the same plan, through the
// strided path, on every kernel family, in both precisions. The output
// starts as NaN so an element left unwritten shows.
func TestUnfoldTableMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tabled := 0
	for i := 0; i < shapeCount(t); i++ {
		p := Params{
			Batch: 1 + rng.IntN(3), Channels: 1 + rng.IntN(40),
			Height: 1 + rng.IntN(20), Width: 1 + rng.IntN(20),
			Sampling: rng.IntN(4), Layout: Unfold, Workers: rng.IntN(3),
			Geometry: deconv.Geometry{KernelH: 1 + rng.IntN(5), KernelW: 1 + rng.IntN(5),
				StrideH: rng.IntN(3), StrideW: rng.IntN(3), PadH: rng.IntN(3), PadW: rng.IntN(3),
				DilationH: rng.IntN(3), DilationW: rng.IntN(3)},
		}
		if _, err := NewPlan(p); err != nil {
			continue // the kernel does not fit the padded input
		}
		src := randomSlice(rng, p.Batch*p.Channels*p.Height*p.Width)
		src32 := make([]float32, len(src))
		for j, v := range src {
			src32[j] = float32(v)
		}
		for _, fam := range isa.Available() {
			pl, err := newPlan(p, fam)
			if err != nil {
				t.Fatal(err)
			}
			if pl.unfoldTab() != nil {
				tabled++
			} else {
				pl.table = buildTable(pl) // above the size rule: tested all the same
			}
			want := refLayout(pl, refIm2col(p, src))
			for _, path := range []string{"table", "strided"} {
				if path == "strided" {
					pl.table = nil
				}
				got := make([]float64, pl.DstLen())
				for j := range got {
					got[j] = math.NaN()
				}
				if err := Im2col(pl, got, src); err != nil {
					t.Fatal(err)
				}
				if j := firstDiff(got, want); j >= 0 {
					t.Fatalf("float64 %v %s %+v: element %d = %v, want %v", fam, path, p, j, got[j], want[j])
				}
				got32 := make([]float32, pl.DstLen())
				for j := range got32 {
					got32[j] = float32(math.NaN())
				}
				if err := Im2col(pl, got32, src32); err != nil {
					t.Fatal(err)
				}
				for j := range got32 {
					if got32[j] != float32(want[j]) {
						t.Fatalf("float32 %v %s %+v: element %d = %v, want %v", fam, path, p, j, got32[j], want[j])
					}
				}
			}
		}
	}
	if tabled < shapeCount(t)/2 {
		t.Fatalf("only %d plans took the table by the size rule", tabled)
	}
}

// TestUnfoldTableBound checks which plans get a table: Unfold plans up to
// maxTableOutputs outputs per plane, and no others.
func TestUnfoldTableBound(t *testing.T) {
	g := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	for _, c := range []struct {
		fam  isa.Family
		p    Params
		want bool
	}{
		{isa.AVX512, Params{Batch: 8, Channels: 512, Height: 16, Width: 16, Sampling: 3, Geometry: g, Layout: Unfold}, true},
		{isa.AVX512, Params{Batch: 1, Channels: 1, Height: 85, Width: 85, Sampling: 1, Geometry: g, Layout: Unfold}, true},   // 65025 outputs
		{isa.AVX512, Params{Batch: 1, Channels: 1, Height: 86, Width: 86, Sampling: 1, Geometry: g, Layout: Unfold}, false},  // 66564
		{isa.AVX512, Params{Batch: 1, Channels: 1, Height: 16, Width: 16, Sampling: 3, Geometry: g, Layout: Rows}, false},    // other layout
		{isa.AVX512, Params{Batch: 1, Channels: 1, Height: 128, Width: 128, Sampling: 3, Geometry: g, Layout: Unfold}, true}, // the paper layer: 16641
		{isa.Generic, Params{Batch: 1, Channels: 1, Height: 16, Width: 16, Sampling: 3, Geometry: g, Layout: Unfold}, true},  // 324
		{isa.Generic, Params{Batch: 1, Channels: 1, Height: 10, Width: 10, Sampling: 1, Geometry: g, Layout: Unfold}, true},  // 900
		{isa.Generic, Params{Batch: 1, Channels: 1, Height: 11, Width: 11, Sampling: 1, Geometry: g, Layout: Unfold}, false}, // 1089
		{isa.AVX2, Params{Batch: 1, Channels: 1, Height: 32, Width: 32, Sampling: 3, Geometry: g, Layout: Unfold}, false},    // 1089
	} {
		pl, err := newPlan(c.p, c.fam)
		if err != nil {
			t.Fatal(err)
		}
		if got := pl.unfoldTab() != nil; got != c.want {
			t.Errorf("%v %d×%d sampling %d %v: table %v, want %v", c.fam, c.p.Height, c.p.Width, c.p.Sampling, c.p.Layout, got, c.want)
		}
	}
}

// TestUnfoldTableAllocs checks that a table-path transform allocates
// nothing once warm.
func TestUnfoldTableAllocs(t *testing.T) {
	pl, err := NewPlan(Params{Batch: 2, Channels: 8, Height: 16, Width: 16, Sampling: 3, Layout: Unfold,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}})
	if err != nil || pl.unfoldTab() == nil {
		t.Fatal(err, pl.table)
	}
	dst, src := make([]float32, pl.DstLen()), make([]float32, pl.SrcLen())
	if a := testing.AllocsPerRun(20, func() { _ = Im2col(pl, dst, src) }); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}

// TestUnfoldBlockWholeImageTable checks UnfoldBlock's table path (a whole
// image's block, the destination holding every row whole) against the
// whole Unfold transform on random shapes, every family and both element
// types, with leading dimensions beyond the block's width, and that the
// path runs where the table rule admits the plane.
func TestUnfoldBlockWholeImageTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	ran := 0
	for i := 0; i < shapeCount(t); i++ {
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
			width := pl.Positions()
			ld := width + rng.IntN(20)
			if pl.blockTab(ld) != nil {
				ran++
			}
			whole := make([]float64, pl.DstLen())
			if err := Im2col(pl, whole, src); err != nil {
				t.Fatal(err)
			}
			n := rng.IntN(p.Batch)
			block := make([]float64, pl.Cols()*ld)
			block32 := make([]float32, pl.Cols()*ld)
			for j := range block {
				block[j], block32[j] = math.NaN(), float32(math.NaN())
			}
			src32 := make([]float32, len(src))
			for j, v := range src {
				src32[j] = float32(v)
			}
			if err := UnfoldBlock(pl, block, ld, src, n, 0, pl.OutH()); err != nil {
				t.Fatal(err)
			}
			if err := UnfoldBlock(pl, block32, ld, src32, n, 0, pl.OutH()); err != nil {
				t.Fatal(err)
			}
			for f := 0; f < pl.Cols(); f++ {
				want := whole[(n*pl.Cols()+f)*width:][:width]
				for j, w := range want {
					if g := block[f*ld+j]; g != w {
						t.Fatalf("%v %+v ld %d: float64 feature %d position %d = %v, want %v", fam, p, ld, f, j, g, w)
					}
					if g := block32[f*ld+j]; g != float32(w) {
						t.Fatalf("%v %+v ld %d: float32 feature %d position %d = %v, want %v", fam, p, ld, f, j, g, w)
					}
				}
			}
		}
	}
	if isa.Supported(isa.AVX512) && ran == 0 {
		t.Fatal("no shape took the whole-image table path")
	}
}
