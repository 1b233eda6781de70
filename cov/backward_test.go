package cov

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
)

// bwdCase is one plan with its oracle: the data matrix as input indices,
// and the value oracle of reference_test.go the indices are checked
// against.
type bwdCase struct {
	name      string
	pl        *Plan
	idx       [][][]int
	values    func(x []float64) [][][]float64
	uncentred bool
	hw        int // values per channel plane, for randData
}

func convCase(p Params) (bwdCase, error) {
	pl, err := NewPlan(p)
	if err != nil {
		return bwdCase{}, err
	}
	return bwdCase{name: fmt.Sprintf("%+v", p), pl: pl, idx: oracleConvIndex(p), hw: p.Height * p.Width,
		values: func(x []float64) [][][]float64 { return oracleConvRows(p, x) }}, nil
}

func linearCase(p LinearParams) (bwdCase, error) {
	pl, err := NewLinearPlan(p)
	if err != nil {
		return bwdCase{}, err
	}
	return bwdCase{name: fmt.Sprintf("%+v", p), pl: pl, idx: [][][]int{oracleLinearIndex(p)}, hw: p.Features,
		values: func(x []float64) [][][]float64 { return [][][]float64{oracleLinearRows(p, x)} }}, nil
}

func channelCase(p ChannelParams) (bwdCase, error) {
	pl, err := NewChannelPlan(p)
	if err != nil {
		return bwdCase{}, err
	}
	return bwdCase{name: fmt.Sprintf("%+v", p), pl: pl, idx: [][][]int{oracleChannelIndex(p)}, uncentred: p.Uncentred, hw: p.Height * p.Width,
		values: func(x []float64) [][][]float64 {
			rows, _ := oracleChannelRows(p, x)
			return [][][]float64{rows}
		}}, nil
}

// randGrad returns n values of a random scale, exact in float32.
func randGrad(rng *rand.Rand, n int) []float64 {
	scale := math.Pow(10, 2*rng.Float64()-1)
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32(scale * rng.NormFloat64()))
	}
	return v
}

// checkBackward compares Backward in float64 and float32 with the oracle
// on random data and random dmean, dcov (either one nil now and then),
// into a dx that already holds values (float64) to check that the
// gradient is added.
func checkBackward(t *testing.T, c bwdCase, rng *rand.Rand) {
	t.Helper()
	pl := c.pl
	x := randData(rng, pl.SrcLen(), c.hw)
	// The index oracle reads the same values as the value oracle.
	vals := c.values(x)
	if len(vals) != len(c.idx) {
		t.Fatalf("%s: %d index matrices, %d value matrices", c.name, len(c.idx), len(vals))
	}
	for g := range vals {
		got := indexValues(c.idx[g], x)
		if len(got) != len(vals[g]) || len(got) != pl.Rows() {
			t.Fatalf("%s: %d index rows, %d value rows, Rows() = %d", c.name, len(got), len(vals[g]), pl.Rows())
		}
		for i := range got {
			if !slices.Equal(got[i], vals[g][i]) {
				t.Fatalf("%s: index row %d of matrix %d reads %v, want %v", c.name, i, g, got[i], vals[g][i])
			}
		}
	}
	dmean, dcov := randGrad(rng, pl.MeanLen()), randGrad(rng, pl.CovLen())
	switch rng.IntN(6) {
	case 0:
		dmean = nil
	case 1:
		dcov = nil
	}
	want := oracleGrad(c.idx, x, dmean, dcov, c.uncentred)

	mean, cv := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := Compute(pl, mean, cv, x); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	dx0 := make([]float64, len(x))
	for i := range dx0 {
		dx0[i] = rng.NormFloat64()
	}
	dx := slices.Clone(dx0)
	x0 := slices.Clone(x)
	if err := Backward(pl, dx, dmean, dcov, x, mean); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if !slices.Equal(x, x0) {
		t.Fatalf("%s: x modified", c.name)
	}
	got := make([]float64, len(dx))
	for i := range dx {
		got[i] = dx[i] - dx0[i]
	}
	if e := gradErr(got, want); !(e <= 1e-12) {
		t.Fatalf("%s: float64 gradient: relative error %g", c.name, e)
	}

	x32 := to32(x)
	mean32, cv32 := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	if err := Compute(pl, mean32, cv32, x32); err != nil {
		t.Fatalf("%s: float32: %v", c.name, err)
	}
	var dmean32, dcov32 []float32
	if dmean != nil {
		dmean32 = to32(dmean)
	}
	if dcov != nil {
		dcov32 = to32(dcov)
	}
	dx32 := make([]float32, len(x))
	if err := Backward(pl, dx32, dmean32, dcov32, x32, mean32); err != nil {
		t.Fatalf("%s: float32: %v", c.name, err)
	}
	if e := gradErr(from32(dx32), want); !(e <= 1e-5) {
		t.Fatalf("%s: float32 gradient: relative error %g", c.name, e)
	}
}

