package fold

import (
	"errors"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/parallel"
)

// photoActivations decodes the report's photograph (a cat, 451×300 RGB),
// takes a crop of h×w pixels scaled to [0, 1], and returns it with the
// ReLU activations of a random 3→c 3×3 convolution of it (float64 naive
// loops): the input of a second layer on a real image, with the spatial
// correlation and the non-negative, skewed values that random data lack.
func photoActivations(t *testing.T, h, w, c int) (rgb, act []float64) {
	t.Helper()
	f, err := os.Open("../bench/internal/paper/assets/chelsea.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() < w || b.Dy() < h {
		t.Fatalf("photograph of %v is smaller than %d×%d", b, h, w)
	}
	rgb = make([]float64, 3*h*w)
	x0, y0 := b.Min.X+(b.Dx()-w)/2, b.Min.Y+(b.Dy()-h)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(x0+x, y0+y).RGBA()
			for ch, v := range []uint32{r, g, bl} {
				rgb[(ch*h+y)*w+x] = float64(v) / 65535
			}
		}
	}
	g := ConvGeom{InChannels: 3, OutChannels: c, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	rng := rand.New(rand.NewPCG(11, 12))
	act = naiveConv(g, rgb, randVec(rng, g.WeightLen()), randVec(rng, c), 1, h, w)
	for i, v := range act {
		act[i] = max(v, 0)
	}
	return rgb, act
}

