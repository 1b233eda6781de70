package fold

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/isqrt"
)

// isqrtSentinels reports whether the isqrt package already reports the
// root sentinels (deconv.ErrNonFinite for a NaN matrix). Errors whose
// cause is isqrt carry the root sentinel only then; until then the tests
// check that such calls fail and change nothing.
func isqrtSentinels() bool {
	p, err := isqrt.NewPlan[float64](1, isqrt.Options{})
	if err != nil {
		return false
	}
	_, err = p.InvSqrt(make([]float64, 1), []float64{math.NaN()})
	return errors.Is(err, deconv.ErrNonFinite)
}

// bitsOf flattens float values into their bit patterns, so that states
// compare bit for bit (NaN included).
func bitsOf[T Float](vs ...[]T) []uint64 {
	var out []uint64
	for _, v := range vs {
		out = append(out, uint64(len(v))) // nil and empty differ from values
		for _, x := range v {
			out = append(out, math.Float64bits(float64(x)))
		}
	}
	return out
}

func equalBits(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The full observable state of each layer.
func fastDeconvState[T Float](l *FastDeconv[T]) string {
	return fmt.Sprint(bitsOf(l.Weight(), l.Bias(), l.RunningMean(), l.RunningDeconv()), l.Counter(), l.Training())
}

func delinearState[T Float](l *Delinear[T]) string {
	return fmt.Sprint(bitsOf(l.Weight(), l.Bias(), l.RunningMean(), l.RunningDeconv()), l.Training())
}

func channelDeconvState[T Float](l *ChannelDeconv[T]) string {
	m1, d, m2, v := l.RunningStats()
	return fmt.Sprint(bitsOf(m1, d, []T{m2, v}), l.NumBatchesTracked(), l.Training())
}

// errCase is one provoked failure: the call, the sentinel it must carry
// (nil: any error; isqrt set: the sentinel is checked only once isqrt
// reports root sentinels).
type errCase struct {
	name  string
	call  func() error
	want  error
	isqrt bool
}

func checkErrCases(t *testing.T, layer string, state func() string, cases []errCase) {
	t.Helper()
	rootIsqrt := isqrtSentinels()
	for _, c := range cases {
		before := state()
		err := c.call()
		switch {
		case err == nil:
			t.Errorf("%s: %s: no error", layer, c.name)
		case c.want != nil && (!c.isqrt || rootIsqrt) && !errors.Is(err, c.want):
			t.Errorf("%s: %s: got %v, want %v", layer, c.name, err, c.want)
		}
		if after := state(); after != before {
			t.Errorf("%s: %s: the failed call changed the layer's state", layer, c.name)
		}
	}
}

// smoothInput fills an NCHW batch with finite, correlated values.
func smoothInput(n, c, h, w int, scale float32) []float32 {
	x := make([]float32, n*c*h*w)
	for i := range x {
		x[i] = scale * (float32(i%13)*0.21 + float32(i%7)*0.05 + float32(i/(h*w)%c)*0.3)
	}
	return x
}

// TestFastDeconvErrorsLeaveStateUnchanged provokes every error path of a
// FastDeconv and compares the full state (weights, bias, running buffers,
// freeze counter, mode) before and after, bit for bit.
func TestFastDeconvErrorsLeaveStateUnchanged(t *testing.T) {
	const n, c, h, w = 2, 4, 10, 10 // 3×3, S = 3: windows at rows 0, 3, 6; row 9 unsampled
	cfg := NewFastDeconvConfig(c, 2, 3)
	cfg.Block, cfg.Freeze, cfg.FreezeIter = 2, true, 50
	wt := make([]float32, 2*c*9)
	for i := range wt {
		wt[i] = float32(i%5)*0.1 - 0.2
	}
	l, err := NewFastDeconv(cfg, wt, []float32{0.5, -0.5})
	if err != nil {
		t.Fatal(err)
	}
	x := smoothInput(n, c, h, w, 1)
	y := make([]float32, n*2*8*8)
	// Non-trivial state: a few training steps.
	for i := 0; i < 3; i++ {
		if err := l.Forward(y, x, n, h, w); err != nil {
			t.Fatal(err)
		}
	}
	with := func(i int, v float32) []float32 {
		z := append([]float32(nil), x...)
		z[i] = v
		return z
	}
	unsampled := (0*c+1)*h*w + 9*w + 4 // image 0, channel 1, row 9
	F := l.NumFeatures()
	ident := func(scale float32) []float32 {
		d := make([]float32, F*F)
		for i := 0; i < F; i++ {
			d[i*F+i] = scale
		}
		return d
	}
	asym := ident(1)
	asym[1] = 0.5
	huge := make([]float32, len(wt))
	for i := range huge {
		huge[i] = 3e37
	}
	nanW := append([]float32(nil), wt...)
	nanW[3] = float32(math.NaN())
	forward := func(x []float32) func() error { return func() error { return l.Forward(y, x, n, h, w) } }
	eval := func(f func() error) func() error {
		return func() error {
			if err := l.Train(false); err != nil {
				return err
			}
			defer l.Train(true)
			return f()
		}
	}
	cases := []errCase{
		{"NaN at a sampled pixel", forward(with(0, float32(math.NaN()))), deconv.ErrNonFinite, false},
		{"NaN at an unsampled pixel", forward(with(unsampled, float32(math.NaN()))), deconv.ErrNonFinite, false},
		{"+Inf at a sampled pixel", forward(with(5, float32(math.Inf(1)))), deconv.ErrNonFinite, false},
		{"-Inf at an unsampled pixel, evaluation", eval(forward(with(unsampled, float32(math.Inf(-1))))), deconv.ErrNonFinite, false},
		{"huge finite input: covariance overflows", forward(smoothInput(n, c, h, w, 1e30)), deconv.ErrNonFinite, false},
		{"huge finite input, evaluation: output overflows", func() error {
			// Running D = 1000·I: folded weights ~100, inputs ~1e36.
			oldM, oldD := l.RunningMean(), l.RunningDeconv()
			if err := l.SetRunningStats(make([]float32, F), ident(1000)); err != nil {
				return nil
			}
			defer l.SetRunningStats(oldM, oldD)
			return eval(forward(smoothInput(n, c, h, w, 1e36)))()
		}, deconv.ErrNonFinite, false},
		{"short input", func() error { return l.Forward(y, x[:len(x)-1], n, h, w) }, deconv.ErrShape, false},
		{"short output", func() error { return l.Forward(y[:10], x, n, h, w) }, deconv.ErrShape, false},
		{"output overlaps the input", func() error {
			z := append([]float32(nil), x...)
			return l.Forward(z[100:100+len(y)], z, n, h, w)
		}, deconv.ErrOverlap, false},
		{"kernel larger than the input", func() error { return l.Forward(y, x[:n*c*4], n, 2, 2) }, deconv.ErrShape, false},
		{"constant input, eps = 0 would be singular", func() error {
			l2cfg := cfg
			l2cfg.Eps = 0
			l2, err := NewFastDeconv(l2cfg, wt, []float32{0, 0})
			if err != nil {
				return nil
			}
			return l2.Forward(y, make([]float32, len(x)), n, h, w)
		}, deconv.ErrNotPositiveDefinite, true},
		{"SetWeights NaN", func() error { return l.SetWeights(nanW, []float32{0, 0}) }, deconv.ErrNonFinite, false},
		{"SetWeights short", func() error { return l.SetWeights(wt[:3], []float32{0, 0}) }, deconv.ErrShape, false},
		{"SetWeights without bias", func() error { return l.SetWeights(wt, nil) }, deconv.ErrParam, false},
		{"SetRunningStats short", func() error { return l.SetRunningStats(make([]float32, F-1), ident(1)) }, deconv.ErrShape, false},
		{"SetRunningStats NaN", func() error { return l.SetRunningStats(make([]float32, F), ident(float32(math.NaN()))) }, deconv.ErrNonFinite, false},
		{"SetRunningStats not positive definite", func() error { return l.SetRunningStats(make([]float32, F), ident(-1)) }, deconv.ErrNotPositiveDefinite, false},
		{"SetRunningStats not symmetric", func() error { return l.SetRunningStats(make([]float32, F), asym) }, deconv.ErrNotSymmetric, false},
		{"SetCounter negative", func() error { return l.SetCounter(-1) }, deconv.ErrParam, false},
	}
	checkErrCases(t, "FastDeconv", func() string { return fastDeconvState(l) }, cases)

	// Huge weights: finite, but the folded weights overflow. Set them,
	// provoke the failures, and check the state around each.
	if err := l.SetWeights(huge, []float32{0, 0}); err != nil {
		t.Fatal(err)
	}
	big := ident(1e20)
	checkErrCases(t, "FastDeconv with huge weights", func() string { return fastDeconvState(l) }, []errCase{
		{"training forward: folded weights overflow", forward(smoothInput(n, c, h, w, 1e-4)), deconv.ErrNonFinite, false},
		{"evaluation forward: folded weights overflow", func() error {
			// Running D = 1e20·I, set and restored around the call.
			oldM, oldD := l.RunningMean(), l.RunningDeconv()
			if err := l.SetRunningStats(make([]float32, F), big); err != nil {
				return nil
			}
			defer l.SetRunningStats(oldM, oldD)
			return eval(forward(x))()
		}, deconv.ErrNonFinite, false},
		{"Folded: folded weights overflow", func() error {
			oldM, oldD := l.RunningMean(), l.RunningDeconv()
			if err := l.SetRunningStats(make([]float32, F), big); err != nil {
				return nil
			}
			defer l.SetRunningStats(oldM, oldD)
			_, err := l.Folded()
			return err
		}, deconv.ErrNonFinite, false},
	})
}

// TestDelinearErrorsLeaveStateUnchanged is the Delinear counterpart.
func TestDelinearErrorsLeaveStateUnchanged(t *testing.T) {
	const in, out, batch = 8, 3, 6
	cfg := NewDelinearConfig(in, out)
	cfg.Block = 4
	wt := make([]float32, in*out)
	for i := range wt {
		wt[i] = float32(i%7)*0.1 - 0.3
	}
	l, err := NewDelinear(cfg, wt, []float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	x := smoothInput(batch, in, 1, 1, 1)
	for i := range x {
		x[i] += float32(i%5) * 0.37
	}
	y := make([]float32, batch*out)
	for i := 0; i < 2; i++ {
		if err := l.Forward(y, x, batch); err != nil {
			t.Fatal(err)
		}
	}
	with := func(i int, v float32) []float32 {
		z := append([]float32(nil), x...)
		z[i] = v
		return z
	}
	ident := func(s float32) []float32 {
		d := make([]float32, 16)
		for i := 0; i < 4; i++ {
			d[i*5] = s
		}
		return d
	}
	forward := func(x []float32) func() error { return func() error { return l.Forward(y, x, batch) } }
	eval := func(f func() error) func() error {
		return func() error {
			if err := l.Train(false); err != nil {
				return err
			}
			defer l.Train(true)
			return f()
		}
	}
	scaled := func(s float32) []float32 {
		z := append([]float32(nil), x...)
		for i := range z {
			z[i] *= s
		}
		return z
	}
	state := func() string { return delinearState(l) }
	checkErrCases(t, "Delinear", state, []errCase{
		{"NaN input", forward(with(3, float32(math.NaN()))), deconv.ErrNonFinite, false},
		{"Inf input, evaluation", eval(forward(with(7, float32(math.Inf(1))))), deconv.ErrNonFinite, false},
		{"huge input: covariance overflows", forward(scaled(1e30)), deconv.ErrNonFinite, false},
		{"huge input, evaluation: output overflows", func() error {
			oldM, oldD := l.RunningMean(), l.RunningDeconv()
			if err := l.SetRunningStats(make([]float32, 4), ident(1000)); err != nil {
				return nil
			}
			defer l.SetRunningStats(oldM, oldD)
			return eval(forward(scaled(1e36)))()
		}, deconv.ErrNonFinite, false},
		{"short input", func() error { return l.Forward(y, x[:5], batch) }, deconv.ErrShape, false},
		{"zero batch", func() error { return l.Forward(y, x, 0) }, deconv.ErrShape, false},
		{"in place", func() error { z := append([]float32(nil), x...); return l.Forward(z[:len(y)], z, batch) }, deconv.ErrOverlap, false},
		{"SetWeights Inf", func() error {
			return l.SetWeights(append([]float32{float32(math.Inf(1))}, wt[1:]...), []float32{0, 0, 0})
		}, deconv.ErrNonFinite, false},
		{"SetWeights short bias", func() error { return l.SetWeights(wt, []float32{0}) }, deconv.ErrShape, false},
		{"SetRunningStats indefinite", func() error { return l.SetRunningStats(make([]float32, 4), ident(-2)) }, deconv.ErrNotPositiveDefinite, false},
		{"SetRunningStats NaN mean", func() error {
			return l.SetRunningStats([]float32{0, float32(math.NaN()), 0, 0}, ident(1))
		}, deconv.ErrNonFinite, false},
	})
	huge := make([]float32, len(wt))
	for i := range huge {
		huge[i] = 3e37
	}
	if err := l.SetWeights(huge, []float32{0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	checkErrCases(t, "Delinear with huge weights", state, []errCase{
		{"training forward: folded weights overflow", forward(scaled(1e-4)), deconv.ErrNonFinite, false},
		{"Folded: folded weights overflow", func() error {
			oldM, oldD := l.RunningMean(), l.RunningDeconv()
			if err := l.SetRunningStats(make([]float32, 4), ident(1e20)); err != nil {
				return nil
			}
			defer l.SetRunningStats(oldM, oldD)
			_, err := l.Folded()
			return err
		}, deconv.ErrNonFinite, false},
	})
}

// TestChannelDeconvErrorsLeaveStateUnchanged is the ChannelDeconv
// counterpart, with the remainder channels' failure (a constant channel
// with eps = 0, whose standardisation was NaN).
func TestChannelDeconvErrorsLeaveStateUnchanged(t *testing.T) {
	const n, c, h, w = 2, 5, 6, 6 // block 2: channels 0–3 whitened, channel 4 the rest
	cfg := NewChannelDeconvConfig(2)
	l, err := NewChannelDeconv[float32](cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := smoothInput(n, c, h, w, 1)
	y := make([]float32, len(x))
	for i := 0; i < 2; i++ {
		if err := l.Forward(y, x, n, c, h, w); err != nil {
			t.Fatal(err)
		}
	}
	with := func(i int, v float32) []float32 {
		z := append([]float32(nil), x...)
		z[i] = v
		return z
	}
	forward := func(x []float32) func() error { return func() error { return l.Forward(y, x, n, c, h, w) } }
	state := func() string { return channelDeconvState(l) }
	ident := func(s float32) []float32 { return []float32{s, 0, 0, s} }
	checkErrCases(t, "ChannelDeconv", state, []errCase{
		{"NaN input at a sampled value", forward(with(0, float32(math.NaN()))), deconv.ErrNonFinite, false},
		{"NaN input at an unsampled value", forward(with(1, float32(math.NaN()))), deconv.ErrNonFinite, false},
		{"Inf in the rest channel", forward(with(4*h*w+1, float32(math.Inf(1)))), deconv.ErrNonFinite, false},
		{"huge input: statistics overflow", forward(smoothInput(n, c, h, w, 1e30)), deconv.ErrNonFinite, false},
		{"short input", func() error { return l.Forward(y, x[:10], n, c, h, w) }, deconv.ErrShape, false},
		{"in place", func() error { z := append([]float32(nil), x...); return l.Forward(z, z, n, c, h, w) }, deconv.ErrOverlap, false},
		{"block larger than the channels", func() error { return l.Forward(y, x[:n*h*w], n, 1, h, w) }, deconv.ErrShape, false},
		{"SetRunningStats indefinite", func() error { return l.SetRunningStats(make([]float32, 2), ident(-1), 0, 1) }, deconv.ErrNotPositiveDefinite, false},
		{"SetRunningStats Inf variance", func() error {
			return l.SetRunningStats(make([]float32, 2), ident(1), 0, float32(math.Inf(1)))
		}, deconv.ErrNonFinite, false},
		{"SetRunningStats negative variance", func() error { return l.SetRunningStats(make([]float32, 2), ident(1), 0, -1) }, deconv.ErrParam, false},
		{"SetNumBatchesTracked negative", func() error { return l.SetNumBatchesTracked(-1) }, deconv.ErrParam, false},
	})

	// eps = 0 and a constant rest channel: the variance is 0.
	cfg.Eps = 0
	l0, err := NewChannelDeconv[float32](cfg)
	if err != nil {
		t.Fatal(err)
	}
	x0 := append([]float32(nil), x...)
	for img := 0; img < n; img++ {
		for p := 0; p < h*w; p++ {
			x0[(img*c+4)*h*w+p] = 2.5
		}
	}
	checkErrCases(t, "ChannelDeconv, eps = 0", func() string { return channelDeconvState(l0) }, []errCase{
		{"constant rest channel", func() error { return l0.Forward(y, x0, n, c, h, w) }, deconv.ErrNonFinite, false},
	})
	// Evaluation with huge running statistics: the output overflows.
	if err := l.SetRunningStats(make([]float32, 2), ident(1e30), 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Train(false); err != nil {
		t.Fatal(err)
	}
	checkErrCases(t, "ChannelDeconv with huge D", state, []errCase{
		{"evaluation forward: output overflows", forward(smoothInput(n, c, h, w, 1e10)), deconv.ErrNonFinite, false},
	})
}

// TestPlainLayersErrorsLeaveWeightsUnchanged covers Conv2d and Linear:
// failed SetWeights keep the old weights, and a forward whose products
// overflow reports deconv.ErrNonFinite instead of returning infinities.
func TestPlainLayersErrorsLeaveWeightsUnchanged(t *testing.T) {
	g := ConvGeom{InChannels: 2, OutChannels: 2, Geometry: deconv.Square(2, 1, 0, 1)}
	wt := []float32{1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1}
	conv, err := NewConv2d(g, wt, []float32{1, -1})
	if err != nil {
		t.Fatal(err)
	}
	lin, err := NewLinear(4, 4, wt, nil)
	if err != nil {
		t.Fatal(err)
	}
	nanW := append([]float32(nil), wt...)
	nanW[5] = float32(math.NaN())
	x := make([]float32, 2*3*3)
	for i := range x {
		x[i] = 1e38
	}
	convState := func() string { return fmt.Sprint(bitsOf(conv.Weight(), conv.Bias())) }
	checkErrCases(t, "Conv2d", convState, []errCase{
		{"SetWeights NaN", func() error { return conv.SetWeights(nanW, nil) }, deconv.ErrNonFinite, false},
		{"SetWeights short", func() error { return conv.SetWeights(wt[:3], nil) }, deconv.ErrShape, false},
		{"SetWeights long bias", func() error { return conv.SetWeights(wt, make([]float32, 3)) }, deconv.ErrShape, false},
		{"output overflows", func() error { return conv.Forward(make([]float32, 8), x, 1, 3, 3) }, deconv.ErrNonFinite, false},
		{"output overlaps the input", func() error { z := make([]float32, 18); return conv.Forward(z[8:16], z, 1, 3, 3) }, deconv.ErrOverlap, false},
		{"negative Workers", func() error {
			conv.Workers = -1
			defer func() { conv.Workers = 0 }()
			return conv.Forward(make([]float32, 8), x, 1, 3, 3)
		}, deconv.ErrParam, false},
	})
	linState := func() string { return fmt.Sprint(bitsOf(lin.Weight(), lin.Bias())) }
	checkErrCases(t, "Linear", linState, []errCase{
		{"SetWeights NaN", func() error { return lin.SetWeights(nanW, nil) }, deconv.ErrNonFinite, false},
		{"SetWeights short bias", func() error { return lin.SetWeights(wt, []float32{1}) }, deconv.ErrShape, false},
		{"output overflows", func() error { return lin.Forward(make([]float32, 8), x[:8], 2) }, deconv.ErrNonFinite, false},
		{"NaN input", func() error { return lin.Forward(make([]float32, 4), []float32{1, float32(math.NaN()), 0, 0}, 1) }, deconv.ErrNonFinite, false},
	})
	// Fold and Restore: overflowing results are errors, and leave the
	// outputs untouched.
	bl := Blocking{Features: 4, Block: 2}
	d := []float32{1e20, 0, 0, 1e20}
	wOut, bOut := make([]float32, 16), make([]float32, 4)
	for i := range wOut {
		wOut[i] = 7
	}
	huge := make([]float32, 16)
	for i := range huge {
		huge[i] = 1e30
	}
	outState := func() string { return fmt.Sprint(bitsOf(wOut, bOut)) }
	checkErrCases(t, "Fold", outState, []errCase{
		{"folded weights overflow", func() error { return Fold(wOut, bOut, huge, nil, 4, bl, d, []float32{0, 0}) }, deconv.ErrNonFinite, false},
		{"folded bias overflows", func() error {
			return Fold(wOut, bOut, wt, nil, 4, bl, []float32{1, 0, 0, 1}, []float32{3e38, 3e38})
		}, deconv.ErrNonFinite, false},
		{"Restore: weights overflow", func() error {
			return Restore(wOut, bOut, huge, make([]float32, 4), 4, bl, []float32{1e-20, 0, 0, 1e-20}, []float32{0, 0})
		}, deconv.ErrNonFinite, false},
		{"Restore: D not symmetric", func() error {
			return Restore(wOut, nil, wt, nil, 4, bl, []float32{1, 0.5, 0, 1}, []float32{0, 0})
		}, deconv.ErrNotSymmetric, false},
	})
}