// gradErr is the relative Frobenius error of got, with an absolute floor
// for a gradient that is (nearly) zero.
func gradErr(got, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := got[i] - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / math.Max(den, 1e-30))
}

// TestBackwardConvAgainstOracle: every option of a convolution plan at
// random shapes (kernel, stride, padding, dilation, sampling, groups,
// block rule, grouping, the k = 1 flat rule, workers).
func TestBackwardConvAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	iters := 400
	if testing.Short() {
		iters = 80
	}
	for done := 0; done < iters; {
		c, err := convCase(randConvParams(rng))
		if errors.Is(err, deconv.ErrShape) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		done++
		checkBackward(t, c, rng)
	}
}

// TestBackwardLinearAgainstOracle: linear plans, including the block rule.
func TestBackwardLinearAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, p := range []LinearParams{
		{Batch: 1, Features: 1},
		{Batch: 7, Features: 30, Block: 12}, // gcd → 6
		{Batch: 9, Features: 1000},          // default 512 → gcd 8
		{Batch: 50, Features: 300, Block: 512, Eps: 1e-5, Workers: 2},
		{Batch: 40, Features: 256, Block: 64, Workers: 3},
	} {
		c, err := linearCase(p)
		if err != nil {
			t.Fatal(err)
		}
		checkBackward(t, c, rng)
	}
	for range 40 {
		p := LinearParams{Batch: 1 + rng.IntN(20), Features: 1 + rng.IntN(40), Block: rng.IntN(20), Workers: rng.IntN(4)}
		c, err := linearCase(p)
		if err != nil {
			t.Fatal(err)
		}
		checkBackward(t, c, rng)
	}
}

// TestBackwardChannelAgainstOracle: ChannelDeconv plans, centred and
// uncentred, with and without rest channels, sampled or not.
func TestBackwardChannelAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, p := range []ChannelParams{
		{Batch: 3, Channels: 10, Height: 9, Width: 7, Block: 4, Sampling: 3, Eps: 1e-2},
		{Batch: 3, Channels: 10, Height: 9, Width: 7, Block: 4, Sampling: 3, Eps: 1e-2, Uncentred: true},
		{Batch: 3, Channels: 11, Height: 5, Width: 5, Block: 4, Sampling: 3},
		{Batch: 5, Channels: 8, Height: 1, Width: 1, Block: 8, Sampling: 3},
		{Batch: 2, Channels: 7, Height: 20, Width: 2, Block: 7, Sampling: 3},
		{Batch: 4, Channels: 33, Height: 16, Width: 16, Block: 16, Sampling: 2, Uncentred: true, Workers: 2},
	} {
		c, err := channelCase(p)
		if err != nil {
			t.Fatal(err)
		}
		checkBackward(t, c, rng)
	}
	for range 60 {
		p := ChannelParams{Batch: 1 + rng.IntN(3), Channels: 1 + rng.IntN(12), Height: 1 + rng.IntN(9), Width: 1 + rng.IntN(9),
			Sampling: rng.IntN(4), Uncentred: rng.IntN(2) == 0, Workers: rng.IntN(4)}
		p.Block = 1 + rng.IntN(p.Channels)
		c, err := channelCase(p)
		if err != nil {
			t.Fatal(err)
		}
		checkBackward(t, c, rng)
	}
}

