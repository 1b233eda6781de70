package cov

import (
	"errors"
	"fmt"
	"github.com/netdeconv/deconv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// randData returns n values uniform in [0,1) plus a per-channel offset of
// up to ±4 (planes of hw values), so that centring matters. The values are
// exact in float32, so one oracle serves both element types.
func randData(rng *rand.Rand, n, hw int) []float64 {
	x := make([]float64, n)
	off := 0.0
	for i := range x {
		if i%hw == 0 {
			off = 8*rng.Float64() - 4
		}
		x[i] = float64(float32(off + rng.Float64()))
	}
	return x
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func from32(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// checkAgainst compares Compute's float64 and float32 results with the
// oracle's, matrix by matrix.
func checkAgainst(t *testing.T, name string, pl *Plan, x []float64, wantMean, wantCov [][]float64) {
	t.Helper()
	G, F := pl.Groups(), pl.Features()
	if len(wantMean) != G || len(wantMean[0]) != F {
		t.Fatalf("%s: oracle has %d matrices of %d, plan %d of %d", name, len(wantMean), len(wantMean[0]), G, F)
	}
	x0 := slices.Clone(x)
	mean, cov := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := Compute(pl, mean, cov, x); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !slices.Equal(x, x0) {
		t.Fatalf("%s: input modified", name)
	}
	x32 := to32(x)
	mean32, cov32 := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	if err := Compute(pl, mean32, cov32, x32); err != nil {
		t.Fatalf("%s: float32: %v", name, err)
	}
	for g := 0; g < G; g++ {
		m, c := mean[g*F:(g+1)*F], cov[g*F*F:(g+1)*F*F]
		if e := relFrob(c, wantCov[g]); !(e <= 1e-11) {
			t.Fatalf("%s: float64 cov %d: relative error %g", name, g, e)
		}
		if e := relFrob(m, wantMean[g]); !(e <= 1e-12) {
			t.Fatalf("%s: float64 mean %d: relative error %g", name, g, e)
		}
		m32, c32 := mean32[g*F:(g+1)*F], cov32[g*F*F:(g+1)*F*F]
		if e := relFrob(c32, wantCov[g]); !(e <= 1e-5) {
			t.Fatalf("%s: float32 cov %d: relative error %g", name, g, e)
		}
		// The mean's error is relative to the data's scale (a mean near
		// zero has no relative accuracy to speak of).
		var scale float64
		for i, v := range wantMean[g] {
			scale += v*v + wantCov[g][i*F+i]
		}
		if e := absFrob(m32, wantMean[g]) / math.Max(math.Sqrt(scale), 1e-300); !(e <= 3e-7) {
			t.Fatalf("%s: float32 mean %d: relative error %g", name, g, e)
		}
	}
}

func randConvParams(rng *rand.Rand) Params {
	p := Params{
		Batch: 1 + rng.IntN(3), Channels: 1 + rng.IntN(12),
		Height: 1 + rng.IntN(14), Width: 1 + rng.IntN(14),
		Sampling: rng.IntN(5), Block: rng.IntN(9), Grouping: deconv.Grouping(rng.IntN(2)),
		Eps: []float64{0, 1e-5, 0.5}[rng.IntN(3)], Workers: rng.IntN(4),
		Geometry: deconv.Geometry{KernelH: 1 + rng.IntN(3), KernelW: 1 + rng.IntN(3), StrideH: rng.IntN(3), StrideW: rng.IntN(3), PadH: rng.IntN(3), PadW: rng.IntN(3), DilationH: rng.IntN(3), DilationW: rng.IntN(3)},
	}
	if rng.IntN(3) == 0 {
		// S larger than the output.
		p.Sampling = 20 + rng.IntN(10)
	}
	switch rng.IntN(4) {
	case 0: // depthwise
		p.Groups = p.Channels
	case 1:
		d := divisorsOf(p.Channels)
		p.Groups = d[rng.IntN(len(d))]
	}
	if rng.IntN(4) == 0 {
		p.KernelH, p.KernelW = 1, 1
	}
	return p
}

func divisorsOf(n int) []int {
	var d []int
	for i := 1; i <= n; i++ {
		if n%i == 0 {
			d = append(d, i)
		}
	}
	return d
}

func TestConvAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	iters := 300
	if testing.Short() {
		iters = 60
	}
	done := 0
	for it := 0; done < iters; it++ {
		p := randConvParams(rng)
		pl, err := NewPlan(p)
		if errors.Is(err, deconv.ErrShape) {
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		done++
		x := randData(rng, pl.SrcLen(), p.Height*p.Width)
		rows := oracleConvRows(p, x)
		var wm, wc [][]float64
		for _, r := range rows {
			m, c := oracleMoments(r, p.Eps, false)
			wm, wc = append(wm, m), append(wc, c)
		}
		if len(rows[0]) != pl.Rows() {
			t.Fatalf("%+v: Rows() = %d, oracle has %d", p, pl.Rows(), len(rows[0]))
		}
		checkAgainst(t, fmt.Sprintf("%+v", p), pl, x, wm, wc)
	}
}

// TestConvLarge covers shapes that span several panels, chunks and
// workers, with the reference's block rule cases (B > C, gcd).
func TestConvLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range []Params{
		{Batch: 2, Channels: 12, Height: 40, Width: 37, Sampling: 2, Block: 8, Eps: 1e-5, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},                                         // gcd(8,12) = 4, interleaved
		{Batch: 2, Channels: 12, Height: 40, Width: 37, Sampling: 2, Block: 8, Grouping: deconv.Contiguous, Eps: 1e-5, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},            // contiguous
		{Batch: 3, Channels: 6, Height: 50, Width: 50, Block: 64, Workers: 3, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2, StrideH: 2, StrideW: 2}}, // B > C
		{Batch: 2, Channels: 8, Height: 33, Width: 30, Groups: 8, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}},                                                                 // depthwise
		{Batch: 2, Channels: 8, Height: 33, Width: 30, Groups: 2, Sampling: 3, Geometry: deconv.Geometry{KernelH: 5, KernelW: 3, PadH: 2, PadW: 2}},
		{Batch: 4, Channels: 16, Height: 30, Width: 30, Block: 4, Geometry: deconv.Geometry{KernelH: 1, KernelW: 1, StrideH: 2, StrideW: 2}}, // flat k=1 rule
	} {
		pl, err := NewPlan(p)
		if err != nil {
			t.Fatal(err)
		}
		x := randData(rng, pl.SrcLen(), p.Height*p.Width)
		var wm, wc [][]float64
		for _, r := range oracleConvRows(p, x) {
			m, c := oracleMoments(r, p.Eps, false)
			wm, wc = append(wm, m), append(wc, c)
		}
		checkAgainst(t, fmt.Sprintf("%+v", p), pl, x, wm, wc)
	}
}

func TestLinearAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range []LinearParams{
		{Batch: 1, Features: 1},
		{Batch: 7, Features: 30, Block: 12}, // gcd → 6
		{Batch: 64, Features: 1000},         // default 512 → gcd 8
		{Batch: 50, Features: 300, Block: 512, Eps: 1e-5},
		{Batch: 300, Features: 2048, Block: 256, Workers: 2},
	} {
		pl, err := NewLinearPlan(p)
		if err != nil {
			t.Fatal(err)
		}
		x := randData(rng, pl.SrcLen(), p.Features)
		m, c := oracleMoments(oracleLinearRows(p, x), p.Eps, false)
		checkAgainst(t, fmt.Sprintf("%+v", p), pl, x, [][]float64{m}, [][]float64{c})
	}
}

func TestChannelAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, p := range []ChannelParams{
		{Batch: 3, Channels: 10, Height: 9, Width: 7, Block: 4, Sampling: 3, Eps: 1e-2},
		{Batch: 3, Channels: 10, Height: 9, Width: 7, Block: 4, Sampling: 3, Eps: 1e-2, Uncentred: true},
		{Batch: 3, Channels: 11, Height: 5, Width: 5, Block: 4, Sampling: 3, Eps: 1e-2}, // H·W not a multiple of S²
		{Batch: 5, Channels: 8, Height: 1, Width: 1, Block: 8, Sampling: 3},             // 2-D input: no sampling
		{Batch: 2, Channels: 7, Height: 20, Width: 2, Block: 7, Sampling: 3},            // W < S: no sampling
		{Batch: 4, Channels: 33, Height: 16, Width: 16, Block: 16, Sampling: 2, Uncentred: true, Workers: 2},
	} {
		pl, err := NewChannelPlan(p)
		if err != nil {
			t.Fatal(err)
		}
		x := randData(rng, pl.SrcLen(), p.Height*p.Width)
		rows, rest := oracleChannelRows(p, x)
		m, c := oracleMoments(rows, p.Eps, p.Uncentred)
		name := fmt.Sprintf("%+v", p)
		checkAgainst(t, name, pl, x, [][]float64{m}, [][]float64{c})

		st := NewStats(pl)
		if err := Accumulate(pl, st, x); err != nil {
			t.Fatal(err)
		}
		rm, rv, ok := st.Rest()
		if ok != (len(rest) > 0) {
			t.Fatalf("%s: Rest ok=%v with %d rest values", name, ok, len(rest))
		}
		if ok {
			var wm, wv float64
			for _, v := range rest {
				wm += v
			}
			wm /= float64(len(rest))
			for _, v := range rest {
				wv += (v - wm) * (v - wm)
			}
			if len(rest) > 1 {
				wv /= float64(len(rest) - 1)
			}
			if math.Abs(rm-wm) > 1e-12*(1+math.Abs(wm)) || math.Abs(rv-wv) > 1e-12*(1+wv) {
				t.Fatalf("%s: rest %g, %g; want %g, %g", name, rm, rv, wm, wv)
			}
		}
	}
}

