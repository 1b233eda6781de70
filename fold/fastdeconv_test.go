package fold

import (
	"errors"
	"github.com/netdeconv/deconv"
	"math"
	"math/rand/v2"
	"testing"
)

// oracleLayer follows a FastDeconv through training and evaluation steps
// in float64.
type oracleLayer struct {
	cfg          FastDeconvConfig
	w, bias      []float64
	rmean, rdec  [][]float64
	counter      int
	F, G, groups int
}

func newOracle(cfg FastDeconvConfig, w, bias []float64, block int) *oracleLayer {
	o := &oracleLayer{cfg: cfg, w: w, bias: bias}
	o.F = cfg.KernelH * cfg.KernelW * block
	o.G = cfg.InChannels / block
	o.groups = 1
	if cfg.Groups > 1 {
		o.groups, o.G = cfg.Groups, 1
	}
	for q := 0; q < o.groups; q++ {
		o.rmean = append(o.rmean, make([]float64, o.F))
		d := make([]float64, o.F*o.F)
		for i := 0; i < o.F; i++ {
			d[i*o.F+i] = 1
		}
		o.rdec = append(o.rdec, d)
	}
	return o
}

func (o *oracleLayer) forward(x []float64, n, h, w int, training bool) []float64 {
	cfg := o.cfg
	frozen := cfg.Freeze && o.counter > cfg.FreezeIter
	if training {
		o.counter = (o.counter + 1) % (10 * cfg.FreezeIter)
	}
	means, ds := o.rmean, o.rdec
	if training && !frozen {
		rows := oracleRows(cfg, x, n, h, w)
		var covs [][]float64
		means, covs = oracleStats(rows, o.groups, o.F, o.G, cfg.Grouping, cfg.Eps)
		ds = nil
		for _, c := range covs {
			ds = append(ds, oracleNS(c, o.F, cfg.NIter))
		}
		m := cfg.Momentum
		for q := range means {
			for i := range means[q] {
				o.rmean[q][i] = (1-m)*o.rmean[q][i] + m*means[q][i]
			}
			for i := range ds[q] {
				o.rdec[q][i] = (1-m)*o.rdec[q][i] + m*ds[q][i]
			}
		}
	}
	g := ConvGeom{InChannels: cfg.InChannels, OutChannels: cfg.OutChannels, Groups: cfg.Groups,
		Geometry: cfg.Geometry}
	bl := Blocking{Features: g.Features(), Block: o.F, Grouping: cfg.Grouping}
	wf, bf := oracleFold(o.w, o.bias, cfg.OutChannels, bl, ds, means)
	return naiveConv(g, x, wf, bf, n, h, w)
}

func flat(m [][]float64) []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}

// randomFastDeconv draws a layer covering padding, stride, dilation (square
// and rectangular, per axis), 1×1 kernels,
// groups (depthwise included), C not a multiple of the block, no bias,
// both groupings and freezing.
func randomFastDeconv(rng *rand.Rand) (FastDeconvConfig, int, int, int) {
	for {
		in := 1 + rng.IntN(8)
		groups := 1
		if rng.IntN(3) == 0 {
			groups = []int{1, 2, in}[rng.IntN(3)]
			if in%groups != 0 {
				groups = 1
			}
		}
		out := groups * (1 + rng.IntN(3))
		cfg := NewFastDeconvConfig(in, out, []int{1, 2, 3}[rng.IntN(3)])
		cfg.Geometry = deconv.Square(cfg.KernelH, 1+rng.IntN(2), rng.IntN(3), 1+rng.IntN(2))
		if rng.IntN(2) == 0 {
			// Rectangular: every axis drawn on its own, as
			// torch.nn.Conv2d takes it (1×k and k×1 included).
			cfg.Geometry = deconv.Geometry{KernelH: 1 + rng.IntN(3), KernelW: 1 + rng.IntN(3),
				StrideH: 1 + rng.IntN(2), StrideW: 1 + rng.IntN(3), PadH: rng.IntN(3), PadW: rng.IntN(2),
				DilationH: 1 + rng.IntN(2), DilationW: 1 + rng.IntN(3)}
		}
		cfg.Groups = groups
		cfg.Block = 1 + rng.IntN(6)
		cfg.SamplingStride = 1 + rng.IntN(3)
		cfg.Bias = rng.IntN(3) != 0
		cfg.Grouping = deconv.Grouping(rng.IntN(2))
		cfg.Eps = []float64{1e-5, 1e-2, 0.5}[rng.IntN(3)]
		cfg.NIter = 1 + rng.IntN(6)
		if rng.IntN(4) == 0 {
			cfg.Freeze, cfg.FreezeIter = true, 1+rng.IntN(2)
		}
		n, h, w := 1+rng.IntN(3), 3+rng.IntN(9), 3+rng.IntN(9)
		if _, _, err := (ConvGeom{InChannels: in, OutChannels: out, Groups: groups,
			Geometry: cfg.Geometry}).OutputSize(h, w); err == nil {
			return cfg, n, h, w
		}
	}
}

