package fold

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/netdeconv/deconv"
)

// hammer runs op(g, i) for i < iters on goroutines g = 0, 1 at once and
// fails the test on any error other than deconv.ErrBusy. A call refused
// as busy yields and is retried (a layer left claimed would exhaust the
// retries), so each goroutine completes iters calls. It returns how many
// calls were refused.
func hammer(t *testing.T, iters int, op func(g, i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy := 0
	var failures []string
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			retries := 0
			for i := 0; i < iters; i++ {
				err := op(g, i)
				if err == nil {
					continue
				}
				mu.Lock()
				if errors.Is(err, deconv.ErrBusy) {
					busy++
					retries++
					i-- // retry
				} else if len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("goroutine %d call %d: %v", g, i, err))
				}
				mu.Unlock()
				if retries > 1_000_000 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("goroutine %d: still busy after %d retries", g, retries))
					mu.Unlock()
					return
				}
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	return busy
}

func equalOut[T Float](got, want []T) error {
	for i := range want {
		if got[i] != want[i] {
			return fmt.Errorf("output %d is %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

// TestLayersBusy: two goroutines hammer one layer with every method that
// claims it. Each call must return nil or deconv.ErrBusy, never panic (the
// old code could panic on a worker goroutine, killing the process), and
// the results of the calls that ran must be right. The calls keep the
// layer's state as it is, so every forward has the same expected output.
func TestLayersBusy(t *testing.T) {
	iters := 60
	if testing.Short() {
		iters = 20
	}
	t.Run("FastDeconv", func(t *testing.T) {
		const n, c, h, w = 2, 4, 9, 9
		cfg := NewFastDeconvConfig(c, 3, 3)
		cfg.Block, cfg.PadH, cfg.PadW, cfg.Workers = 2, 1, 1, 2
		wt := make([]float32, 3*c*9)
		for i := range wt {
			wt[i] = float32(i%5)*0.1 - 0.2
		}
		bias := []float32{0.1, 0.2, 0.3}
		l, err := NewFastDeconv(cfg, wt, bias)
		if err != nil {
			t.Fatal(err)
		}
		x := smoothInput(n, c, h, w, 1)
		want := make([]float32, n*3*h*w)
		if err := l.Forward(want, x, n, h, w); err != nil { // one training step
			t.Fatal(err)
		}
		_ = l.Train(false)
		if err := l.Forward(want, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		rm, rd := l.RunningMean(), l.RunningDeconv()
		outs := [2][]float32{make([]float32, len(want)), make([]float32, len(want))}
		busy := hammer(t, iters, func(g, i int) error {
			switch i % 6 {
			case 0, 1:
				if err := l.Forward(outs[g], x, n, h, w); err != nil {
					return err
				}
				return equalOut(outs[g], want)
			case 2:
				fc, err := l.Folded()
				if err != nil {
					return err
				}
				if err := fc.Forward(outs[g], x, n, h, w); err != nil {
					return err
				}
				return equalOut(outs[g], want)
			case 3:
				return l.SetWeights(wt, bias)
			case 4:
				return l.SetRunningStats(rm, rd)
			default:
				if err := l.Train(false); err != nil {
					return err
				}
				return l.SetCounter(1)
			}
		})
		t.Logf("%d calls refused as busy", busy)
	})
	t.Run("Delinear", func(t *testing.T) {
		const in, out, batch = 8, 3, 5
		cfg := NewDelinearConfig(in, out)
		cfg.Block, cfg.Workers, cfg.Bias = 4, 2, false
		wt := make([]float32, in*out)
		for i := range wt {
			wt[i] = float32(i%7)*0.1 - 0.3
		}
		l, err := NewDelinear(cfg, wt, nil)
		if err != nil {
			t.Fatal(err)
		}
		x := smoothInput(batch, in, 1, 1, 1)
		for i := range x {
			x[i] += float32(i%5) * 0.37
		}
		want := make([]float32, batch*out)
		if err := l.Forward(want, x, batch); err != nil {
			t.Fatal(err)
		}
		_ = l.Train(false)
		if err := l.Forward(want, x, batch); err != nil {
			t.Fatal(err)
		}
		rm, rd := l.RunningMean(), l.RunningDeconv()
		outs := [2][]float32{make([]float32, len(want)), make([]float32, len(want))}
		busy := hammer(t, iters*4, func(g, i int) error {
			switch i % 5 {
			case 0, 1:
				if err := l.Forward(outs[g], x, batch); err != nil {
					return err
				}
				return equalOut(outs[g], want)
			case 2:
				fl, err := l.Folded()
				if err != nil {
					return err
				}
				if err := fl.Forward(outs[g], x, batch); err != nil {
					return err
				}
				return equalOut(outs[g], want)
			case 3:
				if err := l.SetWeights(wt, nil); err != nil {
					return err
				}
				return l.Train(false)
			default:
				return l.SetRunningStats(rm, rd)
			}
		})
		t.Logf("%d calls refused as busy", busy)
	})
	t.Run("ChannelDeconv", func(t *testing.T) {
		const n, c, h, w = 2, 5, 6, 6
		cfg := NewChannelDeconvConfig(2)
		cfg.Workers = 2
		l, err := NewChannelDeconv[float32](cfg)
		if err != nil {
			t.Fatal(err)
		}
		x := smoothInput(n, c, h, w, 1)
		want := make([]float32, len(x))
		if err := l.Forward(want, x, n, c, h, w); err != nil {
			t.Fatal(err)
		}
		_ = l.Train(false)
		if err := l.Forward(want, x, n, c, h, w); err != nil {
			t.Fatal(err)
		}
		m1, d, m2, v := l.RunningStats()
		outs := [2][]float32{make([]float32, len(want)), make([]float32, len(want))}
		busy := hammer(t, iters*4, func(g, i int) error {
			switch i % 4 {
			case 0, 1:
				if err := l.Forward(outs[g], x, n, c, h, w); err != nil {
					return err
				}
				return equalOut(outs[g], want)
			case 2:
				if err := l.SetRunningStats(m1, d, m2, v); err != nil {
					return err
				}
				return l.Train(false)
			default:
				return l.SetNumBatchesTracked(1)
			}
		})
		t.Logf("%d calls refused as busy", busy)
	})
}

// TestFoldedConcurrentForward: a folded model is shared by 8 goroutines
// calling Forward with mixed input shapes (and one more replacing its
// weights with the same values); every result must equal the sequential
// computation.
func TestFoldedConcurrentForward(t *testing.T) {
	cfg := NewFastDeconvConfig(4, 6, 3)
	cfg.Geometry = deconv.Geometry{KernelH: 3, KernelW: 2, PadH: 1, StrideW: 2}
	cfg.Block, cfg.Workers = 2, 2
	wt := make([]float64, 6*4*6)
	for i := range wt {
		wt[i] = float64(i%9)*0.07 - 0.2
	}
	bias := []float64{1, 2, 3, 4, 5, 6}
	l, err := NewFastDeconv(cfg, wt, bias)
	if err != nil {
		t.Fatal(err)
	}
	shapes := [][3]int{{2, 8, 8}, {1, 9, 7}, {3, 5, 12}, {2, 6, 6}}
	inputs := make([][]float64, len(shapes))
	wants := make([][]float64, len(shapes))
	for s, sh := range shapes {
		x := make([]float64, sh[0]*4*sh[1]*sh[2])
		for i := range x {
			x[i] = float64((i*7+s)%23)*0.1 + float64(i%3)
		}
		inputs[s] = x
		if s == 0 {
			if err := l.Forward(make([]float64, 2*6*8*4), x, sh[0], sh[1], sh[2]); err != nil {
				t.Fatal(err)
			}
		}
	}
	conv, err := l.Folded()
	if err != nil {
		t.Fatal(err)
	}
	lin, err := NewLinear(24, 6, wt[:144], bias)
	if err != nil {
		t.Fatal(err)
	}
	linX := inputs[0][:5*24]
	linWant := make([]float64, 5*6)
	if err := lin.Forward(linWant, linX, 5); err != nil {
		t.Fatal(err)
	}
	for s, sh := range shapes {
		oh, ow, err := conv.Geom().OutputSize(sh[1], sh[2])
		if err != nil {
			t.Fatal(err)
		}
		wants[s] = make([]float64, sh[0]*6*oh*ow)
		if err := conv.Forward(wants[s], inputs[s], sh[0], sh[1], sh[2]); err != nil {
			t.Fatal(err)
		}
	}
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	cw := conv.Weight()
	cb := conv.Bias()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				s := (g + r) % len(shapes)
				sh := shapes[s]
				out := make([]float64, len(wants[s]))
				if err := conv.Forward(out, inputs[s], sh[0], sh[1], sh[2]); err != nil {
					errs <- err
					return
				}
				if e := relErr(out, wants[s]); e != 0 {
					errs <- fmt.Errorf("goroutine %d shape %v: differs from the sequential result by %g", g, sh, e)
					return
				}
				lout := make([]float64, len(linWant))
				if err := lin.Forward(lout, linX, 5); err != nil {
					errs <- err
					return
				}
				if e := relErr(lout, linWant); e != 0 {
					errs <- fmt.Errorf("goroutine %d: Linear differs by %g", g, e)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := 0; r < rounds; r++ {
			if err := conv.SetWeights(cw, cb); err != nil {
				errs <- err
				return
			}
			if err := lin.SetWeights(wt[:144], bias); err != nil {
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