// TestMerge checks that statistics of split batches, merged, equal those
// of one batch, and that the all-reduce form (Sums, add, SetSums) does too.
func TestMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	p := Params{Batch: 6, Channels: 8, Height: 17, Width: 19, Sampling: 2, Block: 4, Eps: 1e-3, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	whole, err := NewPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	x := randData(rng, whole.SrcLen(), p.Height*p.Width)
	// Shift one half so the parts' means differ a lot.
	per := p.Channels * p.Height * p.Width
	for i := 2 * per; i < len(x); i++ {
		x[i] += 3
	}
	want := NewStats(whole)
	if err := Accumulate(whole, want, x); err != nil {
		t.Fatal(err)
	}
	wm, wc := make([]float64, whole.MeanLen()), make([]float64, whole.CovLen())
	if err := Finalize(want, wm, wc); err != nil {
		t.Fatal(err)
	}

	// Parts of 1, 2 and 3 images, accumulated in separate Stats and merged
	// in a tree; the same parts summed about a common reference point.
	sizes := []int{1, 2, 3}
	var parts []*Stats
	off := 0
	for _, b := range sizes {
		q := p
		q.Batch = b
		pl, err := NewPlan(q)
		if err != nil {
			t.Fatal(err)
		}
		st := NewStats(pl)
		if err := Accumulate(pl, st, x[off*per:(off+b)*per]); err != nil {
			t.Fatal(err)
		}
		off += b
		parts = append(parts, st)
	}
	got := NewStats(whole)
	if err := parts[1].Merge(parts[2]); err != nil {
		t.Fatal(err)
	}
	if err := got.Merge(parts[0]); err != nil {
		t.Fatal(err)
	}
	if err := got.Merge(parts[1]); err != nil {
		t.Fatal(err)
	}
	gm, gc := make([]float64, whole.MeanLen()), make([]float64, whole.CovLen())
	if err := Finalize(got, gm, gc); err != nil {
		t.Fatal(err)
	}
	if got.Count() != float64(whole.Rows()) {
		t.Fatalf("merged count %g, want %d", got.Count(), whole.Rows())
	}
	if e, e2 := relFrob(gm, wm), relFrob(gc, wc); e > 1e-13 || e2 > 1e-13 {
		t.Fatalf("merged: mean error %g, cov error %g", e, e2)
	}

	// All-reduce form: parts[0] and the merged parts[1] (= 2 + 3).
	ref := slices.Clone(wm)
	for i := range ref {
		ref[i] += 0.1 // near, not at, the mean
	}
	a, b := make([]float64, got.SumsLen()), make([]float64, got.SumsLen())
	if err := parts[0].Sums(a, ref); err != nil {
		t.Fatal(err)
	}
	if err := parts[1].Sums(b, ref); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		a[i] += b[i]
	}
	red := NewStats(whole)
	if err := red.SetSums(ref, a); err != nil {
		t.Fatal(err)
	}
	if err := Finalize(red, gm, gc); err != nil {
		t.Fatal(err)
	}
	if e, e2 := relFrob(gm, wm), relFrob(gc, wc); e > 1e-12 || e2 > 1e-12 {
		t.Fatalf("all-reduce: mean error %g, cov error %g", e, e2)
	}
}