// TestFastDeconvMatchesOracle runs training, evaluation and freezing
// sequences and compares outputs and buffers after every step, in float64
// (tight) and float32 (1e-4 relative).
func TestFastDeconvMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	trials := 60
	if testing.Short() {
		trials = 20
	}
	for trial := 0; trial < trials; trial++ {
		cfg, n, h, w := randomFastDeconv(rng)
		geomFeat := cfg.InChannels / max(cfg.Groups, 1) * cfg.KernelH * cfg.KernelW
		wt := randVec(rng, cfg.OutChannels*geomFeat)
		var bias []float64
		if cfg.Bias {
			bias = randVec(rng, cfg.OutChannels)
		}
		l64, err := NewFastDeconv(cfg, wt, bias)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		l32, err := NewFastDeconv(cfg, to32(wt), to32(bias))
		if err != nil {
			t.Fatal(err)
		}
		o := newOracle(cfg, wt, bias, l64.Block())
		oh, ow, _ := l64.OutputSize(h, w)
		for step := 0; step < 5; step++ {
			training := step < 3 || step == 4
			l64.Train(training)
			l32.Train(training)
			// Inputs with a non-zero mean and correlated channels.
			x := randVec(rng, n*cfg.InChannels*h*w)
			for i := range x {
				x[i] = 0.5*x[i] + 1 + 0.3*float64(i/(h*w)%cfg.InChannels)
			}
			want := o.forward(x, n, h, w, training)
			got := make([]float64, n*cfg.OutChannels*oh*ow)
			if err := l64.Forward(got, x, n, h, w); err != nil {
				t.Fatalf("%+v step %d: %v", cfg, step, err)
			}
			if e := relErr(got, want); e > 1e-9 {
				t.Fatalf("trial %d %+v n=%d %d×%d step %d: float64 output off by %g", trial, cfg, n, h, w, step, e)
			}
			if e := relErr(l64.RunningMean(), flat(o.rmean)); e > 1e-9 {
				t.Fatalf("trial %d step %d: running_mean off by %g", trial, step, e)
			}
			if e := relErr(l64.RunningDeconv(), flat(o.rdec)); e > 1e-9 {
				t.Fatalf("trial %d step %d: running_deconv off by %g", trial, step, e)
			}
			got32 := make([]float32, len(got))
			if err := l32.Forward(got32, to32(x), n, h, w); err != nil {
				t.Fatal(err)
			}
			if e := relErr(got32, want); e > 1e-4 {
				t.Fatalf("trial %d %+v step %d: float32 output off by %g", trial, cfg, step, e)
			}
		}
		// Evaluation through the layer equals its folded plain convolution.
		l64.Train(false)
		x := randVec(rng, n*cfg.InChannels*h*w)
		a := make([]float64, n*cfg.OutChannels*oh*ow)
		b := make([]float64, len(a))
		if err := l64.Forward(a, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		c, err := l64.Folded()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Forward(b, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(b, a); e > 1e-12 {
			t.Fatalf("folded conv differs from eval forward by %g", e)
		}
	}
}

func TestFastDeconvErrors(t *testing.T) {
	cfg := NewFastDeconvConfig(4, 2, 3)
	w := make([]float32, 2*4*9)
	if _, err := NewFastDeconv(cfg, w, nil); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("bias missing while Bias is set: %v", err)
	}
	bad := cfg
	bad.NIter = 0
	if _, err := NewFastDeconv(bad, w, make([]float32, 2)); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("zero iterations: %v", err)
	}
	bad = cfg
	bad.Momentum = 2
	if _, err := NewFastDeconv(bad, w, make([]float32, 2)); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("momentum 2: %v", err)
	}
	l, err := NewFastDeconv(cfg, w, make([]float32, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Forward(make([]float32, 100), make([]float32, 3*5*5), 1, 5, 5); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("wrong channel count: %v", err)
	}
	x := make([]float32, 4*5*5)
	x[10] = float32(math.Inf(-1))
	if err := l.Forward(make([]float32, 2*3*3), x, 1, 5, 5); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("infinite input: %v", err)
	}
	if err := l.SetRunningStats(make([]float32, 3), nil); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short running stats: %v", err)
	}
}

