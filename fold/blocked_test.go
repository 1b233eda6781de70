package fold

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/dconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
)

// TestBlockedMatchesNaive: the blocked path, forced, against the float64
// definition on random shapes: groups 1 to 5, 1 to 20 input channels per
// group (sometimes 64), output channels per group that are and are not
// multiples of the kernel's blocks of 4 and 8 (blocks of 8 taken or not,
// followed by a block of 4, a padded block, or both), widths below, at and above a
// vector (16), kernels 1 to 5, row strides 1 and 2, paddings 0 to 2,
// dilations 1 and 2, bias on and off, batches 1 to 5 and 1 to 3 workers,
// in float32 (the kernel where the CPU has it) and float64 (its portable
// loop), with the input channels summed in one pass or in several, the
// rows computed whole or in strips of 1 to 4 (a last strip shorter or
// not), and an image's rows in one work item or in several (a small
// bound on an item's padded input); the trials must reach each of those
// cases. Run under DECONV_ISA=generic and -tags purego the float32 cases
// check the portable loop as well.
func TestBlockedMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	trials := 120
	if testing.Short() {
		trials = 40
	}
	var stripped, split, wideStrips int
	for i := 0; i < trials; i++ {
		setBlockedTuning(t, func(p *blockedTuning) {
			// Blocks of 8 output channels wherever 8 remain, by the rule
			// (in strips, or up to 32 input channels per group), or never.
			switch i % 4 {
			case 0:
				p.wideMaxChannels = math.MaxInt
			case 1:
				p.wideMaxChannels = blockedWideMaxChannels
			default:
				p.wideMaxChannels = 0
			}
			// Every other trial sums the input channels in passes of a
			// few channels, whatever the input's size.
			p.chunkBytes, p.chunkAbove = blockedChunkBytes, blockedChunkAbove
			if i%2 == 1 {
				p.chunkBytes, p.chunkAbove = 1+rng.IntN(4096), 0
			}
			// Half the trials compute the rows in strips of 1 to 4, in
			// passes of a few channels.
			p.stripRows, p.stripBytes = 0, 0
			if i%8 >= 4 {
				p.stripRows, p.stripBytes = 1+rng.IntN(4), 1+rng.IntN(4096)
			}
			// A third split an image's rows into items of a few rows.
			p.itemBytes = blockedItemBytes
			if i%3 == 2 {
				p.itemBytes = 1 + rng.IntN(8192)
			}
		})
		groups := 1 + rng.IntN(5)
		cg := 1 + rng.IntN(20)
		switch {
		case i%8 == 5:
			// Strips by the rule's blocks: of 8 beyond 32 channels (in
			// at most 2 groups, to keep the reference's cost down).
			cg, groups = 33+rng.IntN(32), min(groups, 2)
		case rng.IntN(8) == 0:
			cg = 64
		}
		coutg := 1 + rng.IntN(9)
		switch rng.IntN(3) {
		case 0:
			coutg = 4 * (1 + rng.IntN(4))
		case 1:
			coutg = 8 + rng.IntN(17)
		}
		g := ConvGeom{InChannels: groups * cg, OutChannels: groups * coutg, Groups: groups, Algorithm: ConvBlocked,
			Geometry: deconv.Geometry{KernelH: 1 + rng.IntN(5), KernelW: 1 + rng.IntN(5), StrideH: 1 + rng.IntN(2), StrideW: 1,
				PadH: rng.IntN(3), PadW: rng.IntN(3), DilationH: 1 + rng.IntN(2), DilationW: 1 + rng.IntN(2)}}
		// Sizes redrawn until the kernel fits in the padded input, so that
		// every trial runs.
		n, h, w := 1+rng.IntN(5), 0, 0
		for {
			h, w = 3+rng.IntN(20), 3+rng.IntN(38)
			switch rng.IntN(4) {
			case 0:
				h, w = 16, 16
			case 1:
				w = 16*(1+rng.IntN(2)) + 2*g.PadW - 2 // outputs of whole vectors for 3×3
			}
			if _, _, err := g.OutputSize(h, w); err == nil {
				break
			}
		}
		cc := randomConvCase(rng, g, n, h, w)
		x32, wt32, bias32, want := cc.x, cc.wt, cc.bias, cc.want
		c32, err := NewConv2d(g, wt32, bias32)
		if err != nil {
			t.Fatal(err)
		}
		c32.Workers = 1 + rng.IntN(3)
		// The layout the forward takes, for the tally of cases reached.
		var lr blockedRun[float32]
		oh, _, _ := g.OutputSize(h, w)
		lr.layout(c32.geom, n, w, oh, parallel.Workers(c32.Workers))
		if lr.strip > 0 {
			stripped++
			if lr.wide && cg > blockedWideMaxChannels {
				wideStrips++
			}
		}
		if lr.bands > 1 {
			split++
		}
		got32 := make([]float32, len(want))
		if err := c32.Forward(got32, x32, n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got32, want); e > 1e-5 {
			t.Fatalf("float32 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
		// Weights other than the published ones (a FastDeconv's folded
		// weights) are packed by the workers, group by group.
		_, ow, _ := g.OutputSize(h, w)
		clear(got32)
		if err := c32.forward(got32, x32, n, h, w, oh, ow, append([]float32(nil), wt32...), bias32, c32.Workers); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got32, want); e > 1e-5 {
			t.Fatalf("float32 %+v n=%d %d×%d, unpublished weights: relative error %g", g, n, h, w, e)
		}
		if e := float64Error(t, g, wt32, bias32, x32, want, n, h, w, 0); e > 1e-12 {
			t.Fatalf("float64 %+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
	}
	t.Logf("tally: %d stripped, %d wide in strips, %d split", stripped, wideStrips, split)
	if stripped < 3 || split < 3 || wideStrips < 1 {
		t.Errorf("the trials reached %d layouts in strips (%d of them with blocks of 8 beyond %d channels) and %d with several items per image; want at least 3, 1 and 3",
			stripped, wideStrips, blockedWideMaxChannels, split)
	}
}

// TestBlockedAutoRule: ConvAuto sends grouped layers of Table 3's shapes
// (2 to 64 input channels per group, 16×16 to 32×32) and those at the
// rule's upper bounds to the blocked path exactly when the kernel runs
// (float32, a family that has it), with results that match the
// definition, and the others elsewhere.
func TestBlockedAutoRule(t *testing.T) {
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	for _, tc := range []struct {
		g    ConvGeom
		side int
	}{
		{ConvGeom{InChannels: 64, OutChannels: 64, Groups: 4, Geometry: k3}, 16},   // row 13's 16→16 per group
		{ConvGeom{InChannels: 128, OutChannels: 128, Groups: 2, Geometry: k3}, 16}, // row 05's 64→64 per group
		{ConvGeom{InChannels: 128, OutChannels: 128, Groups: 4, Geometry: k3}, 32}, // 32→32 per group, which Winograd leaves
		{ConvGeom{InChannels: 64, OutChannels: 128, Groups: 8, Geometry: k3}, 32},  // row 12's 8→16 per group
		{ConvGeom{InChannels: 32, OutChannels: 64, Groups: 16, Geometry: k3}, 24},  // 2→4 per group
	} {
		g, _ := tc.g.normalize()
		wantBlocked := dconv.Available[float32](isa.Selected())
		if got := pathAt[float32](g, tc.side, tc.side) == pathBlocked; got != wantBlocked {
			t.Errorf("%+v at %d×%d: blocked path %v, want %v", tc.g, tc.side, tc.side, got, wantBlocked)
		}
		if useBlocked[float64](g, tc.side, tc.side) {
			t.Errorf("%+v: float64 takes the blocked path, which has no vector kernel for it", tc.g)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		n := 2
		x := to32(randVec(rng, n*g.InChannels*tc.side*tc.side))
		wt := to32(randVec(rng, g.WeightLen()))
		bias := to32(randVec(rng, g.OutChannels))
		want := naiveConv(g, to64(x), to64(wt), to64(bias), n, tc.side, tc.side)
		c, err := NewConv2d(g, wt, bias)
		if err != nil {
			t.Fatal(err)
		}
		// The packed weights are kept exactly where the rule may use them.
		if packed := c.p.Load().blocked != nil; packed != wantBlocked {
			t.Errorf("%+v: packed weights kept %v, want %v", tc.g, packed, wantBlocked)
		}
		got := make([]float32, len(want))
		if err := c.Forward(got, x, n, tc.side, tc.side); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got, want); e > 1e-5 {
			t.Errorf("%+v: relative error %g", tc.g, e)
		}
	}
	// At the bound of channels per group and on large planes, measured
	// wins, inside the rule (where the kernel runs); 3×3 layers of stride
	// 1 that the grouped Winograd rule takes (32 channels per group or
	// more on 32×32 outputs, 128 or more on 16×16) take the Winograd path
	// first where its fused kernels run.
	k5 := deconv.Geometry{KernelH: 5, KernelW: 5, PadH: 2, PadW: 2}
	for _, tc := range []struct {
		g         ConvGeom
		side      int
		winoFirst bool
	}{
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 2, Geometry: k3}, 16, true},
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 2, Geometry: k5}, 16, false},
		{ConvGeom{InChannels: 32, OutChannels: 64, Groups: 8, Geometry: k3}, 256, false},
		{ConvGeom{InChannels: 64, OutChannels: 64, Groups: 2, Geometry: k5}, 64, false},
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 2, Geometry: k3}, 56, true},
		{ConvGeom{InChannels: 256, OutChannels: 256, Groups: 2, Geometry: k3}, 56, true},
		{ConvGeom{InChannels: 128, OutChannels: 256, Groups: 2, Geometry: k3}, 64, true}, // Table 3's row 03
		{ConvGeom{InChannels: 256, OutChannels: 512, Groups: 4, Geometry: k3}, 32, true}, // row 04
	} {
		g, _ := tc.g.normalize()
		kernel := dconv.Available[float32](isa.Selected())
		if got := useBlocked[float32](g, tc.side, tc.side); got != kernel {
			t.Errorf("%+v at %d×%d: blocked rule %v, want %v", tc.g, tc.side, tc.side, got, kernel)
		}
		want := pathDirect
		switch {
		case tc.winoFirst && useWinogradGrouped[float32](g, tc.side, tc.side):
			want = pathWinograd
		case kernel:
			want = pathBlocked
		case g.useTaps():
			want = pathTaps
		}
		if got := pathAt[float32](g, tc.side, tc.side); got != want {
			t.Errorf("%+v at %d×%d: path %d, want %d", tc.g, tc.side, tc.side, got, want)
		}
		if !tc.winoFirst && useWinogradGrouped[float32](g, tc.side, tc.side) {
			t.Errorf("%+v at %d×%d: the grouped Winograd rule takes it", tc.g, tc.side, tc.side)
		}
	}
	// Outside the rule: one input channel or fewer than 4 output channels
	// per group, outputs narrower than a vector, column stride 2, one
	// group, more channels per group than measured wins.
	for _, tc := range []struct {
		g    ConvGeom
		side int
	}{
		{ConvGeom{InChannels: 1024, OutChannels: 1024, Groups: 2, Geometry: k3}, 16},
		{ConvGeom{InChannels: 1028, OutChannels: 1028, Groups: 2, Geometry: k3}, 56},
		{ConvGeom{InChannels: 32, OutChannels: 64, Groups: 32, Geometry: k3}, 32},
		{ConvGeom{InChannels: 32, OutChannels: 48, Groups: 16, Geometry: k3}, 32},
		{ConvGeom{InChannels: 64, OutChannels: 64, Groups: 4, Geometry: k3}, 8},
		{ConvGeom{InChannels: 64, OutChannels: 64, Groups: 4, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1, StrideW: 2}}, 32},
		{ConvGeom{InChannels: 64, OutChannels: 64, Geometry: k3}, 16},
	} {
		g, _ := tc.g.normalize()
		if useBlocked[float32](g, tc.side, tc.side) {
			t.Errorf("%+v at %d×%d takes the blocked path", tc.g, tc.side, tc.side)
		}
	}
}

