package fold

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
)

// layerMode is the state a layer's backward is checked in.
type layerMode int

const (
	modeTrain  layerMode = iota // batch statistics, after a few steps
	modeEval                    // running buffers, after a few training steps
	modeFrozen                  // training mode, frozen by the counter
)

func (m layerMode) String() string { return [...]string{"training", "evaluation", "frozen"}[m] }

// fastDeconvCases lists layers covering every option: block rules (B < C
// interleaved and contiguous, B = C, groups, depthwise), stride, padding,
// dilation, rectangular kernels, 1×1 kernels, sampling strides, no bias.
func fastDeconvCases() []FastDeconvConfig {
	mk := func(in, out, k int, f func(*FastDeconvConfig)) FastDeconvConfig {
		c := NewFastDeconvConfig(in, out, k)
		c.Block, c.Eps, c.SamplingStride = 2, 0.05, 1
		f(&c)
		return c
	}
	return []FastDeconvConfig{
		mk(4, 3, 3, func(c *FastDeconvConfig) { c.PadH, c.PadW = 1, 1 }),
		mk(4, 3, 3, func(c *FastDeconvConfig) { c.PadH, c.PadW, c.Grouping = 1, 1, deconv.Contiguous }),
		mk(2, 3, 2, func(c *FastDeconvConfig) { c.Block, c.Bias = 64, false }),
		mk(4, 4, 3, func(c *FastDeconvConfig) { c.Groups, c.PadH, c.PadW = 2, 1, 1 }),
		mk(3, 3, 3, func(c *FastDeconvConfig) { c.Groups, c.PadH, c.PadW = 3, 1, 1 }),
		mk(4, 3, 3, func(c *FastDeconvConfig) { c.StrideH, c.StrideW, c.PadH, c.PadW = 2, 2, 1, 1 }),
		mk(4, 2, 3, func(c *FastDeconvConfig) { c.DilationH, c.DilationW, c.PadH, c.PadW = 2, 2, 2, 2 }),
		mk(4, 3, 1, func(c *FastDeconvConfig) {}),
		mk(4, 3, 1, func(c *FastDeconvConfig) { c.StrideH, c.StrideW, c.SamplingStride = 2, 2, 1 }),
		mk(4, 3, 3, func(c *FastDeconvConfig) { c.PadH, c.PadW, c.SamplingStride = 1, 1, 2 }),
		mk(2, 3, 3, func(c *FastDeconvConfig) {
			c.Geometry = deconv.Geometry{KernelH: 2, KernelW: 3, StrideH: 1, StrideW: 2, PadH: 1, PadW: 0, DilationH: 2, DilationW: 1}
		}),
	}
}

// prepare brings a layer into mode after steps training forwards on
// other batches (so the running buffers have moved).
func prepareFastDeconv(t *testing.T, rng *rand.Rand, l *FastDeconv[float64], mode layerMode, n, h, w, steps int) {
	t.Helper()
	cfg := l.Config()
	oh, ow, _ := l.OutputSize(h, w)
	y := make([]float64, n*cfg.OutChannels*oh*ow)
	for i := 0; i < steps; i++ {
		if err := l.Forward(y, randVec(rng, n*cfg.InChannels*h*w), n, h, w); err != nil {
			t.Fatal(err)
		}
	}
	if mode == modeEval {
		l.Train(false)
	}
}

func TestFastDeconvBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	for ci, cfg := range fastDeconvCases() {
		for _, mode := range []layerMode{modeTrain, modeEval, modeFrozen} {
			if mode == modeFrozen {
				cfg.Freeze, cfg.FreezeIter = true, 2
			}
			cfg.Workers = 1 + ci%3
			n, h, w := 2, 6+rng.IntN(3), 5+rng.IntN(4)
			g := ConvGeom{InChannels: cfg.InChannels, OutChannels: cfg.OutChannels, Geometry: cfg.Geometry, Groups: cfg.Groups}
			wt := randVec(rng, g.WeightLen())
			var bias []float64
			if cfg.Bias {
				bias = randVec(rng, cfg.OutChannels)
			}
			l, err := NewFastDeconv(cfg, wt, bias)
			if err != nil {
				t.Fatal(err)
			}
			prepareFastDeconv(t, rng, l, mode, n, h, w, 3)
			counter := l.Counter()
			if mode == modeFrozen && counter <= cfg.FreezeIter {
				t.Fatalf("counter %d: not frozen", counter)
			}
			oh, ow, _ := l.OutputSize(h, w)
			x, gy := randVec(rng, n*cfg.InChannels*h*w), randVec(rng, n*cfg.OutChannels*oh*ow)
			y := make([]float64, len(gy))
			loss := func() float64 {
				if err := l.SetWeights(wt, bias); err != nil {
					t.Fatal(err)
				}
				if err := l.SetCounter(counter); err != nil { // the same freeze state every time
					t.Fatal(err)
				}
				if err := l.Forward(y, x, n, h, w); err != nil {
					t.Fatal(err)
				}
				return dot(y, gy)
			}
			loss()
			rm, rd, cnt := l.RunningMean(), l.RunningDeconv(), l.Counter()
			dx, dw := make([]float64, len(x)), make([]float64, len(wt))
			var db []float64
			if cfg.Bias {
				db = make([]float64, cfg.OutChannels)
			}
			if err := l.Backward(dx, dw, db, gy, x, n, h, w); err != nil {
				t.Fatalf("case %d %v: %v", ci, mode, err)
			}
			// Backward changes no state.
			if relErr(l.RunningMean(), rm) != 0 || relErr(l.RunningDeconv(), rd) != 0 || l.Counter() != cnt {
				t.Fatalf("case %d %v: Backward changed the layer's state", ci, mode)
			}
			name := func(s string) string { return s + " " + mode.String() }
			fdCheck(t, rng, name("FastDeconv dx"), x, dx, 30, loss)
			fdCheck(t, rng, name("FastDeconv dW"), wt, dw, 30, loss)
			if cfg.Bias {
				fdCheck(t, rng, name("FastDeconv db"), bias, db, 30, loss)
			}
			if t.Failed() {
				t.Fatalf("case %d: %+v", ci, cfg)
			}
		}
	}
}

// TestFastDeconvBackwardCounterWrap: a frozen layer's counter wraps at
// 10·freeze_iter; the step that wraps is still frozen (running buffers
// constant), the next one uses the batch again, and each Backward
// differentiates its own Forward.
func TestFastDeconvBackwardCounterWrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	cfg := fastDeconvCases()[0]
	cfg.Freeze, cfg.FreezeIter = true, 1
	n, h, w := 2, 6, 6
	wt, bias := randVec(rng, 3*4*9), randVec(rng, 3)
	l, _ := NewFastDeconv(cfg, wt, bias)
	prepareFastDeconv(t, rng, l, modeTrain, n, h, w, 2)
	x, gy := randVec(rng, n*4*h*w), randVec(rng, n*3*h*w)
	y := make([]float64, len(gy))
	for _, start := range []int{9, 0} { // 9 → frozen, wraps to 0; 0 → batch
		loss := func() float64 {
			l.SetWeights(wt, bias)
			l.SetCounter(start)
			if err := l.Forward(y, x, n, h, w); err != nil {
				t.Fatal(err)
			}
			return dot(y, gy)
		}
		loss()
		if want := (start + 1) % 10; l.Counter() != want {
			t.Fatalf("counter %d after a step from %d", l.Counter(), start)
		}
		dx, dw := make([]float64, len(x)), make([]float64, len(wt))
		if err := l.Backward(dx, dw, nil, gy, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		fdCheck(t, rng, "dx after wrap", x, dx, 30, loss)
		fdCheck(t, rng, "dW after wrap", wt, dw, 30, loss)
	}
}

func TestDelinearBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(85, 86))
	for ci, c := range []struct{ in, out, block int }{{6, 4, 3}, {6, 2, 6}, {8, 3, 4}, {5, 3, 512}} {
		for _, mode := range []layerMode{modeTrain, modeEval} {
			for _, hasBias := range []bool{true, false} {
				cfg := NewDelinearConfig(c.in, c.out)
				cfg.Block, cfg.Eps, cfg.Bias, cfg.Workers = c.block, 0.05, hasBias, 1+ci%2
				batch := 7
				wt := randVec(rng, c.in*c.out)
				var bias []float64
				if hasBias {
					bias = randVec(rng, c.out)
				}
				l, err := NewDelinear(cfg, wt, bias)
				if err != nil {
					t.Fatal(err)
				}
				y := make([]float64, batch*c.out)
				for i := 0; i < 3; i++ {
					if err := l.Forward(y, randVec(rng, batch*c.in), batch); err != nil {
						t.Fatal(err)
					}
				}
				l.Train(mode == modeTrain)
				x, gy := randVec(rng, batch*c.in), randVec(rng, batch*c.out)
				loss := func() float64 {
					l.SetWeights(wt, bias)
					if err := l.Forward(y, x, batch); err != nil {
						t.Fatal(err)
					}
					return dot(y, gy)
				}
				loss()
				dx, dw := make([]float64, len(x)), make([]float64, len(wt))
				var db []float64
				if hasBias {
					db = make([]float64, c.out)
				}
				if err := l.Backward(dx, dw, db, gy, x, batch); err != nil {
					t.Fatalf("case %d %v: %v", ci, mode, err)
				}
				fdCheck(t, rng, "Delinear dx "+mode.String(), x, dx, 40, loss)
				fdCheck(t, rng, "Delinear dW "+mode.String(), wt, dw, 40, loss)
				if hasBias {
					fdCheck(t, rng, "Delinear db "+mode.String(), bias, db, 40, loss)
				}
			}
		}
	}
}

func TestChannelDeconvBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(87, 88))
	for ci, c := range []struct {
		block, ch, h, w, s int
		uncentred          bool
	}{{2, 4, 5, 5, 1, false}, {3, 7, 6, 6, 2, false}, {2, 5, 4, 4, 3, true}, {3, 3, 2, 2, 3, false}, {2, 7, 1, 1, 3, false}} {
		for _, mode := range []layerMode{modeTrain, modeEval} {
			cfg := NewChannelDeconvConfig(c.block)
			cfg.SamplingStride, cfg.Uncentred, cfg.Workers, cfg.Eps = c.s, c.uncentred, 1+ci%2, 0.05
			l, err := NewChannelDeconv[float64](cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := 3
			size := n * c.ch * c.h * c.w
			y := make([]float64, size)
			for i := 0; i < 2; i++ {
				if err := l.Forward(y, randVec(rng, size), n, c.ch, c.h, c.w); err != nil {
					t.Fatal(err)
				}
			}
			l.Train(mode == modeTrain)
			x, gy := randVec(rng, size), randVec(rng, size)
			loss := func() float64 {
				if err := l.Forward(y, x, n, c.ch, c.h, c.w); err != nil {
					t.Fatal(err)
				}
				return dot(y, gy)
			}
			loss()
			dx := make([]float64, size)
			if err := l.Backward(dx, gy, x, n, c.ch, c.h, c.w); err != nil {
				t.Fatalf("case %d %v: %v", ci, mode, err)
			}
			fdCheck(t, rng, "ChannelDeconv dx "+mode.String(), x, dx, 60, loss)
		}
	}
}