// TestWinogradOnPhotograph: the Winograd path on a real photograph and on
// its first-layer activations, float32 within 1e-5 and float64 within
// 1e-12 (relative, Frobenius) of the float64 definition.
func TestWinogradOnPhotograph(t *testing.T) {
	const h, w, c = 96, 120, 16
	rgb, act := photoActivations(t, h, w, c)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tc := range []struct {
		name string
		x    []float64
		cin  int
	}{{"pixels", rgb, 3}, {"activations", act, c}} {
		g := ConvGeom{InChannels: tc.cin, OutChannels: 32, Algorithm: ConvWinograd,
			Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
		wt32 := to32(randVec(rng, g.WeightLen()))
		bias32 := to32(randVec(rng, 32))
		x32 := to32(tc.x)
		want := naiveConv(g, to64(x32), to64(wt32), to64(bias32), 1, h, w)
		c32, err := NewConv2d(g, wt32, bias32)
		if err != nil {
			t.Fatal(err)
		}
		got32 := make([]float32, len(want))
		if err := c32.Forward(got32, x32, 1, h, w); err != nil {
			t.Fatal(err)
		}
		e32 := relErr(got32, want)
		c64, err := NewConv2d(g, to64(wt32), to64(bias32))
		if err != nil {
			t.Fatal(err)
		}
		got64 := make([]float64, len(want))
		if err := c64.Forward(got64, to64(x32), 1, h, w); err != nil {
			t.Fatal(err)
		}
		e64 := relErr(got64, want)
		t.Logf("%s: float32 relative error %.2e, float64 %.2e", tc.name, e32, e64)
		if e32 > 1e-5 || e64 > 1e-12 {
			t.Errorf("%s: float32 error %.2e (limit 1e-5), float64 %.2e (limit 1e-12)", tc.name, e32, e64)
		}
	}
}

// TestFastDeconvWinograd: a FastDeconv forced onto the Winograd path
// computes what the direct path computes, in training (the transformed
// filters are made per fold) and from its folded model.
func TestFastDeconvWinograd(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	n, h, w := 2, 13, 11
	x := randVec(rng, n*8*h*w)
	wt := randVec(rng, 12*8*9)
	bias := randVec(rng, 12)
	outs := map[ConvAlgorithm][2][]float64{}
	for _, alg := range []ConvAlgorithm{ConvDirect, ConvWinograd} {
		cfg := NewFastDeconvConfig(8, 12, 3)
		cfg.PadH, cfg.PadW, cfg.Block, cfg.Algorithm = 1, 2, 4, alg
		l, err := NewFastDeconv(cfg, wt, bias)
		if err != nil {
			t.Fatal(err)
		}
		train := make([]float64, n*12*h*(w+2))
		if err := l.Forward(train, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		c, err := l.Folded()
		if err != nil {
			t.Fatal(err)
		}
		if c.Geom().Algorithm != alg {
			t.Fatalf("folded model has algorithm %v, want %v", c.Geom().Algorithm, alg)
		}
		eval := make([]float64, len(train))
		if err := c.Forward(eval, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		outs[alg] = [2][]float64{train, eval}
	}
	for i, what := range []string{"training", "folded"} {
		if e := relErr(outs[ConvWinograd][i], outs[ConvDirect][i]); e > 1e-12 {
			t.Errorf("%s: Winograd differs from direct by %.2e", what, e)
		}
	}
	cfg := NewFastDeconvConfig(8, 12, 3)
	cfg.StrideH, cfg.Algorithm = 2, ConvWinograd
	if _, err := NewFastDeconv(cfg, wt, bias); err == nil {
		t.Error("FastDeconv with stride 2 on the Winograd path: no error")
	}
}

// TestWinogradFoldedConcurrentForward: a folded model on the Winograd path
// serves Forward from many goroutines at once while its weights are
// replaced (by the same values); every result equals the sequential one.
// With one group and with four (per-group work items). Run with -race.
func TestWinogradFoldedConcurrentForward(t *testing.T) {
	for _, groups := range []int{1, 4} {
		t.Run(fmt.Sprint("groups=", groups), func(t *testing.T) { winogradConcurrentForward(t, groups) })
	}
}

func winogradConcurrentForward(t *testing.T, groups int) {
	rng := rand.New(rand.NewPCG(17, 18))
	g := ConvGeom{InChannels: 16, OutChannels: 24, Groups: groups, Algorithm: ConvWinograd,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	wt, bias := to32(randVec(rng, g.WeightLen())), to32(randVec(rng, 24))
	c, err := NewConv2d(g, wt, bias)
	if err != nil {
		t.Fatal(err)
	}
	c.Workers = 2
	shapes := [][3]int{{2, 12, 12}, {1, 17, 9}, {3, 8, 20}}
	inputs, wants := make([][]float32, len(shapes)), make([][]float32, len(shapes))
	for s, sh := range shapes {
		inputs[s] = to32(randVec(rng, sh[0]*16*sh[1]*sh[2]))
		wants[s] = make([]float32, sh[0]*24*sh[1]*sh[2])
		if err := c.Forward(wants[s], inputs[s], sh[0], sh[1], sh[2]); err != nil {
			t.Fatal(err)
		}
	}
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for gr := 0; gr < 6; gr++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				s := (gr + r) % len(shapes)
				sh := shapes[s]
				out := make([]float32, len(wants[s]))
				if err := c.Forward(out, inputs[s], sh[0], sh[1], sh[2]); err != nil {
					errs <- err
					return
				}
				for i := range out {
					if out[i] != wants[s][i] {
						errs <- fmt.Errorf("goroutine %d shape %v: element %d is %v, sequentially %v", gr, sh, i, out[i], wants[s][i])
						return
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := 0; r < rounds; r++ {
			if err := c.SetWeights(wt, bias); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTapsMatchesNaive: the taps path (grouped layers of few channels per
// group, depthwise included) against the float64 definition on random
// shapes: strides, dilations, paddings, kernel sizes, channel multipliers,
// rows wider than a vector and tails.
func TestTapsMatchesNaive(t *testing.T) {
	// These shapes are the taps path's; ConvAuto would send some to the
	// blocked path (tested in blocked_test.go).
	setBlockedTuning(t, func(p *blockedTuning) { p.minChannels = 1 << 30 })
	rng := rand.New(rand.NewPCG(19, 20))
	trials := 80
	if testing.Short() {
		trials = 25
	}
	for i := 0; i < trials; i++ {
		groups := 1 + rng.IntN(6)
		cg := 1 + rng.IntN(12)
		if rng.IntN(2) == 0 {
			cg = 1
		}
		g := ConvGeom{InChannels: groups * cg, OutChannels: groups * (1 + rng.IntN(9)), Groups: groups,
			Geometry: deconv.Geometry{KernelH: 1 + rng.IntN(5), KernelW: 1 + rng.IntN(5), StrideH: 1 + rng.IntN(2), StrideW: 1 + rng.IntN(2),
				PadH: rng.IntN(3), PadW: rng.IntN(3), DilationH: 1 + rng.IntN(2), DilationW: 1 + rng.IntN(2)}}
		if groups == 1 {
			g.Groups, g.InChannels, g.OutChannels = 2, 2*cg, 2*(g.OutChannels)
		}
		n, h, w := 1+rng.IntN(3), 4+rng.IntN(20), 4+rng.IntN(40)
		if _, _, err := g.OutputSize(h, w); err != nil {
			continue
		}
		ng, _ := g.normalize()
		if !ng.useTaps() {
			t.Fatalf("%+v does not take the taps path", g)
		}
		cc := randomConvCase(rng, g, n, h, w)
		x32, wt32, bias32, want := cc.x, cc.wt, cc.bias, cc.want
		c32, err := NewConv2d(g, wt32, bias32)
		if err != nil {
			t.Fatal(err)
		}
		c32.Workers = 1 + rng.IntN(3)
		got32 := make([]float32, len(want))
		if err := c32.Forward(got32, x32, n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got32, want); e > 1e-5 {
			t.Fatalf("float32 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
		if e := float64Error(t, g, wt32, bias32, x32, want, n, h, w, 0); e > 1e-12 {
			t.Fatalf("float64 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
	}
}

// TestWinogradAndTapsErrors: a NaN in the input and an output that
// overflows are deconv.ErrNonFinite on the Winograd and taps paths too.
func TestWinogradAndTapsErrors(t *testing.T) {
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	for _, g := range []ConvGeom{
		{InChannels: 4, OutChannels: 6, Geometry: k3, Algorithm: ConvWinograd},
		{InChannels: 4, OutChannels: 8, Groups: 4, Geometry: k3},
	} {
		wt := make([]float32, g.WeightLen())
		for i := range wt {
			wt[i] = 3e38
		}
		c, err := NewConv2d(g, wt, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, h, w := 2, 9, 10
		x := make([]float32, n*g.InChannels*h*w)
		dst := make([]float32, n*g.OutChannels*h*w)
		x[len(x)-3] = float32(math.NaN())
		if err := c.Forward(dst, x, n, h, w); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("%+v: NaN input: %v", g, err)
		}
		for i := range x {
			x[i] = 1
		}
		if err := c.Forward(dst, x, n, h, w); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("%+v: overflowing output: %v", g, err)
		}
	}
}

// TestWinogradAndTapsWorkersObeyed: the Winograd and taps paths spread
// their work over at most Workers goroutines.
func TestWinogradAndTapsWorkersObeyed(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: every call runs on one worker whatever is asked")
	}
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	n, h, w := 2, 24, 24
	for _, g := range []ConvGeom{
		{InChannels: 8, OutChannels: 8, Geometry: k3, Algorithm: ConvWinograd},
		{InChannels: 8, OutChannels: 16, Groups: 4, Geometry: k3, Algorithm: ConvWinograd},
		{InChannels: 8, OutChannels: 16, Groups: 8, Geometry: k3},
	} {
		c, err := NewConv2d(g, make([]float32, g.WeightLen()), nil)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, n*g.InChannels*h*w)
		y := make([]float32, n*g.OutChannels*h*w)
		for _, workers := range []int{1, 2} {
			c.Workers = workers
			parallel.ResetWidest()
			if err := c.Forward(y, x, n, h, w); err != nil {
				t.Fatal(err)
			}
			if p := parallel.Widest(); p != workers {
				t.Errorf("%+v, Workers = %d: the widest call used %d goroutines", g, workers, p)
			}
		}
	}
}

// float64Error runs the float32 test case's weights, bias and input through
// a float64 Conv2d of geometry g on the given workers and returns its
// relative error against want.
func float64Error(t *testing.T, g ConvGeom, wt32, bias32, x32 []float32, want []float64, n, h, w, workers int) float64 {
	t.Helper()
	c64, err := NewConv2d(g, to64(wt32), to64(bias32))
	if err != nil {
		t.Fatal(err)
	}
	c64.Workers = workers
	got64 := make([]float64, len(want))
	if err := c64.Forward(got64, to64(x32), n, h, w); err != nil {
		t.Fatal(err)
	}
	return relErr(got64, want)
}