// TestBlockedErrors: a column stride other than 1 cannot be forced onto
// the blocked path; a NaN in the input and an output that overflows are
// deconv.ErrNonFinite on it.
func TestBlockedErrors(t *testing.T) {
	g := ConvGeom{InChannels: 8, OutChannels: 8, Groups: 2, Algorithm: ConvBlocked, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1, StrideW: 2}}
	if _, err := NewConv2d(g, make([]float32, g.WeightLen()), nil); !errors.Is(err, deconv.ErrUnsupported) {
		t.Errorf("column stride 2: %v", err)
	}
	g.StrideW = 1
	wt := make([]float32, g.WeightLen())
	for i := range wt {
		wt[i] = 3e38
	}
	c, err := NewConv2d(g, wt, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, h, w := 2, 9, 10
	// One worker: whole planes (checked as one run per group); two: bands
	// of rows (checked channel by channel).
	for _, workers := range []int{1, 2} {
		c.Workers = workers
		x := make([]float32, n*g.InChannels*h*w)
		dst := make([]float32, n*g.OutChannels*h*w)
		x[len(x)-3] = float32(math.NaN())
		if err := c.Forward(dst, x, n, h, w); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("%d workers: NaN input: %v", workers, err)
		}
		for i := range x {
			x[i] = 1
		}
		if err := c.Forward(dst, x, n, h, w); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("%d workers: overflowing output: %v", workers, err)
		}
	}
	if s := ConvBlocked.String(); s != "blocked" {
		t.Errorf("ConvBlocked.String() = %q", s)
	}
}

