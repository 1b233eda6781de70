package fold

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/winograd"
)

func to64(v []float32) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// randomWinogradGeom returns a 3×3, stride-1 convolution of random
// channels, groups, padding and image size: odd sizes, images smaller than
// a tile, padding 0 to 2.
func randomWinogradGeom(rng *rand.Rand) (ConvGeom, int, int, int) {
	for {
		groups := 1
		if rng.IntN(3) == 0 {
			groups = 1 + rng.IntN(4)
		}
		cg, coutg := 1+rng.IntN(9), 1+rng.IntN(9)
		if rng.IntN(4) == 0 {
			cg, coutg = 16+rng.IntN(40), 16+rng.IntN(40)
		}
		pad := rng.IntN(3)
		g := ConvGeom{InChannels: groups * cg, OutChannels: groups * coutg, Groups: groups, Algorithm: ConvWinograd,
			Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: pad, PadW: rng.IntN(3)}}
		n, h, w := 1+rng.IntN(3), 1+rng.IntN(14), 1+rng.IntN(14)
		if rng.IntN(5) == 0 {
			h, w = 20+rng.IntN(30), 20+rng.IntN(30)
		}
		if _, _, err := g.OutputSize(h, w); err == nil {
			return g, n, h, w
		}
	}
}

// TestWinogradMatchesNaive: the Winograd path against the float64
// definition on random shapes: float32 within 1e-5 relative (Frobenius),
// float64 within 1e-12, with and without bias, on 1 to 3 workers.
func TestWinogradMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	trials := 120
	if testing.Short() {
		trials = 40
	}
	worst32 := 0.0
	for i := 0; i < trials; i++ {
		g, n, h, w := randomWinogradGeom(rng)
		cc := randomConvCase(rng, g, n, h, w)
		x32, wt32, bias32, want := cc.x, cc.wt, cc.bias, cc.want
		x, wt, bias := to64(x32), to64(wt32), to64(bias32)
		c, err := NewConv2d(g, wt, bias)
		if err != nil {
			t.Fatal(err)
		}
		c.Workers = 1 + rng.IntN(3)
		got := make([]float64, len(want))
		if err := c.Forward(got, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got, want); e > 1e-12 {
			t.Fatalf("float64 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
		c32, err := NewConv2d(g, wt32, bias32)
		if err != nil {
			t.Fatal(err)
		}
		c32.Workers = c.Workers
		got32 := make([]float32, len(want))
		if err := c32.Forward(got32, x32, n, h, w); err != nil {
			t.Fatal(err)
		}
		e := relErr(got32, want)
		if e > 1e-5 {
			t.Fatalf("float32 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
		worst32 = max(worst32, e)
	}
	t.Logf("worst float32 relative error %.2e", worst32)
}

// TestWinogradAutoRule: ConvAuto takes the Winograd path exactly where
// the documented rule says, and ConvWinograd on a geometry without it is
// ErrUnsupported at construction.
func TestWinogradAutoRule(t *testing.T) {
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	for _, c := range []struct {
		g      ConvGeom
		oh, ow int
		want   bool
	}{
		{ConvGeom{InChannels: 64, OutChannels: 128, Geometry: k3}, 128, 128, true},
		{ConvGeom{InChannels: 64, OutChannels: 128, Geometry: k3}, 4, 128, false},
		{ConvGeom{InChannels: 8, OutChannels: 128, Geometry: k3}, 64, 64, false},
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 32, Geometry: k3}, 64, 64, false},
		{ConvGeom{InChannels: 64, OutChannels: 64, Geometry: k3}, 32, 32, true},
		{ConvGeom{InChannels: 64, OutChannels: 64, Geometry: k3}, 16, 64, false},
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 512, Geometry: k3}, 16, 16, false},
		{ConvGeom{InChannels: 64, OutChannels: 64, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2}}, 64, 64, false},
		{ConvGeom{InChannels: 64, OutChannels: 128, Geometry: k3, Algorithm: ConvDirect}, 128, 128, false},
		{ConvGeom{InChannels: 2, OutChannels: 2, Geometry: k3, Algorithm: ConvWinograd}, 2, 2, true},
	} {
		g, err := c.g.normalize()
		if err != nil {
			t.Fatal(err)
		}
		if got := g.useWinograd(c.oh, c.ow); got != c.want {
			t.Errorf("%+v at %d×%d: Winograd %v, want %v", c.g, c.oh, c.ow, got, c.want)
		}
	}
	for _, geo := range []deconv.Geometry{
		{KernelH: 5, KernelW: 5},
		{KernelH: 3, KernelW: 1},
		{KernelH: 3, KernelW: 3, StrideH: 2},
		{KernelH: 3, KernelW: 3, DilationW: 2},
	} {
		g := ConvGeom{InChannels: 4, OutChannels: 4, Geometry: geo, Algorithm: ConvWinograd}
		if _, err := NewConv2d(g, make([]float32, g.WeightLen()), nil); !errors.Is(err, deconv.ErrUnsupported) {
			t.Errorf("Winograd on %+v: %v, want ErrUnsupported", geo, err)
		}
	}
	g := ConvGeom{InChannels: 4, OutChannels: 4, Geometry: k3, Algorithm: 7}
	if _, err := NewConv2d(g, make([]float32, g.WeightLen()), nil); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("unknown algorithm: %v, want ErrParam", err)
	}
}

