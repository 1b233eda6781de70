package fold

import (
	"fmt"
	"testing"

	"github.com/netdeconv/deconv"
)

// TestForwardsAllocateNothing: at a fixed shape, every layer's forward
// reuses its workspaces and allocates nothing after the first call.
func TestForwardsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	check := func(name string, f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a := testing.AllocsPerRun(10, func() { _ = f() }); a != 0 {
			t.Errorf("%s allocated %v times per forward", name, a)
		}
	}
	n, h, w := 2, 16, 16
	x := make([]float32, n*8*h*w)
	for i := range x {
		x[i] = float32(i%11)*0.3 + float32(i%7)*0.01
	}
	y := make([]float32, n*16*h*w)

	cfg := NewFastDeconvConfig(8, 16, 3)
	cfg.PadH, cfg.PadW, cfg.Workers = 1, 1, 2
	wt := make([]float32, 16*8*9)
	for i := range wt {
		wt[i] = float32(i%5) * 0.1
	}
	l, err := NewFastDeconv(cfg, wt, make([]float32, 16))
	if err != nil {
		t.Fatal(err)
	}
	check("FastDeconv (training)", func() error { return l.Forward(y, x, n, h, w) })
	l.Train(false)
	check("FastDeconv (evaluation)", func() error { return l.Forward(y, x, n, h, w) })
	c, err := l.Folded()
	if err != nil {
		t.Fatal(err)
	}
	check("Conv2d", func() error { return c.Forward(y, x, n, h, w) })
	// A folded model serving two input shapes in turn: each pooled
	// workspace keeps the plans of several shapes.
	x2 := x[:n*8*12*10]
	check("Conv2d, alternating shapes", func() error {
		if err := c.Forward(y, x, n, h, w); err != nil {
			return err
		}
		return c.Forward(y[:n*16*12*10], x2, n, 12, 10)
	})
	// The Winograd path (one group and two), the taps path, and a
	// FastDeconv on the Winograd path in training (transformed filters
	// made per fold, in the workspace).
	for _, g := range []ConvGeom{
		{InChannels: 8, OutChannels: 16, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}, Algorithm: ConvWinograd},
		{InChannels: 8, OutChannels: 16, Groups: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}, Algorithm: ConvWinograd},
		{InChannels: 8, OutChannels: 16, Groups: 8, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},
	} {
		cg, err := NewConv2d(g, make([]float32, g.WeightLen()), make([]float32, 16))
		if err != nil {
			t.Fatal(err)
		}
		cg.Workers = 2
		check(fmt.Sprintf("Conv2d (%d groups, %v)", g.Groups, g.Algorithm), func() error { return cg.Forward(y, x, n, h, w) })
	}
	wcfg := cfg
	wcfg.Algorithm = ConvWinograd
	wl, err := NewFastDeconv(wcfg, wt, make([]float32, 16))
	if err != nil {
		t.Fatal(err)
	}
	check("FastDeconv (training, Winograd)", func() error { return wl.Forward(y, x, n, h, w) })

	lin, err := NewLinear(64, 10, make([]float32, 640), make([]float32, 10))
	if err != nil {
		t.Fatal(err)
	}
	check("Linear", func() error { return lin.Forward(y[:40], x[:256], 4) })

	dl, err := NewDelinear(NewDelinearConfig(64, 10), make([]float32, 640), make([]float32, 10))
	if err != nil {
		t.Fatal(err)
	}
	check("Delinear", func() error { return dl.Forward(y[:40], x[:256], 4) })
	dlf, err := dl.Folded()
	if err != nil {
		t.Fatal(err)
	}
	check("Delinear, folded", func() error { return dlf.Forward(y[:40], x[:256], 4) })

	cd, err := NewChannelDeconv[float32](NewChannelDeconvConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	check("ChannelDeconv", func() error { return cd.Forward(y[:len(x)], x, n, 8, h, w) })
}

// TestDistinctLayersConcurrently runs separate layers on several
// goroutines at once (the race detector checks the shared worker pool,
// scratch pools and kernels); each must give the result it gives alone.
func TestDistinctLayersConcurrently(t *testing.T) {
	n, h, w := 2, 12, 12
	x := make([]float64, n*6*h*w)
	for i := range x {
		x[i] = float64(i%17)*0.1 + float64(i%5)
	}
	newLayer := func() *FastDeconv[float64] {
		cfg := NewFastDeconvConfig(6, 4, 3)
		cfg.PadH, cfg.PadW, cfg.Block, cfg.Workers = 1, 1, 3, 2
		wt := make([]float64, 4*6*9)
		for i := range wt {
			wt[i] = float64(i%7) * 0.05
		}
		l, err := NewFastDeconv(cfg, wt, make([]float64, 4))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	want := make([]float64, n*4*h*w)
	if err := newLayer().Forward(want, x, n, h, w); err != nil {
		t.Fatal(err)
	}
	const goroutines = 4
	errs := make(chan error, goroutines)
	outs := make([][]float64, goroutines)
	for g := range goroutines {
		go func() {
			outs[g] = make([]float64, len(want))
			errs <- newLayer().Forward(outs[g], x, n, h, w)
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for g, out := range outs {
		if e := relErr(out, want); e != 0 {
			t.Fatalf("goroutine %d differs from the lone run by %g", g, e)
		}
	}
}