// TestBlockedAllocatesNothing: at a fixed shape the blocked path, taken
// by the rule and forced (with a last block of fewer than 4 channels),
// and a grouped FastDeconv's training forward on it allocate nothing
// after the first call. The rule takes the path only where the vector
// kernel runs: elsewhere the cases that rely on it are skipped, and
// where it runs the test asserts that they take it.
func TestBlockedAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	// Garbage collections empty the scratch pools; one that starts during
	// a count would show the pools' refill, not the forward's.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	n, h, w := 2, 16, 16
	kernel := dconv.Available[float32](isa.Selected())
	for _, g := range []ConvGeom{
		{InChannels: 32, OutChannels: 32, Groups: 2, Geometry: k3},
		{InChannels: 12, OutChannels: 18, Groups: 3, Geometry: k3, Algorithm: ConvBlocked},
	} {
		if g.Algorithm == ConvAuto && !kernel {
			t.Logf("%+v: skipped, no vector kernel for %v (ConvAuto takes the taps path)", g, isa.Selected())
			continue
		}
		c, err := NewConv2d(g, make([]float32, g.WeightLen()), make([]float32, g.OutChannels))
		if err != nil {
			t.Fatal(err)
		}
		if pathAt[float32](c.geom, h, w) != pathBlocked {
			t.Fatalf("%+v does not take the blocked path", g)
		}
		c.Workers = 2
		x := make([]float32, n*g.InChannels*h*w)
		y := make([]float32, n*g.OutChannels*h*w)
		f := func() error { return c.Forward(y, x, n, h, w) }
		if err := f(); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(10, func() { _ = f() }); a != 0 {
			t.Errorf("%+v allocated %v times per forward", g, a)
		}
	}
	if !kernel {
		t.Skipf("grouped FastDeconv: no vector kernel for %v (ConvAuto takes the taps path)", isa.Selected())
	}
	// A grouped FastDeconv in training: its folded weights are packed by
	// the workers, in pooled buffers.
	cfg := NewFastDeconvConfig(32, 32, 3)
	cfg.PadH, cfg.PadW, cfg.Groups, cfg.Workers = 1, 1, 2, 2
	wt := make([]float32, 32*16*9)
	for i := range wt {
		wt[i] = float32(i%5) * 0.1
	}
	l, err := NewFastDeconv(cfg, wt, make([]float32, 32))
	if err != nil {
		t.Fatal(err)
	}
	if pathAt[float32](l.conv.geom, h, w) != pathBlocked {
		t.Fatalf("grouped FastDeconv %+v does not take the blocked path", l.conv.geom)
	}
	x := make([]float32, n*32*h*w)
	for i := range x {
		x[i] = float32(i%11)*0.3 + float32(i%7)*0.01
	}
	y := make([]float32, n*32*h*w)
	f := func() error { return l.Forward(y, x, n, h, w) }
	if err := f(); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(10, func() { _ = f() }); a != 0 {
		t.Errorf("grouped FastDeconv (training) allocated %v times per forward", a)
	}
}

