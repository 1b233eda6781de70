package fold

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
)

// fdCheck compares the analytic gradient grad of loss with respect to p
// with central differences in float64, on up to limit entries of p
// picked at random (all of them when p is short).
func fdCheck(t *testing.T, rng *rand.Rand, name string, p, grad []float64, limit int, loss func() float64) {
	t.Helper()
	if len(grad) != len(p) {
		t.Fatalf("%s: gradient of %d values for %d parameters", name, len(grad), len(p))
	}
	idx := rng.Perm(len(p))
	if len(idx) > limit {
		idx = idx[:limit]
	}
	worst := 0.0
	for _, i := range idx {
		v := p[i]
		h := 1e-6 * math.Max(1, math.Abs(v))
		p[i] = v + h
		lp := loss()
		p[i] = v - h
		lm := loss()
		p[i] = v
		fd := (lp - lm) / (2 * h)
		e := math.Abs(fd-grad[i]) / (1 + math.Abs(fd))
		worst = math.Max(worst, e)
		if e > 1e-5 {
			t.Errorf("%s[%d]: analytic %.10g, finite difference %.10g", name, i, grad[i], fd)
			return
		}
	}
}

// dot is Σ a·b in float64.
func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestFoldBackwardFiniteDifferences: the gradients of ⟨W', gW⟩ + ⟨b', gb⟩
// with respect to W, b, D and μ, over both groupings, several groups of
// rows and with and without a bias gradient.
func TestFoldBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for trial := 0; trial < 60; trial++ {
		F := 1 + rng.IntN(5)
		bl := Blocking{Features: F * (1 + rng.IntN(4)), Block: F, Grouping: deconv.Grouping(rng.IntN(2))}
		q := 1 + rng.IntN(3)
		rows := q * (1 + rng.IntN(3))
		w, bias := randVec(rng, rows*bl.Features), randVec(rng, rows)
		var d, mean []float64
		for i := 0; i < q; i++ {
			d = append(d, randVec(rng, F*F)...) // any D: the fold is linear in it
			mean = append(mean, randVec(rng, F)...)
		}
		gw, gb := randVec(rng, len(w)), randVec(rng, rows)
		if trial%4 == 3 {
			gb = nil
		}
		wf, bf := make([]float64, len(w)), make([]float64, rows)
		loss := func() float64 {
			if err := Fold(wf, bf, w, bias, rows, bl, d, mean); err != nil {
				t.Fatal(err)
			}
			l := dot(wf, gw)
			if gb != nil {
				l += dot(bf, gb)
			}
			return l
		}
		dw, db, dd, dm := make([]float64, len(w)), make([]float64, rows), make([]float64, len(d)), make([]float64, len(mean))
		if err := FoldBackward(dw, db, dd, dm, gw, gb, w, rows, bl, d, mean); err != nil {
			t.Fatal(err)
		}
		fdCheck(t, rng, "dW", w, dw, 40, loss)
		fdCheck(t, rng, "db", bias, db, 40, loss)
		fdCheck(t, rng, "dD", d, dd, 40, loss)
		fdCheck(t, rng, "dμ", mean, dm, 40, loss)
		// nil destinations are skipped, the others unchanged.
		dw2 := make([]float64, len(w))
		if err := FoldBackward(dw2, nil, nil, nil, gw, gb, w, rows, bl, d, mean); err != nil {
			t.Fatal(err)
		}
		if relErr(dw2, dw) > 1e-14 {
			t.Fatalf("dW alone differs")
		}
	}
}

func TestFoldBackwardErrors(t *testing.T) {
	bl := Blocking{Features: 4, Block: 2, Grouping: deconv.Interleaved}
	w, gw := make([]float64, 8), make([]float64, 8)
	d, mean := []float64{1, 0, 0, 1}, make([]float64, 2)
	dw := make([]float64, 8)
	if err := FoldBackward(dw[:7], nil, nil, nil, gw, nil, w, 2, bl, d, mean); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short dW: %v", err)
	}
	if err := FoldBackward(gw, nil, nil, nil, gw, nil, w, 2, bl, d, mean); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("dW on dW': %v", err)
	}
	if err := FoldBackward(dw, nil, nil, nil, gw, nil, w, 2, Blocking{Features: 4, Block: 3}, d, mean); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("bad blocking: %v", err)
	}
	gw[3] = math.NaN()
	if err := FoldBackward(dw, nil, nil, nil, gw, nil, w, 2, bl, d, mean); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("NaN gradient: %v", err)
	}
}

