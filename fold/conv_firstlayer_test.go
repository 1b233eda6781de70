package fold

import (
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
)

// TestConv2dFirstLayerBlocks checks the direct path on first-layer shapes
// (few input channels, large odd kernels, padding, stride 2, dilation)
// against the naive definition, on one to three workers: with more
// workers the blocks of output rows get shorter and end mid-image.
func TestConv2dFirstLayerBlocks(t *testing.T) {
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
	for _, s := range shapes {
		g := s.g
		x := randVec(rng, s.n*g.InChannels*s.h*s.w)
		wt := randVec(rng, g.WeightLen())
		bias := randVec(rng, g.OutChannels)
		want := naiveConv(g, x, wt, bias, s.n, s.h, s.w)
		for _, workers := range []int{1, 2, 3} {
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
				t.Fatalf("float64 %+v, %d workers: relative error %g", g, workers, e)
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
				t.Fatalf("float32 %+v, %d workers: relative error %g", g, workers, e)
			}
		}
	}
}