// TestFastDeconvRectangular runs rectangular kernels, strides, paddings
// and dilations (as torch.nn.Conv2d takes them) through training and
// evaluation steps against the oracle, including the 1×1 kernel's flat
// sampling rule with different strides per axis.
func TestFastDeconvRectangular(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	cases := []struct {
		in, out, groups, block int
		g                      deconv.Geometry
		grouping               deconv.Grouping
		n, h, w                int
	}{
		{4, 3, 1, 2, deconv.Geometry{KernelH: 1, KernelW: 3, PadW: 1}, deconv.Interleaved, 2, 7, 9},
		{4, 3, 1, 2, deconv.Geometry{KernelH: 3, KernelW: 1, PadH: 1}, deconv.Contiguous, 2, 9, 7},
		{3, 2, 1, 3, deconv.Geometry{KernelH: 2, KernelW: 3, StrideH: 1, StrideW: 2, PadH: 0, PadW: 2, DilationH: 2, DilationW: 1}, deconv.Interleaved, 2, 11, 10},
		{6, 4, 2, 0, deconv.Geometry{KernelH: 3, KernelW: 2, StrideH: 2, StrideW: 1, PadH: 1, DilationW: 2}, deconv.Interleaved, 1, 10, 12},
		{4, 4, 4, 0, deconv.Geometry{KernelH: 1, KernelW: 2, StrideW: 2, PadH: 2}, deconv.Interleaved, 2, 6, 8},
		{5, 2, 1, 5, deconv.Geometry{KernelH: 1, KernelW: 1, StrideH: 2, StrideW: 3}, deconv.Interleaved, 3, 8, 9},
		{6, 2, 1, 3, deconv.Geometry{KernelH: 1, KernelW: 1, StrideH: 1, StrideW: 2}, deconv.Contiguous, 2, 7, 5},
	}
	for _, tc := range cases {
		cfg := NewFastDeconvConfig(tc.in, tc.out, 1)
		cfg.Geometry, cfg.Groups, cfg.Block, cfg.Grouping = tc.g, tc.groups, tc.block, tc.grouping
		cfg.SamplingStride, cfg.Eps = 2, 1e-2
		g := ConvGeom{InChannels: tc.in, OutChannels: tc.out, Groups: tc.groups, Geometry: tc.g}
		gn, err := g.normalize()
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		wt := randVec(rng, gn.WeightLen())
		bias := randVec(rng, tc.out)
		l, err := NewFastDeconv(cfg, wt, bias)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if want := tc.g.KernelH * tc.g.KernelW * l.Block(); l.NumFeatures() != want {
			t.Fatalf("%+v: F = %d, want KernelH·KernelW·B = %d", tc, l.NumFeatures(), want)
		}
		o := newOracle(cfg, wt, bias, l.Block())
		oh, ow, err := l.OutputSize(tc.h, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 4; step++ {
			training := step < 3
			_ = l.Train(training)
			x := randVec(rng, tc.n*tc.in*tc.h*tc.w)
			for i := range x {
				x[i] = 0.5*x[i] + 1 + 0.3*float64(i/(tc.h*tc.w)%tc.in)
			}
			want := o.forward(x, tc.n, tc.h, tc.w, training)
			got := make([]float64, tc.n*tc.out*oh*ow)
			if err := l.Forward(got, x, tc.n, tc.h, tc.w); err != nil {
				t.Fatalf("%+v step %d: %v", tc, step, err)
			}
			if e := relErr(got, want); e > 1e-9 {
				t.Fatalf("%+v step %d: output off by %g", tc, step, e)
			}
			if e := relErr(l.RunningDeconv(), flat(o.rdec)); e > 1e-9 {
				t.Fatalf("%+v step %d: running_deconv off by %g", tc, step, e)
			}
			if step == 3 {
				c, err := l.Folded()
				if err != nil {
					t.Fatal(err)
				}
				b := make([]float64, len(got))
				if err := c.Forward(b, x, tc.n, tc.h, tc.w); err != nil {
					t.Fatal(err)
				}
				if e := relErr(b, got); e > 1e-12 {
					t.Fatalf("%+v: folded conv differs by %g", tc, e)
				}
			}
		}
	}
}