// TestWinogradGroupedAutoRule: ConvAuto takes the Winograd path of a
// grouped layer exactly where winogradGroupMinChannels' rule says, for
// float32 in families with the fused kernels only, and the layers it
// sends there keep transformed weights.
func TestWinogradGroupedAutoRule(t *testing.T) {
	prev := isa.Selected()
	defer func() { _ = isa.Select(prev) }()
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	cases := []struct {
		g      ConvGeom
		oh, ow int
		want   bool // in a family with the fused kernels, float32
	}{
		{ConvGeom{InChannels: 256, OutChannels: 512, Groups: 4, Geometry: k3}, 32, 32, true},  // Table 3's row 04
		{ConvGeom{InChannels: 128, OutChannels: 256, Groups: 2, Geometry: k3}, 64, 64, true},  // row 03
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 8, Geometry: k3}, 16, 16, false}, // row 05
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 4, Geometry: k3}, 16, 16, true},  // 128→128 per group
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 2, Geometry: k3}, 16, 24, true},
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 4, Geometry: k3}, 15, 16, false},
		{ConvGeom{InChannels: 512, OutChannels: 508, Groups: 4, Geometry: k3}, 16, 16, false},  // 127 out per group
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 32, Geometry: k3}, 16, 16, false}, // row 13
		{ConvGeom{InChannels: 256, OutChannels: 512, Groups: 32, Geometry: k3}, 32, 32, false}, // row 12
		{ConvGeom{InChannels: 128, OutChannels: 128, Groups: 128, Geometry: k3}, 64, 64, false},
		{ConvGeom{InChannels: 128, OutChannels: 128, Groups: 4, Geometry: k3}, 64, 64, true},
		{ConvGeom{InChannels: 256, OutChannels: 256, Groups: 8, Geometry: k3}, 32, 32, false}, // 32→32 narrow
		{ConvGeom{InChannels: 256, OutChannels: 256, Groups: 8, Geometry: k3}, 32, 64, true},
		{ConvGeom{InChannels: 256, OutChannels: 512, Groups: 8, Geometry: k3}, 32, 32, true}, // 32→64 narrow
		{ConvGeom{InChannels: 62, OutChannels: 64, Groups: 2, Geometry: k3}, 64, 64, false},  // 31 per group
		{ConvGeom{InChannels: 128, OutChannels: 256, Groups: 2, Geometry: k3}, 31, 64, false},
		{ConvGeom{InChannels: 128, OutChannels: 256, Groups: 2, Geometry: k3, Algorithm: ConvBlocked}, 64, 64, false},
		{ConvGeom{InChannels: 128, OutChannels: 256, Groups: 2, Geometry: k3, Algorithm: ConvDirect}, 64, 64, false},
		{ConvGeom{InChannels: 128, OutChannels: 256, Groups: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, DilationH: 2, DilationW: 2}}, 64, 64, false},
	}
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		fused := winograd.HasGatherInput[float32](fam, winograd.F43)
		for _, c := range cases {
			g, err := c.g.normalize()
			if err != nil {
				t.Fatal(err)
			}
			if got := winogradAt[float32](g, c.oh, c.ow); got != (c.want && fused) {
				t.Errorf("%v float32 %+v at %d×%d: Winograd %v, want %v", fam, c.g, c.oh, c.ow, got, c.want && fused)
			}
			if winogradAt[float64](g, c.oh, c.ow) {
				t.Errorf("%v float64 %+v at %d×%d: Winograd, want another path", fam, c.g, c.oh, c.ow)
			}
			if c.want && fused {
				l, err := NewConv2d(c.g, make([]float32, c.g.WeightLen()), nil)
				if err != nil {
					t.Fatal(err)
				}
				if l.p.Load().wino == nil {
					t.Errorf("%v %+v: no transformed weights kept", fam, c.g)
				}
			}
		}
	}
	// A forward ConvAuto sends to the grouped Winograd path (32→64
	// channels per group, narrow but with 64 output channels per group)
	// computes the convolution, where the family has the fused kernels;
	// elsewhere the same layer takes another path and computes it too
	// (TestWinogradGroupedMatchesNaive covers the path on other shapes).
	rng := rand.New(rand.NewPCG(95, 96))
	g := ConvGeom{InChannels: 64, OutChannels: 128, Groups: 2, Geometry: k3}
	const n, side = 2, 40
	x, wt := to32(randVec(rng, n*g.InChannels*side*side)), to32(randVec(rng, g.WeightLen()))
	want := naiveConv(g, to64(x), to64(wt), nil, n, side, side)
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		fused := winograd.HasGatherInput[float32](fam, winograd.F43) && winograd.HasOutputKernel[float32](fam, winograd.F43)
		c, err := NewConv2d(g, wt, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The layer's geometry, as forward decides the path.
		if got := winogradAt[float32](c.geom, side, side); got != fused {
			t.Errorf("%v: forward of %+v at %d×%d on the Winograd path %v, want %v", fam, g, side, side, got, fused)
		}
		got := make([]float32, len(want))
		if err := c.Forward(got, x, n, side, side); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got, want); e > 1e-5 {
			t.Errorf("%v: relative error %g", fam, e)
		}
	}
}

