package fold

import (
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
)

// TestConv2dFirstLayerBlocks checks the direct path on first-layer shapes
// (few input channels, large odd kernels, padding, stride 2, dilation)
// against the naive definition, with blocks of patches bounded by
// blockBytes to one output row, a few rows and the default, so that the
// blocks the bound shortens are exercised along with the full ones.
func TestConv2dFirstLayerBlocks(t *testing.T) {
	defer func(old int) { blockBytes = old }(blockBytes)
	rng := rand.New(rand.NewPCG(41, 42))
	shapes := []struct {
		g       ConvGeom
		n, h, w int
	}{
		{ConvGeom{InChannels: 3, OutChannels: 8, Geometry: deconv.Geometry{KernelH: 11, KernelW: 11, PadH: 5, PadW: 5}}, 2, 37, 29},
		{ConvGeom{InChannels: 3, OutChannels: 5, Geometry: deconv.Geometry{KernelH: 7, KernelW: 7, PadH: 3, PadW: 3, StrideH: 2, StrideW: 2}}, 2, 33, 40},
		{ConvGeom{InChannels: 1, OutChannels: 6, Geometry: deconv.Geometry{KernelH: 9, KernelW: 5, PadH: 2, PadW: 4, DilationH: 2, DilationW: 1}}, 1, 31, 23},
		{ConvGeom{InChannels: 4, OutChannels: 64, Geometry: deconv.Geometry{KernelH: 11, KernelW: 11, PadH: 5, PadW: 5, StrideH: 2, StrideW: 1, DilationH: 1, DilationW: 2}}, 1, 41, 45},
		{ConvGeom{InChannels: 2, OutChannels: 3, Geometry: deconv.Geometry{KernelH: 5, KernelW: 7, StrideH: 1, StrideW: 2}}, 3, 19, 27},
	}
	for _, bound := range []int{1, 16 << 10, 1 << 20} {
		blockBytes = bound
		for _, s := range shapes {
			g := s.g
			x := randVec(rng, s.n*g.InChannels*s.h*s.w)
			wt := randVec(rng, g.WeightLen())
			bias := randVec(rng, g.OutChannels)
			want := naiveConv(g, x, wt, bias, s.n, s.h, s.w)
			for _, workers := range []int{1, 2} {
				c, err := NewConv2d(g, wt, bias)
				if err != nil {
					t.Fatal(err)
				}
				c.Workers = workers
				got := make([]float64, len(want))
				if err := c.Forward(got, x, s.n, s.h, s.w); err != nil {
					t.Fatal(err)
				}
				if e := relErr(got, want); e > 1e-12 {
					t.Fatalf("float64 %+v, block bound %d B, %d workers: relative error %g", g, bound, workers, e)
				}
				c32, err := NewConv2d(g, to32(wt), to32(bias))
				if err != nil {
					t.Fatal(err)
				}
				c32.Workers = workers
				got32 := make([]float32, len(want))
				if err := c32.Forward(got32, to32(x), s.n, s.h, s.w); err != nil {
					t.Fatal(err)
				}
				if e := relErr(got32, want); e > 1e-5 {
					t.Fatalf("float32 %+v, block bound %d B, %d workers: relative error %g", g, bound, workers, e)
				}
			}
		}
	}
}

// TestBlockPositionsFor checks the block sizes the bound gives: the
// 11×11 first layer of Table 3 gets 722 positions of float32 (two output
// rows of 256), the 7×7 one keeps blockPositions, a layer with more
// output channels ignores the bound, and a block is never empty.
func TestBlockPositionsFor(t *testing.T) {
	k := func(n int) deconv.Geometry { return deconv.Geometry{KernelH: n, KernelW: n, PadH: n / 2, PadW: n / 2} }
	cases := []struct {
		g        ConvGeom
		f32, f64 int
	}{
		{ConvGeom{InChannels: 3, OutChannels: 64, Groups: 1, Geometry: k(11)}, 722, 361},
		{ConvGeom{InChannels: 3, OutChannels: 64, Groups: 1, Geometry: k(7)}, blockPositions, 891},
		{ConvGeom{InChannels: 64, OutChannels: 128, Groups: 1, Geometry: k(11)}, blockPositions, blockPositions},
		{ConvGeom{InChannels: 512, OutChannels: 64, Groups: 1, Geometry: k(11)}, 4, 2},
		{ConvGeom{InChannels: 1 << 16, OutChannels: 64, Groups: 1, Geometry: k(11)}, 1, 1},
	}
	for _, c := range cases {
		if got := blockPositionsFor[float32](c.g); got != c.f32 {
			t.Errorf("%+v float32: %d positions, want %d", c.g, got, c.f32)
		}
		if got := blockPositionsFor[float64](c.g); got != c.f64 {
			t.Errorf("%+v float64: %d positions, want %d", c.g, got, c.f64)
		}
	}
}