// TestLayerBackwardErrors: Backward without a Forward, on another shape,
// with wrong lengths or overlapping slices is refused with the package's
// sentinels, and changes nothing.
func TestLayerBackwardErrors(t *testing.T) {
	cfg := NewFastDeconvConfig(2, 3, 3)
	cfg.PadH, cfg.PadW, cfg.Bias = 1, 1, false
	l, _ := NewFastDeconv(cfg, make([]float32, 3*2*9), nil)
	x, y := make([]float32, 2*2*5*5), make([]float32, 2*3*5*5)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	dx, dw := make([]float32, len(x)), make([]float32, 3*2*9)
	if err := l.Backward(dx, dw, nil, y, x, 2, 5, 5); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("before Forward: %v", err)
	}
	l.Train(false)
	if err := l.Forward(y, x, 2, 5, 5); err != nil {
		t.Fatal(err)
	}
	if err := l.Backward(dx[:50], dw, nil, y[:75], x[:50], 1, 5, 5); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("other shape: %v", err)
	}
	if err := l.Backward(dx, dw[:5], nil, y, x, 2, 5, 5); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short dW: %v", err)
	}
	if err := l.Backward(dx, dw, make([]float32, 3), y, x, 2, 5, 5); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("db without a bias: %v", err)
	}
	if err := l.Backward(x, dw, nil, y, x, 2, 5, 5); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("dx on x: %v", err)
	}
	if err := l.Backward(dx, dw, nil, y, x, 2, 5, 5); err != nil {
		t.Errorf("valid call: %v", err)
	}
	bad := append([]float32(nil), x...)
	bad[17] = float32(math.NaN())
	if err := l.Backward(dx, dw, nil, y, bad, 2, 5, 5); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("NaN in x: %v", err)
	}
	y[3] = float32(math.Inf(-1))
	if err := l.Backward(dx, nil, nil, y, x, 2, 5, 5); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("infinite dy: %v", err)
	}
	y[3] = 0
	// SetRunningStats invalidates an evaluation-mode Forward.
	if err := l.SetRunningStats(l.RunningMean(), l.RunningDeconv()); err != nil {
		t.Fatal(err)
	}
	if err := l.Backward(dx, dw, nil, y, x, 2, 5, 5); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("after SetRunningStats: %v", err)
	}

	d, _ := NewDelinear(NewDelinearConfig(4, 2), make([]float32, 8), make([]float32, 2))
	if err := d.Backward(make([]float32, 8), nil, nil, make([]float32, 4), make([]float32, 8), 2); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("Delinear before Forward: %v", err)
	}
	cd, _ := NewChannelDeconv[float32](NewChannelDeconvConfig(2))
	if err := cd.Backward(make([]float32, 16), make([]float32, 16), make([]float32, 16), 1, 4, 2, 2); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("ChannelDeconv before Forward: %v", err)
	}
}

// TestFastDeconvBackwardRandomLayers: finite differences on layers drawn
// at random over every option the forward's oracle test covers (block
// rules with C not a multiple of B, groups and depthwise, rectangular
// geometry, 1×1 kernels, sampling strides, no bias, both groupings,
// freezing), in training mode after a few steps and in evaluation mode.
func TestFastDeconvBackwardRandomLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(89, 90))
	trials := 24
	if testing.Short() {
		trials = 8
	}
	for trial := 0; trial < trials; trial++ {
		cfg, n, h, w := randomFastDeconv(rng)
		n = max(n, 2)
		cfg.Eps = max(cfg.Eps, 0.05) // keep D moderate, so differences stay accurate
		cfg.Workers = 1 + trial%3
		g := ConvGeom{InChannels: cfg.InChannels, OutChannels: cfg.OutChannels, Geometry: cfg.Geometry, Groups: cfg.Groups}
		wt := randVec(rng, g.WeightLen())
		var bias []float64
		if cfg.Bias {
			bias = randVec(rng, cfg.OutChannels)
		}
		l, err := NewFastDeconv(cfg, wt, bias)
		if err != nil {
			t.Fatal(err)
		}
		mode := layerMode(trial % 2) // training or evaluation
		prepareFastDeconv(t, rng, l, mode, n, h, w, 2)
		counter := l.Counter()
		oh, ow, _ := l.OutputSize(h, w)
		x, gy := randVec(rng, n*cfg.InChannels*h*w), randVec(rng, n*cfg.OutChannels*oh*ow)
		y := make([]float64, len(gy))
		loss := func() float64 {
			l.SetWeights(wt, bias)
			l.SetCounter(counter)
			if err := l.Forward(y, x, n, h, w); err != nil {
				t.Fatal(err)
			}
			return dot(y, gy)
		}
		loss()
		dx, dw := make([]float64, len(x)), make([]float64, len(wt))
		var db []float64
		if cfg.Bias {
			db = make([]float64, cfg.OutChannels)
		}
		if err := l.Backward(dx, dw, db, gy, x, n, h, w); err != nil {
			t.Fatalf("trial %d %+v: %v", trial, cfg, err)
		}
		fdCheck(t, rng, "dx", x, dx, 25, loss)
		fdCheck(t, rng, "dW", wt, dw, 25, loss)
		if cfg.Bias {
			fdCheck(t, rng, "db", bias, db, 10, loss)
		}
		if t.Failed() {
			t.Fatalf("trial %d (%v, n=%d h=%d w=%d): %+v", trial, mode, n, h, w, cfg)
		}
	}
}