// convGeoms lists the geometries every convolution backward test runs:
// strides, paddings, dilations, rectangular kernels, groups (depthwise
// included) and 1×1 kernels.
func convGeoms() []ConvGeom {
	sq := deconv.Square
	return []ConvGeom{
		{InChannels: 3, OutChannels: 4, Geometry: sq(3, 1, 1, 1)},
		{InChannels: 2, OutChannels: 3, Geometry: sq(3, 2, 1, 1)},
		{InChannels: 2, OutChannels: 2, Geometry: sq(3, 1, 2, 2)},
		{InChannels: 4, OutChannels: 6, Geometry: sq(3, 1, 1, 1), Groups: 2},
		{InChannels: 3, OutChannels: 3, Geometry: sq(3, 1, 1, 1), Groups: 3},
		{InChannels: 3, OutChannels: 5, Geometry: sq(1, 1, 0, 1)},
		{InChannels: 2, OutChannels: 2, Geometry: sq(1, 2, 0, 1)},
		{InChannels: 2, OutChannels: 3, Geometry: deconv.Geometry{KernelH: 2, KernelW: 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 2, DilationH: 1, DilationW: 2}},
		{InChannels: 2, OutChannels: 2, Geometry: deconv.Geometry{KernelH: 4, KernelW: 1, StrideH: 3, StrideW: 2, PadH: 0, PadW: 1, DilationH: 2, DilationW: 1}},
	}
}

func TestConv2dBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	geoms := convGeoms()
	for len(geoms) < 25 { // and random ones, depthwise and rectangular included
		g, _, _, _ := randomGeom(rng)
		if _, _, err := g.OutputSize(7, 4); err == nil {
			geoms = append(geoms, g)
		}
	}
	for gi, g := range geoms {
		for _, hasBias := range []bool{true, false} {
			n, h, w := 2, 7+rng.IntN(4), 4+rng.IntN(5)
			g, _ = g.normalize()
			oh, ow, err := g.OutputSize(h, w)
			if err != nil {
				t.Fatalf("%+v %d×%d: %v", g, h, w, err)
			}
			x, wt := randVec(rng, n*g.InChannels*h*w), randVec(rng, g.WeightLen())
			var bias []float64
			if hasBias {
				bias = randVec(rng, g.OutChannels)
			}
			gy := randVec(rng, n*g.OutChannels*oh*ow)
			loss := func() float64 { return dot(naiveConv(g, x, wt, bias, n, h, w), gy) }
			c, err := NewConv2d(g, wt, bias)
			if err != nil {
				t.Fatal(err)
			}
			c.Workers = 1 + gi%3
			dx, dw, db := make([]float64, len(x)), make([]float64, len(wt)), make([]float64, g.OutChannels)
			for i := range dx {
				dx[i] = 99 // overwritten, not accumulated
			}
			if err := c.Backward(dx, dw, db, gy, x, n, h, w); err != nil {
				t.Fatal(err)
			}
			fdCheck(t, rng, "conv dx", x, dx, 60, loss)
			fdCheck(t, rng, "conv dW", wt, dw, 60, loss)
			if hasBias {
				fdCheck(t, rng, "conv db", bias, db, 60, loss)
			}
			// Each gradient alone matches.
			dx2 := make([]float64, len(x))
			if err := c.Backward(dx2, nil, nil, gy, x, n, h, w); err != nil || relErr(dx2, dx) > 1e-13 {
				t.Fatalf("dx alone: %v, %g", err, relErr(dx2, dx))
			}
			dw2 := make([]float64, len(wt))
			if err := c.Backward(nil, dw2, nil, gy, x, n, h, w); err != nil || relErr(dw2, dw) > 1e-13 {
				t.Fatalf("dW alone: %v, %g", err, relErr(dw2, dw))
			}
		}
	}
}