// TestBackwardLarge covers shapes of many panels and bands on several
// workers: overlapping windows (two phases of bands), bands of whole
// images, the flat rule, groups.
func TestBackwardLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	for _, p := range []Params{
		{Batch: 2, Channels: 12, Height: 40, Width: 37, Sampling: 1, Block: 8, Workers: 4, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},
		{Batch: 2, Channels: 12, Height: 40, Width: 37, Sampling: 2, Block: 8, Grouping: deconv.Contiguous, Workers: 3, Geometry: deconv.Geometry{KernelH: 5, KernelW: 3, PadH: 2, PadW: 1}},
		{Batch: 3, Channels: 6, Height: 50, Width: 50, Block: 64, Workers: 3, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2, StrideH: 2, StrideW: 2}},
		{Batch: 2, Channels: 8, Height: 33, Width: 30, Groups: 8, Workers: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},
		{Batch: 2, Channels: 8, Height: 33, Width: 30, Groups: 2, Sampling: 3, Workers: 4, Geometry: deconv.Geometry{KernelH: 5, KernelW: 3, PadH: 2, PadW: 2}},
		{Batch: 5, Channels: 4, Height: 3, Width: 300, Workers: 4, Geometry: deconv.Geometry{KernelH: 3, KernelW: 2, PadH: 1}},                           // bands of whole images
		{Batch: 1, Channels: 3, Height: 200, Width: 5, Workers: 4, Geometry: deconv.Geometry{KernelH: 7, KernelW: 1, PadH: 3}},                           // tall overlap
		{Batch: 4, Channels: 16, Height: 30, Width: 30, Block: 4, Workers: 2, Geometry: deconv.Geometry{KernelH: 1, KernelW: 1, StrideH: 2, StrideW: 2}}, // flat k=1 rule
	} {
		c, err := convCase(p)
		if err != nil {
			t.Fatal(err)
		}
		checkBackward(t, c, rng)
	}
}

// TestBackwardFamilies runs the oracle comparisons on every kernel family
// this CPU has (the GEMM's micro-kernels); the package's tests also run as
// a whole under each DECONV_ISA.
func TestBackwardFamilies(t *testing.T) {
	prev := isa.Selected()
	defer func() { _ = isa.Select(prev) }()
	for _, f := range isa.Available() {
		if err := isa.Select(f); err != nil {
			t.Fatal(err)
		}
		t.Run(f.String(), func(t *testing.T) {
			TestBackwardLinearAgainstOracle(t)
			TestBackwardLarge(t)
		})
	}
}

// lossAt is ⟨dmean, μ(x)⟩ + ⟨dcov, Cov(x)⟩ with μ and Cov from Compute.
func lossAt(t *testing.T, pl *Plan, x, dmean, dcov []float64) float64 {
	t.Helper()
	mean, cv := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := Compute(pl, mean, cv, x); err != nil {
		t.Fatal(err)
	}
	var l float64
	for i, v := range dmean {
		l += v * mean[i]
	}
	for i, v := range dcov {
		l += v * cv[i]
	}
	return l
}

