package fold

import (
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
)

// naiveConvDW is the weight gradient of a convolution by its definition,
// dW[co][ci][ki][kj] = Σ dy[b][co][y][x]·x[b][grp·cg+ci][y·SH+ki·DH−PH][x·SW+kj·DW−PW],
// in float64.
func naiveConvDW(g ConvGeom, x, dy []float64, n, h, w int) []float64 {
	g, _ = g.normalize()
	oh, ow, _ := g.OutputSize(h, w)
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	dw := make([]float64, g.WeightLen())
	for b := 0; b < n; b++ {
		for co := 0; co < g.OutChannels; co++ {
			grp := co / coutg
			for ci := 0; ci < cg; ci++ {
				for ki := 0; ki < g.KernelH; ki++ {
					for kj := 0; kj < g.KernelW; kj++ {
						s := 0.0
						for y := 0; y < oh; y++ {
							iy := y*g.StrideH + ki*g.DilationH - g.PadH
							if iy < 0 || iy >= h {
								continue
							}
							for xx := 0; xx < ow; xx++ {
								ix := xx*g.StrideW + kj*g.DilationW - g.PadW
								if ix < 0 || ix >= w {
									continue
								}
								s += dy[((b*g.OutChannels+co)*oh+y)*ow+xx] * x[((b*g.InChannels+grp*cg+ci)*h+iy)*w+ix]
							}
						}
						dw[((co*cg+ci)*g.KernelH+ki)*g.KernelW+kj] += s
					}
				}
			}
		}
	}
	return dw
}

// TestConv2dWeightGradShifted checks dW of stride-1 convolutions, the
// shapes that take the shifted-window product, against the definition in
// float64 and float32: rectangular and dilated kernels, no padding and
// padding wider than the kernel's reach, groups, output widths that are
// not multiples of the register blocks, several bands per image, and
// worker counts from 1 to 4; with dx asked for (dx by the forward engine)
// and without. Each case asserts that its shape takes the shifted path;
// the cases run twice, the second time with the path forced on whatever
// the kernel family (DECONV_ISA), and the first as the family chooses.
func TestConv2dWeightGradShifted(t *testing.T) {
	calls := 0
	testHookShifted = func() { calls++ }
	defer func() { testHookShifted, testForceShifted = nil, false }()
	for _, force := range []bool{false, true} {
		testForceShifted = force
		calls = 0
		testConv2dWeightGradShifted(t)
		if want := force || gemm.RegisterTransposes(isa.Selected()); (calls > 0) != want {
			t.Errorf("forced %v: %d backwards took the shifted path", force, calls)
		}
	}
}

func testConv2dWeightGradShifted(t *testing.T) {
	rng := rand.New(rand.NewPCG(95, 96))
	type tc struct {
		g       ConvGeom
		n, h, w int
	}
	cases := []tc{
		{ConvGeom{InChannels: 64, OutChannels: 128, Geometry: deconv.Square(3, 1, 1, 1)}, 1, 20, 37},
		{ConvGeom{InChannels: 13, OutChannels: 17, Geometry: deconv.Square(3, 1, 1, 1)}, 2, 33, 70},
		{ConvGeom{InChannels: 6, OutChannels: 9, Groups: 3, Geometry: deconv.Square(3, 1, 0, 1)}, 2, 15, 21},
		{ConvGeom{InChannels: 5, OutChannels: 7, Geometry: deconv.Geometry{KernelH: 2, KernelW: 3, StrideH: 1, StrideW: 1, PadH: 3, PadW: 4, DilationH: 2, DilationW: 1}}, 1, 9, 16},
		{ConvGeom{InChannels: 3, OutChannels: 40, Geometry: deconv.Square(1, 1, 0, 1)}, 3, 5, 7},
		{ConvGeom{InChannels: 20, OutChannels: 33, Geometry: deconv.Geometry{KernelH: 5, KernelW: 1, StrideH: 1, StrideW: 1, PadH: 2, PadW: 0, DilationH: 1, DilationW: 3}}, 1, 40, 3},
	}
	for len(cases) < 24 {
		g, n, h, w := randomGeom(rng)
		g.StrideH, g.StrideW = 1, 1
		g.InChannels *= 1 + rng.IntN(8)
		g.InChannels -= g.InChannels % max(g.Groups, 1)
		if g.InChannels == 0 {
			continue
		}
		w += 10
		g, err := g.normalize()
		if err != nil {
			continue
		}
		if _, ow, err := g.OutputSize(h, w); err != nil || !shiftedDW(g, ow) {
			continue
		}
		cases = append(cases, tc{g, n, h, w})
	}
	for ci, c := range cases {
		g, err := c.g.normalize()
		if err != nil {
			t.Fatal(err)
		}
		n, h, w := c.n, c.h, c.w
		oh, ow, err := g.OutputSize(h, w)
		if err != nil {
			t.Fatalf("case %d: %v", ci, err)
		}
		if !shiftedDW(g, ow) {
			t.Fatalf("case %d %+v: not a shifted-window shape", ci, g)
		}
		x, wt, gy := randVec(rng, n*g.InChannels*h*w), randVec(rng, g.WeightLen()), randVec(rng, n*g.OutChannels*oh*ow)
		want := naiveConvDW(g, x, gy, n, h, w)
		c64, err := NewConv2d(g, wt, nil)
		if err != nil {
			t.Fatal(err)
		}
		c64.Workers = 1 + ci%4
		dw := make([]float64, len(wt))
		for i := range dw {
			dw[i] = 99 // overwritten
		}
		if err := c64.Backward(nil, dw, nil, gy, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(dw, want); e > 1e-12 {
			t.Errorf("case %d %+v %d×%d: float64 dW relative error %g", ci, g, h, w, e)
		}
		c32, _ := NewConv2d(g, to32(wt), nil)
		c32.Workers = 1 + (ci+1)%4
		dw32, dx32 := make([]float32, len(wt)), make([]float32, len(x))
		if err := c32.Backward(dx32, dw32, nil, to32(gy), to32(x), n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(dw32, want); e > 1e-5 {
			t.Errorf("case %d %+v %d×%d: float32 dW (with dx) relative error %g", ci, g, h, w, e)
		}
	}
}

// TestShiftedDWRule pins which shapes take the shifted-window product:
// stride 1 and a padded grid at most a fifth wider than the output.
func TestShiftedDWRule(t *testing.T) {
	for _, c := range []struct {
		g    deconv.Geometry
		ow   int
		want bool
	}{
		{deconv.Square(3, 1, 1, 1), 128, true},
		{deconv.Square(3, 1, 1, 1), 10, true},
		{deconv.Square(3, 1, 1, 1), 9, false},
		{deconv.Square(3, 2, 1, 1), 128, false},
		{deconv.Square(1, 1, 0, 1), 1, true},
		{deconv.Geometry{KernelH: 3, KernelW: 3, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1, DilationH: 1, DilationW: 1}, 64, false},
	} {
		if got := shiftedDW(ConvGeom{InChannels: 1, OutChannels: 1, Geometry: c.g}, c.ow); got != c.want {
			t.Errorf("%+v ow %d: %v, want %v", c.g, c.ow, got, c.want)
		}
	}
}