// TestConv2dBackwardLarge compares the backward on larger random shapes
// (several row blocks per image, both parities, many workers) with the
// adjoint identities ⟨conv(x), gy⟩ = ⟨x, dx⟩ + ⟨W, dW⟩ ... checked
// against the naive float64 definition in float32.
func TestConv2dBackwardFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	for trial := 0; trial < 12; trial++ {
		g, n, h, w := randomGeom(rng)
		if trial < 3 {
			g = ConvGeom{InChannels: 4, OutChannels: 8, Geometry: deconv.Square(3, 1, 1, 1)}
			n, h, w = 2, 70+trial*13, 40+trial*9
		}
		oh, ow, err := g.OutputSize(h, w)
		if err != nil {
			t.Fatal(err)
		}
		x, wt, gy := randVec(rng, n*g.InChannels*h*w), randVec(rng, g.WeightLen()), randVec(rng, n*g.OutChannels*oh*ow)
		// Reference gradients: the float64 backward, itself checked
		// against finite differences above, and the exact adjoint
		// identity ⟨conv(x), gy⟩ = ⟨x, dx⟩ for the bias-free layer.
		c64, _ := NewConv2d(g, wt, nil)
		dx, dw, db := make([]float64, len(x)), make([]float64, len(wt)), make([]float64, g.OutChannels)
		if err := c64.Backward(dx, dw, db, gy, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		y := naiveConv(g, x, wt, nil, n, h, w)
		if a, b := dot(y, gy), dot(x, dx); math.Abs(a-b) > 1e-9*(1+math.Abs(a)) {
			t.Fatalf("trial %d: ⟨conv x, gy⟩ = %g but ⟨x, dx⟩ = %g", trial, a, b)
		}
		if a, b := dot(y, gy), dot(wt, dw); math.Abs(a-b) > 1e-9*(1+math.Abs(a)) {
			t.Fatalf("trial %d: ⟨conv x, gy⟩ = %g but ⟨W, dW⟩ = %g", trial, a, b)
		}
		c32, _ := NewConv2d(g, to32(wt), nil)
		c32.Workers = 1 + trial%4
		dx32, dw32, db32 := make([]float32, len(x)), make([]float32, len(wt)), make([]float32, g.OutChannels)
		if err := c32.Backward(dx32, dw32, db32, to32(gy), to32(x), n, h, w); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			got  []float32
			want []float64
		}{{"dx", dx32, dx}, {"dW", dw32, dw}, {"db", db32, db}} {
			if e := relErr(c.got, c.want); e > 1e-5 {
				t.Errorf("trial %d %+v: float32 %s relative error %g", trial, g, c.name, e)
			}
		}
	}
}

func TestConv2dBackwardErrors(t *testing.T) {
	g := ConvGeom{InChannels: 2, OutChannels: 3, Geometry: deconv.Square(3, 1, 1, 1)}
	c, _ := NewConv2d(g, make([]float32, g.WeightLen()), nil)
	x, dy := make([]float32, 2*4*4), make([]float32, 3*4*4)
	dx, dw := make([]float32, len(x)), make([]float32, g.WeightLen())
	if err := c.Backward(dx[:5], dw, nil, dy, x, 1, 4, 4); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short dx: %v", err)
	}
	if err := c.Backward(dx, dw, nil, dy[:5], x, 1, 4, 4); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short dy: %v", err)
	}
	if err := c.Backward(x, dw, nil, dy, x, 1, 4, 4); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("dx on x: %v", err)
	}
	if err := c.Backward(dx, dw, dw[:3], dy, x, 1, 4, 4); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("db on dW: %v", err)
	}
	dy[7] = float32(math.Inf(1))
	if err := c.Backward(dx, dw, nil, dy, x, 1, 4, 4); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("infinite dy: %v", err)
	}
}

func TestLinearBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	for trial := 0; trial < 10; trial++ {
		in, out, batch := 1+rng.IntN(9), 1+rng.IntN(7), 1+rng.IntN(5)
		x, wt, bias := randVec(rng, batch*in), randVec(rng, in*out), randVec(rng, out)
		if trial%3 == 2 {
			bias = nil
		}
		gy := randVec(rng, batch*out)
		l, err := NewLinear(in, out, wt, bias)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float64, batch*out)
		loss := func() float64 {
			l.SetWeights(wt, bias)
			if err := l.Forward(y, x, batch); err != nil {
				t.Fatal(err)
			}
			return dot(y, gy)
		}
		dx, dw, db := make([]float64, len(x)), make([]float64, len(wt)), make([]float64, out)
		if err := l.Backward(dx, dw, db, gy, x, batch); err != nil {
			t.Fatal(err)
		}
		fdCheck(t, rng, "linear dx", x, dx, 60, loss)
		fdCheck(t, rng, "linear dW", wt, dw, 60, loss)
		if bias != nil {
			fdCheck(t, rng, "linear db", bias, db, 60, loss)
		}
	}
	l, _ := NewLinear(3, 2, make([]float32, 6), nil)
	x, dy := make([]float32, 6), make([]float32, 4)
	if err := l.Backward(x, nil, nil, dy, x, 2); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("dx on x: %v", err)
	}
	if err := l.Backward(make([]float32, 5), nil, nil, dy, x, 2); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short dx: %v", err)
	}
}