func TestErrors(t *testing.T) {
	good := Params{Batch: 1, Channels: 4, Height: 5, Width: 5, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3}}
	for _, tc := range []struct {
		mod  func(*Params)
		want error
	}{
		{func(p *Params) { p.Batch = 0 }, deconv.ErrShape},
		{func(p *Params) { p.Channels = -1 }, deconv.ErrShape},
		{func(p *Params) { p.KernelW = 0 }, deconv.ErrShape},
		{func(p *Params) { p.StrideH = -1 }, deconv.ErrParam},
		{func(p *Params) { p.PadW = -1 }, deconv.ErrParam},
		{func(p *Params) { p.Sampling = -2 }, deconv.ErrParam},
		{func(p *Params) { p.Eps = -1 }, deconv.ErrParam},
		{func(p *Params) { p.Eps = math.NaN() }, deconv.ErrParam},
		{func(p *Params) { p.Eps = math.Inf(1) }, deconv.ErrParam},
		{func(p *Params) { p.Groups = 3 }, deconv.ErrParam},
		{func(p *Params) { p.Grouping = 7 }, deconv.ErrParam},
		{func(p *Params) { p.KernelH = 9 }, deconv.ErrShape},
		{func(p *Params) { p.Batch, p.Channels, p.Height, p.Width = 1<<20, 1<<20, 1<<20, 1<<20 }, deconv.ErrOverflow},
	} {
		p := good
		tc.mod(&p)
		if _, err := NewPlan(p); !errors.Is(err, tc.want) {
			t.Errorf("%+v: got %v, want %v", p, err, tc.want)
		}
	}
	for _, p := range []LinearParams{{Batch: 0, Features: 3}, {Batch: 2, Features: 3, Block: -1}, {Batch: 2, Features: 3, Eps: -1}} {
		if _, err := NewLinearPlan(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	for _, p := range []ChannelParams{{Batch: 1, Channels: 3, Height: 2, Width: 2}, {Batch: 1, Channels: 3, Height: 2, Width: 2, Block: 4}, {Batch: 1, Channels: 3, Height: 2, Width: 2, Block: 2, Sampling: -1}} {
		if _, err := NewChannelPlan(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}

	pl, err := NewPlan(good)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, pl.SrcLen())
	mean, cov := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	if err := Compute(pl, mean, cov, x[1:]); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short input: %v", err)
	}
	if err := Compute(pl, mean[1:], cov, x); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short mean: %v", err)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1)), 3e30} {
		x[37] = bad
		if err := Compute(pl, mean, cov, x); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("value %g: %v", bad, err)
		}
	}
	st := NewStats(pl)
	if err := Finalize(st, mean, cov); !errors.Is(err, deconv.ErrEmpty) {
		t.Errorf("empty finalize: %v", err)
	}
	other, _ := NewPlan(Params{Batch: 1, Channels: 2, Height: 5, Width: 5, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3}})
	if err := st.Merge(NewStats(other)); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("mismatched merge: %v", err)
	}
	if err := st.Merge(nil); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("nil merge: %v", err)
	}
	if err := Accumulate(other, st, x); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("mismatched accumulate: %v", err)
	}
	if err := st.Sums(make([]float64, 3), nil); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short sums: %v", err)
	}
	bad := make([]float64, st.SumsLen())
	bad[1] = math.NaN()
	if err := st.SetSums(nil, bad); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("NaN sums: %v", err)
	}
}

func TestBlockSize(t *testing.T) {
	for _, tc := range []struct{ c, b, g, want int }{
		{64, 64, 1, 64}, {3, 64, 1, 3}, {96, 64, 1, 32}, {100, 64, 1, 4}, {64, 0, 1, 64},
		{64, 16, 4, 16}, {64, 64, 64, 1}, {6, 4, 1, 2}, {0, 4, 1, 0}, {6, 4, 4, 0},
	} {
		if got := BlockSize(tc.c, tc.b, tc.g); got != tc.want {
			t.Errorf("BlockSize(%d, %d, %d) = %d, want %d", tc.c, tc.b, tc.g, got, tc.want)
		}
	}
}

// TestFamilies runs one shape on every kernel family this CPU has; the
// suite as a whole runs again under each DECONV_ISA.
func TestFamilies(t *testing.T) {
	if len(isa.Available()) == 0 {
		t.Skip("no families")
	}
	TestLinearAgainstOracle(t)
}

// absFrob returns ‖got − want‖₂.
func absFrob[T Float](got []T, want []float64) float64 {
	var num float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
	}
	return math.Sqrt(num)
}

// TestComputeAllocatesNothing: at a fixed shape, Compute reuses pooled
// workspaces and allocates nothing after its first call.
func TestComputeAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	pl, err := NewPlan(Params{Batch: 2, Channels: 8, Height: 16, Width: 16, Sampling: 3, Eps: 1e-5, Workers: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}})
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
	if a := testing.AllocsPerRun(20, func() { _ = Compute(pl, mean, cv, x) }); a != 0 {
		t.Fatalf("Compute allocated %v times per call", a)
	}
}