// TestBlockedWorkersObeyed: the blocked path spreads its work over at
// most Workers goroutines.
func TestBlockedWorkersObeyed(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: every call runs on one worker whatever is asked")
	}
	g := ConvGeom{InChannels: 32, OutChannels: 32, Groups: 2, Algorithm: ConvBlocked, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	c, err := NewConv2d(g, make([]float32, g.WeightLen()), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, h, w := 1, 16, 16
	x := make([]float32, n*g.InChannels*h*w)
	y := make([]float32, n*g.OutChannels*h*w)
	for _, workers := range []int{1, 2} {
		c.Workers = workers
		parallel.ResetWidest()
		if err := c.Forward(y, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		if p := parallel.Widest(); p != workers {
			t.Errorf("Workers = %d: the widest call used %d goroutines", workers, p)
		}
	}
}

// TestBlockedBackward: the input gradient of a grouped stride-1 layer on
// the blocked path (computed as a forward convolution, so on the blocked
// path too) in float32 against the scatter path's in float64. The case
// taken by ConvAuto's rule is skipped where the vector kernel does not
// run (the rule takes the taps path there).
func TestBlockedBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, g := range []ConvGeom{
		{InChannels: 32, OutChannels: 32, Groups: 2, Geometry: deconv.Square(3, 1, 1, 1)},
		{InChannels: 12, OutChannels: 20, Groups: 2, Geometry: deconv.Square(3, 1, 2, 2), Algorithm: ConvBlocked},
	} {
		n, h, w := 2, 16, 16
		g, _ := g.normalize()
		oh, ow, _ := g.OutputSize(h, w)
		if g.Algorithm == ConvAuto && !dconv.Available[float32](isa.Selected()) {
			t.Logf("%+v: skipped, no vector kernel for %v (ConvAuto takes the taps path)", g, isa.Selected())
			continue
		}
		if pathAt[float32](g, oh, ow) != pathBlocked {
			t.Fatalf("%+v does not take the blocked path", g)
		}
		x := randVec(rng, n*g.InChannels*h*w)
		wt := randVec(rng, g.WeightLen())
		dy := randVec(rng, n*g.OutChannels*oh*ow)
		// The reference: float64 on the scatter path (Wᵀ·dy added back
		// onto the input), which no forward path computes.
		ref, err := NewConv2d(g, wt, nil)
		if err != nil {
			t.Fatal(err)
		}
		ref.scatterDx = true
		want := make([]float64, len(x))
		if err := ref.Backward(want, make([]float64, len(wt)), nil, dy, x, n, h, w); err != nil {
			t.Fatal(err)
		}
		c, err := NewConv2d(g, to32(wt), nil)
		if err != nil {
			t.Fatal(err)
		}
		dx := make([]float32, len(x))
		if err := c.Backward(dx, make([]float32, len(wt)), nil, to32(dy), to32(x), n, h, w); err != nil {
			t.Fatal(fmt.Errorf("%+v: %w", g, err))
		}
		if e := relErr(dx, want); e > 1e-5 {
			t.Errorf("%+v: dx differs from the scatter path's by %g", g, e)
		}
	}
}

// TestBlockedWideRule: blocks of 8 output channels for groups of 8+
// output channels and up to 32 input channels (rows 12 and 13 of Table 3)
// or in strips of rows, blocks of 4 for more input channels outside
// strips (row 05) or fewer than 8 output channels, and none at all when
// a tuning turns them off.
func TestBlockedWideRule(t *testing.T) {
	k3 := deconv.Square(3, 1, 1, 1)
	for _, tc := range []struct {
		g              ConvGeom
		inStrips, want bool
	}{
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 32, Geometry: k3}, false, true},
		{ConvGeom{InChannels: 256, OutChannels: 512, Groups: 32, Geometry: k3}, false, true},
		{ConvGeom{InChannels: 256, OutChannels: 256, Groups: 8, Geometry: k3}, false, true},
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 8, Geometry: k3}, false, false},
		{ConvGeom{InChannels: 256, OutChannels: 512, Groups: 4, Geometry: k3}, false, false},
		{ConvGeom{InChannels: 64, OutChannels: 28, Groups: 4, Geometry: k3}, false, false},
		{ConvGeom{InChannels: 512, OutChannels: 512, Groups: 8, Geometry: k3}, true, true},
		{ConvGeom{InChannels: 256, OutChannels: 512, Groups: 4, Geometry: k3}, true, true},
		{ConvGeom{InChannels: 64, OutChannels: 28, Groups: 4, Geometry: k3}, true, false},
	} {
		if got := blockedWide(tc.g, tc.inStrips); got != tc.want {
			t.Errorf("%d→%d in %d groups, in strips %v: wide %v, want %v", tc.g.InChannels, tc.g.OutChannels, tc.g.Groups, tc.inStrips, got, tc.want)
		}
	}
	setBlockedTuning(t, func(p *blockedTuning) { p.wideMaxChannels = 0 })
	if g := (ConvGeom{InChannels: 512, OutChannels: 512, Groups: 8, Geometry: k3}); blockedWide(g, true) || blockedWide(g, false) {
		t.Errorf("wideMaxChannels 0: blocks of 8 taken")
	}
}

