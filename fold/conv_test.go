package fold

import (
	"errors"
	"github.com/netdeconv/deconv"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv is the definition of a grouped, strided, padded, dilated
// cross-correlation, in float64.
func naiveConv(g ConvGeom, x, weight, bias []float64, n, h, w int) []float64 {
	g, _ = g.normalize()
	oh := (h+2*g.PadH-g.DilationH*(g.KernelH-1)-1)/g.StrideH + 1
	ow := (w+2*g.PadW-g.DilationW*(g.KernelW-1)-1)/g.StrideW + 1
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	out := make([]float64, n*g.OutChannels*oh*ow)
	for b := 0; b < n; b++ {
		for co := 0; co < g.OutChannels; co++ {
			grp := co / coutg
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					s := 0.0
					if bias != nil {
						s = bias[co]
					}
					for ci := 0; ci < cg; ci++ {
						for ki := 0; ki < g.KernelH; ki++ {
							for kj := 0; kj < g.KernelW; kj++ {
								iy := y*g.StrideH + ki*g.DilationH - g.PadH
								ix := xx*g.StrideW + kj*g.DilationW - g.PadW
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								s += weight[((co*cg+ci)*g.KernelH+ki)*g.KernelW+kj] *
									x[((b*g.InChannels+grp*cg+ci)*h+iy)*w+ix]
							}
						}
					}
					out[((b*g.OutChannels+co)*oh+y)*ow+xx] = s
				}
			}
		}
	}
	return out
}

func randomGeom(rng *rand.Rand) (ConvGeom, int, int, int) {
	for {
		groups := 1 + rng.IntN(3)
		if rng.IntN(5) == 0 {
			groups = 1 + rng.IntN(6) // depthwise below
		}
		g := ConvGeom{
			InChannels: groups * (1 + rng.IntN(4)), OutChannels: groups * (1 + rng.IntN(4)), Groups: groups,
			Geometry: deconv.Geometry{KernelH: 1 + rng.IntN(4), KernelW: 1 + rng.IntN(4), StrideH: rng.IntN(3), StrideW: rng.IntN(3), PadH: rng.IntN(3), PadW: rng.IntN(3), DilationH: rng.IntN(3), DilationW: rng.IntN(3)},
		}
		if rng.IntN(5) == 0 {
			g.InChannels, g.OutChannels = groups, groups*(1+rng.IntN(2)) // depthwise
		}
		n, h, w := 1+rng.IntN(3), 1+rng.IntN(12), 1+rng.IntN(12)
		if rng.IntN(6) == 0 {
			h, w = 20+rng.IntN(50), 20+rng.IntN(50)
		}
		if _, _, err := g.OutputSize(h, w); err == nil {
			return g, n, h, w
		}
	}
}

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

func to32(v []float64) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// convCase is a random forward case: float32 input and weights, half the
// time a bias, drawn in that order, and the float64 definition's output.
type convCase struct {
	x, wt, bias []float32
	want        []float64
}

// randomConvCase draws a convCase for geometry g and n images of h×w.
func randomConvCase(rng *rand.Rand, g ConvGeom, n, h, w int) convCase {
	c := convCase{x: to32(randVec(rng, n*g.InChannels*h*w)), wt: to32(randVec(rng, g.WeightLen()))}
	if rng.IntN(2) == 0 {
		c.bias = to32(randVec(rng, g.OutChannels))
	}
	c.want = naiveConv(g, to64(c.x), to64(c.wt), to64(c.bias), n, h, w)
	return c
}

func relErr[T Float](got []T, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range want {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num / math.Max(den, 1e-300))
}

func TestConv2dMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	trials := 200
	if testing.Short() {
		trials = 60
	}
	for i := 0; i < trials; i++ {
		g, n, h, w := randomGeom(rng)
		x := randVec(rng, n*g.InChannels*h*w)
		wt := randVec(rng, g.WeightLen())
		var bias []float64
		if rng.IntN(2) == 0 {
			bias = randVec(rng, g.OutChannels)
		}
		want := naiveConv(g, x, wt, bias, n, h, w)
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
		c32, err := NewConv2d(g, to32(wt), to32(bias))
		if err != nil {
			t.Fatal(err)
		}
		got32 := make([]float32, len(want))
		if err := c32.Forward(got32, to32(x), n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got32, want); e > 1e-5 {
			t.Fatalf("float32 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
	}
}

func TestConv2dErrors(t *testing.T) {
	g := ConvGeom{InChannels: 4, OutChannels: 6, Groups: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	if _, err := NewConv2d(ConvGeom{InChannels: 3, OutChannels: 6, Groups: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3}}, make([]float32, 54), nil); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("groups not dividing channels: %v", err)
	}
	if _, err := NewConv2d(g, make([]float32, 5), nil); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short weight: %v", err)
	}
	if _, err := NewConv2d(g, make([]float32, g.WeightLen()), make([]float32, 2)); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short bias: %v", err)
	}
	bad := make([]float32, g.WeightLen())
	bad[3] = float32(math.Inf(1))
	if _, err := NewConv2d(g, bad, nil); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("infinite weight: %v", err)
	}
	c, err := NewConv2d(g, make([]float32, g.WeightLen()), nil)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 2*4*5*5)
	if err := c.Forward(make([]float32, 2*6*25), x[:10], 2, 5, 5); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short input: %v", err)
	}
	if err := c.Forward(make([]float32, 3), x, 2, 5, 5); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short output: %v", err)
	}
	x[7] = float32(math.NaN())
	if err := c.Forward(make([]float32, 2*6*25), x, 2, 5, 5); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("NaN input: %v", err)
	}
	g.PadH = 0
	c, err = NewConv2d(g, make([]float32, g.WeightLen()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Forward(make([]float32, 100), make([]float32, 2*4*2*9), 2, 2, 9); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("kernel larger than padded input: %v", err)
	}
}
