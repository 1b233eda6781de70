package fold

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/netdeconv/deconv"
)

// dxGeomCases are stride-1 geometries whose dx the forward engine
// computes, and a few it does not (padding beyond the kernel's reach,
// strides), on which both settings must take the scatter path.
func dxGeomCases(rng *rand.Rand) []ConvGeom {
	gs := []ConvGeom{
		{InChannels: 16, OutChannels: 32, Geometry: deconv.Square(3, 1, 1, 1)},                        // Winograd under ConvAuto at 32×32 and more
		{InChannels: 4, OutChannels: 6, Geometry: deconv.Square(3, 1, 0, 1), Algorithm: ConvWinograd}, // padding 0 → 2
		{InChannels: 4, OutChannels: 6, Geometry: deconv.Square(3, 1, 2, 1), Algorithm: ConvWinograd}, // padding 2 → 0
		{InChannels: 6, OutChannels: 4, Groups: 2, Geometry: deconv.Square(3, 1, 1, 1), Algorithm: ConvWinograd},
		{InChannels: 8, OutChannels: 8, Groups: 8, Geometry: deconv.Square(3, 1, 1, 1)}, // depthwise: the taps path
		{InChannels: 3, OutChannels: 5, Geometry: deconv.Square(1, 1, 0, 1)},
		{InChannels: 3, OutChannels: 5, Geometry: deconv.Geometry{KernelH: 2, KernelW: 5, StrideH: 1, StrideW: 1, PadH: 1, PadW: 3, DilationH: 2, DilationW: 1}},
		{InChannels: 3, OutChannels: 5, Geometry: deconv.Square(3, 1, 3, 1)}, // padding beyond reach: scatter
		{InChannels: 3, OutChannels: 5, Geometry: deconv.Square(3, 2, 1, 1)}, // stride 2: scatter
	}
	for len(gs) < 60 {
		g, _, _, _ := randomGeom(rng)
		g.StrideH, g.StrideW = 1, 1
		if rng.IntN(4) == 0 {
			g.Algorithm = ConvDirect
		}
		gs = append(gs, g)
	}
	return gs
}

// TestConv2dBackwardDxByForward compares the input gradient computed by
// the forward engine with the scatter path's on many geometries and
// sizes (float64 to rounding, float32 within the Winograd path's error),
// with dW and db computed in the same call unchanged.
func TestConv2dBackwardDxByForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	forward := 0
	for gi, g := range dxGeomCases(rng) {
		n, h, w := 1+rng.IntN(3), 1+rng.IntN(12), 1+rng.IntN(12)
		if gi < 5 || rng.IntN(4) == 0 {
			h, w = 32+rng.IntN(40), 32+rng.IntN(40)
		}
		oh, ow, err := g.OutputSize(h, w)
		if err != nil {
			continue
		}
		ng, err := g.normalize()
		if err != nil {
			t.Fatal(err)
		}
		if ng.dxByForward() {
			forward++
		}
		x, wt, gy := randVec(rng, n*g.InChannels*h*w), randVec(rng, g.WeightLen()), randVec(rng, n*g.OutChannels*oh*ow)
		bias := randVec(rng, g.OutChannels)
		grads := func(scatter bool, workers int) (dx, dw, db []float64, dx32 []float32) {
			c, err := NewConv2d(g, wt, bias)
			if err != nil {
				t.Fatal(err)
			}
			c.scatterDx, c.Workers = scatter, workers
			dx, dw, db = make([]float64, len(x)), make([]float64, len(wt)), make([]float64, g.OutChannels)
			for i := range dx {
				dx[i] = 7 // overwritten, not accumulated
			}
			if err := c.Backward(dx, dw, db, gy, x, n, h, w); err != nil {
				t.Fatalf("%+v: %v", g, err)
			}
			c32, err := NewConv2d(g, to32(wt), to32(bias))
			if err != nil {
				t.Fatal(err)
			}
			c32.scatterDx, c32.Workers = scatter, workers
			dx32 = make([]float32, len(x))
			if err := c32.Backward(dx32, nil, nil, to32(gy), to32(x), n, h, w); err != nil {
				t.Fatalf("%+v float32: %v", g, err)
			}
			return dx, dw, db, dx32
		}
		rdx, rdw, rdb, _ := grads(true, 1)
		dx, dw, db, dx32 := grads(false, 1+gi%3)
		if e := relErr(dx, rdx); e > 1e-12 {
			t.Errorf("%+v %d×%d×%d: dx relative error %g", g, n, h, w, e)
		}
		if e := relErr(dx32, rdx); e > 1e-5 {
			t.Errorf("%+v %d×%d×%d: float32 dx relative error %g", g, n, h, w, e)
		}
		if relErr(dw, rdw) > 1e-13 || relErr(db, rdb) > 1e-13 {
			t.Errorf("%+v: dW or db changed with the dx path", g)
		}
	}
	if forward < 25 {
		t.Fatalf("only %d geometries took the forward path", forward)
	}
}