// TestBackwardFiniteDifferences checks Backward against central finite
// differences of the forward, Compute, on small shapes that each exercise
// one option. The loss is quadratic in x, so the central difference is
// exact up to rounding and the tolerance can be tight.
func TestBackwardFiniteDifferences(t *testing.T) {
	g := func(kh, kw, sh, sw, ph, pw, dh, dw int) deconv.Geometry {
		return deconv.Geometry{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, DilationH: dh, DilationW: dw}
	}
	var cases []bwdCase
	add := func(c bwdCase, err error) {
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	for _, p := range []Params{
		{Batch: 2, Channels: 3, Height: 5, Width: 6, Sampling: 1, Geometry: g(3, 3, 1, 1, 1, 1, 1, 1)},                                        // overlapping windows, padding
		{Batch: 2, Channels: 4, Height: 7, Width: 7, Sampling: 3, Block: 2, Geometry: g(3, 3, 1, 1, 1, 1, 1, 1)},                              // the paper's S = 3, interleaved blocks
		{Batch: 2, Channels: 4, Height: 7, Width: 7, Sampling: 2, Block: 2, Grouping: deconv.Contiguous, Geometry: g(3, 3, 1, 1, 1, 1, 1, 1)}, // contiguous blocks
		{Batch: 1, Channels: 2, Height: 7, Width: 8, Sampling: 1, Geometry: g(2, 3, 2, 1, 1, 0, 1, 2)},                                        // rectangular kernel, stride, dilation
		{Batch: 1, Channels: 2, Height: 9, Width: 9, Sampling: 2, Geometry: g(3, 3, 1, 2, 2, 1, 2, 1)},                                        // sampling × stride, large padding
		{Batch: 2, Channels: 4, Height: 5, Width: 5, Groups: 2, Geometry: g(3, 3, 1, 1, 1, 1, 1, 1)},                                          // groups
		{Batch: 1, Channels: 3, Height: 6, Width: 5, Groups: 3, Sampling: 2, Geometry: g(3, 2, 1, 1, 1, 1, 1, 1)},                             // depthwise
		{Batch: 1, Channels: 6, Height: 4, Width: 4, Block: 4, Geometry: g(2, 2, 1, 1, 0, 0, 1, 1)},                                           // block rule: gcd(4, 6) = 2
		{Batch: 1, Channels: 6, Height: 4, Width: 4, Block: 3, Grouping: deconv.Contiguous, Geometry: g(2, 2, 1, 1, 0, 0, 1, 1)},              // block divides C
		{Batch: 1, Channels: 3, Height: 4, Width: 4, Block: 0, Geometry: g(2, 2, 1, 1, 1, 1, 1, 1)},                                           // default block > C
		{Batch: 2, Channels: 3, Height: 5, Width: 4, Sampling: 1, Geometry: g(1, 1, 2, 2, 1, 1, 1, 1)},                                        // k = 1 flat rule, padding ignored
		{Batch: 2, Channels: 4, Height: 3, Width: 3, Block: 2, Geometry: g(1, 1, 1, 1, 0, 0, 1, 1)},                                           // k = 1, blocks
		{Batch: 2, Channels: 4, Height: 3, Width: 3, Groups: 2, Sampling: 2, Geometry: g(1, 1, 1, 1, 0, 0, 1, 1)},                             // k = 1, groups
		{Batch: 1, Channels: 2, Height: 3, Width: 4, Geometry: g(5, 6, 1, 1, 1, 1, 1, 1)},                                                     // kernel as large as the padded input
	} {
		p.Workers = 2
		add(convCase(p))
	}
	add(linearCase(LinearParams{Batch: 5, Features: 6, Block: 4}))
	add(linearCase(LinearParams{Batch: 3, Features: 4}))
	add(channelCase(ChannelParams{Batch: 2, Channels: 5, Height: 4, Width: 3, Block: 2, Sampling: 2}))                  // rest channel
	add(channelCase(ChannelParams{Batch: 2, Channels: 5, Height: 4, Width: 3, Block: 2, Sampling: 2, Uncentred: true})) // the reference's quirk
	add(channelCase(ChannelParams{Batch: 3, Channels: 4, Height: 1, Width: 1, Block: 4, Sampling: 3, Uncentred: true}))

	rng := rand.New(rand.NewPCG(19, 20))
	const h = 1e-3
	for _, c := range cases {
		pl := c.pl
		x := randData(rng, pl.SrcLen(), c.hw)
		dmean, dcov := randGrad(rng, pl.MeanLen()), randGrad(rng, pl.CovLen())
		mean, cv := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
		if err := Compute(pl, mean, cv, x); err != nil {
			t.Fatal(err)
		}
		dx := make([]float64, len(x))
		if err := Backward(pl, dx, dmean, dcov, x, mean); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var scale float64
		for _, v := range dx {
			scale = math.Max(scale, math.Abs(v))
		}
		for i := range x {
			v := x[i]
			x[i] = v + h
			lp := lossAt(t, pl, x, dmean, dcov)
			x[i] = v - h
			lm := lossAt(t, pl, x, dmean, dcov)
			x[i] = v
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-dx[i]) > 1e-7*(scale+math.Abs(lp)) {
				t.Fatalf("%s: ∂loss/∂x[%d] = %g, central difference %g", c.name, i, dx[i], fd)
			}
		}
	}
}

// TestBackwardNilGradients: nil dmean and dcov are zeros; both nil adds
// nothing.
func TestBackwardNilGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	c, err := convCase(Params{Batch: 2, Channels: 4, Height: 9, Width: 9, Block: 2, Sampling: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}})
	if err != nil {
		t.Fatal(err)
	}
	pl := c.pl
	x := randData(rng, pl.SrcLen(), c.hw)
	mean, cv := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := Compute(pl, mean, cv, x); err != nil {
		t.Fatal(err)
	}
	dmean, dcov := randGrad(rng, pl.MeanLen()), randGrad(rng, pl.CovLen())
	for _, tc := range []struct {
		name        string
		dmean, dcov []float64
	}{{"dmean only", dmean, nil}, {"dcov only", nil, dcov}, {"both", dmean, dcov}} {
		dx := make([]float64, len(x))
		if err := Backward(pl, dx, tc.dmean, tc.dcov, x, mean); err != nil {
			t.Fatal(err)
		}
		if e := gradErr(dx, oracleGrad(c.idx, x, tc.dmean, tc.dcov, false)); !(e <= 1e-12) {
			t.Errorf("%s: relative error %g", tc.name, e)
		}
	}
	dx := make([]float64, len(x))
	for i := range dx {
		dx[i] = float64(i)
	}
	dx0 := slices.Clone(dx)
	if err := Backward(pl, dx, nil, nil, x, mean); err != nil || !slices.Equal(dx, dx0) {
		t.Errorf("both nil: %v, dx changed: %v", err, !slices.Equal(dx, dx0))
	}
}

