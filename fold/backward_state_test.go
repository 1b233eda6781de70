package fold

import (
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/netdeconv/deconv"
)

// TestLayerBackwardFloat32MatchesFloat64 runs FastDeconv steps (Forward
// then Backward) in float64 and float32 on the same data and compares
// the gradients, in training and evaluation mode.
func TestLayerBackwardFloat32MatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	for ci, cfg := range fastDeconvCases() {
		for _, mode := range []layerMode{modeTrain, modeEval} {
			cfg.Eps = 0.5 // well conditioned: float32 D is then accurate
			n, h, w := 2, 7, 6
			g := ConvGeom{InChannels: cfg.InChannels, OutChannels: cfg.OutChannels, Geometry: cfg.Geometry, Groups: cfg.Groups}
			wt := randVec(rng, g.WeightLen())
			var bias []float64
			if cfg.Bias {
				bias = randVec(rng, cfg.OutChannels)
			}
			l64, err := NewFastDeconv(cfg, wt, bias)
			if err != nil {
				t.Fatal(err)
			}
			l32, _ := NewFastDeconv(cfg, to32(wt), to32(bias))
			oh, ow, _ := l64.OutputSize(h, w)
			var dx, dw, db []float64
			var dx32, dw32, db32 []float32
			for step := 0; step < 3; step++ {
				if step == 2 && mode == modeEval {
					l64.Train(false)
					l32.Train(false)
				}
				x, gy := randVec(rng, n*cfg.InChannels*h*w), randVec(rng, n*cfg.OutChannels*oh*ow)
				y, y32 := make([]float64, len(gy)), make([]float32, len(gy))
				if err := l64.Forward(y, x, n, h, w); err != nil {
					t.Fatal(err)
				}
				if err := l32.Forward(y32, to32(x), n, h, w); err != nil {
					t.Fatal(err)
				}
				dx, dw, dx32, dw32 = make([]float64, len(x)), make([]float64, len(wt)), make([]float32, len(x)), make([]float32, len(wt))
				db, db32 = nil, nil
				if cfg.Bias {
					db, db32 = make([]float64, cfg.OutChannels), make([]float32, cfg.OutChannels)
				}
				if err := l64.Backward(dx, dw, db, gy, x, n, h, w); err != nil {
					t.Fatalf("case %d %v: %v", ci, mode, err)
				}
				if err := l32.Backward(dx32, dw32, db32, to32(gy), to32(x), n, h, w); err != nil {
					t.Fatalf("case %d %v: %v", ci, mode, err)
				}
				// A second Backward of the same Forward gives the same
				// gradients: Backward changes nothing it reads.
				again := make([]float64, len(x))
				if err := l64.Backward(again, nil, nil, gy, x, n, h, w); err != nil || relErr(again, dx) > 1e-14 {
					t.Fatalf("case %d %v: second Backward: %v, relative difference %g", ci, mode, err, relErr(again, dx))
				}
				for _, c := range []struct {
					name string
					got  []float32
					want []float64
				}{{"dx", dx32, dx}, {"dW", dw32, dw}, {"db", db32, db}} {
					if e := relErr(c.got, c.want); e > 1e-4 {
						t.Errorf("case %d %v step %d: float32 %s relative error %g", ci, mode, step, c.name, e)
					}
				}
			}
		}
	}
}