// TestFlipWeights checks the dx convolution's weights element by element.
func TestFlipWeights(t *testing.T) {
	g := ConvGeom{InChannels: 4, OutChannels: 6, Groups: 2, Geometry: deconv.Geometry{KernelH: 2, KernelW: 3}}
	w := make([]float64, g.WeightLen())
	for i := range w {
		w[i] = float64(i)
	}
	dst := make([]float64, len(w))
	flipWeights(dst, w, g)
	cg, coutg := 2, 3
	for grp := 0; grp < 2; grp++ {
		for co := 0; co < coutg; co++ {
			for ci := 0; ci < cg; ci++ {
				for i := 0; i < 2; i++ {
					for j := 0; j < 3; j++ {
						got := dst[(((grp*cg+ci)*coutg+co)*2+1-i)*3+2-j]
						want := w[(((grp*coutg+co)*cg+ci)*2+i)*3+j]
						if got != want {
							t.Fatalf("group %d co %d ci %d tap %d,%d: %g, want %g", grp, co, ci, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

// TestConv2dBackwardDyCheckWithBias checks that a NaN or an infinity in
// dy is reported as the output gradient's when db's sums double as the
// check, for each gradient subset, and that finite float64 values whose
// sum overflows are reported as an overflow of db, not of dy.
func TestConv2dBackwardDyCheckWithBias(t *testing.T) {
	g := ConvGeom{InChannels: 2, OutChannels: 3, Geometry: deconv.Square(3, 1, 1, 1)}
	c, _ := NewConv2d(g, make([]float32, g.WeightLen()), make([]float32, 3))
	x := make([]float32, 2*2*5*5)
	dx, dw, db := make([]float32, len(x)), make([]float32, g.WeightLen()), make([]float32, 3)
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		for _, pos := range []int{0, 37, 2*3*25 - 1} {
			dy := make([]float32, 2*3*5*5)
			dy[pos] = bad
			for _, dst := range [][3][]float32{{dx, dw, db}, {nil, nil, db}, {dx, nil, db}, {nil, dw, nil}} {
				err := c.Backward(dst[0], dst[1], dst[2], dy, x, 2, 5, 5)
				if !errors.Is(err, deconv.ErrNonFinite) || !strings.Contains(err.Error(), "output gradient") {
					t.Errorf("%v at %d: %v", bad, pos, err)
				}
			}
		}
	}
	c64, _ := NewConv2d(g, make([]float64, g.WeightLen()), make([]float64, 3))
	dy := make([]float64, 3*5*5)
	for i := range dy {
		dy[i] = math.MaxFloat64 / 4
	}
	err := c64.Backward(nil, nil, make([]float64, 3), dy, make([]float64, 2*5*5), 1, 5, 5)
	if !errors.Is(err, deconv.ErrNonFinite) || !strings.Contains(err.Error(), "bias gradient") {
		t.Errorf("overflowing db: %v", err)
	}
}