// TestBackwardErrors: wrong lengths, dx overlapping an input, non-finite
// gradients or mean; a failed call leaves dx unchanged.
func TestBackwardErrors(t *testing.T) {
	pl, err := NewPlan(Params{Batch: 1, Channels: 2, Height: 6, Width: 6, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}})
	if err != nil {
		t.Fatal(err)
	}
	n, m, c := pl.SrcLen(), pl.MeanLen(), pl.CovLen()
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%5) - 2
	}
	mean, cv := make([]float32, m), make([]float32, c)
	if err := Compute(pl, mean, cv, x); err != nil {
		t.Fatal(err)
	}
	dmean, dcov := make([]float32, m), make([]float32, c)
	for i := range dcov {
		dcov[i] = float32(i%7) * 0.1
	}
	for i := range dmean {
		dmean[i] = 1
	}
	big := make([]float32, n+m+c)
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	withAt := func(s []float32, i int, v float32) []float32 {
		s = slices.Clone(s)
		s[i] = v
		return s
	}
	for _, tc := range []struct {
		name                     string
		dx, dmean, dcov, x, mean []float32
		want                     error
	}{
		{"short dx", make([]float32, n-1), dmean, dcov, x, mean, deconv.ErrShape},
		{"long x", make([]float32, n), dmean, dcov, make([]float32, n+1), mean, deconv.ErrShape},
		{"short mean", make([]float32, n), dmean, dcov, x, mean[:m-1], deconv.ErrShape},
		{"long dmean", make([]float32, n), make([]float32, m+1), dcov, x, mean, deconv.ErrShape},
		{"empty dmean", make([]float32, n), []float32{}, dcov, x, mean, deconv.ErrShape},
		{"short dcov", make([]float32, n), dmean, dcov[:c-1], x, mean, deconv.ErrShape},
		{"dx is x", x, dmean, dcov, x, mean, deconv.ErrOverlap},
		{"dx overlaps dmean", big[:n], big[n-1 : n-1+m], dcov, x, mean, deconv.ErrOverlap},
		{"dx overlaps dcov", big[m : m+n], dmean, big[:c], x, mean, deconv.ErrOverlap},
		{"dx overlaps mean", big[:n], dmean, dcov, x, big[n-2 : n-2+m], deconv.ErrOverlap},
		{"NaN dmean", make([]float32, n), withAt(dmean, 3, nan), dcov, x, mean, deconv.ErrNonFinite},
		{"Inf dcov", make([]float32, n), dmean, withAt(dcov, 5, -inf), x, mean, deconv.ErrNonFinite},
		{"NaN dcov, nil dmean", make([]float32, n), nil, withAt(dcov, 0, nan), x, mean, deconv.ErrNonFinite},
		{"NaN mean", make([]float32, n), dmean, dcov, x, withAt(mean, 1, nan), deconv.ErrNonFinite},
	} {
		for i := range tc.dx {
			tc.dx[i] = 7
		}
		err := Backward(pl, tc.dx, tc.dmean, tc.dcov, tc.x, tc.mean)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if tc.want == deconv.ErrOverlap {
			continue // dx is an input there: unchanged is checked below
		}
		for i, v := range tc.dx {
			if v != 7 {
				t.Fatalf("%s: dx[%d] changed to %v by a failed call", tc.name, i, v)
			}
		}
	}
	// (dcov + dcovᵀ)/n overflows float32 with one row.
	one, err := NewLinearPlan(LinearParams{Batch: 1, Features: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := Backward(one, make([]float32, 2), nil, []float32{0, 3e38, 3e38, 0}, []float32{1, 2}, []float32{1, 2}); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("overflowing dcov + dcovᵀ: %v", err)
	}
	if err := Backward[float32](nil, make([]float32, n), dmean, dcov, x, mean); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("nil plan: %v", err)
	}
	// Inputs may share memory with each other: only dx is written.
	shared := make([]float32, c)
	copy(shared, dcov)
	if err := Backward(pl, make([]float32, n), shared[:m], shared, x, mean); err != nil {
		t.Errorf("dmean inside dcov: %v", err)
	}
}

