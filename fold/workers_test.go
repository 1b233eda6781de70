package fold

import (
	"runtime"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/parallel"
)

// TestWorkersObeyed: every forward of every layer, in training and in
// evaluation, and the folded models, spread their work over at most
// Workers goroutines (0: the process default), as the worker pool counts
// them.
func TestWorkersObeyed(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: every call runs on one worker whatever is asked")
	}
	n, c, h, w := 2, 8, 20, 20
	x := make([]float32, n*c*h*w)
	for i := range x {
		x[i] = float32(i%17)*0.1 + float32(i%5)*0.01
	}
	run := func(t *testing.T, workers int) (peak int) {
		t.Helper()
		cfg := NewFastDeconvConfig(c, 6, 3)
		cfg.PadH, cfg.PadW, cfg.Block, cfg.Workers = 1, 1, 4, workers
		fd, err := NewFastDeconv(cfg, make([]float32, 6*c*9), make([]float32, 6))
		if err != nil {
			t.Fatal(err)
		}
		dcfg := NewDelinearConfig(c*h*w, 5)
		dcfg.Block, dcfg.Workers = 64, workers
		dl, err := NewDelinear(dcfg, make([]float32, 5*c*h*w), make([]float32, 5))
		if err != nil {
			t.Fatal(err)
		}
		ccfg := NewChannelDeconvConfig(3)
		ccfg.Workers = workers
		cd, err := NewChannelDeconv[float32](ccfg)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, n*6*h*w)
		parallel.ResetWidest()
		for _, training := range []bool{true, false} {
			for _, err := range []error{fd.Train(training), dl.Train(training), cd.Train(training),
				fd.Forward(y, x, n, h, w), dl.Forward(y[:n*5], x, n), cd.Forward(make([]float32, len(x)), x, n, c, h, w)} {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		conv, err := fd.Folded()
		if err != nil {
			t.Fatal(err)
		}
		if err := conv.Forward(y, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		return parallel.Widest()
	}
	if p := run(t, 1); p != 1 {
		t.Errorf("Workers = 1: a call used %d goroutines", p)
	}
	if p := run(t, 2); p != 2 {
		t.Errorf("Workers = 2: the widest call used %d goroutines, want 2", p)
	}
	defer deconv.SetThreads(0)
	for _, threads := range []int{1, 2} {
		if err := deconv.SetThreads(threads); err != nil {
			t.Fatal(err)
		}
		if p := run(t, 0); p != threads {
			t.Errorf("Workers = 0 with deconv.SetThreads(%d): the widest call used %d goroutines", threads, p)
		}
	}
}
