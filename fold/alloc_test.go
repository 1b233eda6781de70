package fold

import "testing"

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
	cfg.Padding, cfg.Workers = 1, 2
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

	dl, err := NewDelinear(NewDelinearConfig(64, 10), make([]float32, 640), make([]float32, 10))
	if err != nil {
		t.Fatal(err)
	}
	check("Delinear", func() error { return dl.Forward(y[:40], x[:256], 4) })

	cd, err := NewChannelDeconv[float32](NewChannelDeconvConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	check("ChannelDeconv", func() error { return cd.Forward(y[:len(x)], x, n, 8, h, w) })
}