// TestBlockedPackingFollowsKernel: under ConvAuto a grouped float32 layer
// keeps packed weights only in families where the vector kernel runs
// (where the rule can take the blocked path), while ConvBlocked, forced,
// keeps them in every family (its portable loop reads them too); every
// family the CPU has gives the definition's result, and so does a layer
// built in one family and run in another.
func TestBlockedPackingFollowsKernel(t *testing.T) {
	prev := isa.Selected()
	defer func() { _ = isa.Select(prev) }()
	g := ConvGeom{InChannels: 64, OutChannels: 64, Groups: 4,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	rng := rand.New(rand.NewPCG(7, 8))
	const n, side = 2, 16
	x := to32(randVec(rng, n*g.InChannels*side*side))
	wt := to32(randVec(rng, g.WeightLen()))
	want := naiveConv(g, to64(x), to64(wt), nil, n, side, side)
	var layers []*Conv2d[float32]
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		for _, alg := range []ConvAlgorithm{ConvAuto, ConvBlocked} {
			ga := g
			ga.Algorithm = alg
			c, err := NewConv2d(ga, wt, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantPacked := alg == ConvBlocked || dconv.Available[float32](fam)
			if packed := c.p.Load().blocked != nil; packed != wantPacked {
				t.Errorf("%v %v: packed weights kept %v, want %v", fam, alg, packed, wantPacked)
			}
			layers = append(layers, c)
		}
	}
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		for i, c := range layers {
			got := make([]float32, len(want))
			if err := c.Forward(got, x, n, side, side); err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, want); e > 1e-5 {
				t.Errorf("run in %v, layer %d: relative error %g", fam, i, e)
			}
		}
	}
}