// TestTrainStepAllocatesNothing: at a fixed shape, a whole training step
// (Forward and Backward) of each layer allocates nothing after warm-up,
// in training and in evaluation mode.
func TestTrainStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	check := func(name string, f func() error) {
		t.Helper()
		for i := 0; i < 2; i++ {
			if err := f(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		// The workspaces' pools are emptied by every garbage collection,
		// and a collection can start during the count (the heap the test
		// built has to be scanned); one that refills a pool is the
		// runtime's allocation, not the step's, so none runs meanwhile.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		if a := testing.AllocsPerRun(10, func() { _ = f() }); a != 0 {
			t.Errorf("%s allocated %v times per step", name, a)
		}
	}
	rng := rand.New(rand.NewPCG(93, 94))
	n, h, w := 2, 12, 12
	x := to32(randVec(rng, n*8*h*w))
	gy := to32(randVec(rng, n*16*h*w))
	y, dx := make([]float32, len(gy)), make([]float32, len(x))
	cfg := NewFastDeconvConfig(8, 16, 3)
	cfg.PadH, cfg.PadW, cfg.Workers, cfg.Block = 1, 1, 2, 4
	wt := to32(randVec(rng, 16*8*9))
	dw, db := make([]float32, len(wt)), make([]float32, 16)
	l, err := NewFastDeconv(cfg, wt, make([]float32, 16))
	if err != nil {
		t.Fatal(err)
	}
	step := func() error {
		if err := l.Forward(y, x, n, h, w); err != nil {
			return err
		}
		return l.Backward(dx, dw, db, gy, x, n, h, w)
	}
	check("FastDeconv training step", step)
	l.Train(false)
	check("FastDeconv evaluation step", step)

	// A layer whose forward and input gradient take the Winograd path
	// (16→16 channels, 32×32): the gradient's transformed filters are
	// made per step in the pooled workspace.
	wcfg := NewFastDeconvConfig(16, 16, 3)
	wcfg.PadH, wcfg.PadW, wcfg.Workers = 1, 1, 2
	wl, err := NewFastDeconv(wcfg, to32(randVec(rng, 16*16*9)), make([]float32, 16))
	if err != nil {
		t.Fatal(err)
	}
	if g := wl.conv.Geom(); !g.dxGeom().useWinograd(32, 32) || !g.dxByForward() {
		t.Fatal("the 16→16 layer's input gradient does not take the Winograd path")
	}
	xw, gyw := to32(randVec(rng, 16*32*32)), to32(randVec(rng, 16*32*32))
	yw, dxw, dww, dbw := make([]float32, len(gyw)), make([]float32, len(xw)), make([]float32, 16*16*9), make([]float32, 16)
	check("FastDeconv training step (Winograd)", func() error {
		if err := wl.Forward(yw, xw, 1, 32, 32); err != nil {
			return err
		}
		return wl.Backward(dxw, dww, dbw, gyw, xw, 1, 32, 32)
	})

	dl, _ := NewDelinear(NewDelinearConfig(64, 10), to32(randVec(rng, 640)), make([]float32, 10))
	dx2, dw2, db2 := make([]float32, 4*64), make([]float32, 640), make([]float32, 10)
	x2, gy2, y2 := to32(randVec(rng, 4*64)), to32(randVec(rng, 40)), make([]float32, 40)
	check("Delinear training step", func() error {
		if err := dl.Forward(y2, x2, 4); err != nil {
			return err
		}
		return dl.Backward(dx2, dw2, db2, gy2, x2, 4)
	})

	cd, _ := NewChannelDeconv[float32](NewChannelDeconvConfig(3))
	x3 := to32(randVec(rng, 2*7*6*6))
	y3, dx3, gy3 := make([]float32, len(x3)), make([]float32, len(x3)), to32(randVec(rng, len(x3)))
	check("ChannelDeconv training step", func() error {
		if err := cd.Forward(y3, x3, 2, 7, 6, 6); err != nil {
			return err
		}
		return cd.Backward(dx3, gy3, x3, 2, 7, 6, 6)
	})

	c, _ := NewConv2d(paperGeomSmall, to32(randVec(rng, paperGeomSmall.WeightLen())), nil)
	c.Workers = 2
	dwc := make([]float32, paperGeomSmall.WeightLen())
	check("Conv2d backward", func() error { return c.Backward(dx, dwc, nil, gy, x, n, h, w) })
}

var paperGeomSmall = ConvGeom{InChannels: 8, OutChannels: 16, Geometry: deconv.Square(3, 1, 1, 1)}

// TestLayersBackwardConcurrent trains two layers on two goroutines at once
// (run with -race), and checks that a layer used by two goroutines
// refuses the second call with deconv.ErrBusy rather than racing.
func TestLayersBackwardConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(95, 96))
	n, h, w := 2, 10, 10
	cfg := NewFastDeconvConfig(4, 6, 3)
	cfg.PadH, cfg.PadW, cfg.Workers, cfg.Block = 1, 1, 2, 2
	wt := to32(randVec(rng, 6*4*9))
	layers := []*FastDeconv[float32]{}
	for i := 0; i < 2; i++ {
		l, err := NewFastDeconv(cfg, wt, make([]float32, 6))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	x := to32(randVec(rng, n*4*h*w))
	gy := to32(randVec(rng, n*6*h*w))
	var wg sync.WaitGroup
	results := make([][]float32, 2)
	for i, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			y, dx, dw := make([]float32, len(gy)), make([]float32, len(x)), make([]float32, len(wt))
			for step := 0; step < 5; step++ {
				if err := l.Forward(y, x, n, h, w); err != nil {
					t.Error(err)
					return
				}
				if err := l.Backward(dx, dw, nil, gy, x, n, h, w); err != nil {
					t.Error(err)
					return
				}
			}
			results[i] = dx
		}()
	}
	wg.Wait()
	if err := equalOut(results[0], results[1]); err != nil {
		t.Errorf("two layers trained alike differ: %v", err)
	}
	// One layer, two goroutines: each call either runs or is refused.
	l := layers[0]
	bufs := [2][3][]float32{}
	for g := range bufs {
		bufs[g] = [3][]float32{make([]float32, len(gy)), make([]float32, len(x)), make([]float32, len(wt))}
	}
	hammer(t, 20, func(g, i int) error {
		b := bufs[g]
		if i%2 == 0 {
			return l.Forward(b[0], x, n, h, w)
		}
		// Every Forward here succeeds, so a Backward always has one to
		// differentiate (its own goroutine's, or the other's).
		return l.Backward(b[1], b[2], nil, gy, x, n, h, w)
	})
}
