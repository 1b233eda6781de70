package fold

import (
	"errors"
	"github.com/netdeconv/deconv"
	"math/rand/v2"
	"testing"
)

// oracleDelinear is one forward of the reference Delinear in float64
// (with this package's centring when there is no bias).
func oracleDelinear(cfg DelinearConfig, block int, w, bias, x []float64, batch int, rmean, rdec []float64, training bool) []float64 {
	mean, d := rmean, rdec
	if training {
		var rows [][]float64
		for r := 0; r < batch; r++ {
			for c := 0; c < cfg.InFeatures; c += block {
				rows = append(rows, x[r*cfg.InFeatures+c:r*cfg.InFeatures+c+block])
			}
		}
		ms, cs := oracleStats(rows, 1, block, 1, deconv.Contiguous, cfg.Eps)
		mean, d = ms[0], oracleNS(cs[0], block, cfg.NIter)
		for i := range rmean {
			rmean[i] = (1-cfg.Momentum)*rmean[i] + cfg.Momentum*mean[i]
		}
		for i := range rdec {
			rdec[i] = (1-cfg.Momentum)*rdec[i] + cfg.Momentum*d[i]
		}
	}
	bl := Blocking{Features: cfg.InFeatures, Block: block, Grouping: deconv.Contiguous}
	wf, bf := oracleFold(w, bias, cfg.OutFeatures, bl, [][]float64{d}, [][]float64{mean})
	y := make([]float64, batch*cfg.OutFeatures)
	for r := 0; r < batch; r++ {
		for o := 0; o < cfg.OutFeatures; o++ {
			s := bf[o]
			for i := 0; i < cfg.InFeatures; i++ {
				s += x[r*cfg.InFeatures+i] * wf[o*cfg.InFeatures+i]
			}
			y[r*cfg.OutFeatures+o] = s
		}
	}
	return y
}

func TestDelinearMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for trial := 0; trial < 40; trial++ {
		cfg := NewDelinearConfig(1+rng.IntN(24), 1+rng.IntN(6))
		cfg.Block = 1 + rng.IntN(12)
		cfg.Bias = rng.IntN(3) != 0
		cfg.NIter = 1 + rng.IntN(6)
		cfg.Eps = []float64{1e-5, 1e-2}[rng.IntN(2)]
		w := randVec(rng, cfg.InFeatures*cfg.OutFeatures)
		var bias []float64
		if cfg.Bias {
			bias = randVec(rng, cfg.OutFeatures)
		}
		l, err := NewDelinear(cfg, w, bias)
		if err != nil {
			t.Fatal(err)
		}
		l32, err := NewDelinear(cfg, to32(w), to32(bias))
		if err != nil {
			t.Fatal(err)
		}
		block := l.Config().Block
		rmean, rdec := l.RunningMean(), l.RunningDeconv()
		batch := 2 + rng.IntN(20)
		for step := 0; step < 4; step++ {
			training := step != 2
			l.Train(training)
			l32.Train(training)
			x := randVec(rng, batch*cfg.InFeatures)
			for i := range x {
				x[i] += 2
			}
			want := oracleDelinear(cfg, block, w, bias, x, batch, rmean, rdec, training)
			got := make([]float64, len(want))
			if err := l.Forward(got, x, batch); err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, want); e > 1e-9 {
				t.Fatalf("trial %d %+v step %d: output off by %g", trial, cfg, step, e)
			}
			if e := relErr(l.RunningDeconv(), rdec); e > 1e-9 {
				t.Fatalf("running_deconv off by %g", e)
			}
			got32 := make([]float32, len(want))
			if err := l32.Forward(got32, to32(x), batch); err != nil {
				t.Fatal(err)
			}
			if e := relErr(got32, want); e > 1e-4 {
				t.Fatalf("trial %d float32 output off by %g", trial, e)
			}
		}
		lin, err := l.Folded()
		if err != nil {
			t.Fatal(err)
		}
		l.Train(false)
		x := randVec(rng, batch*cfg.InFeatures)
		a, b := make([]float64, batch*cfg.OutFeatures), make([]float64, batch*cfg.OutFeatures)
		if err := l.Forward(a, x, batch); err != nil {
			t.Fatal(err)
		}
		if err := lin.Forward(b, x, batch); err != nil {
			t.Fatal(err)
		}
		if e := relErr(b, a); e > 1e-12 {
			t.Fatalf("folded linear differs by %g", e)
		}
	}
}

func TestDelinearErrors(t *testing.T) {
	cfg := NewDelinearConfig(8, 2)
	if _, err := NewDelinear(cfg, make([]float32, 16), nil); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("missing bias: %v", err)
	}
	l, err := NewDelinear(cfg, make([]float32, 16), make([]float32, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Forward(make([]float32, 4), make([]float32, 7), 1); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short row: %v", err)
	}
}
