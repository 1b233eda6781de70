package fold

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
)

// TestTapsTableMatchesNaive: depthwise layers (one input channel per
// group, channel multipliers 1–3) on small images, 1–20 pixels a side,
// with enough groups that the work is one band per (image, group), the
// case whose padded planes are built by the offset table on AVX-512:
// kernels 1–5, strides, paddings and dilations, against the float64
// definition in both precisions. On AVX-512 the table path must have
// run; the other families check the same shapes on the row copies.
func TestTapsTableMatchesNaive(t *testing.T) {
	var taken atomic.Int64
	testHookTapsTable = func() { taken.Add(1) }
	defer func() { testHookTapsTable = nil }()
	rng := rand.New(rand.NewPCG(41, 42))
	trials := 150
	if testing.Short() {
		trials = 50
	}
	for i := 0; i < trials; i++ {
		groups := 8 + rng.IntN(40)
		g := ConvGeom{InChannels: groups, OutChannels: groups * (1 + rng.IntN(3)), Groups: groups,
			Geometry: deconv.Geometry{KernelH: 1 + rng.IntN(5), KernelW: 1 + rng.IntN(5), StrideH: 1 + rng.IntN(2), StrideW: 1 + rng.IntN(2),
				PadH: rng.IntN(3), PadW: rng.IntN(3), DilationH: 1 + rng.IntN(2), DilationW: 1 + rng.IntN(2)}}
		n, h, w := 1+rng.IntN(3), 1+rng.IntN(20), 1+rng.IntN(20)
		if _, _, err := g.OutputSize(h, w); err != nil {
			continue
		}
		cc := randomConvCase(rng, g, n, h, w)
		x32, wt32, bias32, want := cc.x, cc.wt, cc.bias, cc.want
		c32, err := NewConv2d(g, wt32, bias32)
		if err != nil {
			t.Fatal(err)
		}
		c32.Workers = 1 + rng.IntN(2)
		got32 := make([]float32, len(want))
		for j := range got32 {
			got32[j] = float32(math.NaN())
		}
		if err := c32.Forward(got32, x32, n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got32, want); !(e <= 1e-5) {
			t.Fatalf("float32 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
		if e := float64Error(t, g, wt32, bias32, x32, want, n, h, w, c32.Workers); !(e <= 1e-12) {
			t.Fatalf("float64 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
	}
	if isa.Selected() == isa.AVX512 && taken.Load() < int64(trials) {
		t.Fatalf("the table path ran %d times in %d trials", taken.Load(), trials)
	}
}

// TestTapsTableNonFinite: on the table path a NaN in any plane of a run
// and an output that overflows are deconv.ErrNonFinite, naming the
// element.
func TestTapsTableNonFinite(t *testing.T) {
	g := ConvGeom{InChannels: 32, OutChannels: 32, Groups: 32, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	n, h, w := 2, 6, 7
	wt := make([]float32, g.WeightLen())
	for i := range wt {
		wt[i] = 3e38
	}
	c, err := NewConv2d(g, wt, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Workers = 2
	dst := make([]float32, n*g.OutChannels*h*w)
	for _, at := range []int{0, 17*h*w + 5, len(dst) - 1} {
		x := make([]float32, n*g.InChannels*h*w)
		x[at] = float32(math.Inf(-1))
		if err := c.Forward(dst, x, n, h, w); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("-Inf at %d: %v", at, err)
		}
	}
	x := make([]float32, n*g.InChannels*h*w)
	for i := 20 * h * w; i < 21*h*w; i++ {
		x[i] = 1 // nine taps of 3e38: beyond float32
	}
	if err := c.Forward(dst, x, n, h, w); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("overflowing output: %v", err)
	}
}