// TestBackwardAllocatesNothing: at a fixed shape Backward reuses its
// pooled state and allocates nothing after its first call.
func TestBackwardAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, p := range []Params{
		{Batch: 2, Channels: 8, Height: 16, Width: 16, Sampling: 1, Eps: 1e-5, Workers: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},
		{Batch: 2, Channels: 8, Height: 16, Width: 16, Groups: 2, Workers: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},
		{Batch: 2, Channels: 8, Height: 16, Width: 16, Block: 4, Workers: 2, Geometry: deconv.Geometry{KernelH: 1, KernelW: 1}},
	} {
		pl, err := NewPlan(p)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, pl.SrcLen())
		for i := range x {
			x[i] = float32(i%11) * 0.3
		}
		mean, cv := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
		if err := Compute(pl, mean, cv, x); err != nil {
			t.Fatal(err)
		}
		dx := make([]float32, len(x))
		if err := Backward(pl, dx, mean, cv, x, mean); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(20, func() { _ = Backward(pl, dx, mean, cv, x, mean) }); a != 0 {
			t.Errorf("%+v: Backward allocated %v times per call", p, a)
		}
	}
}

// TestBackwardWorkersObeyed: no call runs more goroutines than the plan's
// Workers, nor more than one when asked for one.
func TestBackwardWorkersObeyed(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	for _, w := range []int{1, 2, 3} {
		pl, err := NewPlan(Params{Batch: 3, Channels: 4, Height: 30, Width: 30, Sampling: 1, Workers: w, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, pl.SrcLen())
		for i := range x {
			x[i] = float64(i % 9)
		}
		mean, cv := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
		if err := Compute(pl, mean, cv, x); err != nil {
			t.Fatal(err)
		}
		parallel.ResetWidest()
		if err := Backward(pl, make([]float64, len(x)), mean, cv, x, mean); err != nil {
			t.Fatal(err)
		}
		if got := parallel.Widest(); got > w || got < 1 {
			t.Errorf("Workers %d: a call used %d goroutines", w, got)
		}
	}
}

// TestBackwardFloat32PaperInput: on the paper's layer (one image; feature
// means up to 2 away from zero next to a spread of 0.29, so the centring
// matters), the float32 gradient agrees with the float64 one to about
// float32 precision.
func TestBackwardFloat32PaperInput(t *testing.T) {
	pl, err := NewPlan(paperParams(1))
	if err != nil {
		t.Fatal(err)
	}
	x := paperInput(1)
	x64 := from32(x)
	mean, cv := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	m64, c64 := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := Compute(pl, mean, cv, x); err != nil {
		t.Fatal(err)
	}
	if err := Compute(pl, m64, c64, x64); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(23, 24))
	dmean, dcov := randGrad(rng, pl.MeanLen()), randGrad(rng, pl.CovLen())
	dx, dx64 := make([]float32, len(x)), make([]float64, len(x))
	if err := Backward(pl, dx, to32(dmean), to32(dcov), x, mean); err != nil {
		t.Fatal(err)
	}
	if err := Backward(pl, dx64, dmean, dcov, x64, m64); err != nil {
		t.Fatal(err)
	}
	if e := gradErr(from32(dx), dx64); !(e <= 1e-5) {
		t.Fatalf("float32 gradient: relative error %g against float64", e)
	}
	t.Logf("float32 gradient: relative error %.2g against float64", gradErr(from32(dx), dx64))
}

// TestBackwardConcurrent: one plan serves concurrent calls (each with its
// own dx), which give the serial result.
func TestBackwardConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	pl, err := NewPlan(Params{Batch: 2, Channels: 6, Height: 20, Width: 20, Sampling: 1, Block: 3, Workers: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}})
	if err != nil {
		t.Fatal(err)
	}
	x := randData(rng, pl.SrcLen(), 400)
	mean, cv := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := Compute(pl, mean, cv, x); err != nil {
		t.Fatal(err)
	}
	dmean, dcov := randGrad(rng, pl.MeanLen()), randGrad(rng, pl.CovLen())
	want := make([]float64, len(x))
	if err := Backward(pl, want, dmean, dcov, x, mean); err != nil {
		t.Fatal(err)
	}
	const callers = 4
	got := make([][]float64, callers)
	errs := make(chan error, callers)
	for i := range got {
		got[i] = make([]float64, len(x))
		go func() { errs <- Backward(pl, got[i], dmean, dcov, x, mean) }()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range got {
		if !slices.Equal(got[i], want) {
			t.Fatalf("caller %d: gradient differs from the serial call's", i)
		}
	}
}