// TestWinogradErrorGrowsWithTileSize documents the float32 accuracy of
// F(2,3), F(4,3) and F(6,3) on one layer of random data (64→64 channels,
// 24×24, padding 1) against the float64 definition: the error grows with
// the tile, and F(4,3), the path's tile, stays within 1e-5.
func TestWinogradErrorGrowsWithTileSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := ConvGeom{InChannels: 64, OutChannels: 64, Algorithm: ConvWinograd,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	n, h, w := 2, 24, 24
	x32 := to32(randVec(rng, n*g.InChannels*h*w))
	wt32 := to32(randVec(rng, g.WeightLen()))
	want := naiveConv(g, to64(x32), to64(wt32), nil, n, h, w)
	errOf := func(tl *winograd.Tile) float64 {
		c, err := NewConv2d(g, wt32, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.wtile = tl
		if err := c.SetWeights(wt32, nil); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(want))
		if err := c.Forward(got, x32, n, h, w); err != nil {
			t.Fatal(err)
		}
		return relErr(got, want)
	}
	direct := g
	direct.Algorithm = ConvDirect
	cd, err := NewConv2d(direct, wt32, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(want))
	if err := cd.Forward(got, x32, n, h, w); err != nil {
		t.Fatal(err)
	}
	eDirect := relErr(got, want)
	e23, e43, e63 := errOf(winograd.F23), errOf(winograd.F43), errOf(winograd.F63)
	t.Logf("float32 relative error: direct %.2e, F(2,3) %.2e, F(4,3) %.2e, F(6,3) %.2e", eDirect, e23, e43, e63)
	if !(eDirect <= e23*2 && e23 < e43 && e43 < e63) {
		t.Errorf("error does not grow with the tile: direct %.2e, F(2,3) %.2e, F(4,3) %.2e, F(6,3) %.2e", eDirect, e23, e43, e63)
	}
	if e43 > 1e-5 {
		t.Errorf("F(4,3) error %.2e above 1e-5", e43)
	}
}
