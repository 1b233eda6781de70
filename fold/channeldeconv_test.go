package fold

import (
	"errors"
	"github.com/netdeconv/deconv"
	"math"
	"math/rand/v2"
	"testing"
)

// oracleChannel is the reference ChannelDeconv in float64 (with the
// corrected, centred covariance unless uncentred is set). The buffers are
// updated in place.
type oracleChannel struct {
	cfg       ChannelDeconvConfig
	rm1, rdec []float64
	rm2, rvar float64
	tracked   int
}

func (o *oracleChannel) forward(x []float64, n, c, h, w int, training bool) []float64 {
	B, hw := o.cfg.Block, h*w
	whole := c / B * B
	cb := whole / B
	S := o.cfg.SamplingStride
	step := 1
	if S > 1 && h >= S && w >= S {
		step = S * S
	}
	// Feature r, column j = (cc·N + img)·HW + pix of channel r·cb + cc.
	at := func(r, j int) float64 {
		cc, rem := j/(n*hw), j%(n*hw)
		return x[(rem/hw*c+r*cb+cc)*hw+rem%hw]
	}
	M := cb * n * hw
	mean1, d := o.rm1, o.rdec
	mean2, variance := o.rm2, o.rvar
	if training {
		var cols []int
		for j := 0; j < M; j += step {
			cols = append(cols, j)
		}
		mu := make([]float64, B)
		for r := 0; r < B; r++ {
			for _, j := range cols {
				mu[r] += at(r, j) / float64(len(cols))
			}
		}
		cv := make([]float64, B*B)
		for r := 0; r < B; r++ {
			for s := 0; s < B; s++ {
				for _, j := range cols {
					a, b := at(r, j), at(s, j)
					if !o.cfg.Uncentred {
						a, b = a-mu[r], b-mu[s]
					}
					cv[r*B+s] += a * b / float64(len(cols))
				}
			}
			cv[r*B+r] += o.cfg.Eps
		}
		dd := oracleNS(cv, B, o.cfg.NIter)
		// The rest: per image, every step-th value of its (C−c)·H·W values.
		var vals []float64
		for img := 0; img < n; img++ {
			for j := 0; j < (c-whole)*hw; j += step {
				vals = append(vals, x[img*c*hw+whole*hw+j])
			}
		}
		m2, v2 := 0.0, 0.0
		for _, v := range vals {
			m2 += v / float64(len(vals))
		}
		for _, v := range vals {
			v2 += (v - m2) * (v - m2)
		}
		if len(vals) > 1 {
			v2 /= float64(len(vals) - 1)
		}
		m := o.cfg.Momentum
		if o.tracked == 0 {
			copy(o.rm1, mu)
			copy(o.rdec, dd)
			if whole < c {
				o.rm2, o.rvar = m2, v2
			}
		}
		for i := range mu {
			o.rm1[i] = (1-m)*o.rm1[i] + m*mu[i]
		}
		for i := range dd {
			o.rdec[i] = (1-m)*o.rdec[i] + m*dd[i]
		}
		if whole < c {
			o.rm2 = (1-m)*o.rm2 + m*m2
			o.rvar = (1-m)*o.rvar + m*v2
		}
		o.tracked++
		mean1, d, mean2, variance = mu, dd, m2, v2
	}
	y := make([]float64, len(x))
	for img := 0; img < n; img++ {
		for r := 0; r < B; r++ {
			for cc := 0; cc < cb; cc++ {
				for p := 0; p < hw; p++ {
					s := 0.0
					for k := 0; k < B; k++ {
						s += d[r*B+k] * (x[(img*c+k*cb+cc)*hw+p] - mean1[k])
					}
					y[(img*c+r*cb+cc)*hw+p] = s
				}
			}
		}
		for ch := whole; ch < c; ch++ {
			for p := 0; p < hw; p++ {
				i := (img*c+ch)*hw + p
				y[i] = (x[i] - mean2) / math.Sqrt(variance+o.cfg.Eps)
			}
		}
	}
	return y
}

func TestChannelDeconvMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for trial := 0; trial < 60; trial++ {
		cfg := NewChannelDeconvConfig(1 + rng.IntN(5))
		c := cfg.Block * (1 + rng.IntN(3))
		if rng.IntN(2) == 0 {
			c += rng.IntN(cfg.Block) // channels beyond the last whole block
		}
		cfg.SamplingStride = 1 + rng.IntN(3)
		cfg.Uncentred = rng.IntN(2) == 0
		cfg.NIter = 1 + rng.IntN(5)
		n, h, w := 1+rng.IntN(3), 1+rng.IntN(7), 1+rng.IntN(7)
		l, err := NewChannelDeconv[float64](cfg)
		if err != nil {
			t.Fatal(err)
		}
		l32, err := NewChannelDeconv[float32](cfg)
		if err != nil {
			t.Fatal(err)
		}
		B := cfg.Block
		o := &oracleChannel{cfg: cfg, rm1: make([]float64, B), rdec: make([]float64, B*B), rvar: 1}
		for i := 0; i < B; i++ {
			o.rdec[i*B+i] = 1
		}
		for step := 0; step < 4; step++ {
			training := step != 2
			l.Train(training)
			l32.Train(training)
			x := randVec(rng, n*c*h*w)
			for i := range x {
				x[i] = x[i]*(1+float64(i%3)) + 0.7
			}
			want := o.forward(x, n, c, h, w, training)
			got := make([]float64, len(x))
			if err := l.Forward(got, x, n, c, h, w); err != nil {
				t.Fatalf("%+v: %v", cfg, err)
			}
			if e := relErr(got, want); e > 1e-9 {
				t.Fatalf("trial %d %+v %d×%d×%d×%d step %d: output off by %g", trial, cfg, n, c, h, w, step, e)
			}
			m1, dec, m2, v := l.RunningStats()
			if relErr(m1, o.rm1) > 1e-9 || relErr(dec, o.rdec) > 1e-9 || math.Abs(float64(m2)-o.rm2) > 1e-9 || math.Abs(float64(v)-o.rvar) > 1e-9*(1+o.rvar) {
				t.Fatalf("trial %d step %d: running buffers differ", trial, step)
			}
			got32 := make([]float32, len(x))
			if err := l32.Forward(got32, to32(x), n, c, h, w); err != nil {
				t.Fatal(err)
			}
			if e := relErr(got32, want); e > 1e-4 {
				t.Fatalf("trial %d float32 output off by %g", trial, e)
			}
		}
	}
}

func TestChannelDeconvErrors(t *testing.T) {
	l, err := NewChannelDeconv[float32](NewChannelDeconvConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Forward(make([]float32, 12), make([]float32, 12), 1, 3, 2, 2); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("block larger than channels: %v", err)
	}
	if _, err := NewChannelDeconv[float32](ChannelDeconvConfig{Block: 2}); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("zero iterations: %v", err)
	}
}
