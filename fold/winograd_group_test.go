package fold

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/winograd"
)

// Tests of the Winograd path's per-group work items (winoRun.items): an
// item is one group's span of tile rows, which with the fused kernels may
// run across images and otherwise ends at an image's last tile row.

// randomGroupedWinograd returns a grouped 3×3, stride-1 convolution: 2 to
// 8 groups of 1 to 9 or 17 to 47 channels (never a multiple of 16),
// padding 0 to 2, a batch of 1 to 5 images of odd and even sizes, and a
// work-item budget that is either the default or small enough that spans
// end inside images.
func randomGroupedWinograd(rng *rand.Rand) (g ConvGeom, n, h, w, budget int) {
	chans := func() int {
		if rng.IntN(2) == 0 {
			return 1 + rng.IntN(9)
		}
		for {
			if c := 17 + rng.IntN(31); c%16 != 0 {
				return c
			}
		}
	}
	for {
		groups := 2 + rng.IntN(7)
		g = ConvGeom{InChannels: groups * chans(), OutChannels: groups * chans(), Groups: groups, Algorithm: ConvWinograd,
			Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: rng.IntN(3), PadW: rng.IntN(3)}}
		n, h, w = 1+rng.IntN(5), 3+rng.IntN(20), 3+rng.IntN(30)
		budget = 1 << 19
		if rng.IntN(2) == 0 {
			budget = 1 << (8 + rng.IntN(6))
		}
		if _, _, err := g.OutputSize(h, w); err == nil {
			return g, n, h, w, budget
		}
	}
}

// fixedGroupedWinograd are shapes that reach each kind of span whatever
// the random ones do: small images whose spans run across images (with
// the fused kernels), and a small budget whose spans end inside images,
// one of them short.
var fixedGroupedWinograd = []struct {
	g               ConvGeom
	n, h, w, budget int
}{
	{ConvGeom{InChannels: 15, OutChannels: 21, Groups: 3, Algorithm: ConvWinograd,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 0}}, 5, 9, 13, 1 << 19},
	{ConvGeom{InChannels: 34, OutChannels: 40, Groups: 2, Algorithm: ConvWinograd,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 2, PadW: 1}}, 3, 23, 30, 1 << 12},
}

// groupedWinogradCase returns trial i's shape: the fixed ones first.
func groupedWinogradCase(rng *rand.Rand, i int) (g ConvGeom, n, h, w, budget int) {
	if i < len(fixedGroupedWinograd) {
		f := fixedGroupedWinograd[i]
		return f.g, f.n, f.h, f.w, f.budget
	}
	return randomGroupedWinograd(rng)
}

// setWinoBudget sets winoBudget and winoGroupBudget for the rest of the
// test.
func setWinoBudget(t *testing.T, budget int) {
	prev, prevGroup := winoBudget, winoGroupBudget
	winoBudget, winoGroupBudget = budget, budget
	t.Cleanup(func() { winoBudget, winoGroupBudget = prev, prevGroup })
}

// spanCases tallies which kinds of spans a shape's items have, as
// forwardWinograd cuts them (winoSpans, winoRun.span): across an image
// boundary, ending inside an image, and with a span shorter than the
// others.
type spanCases struct{ across, inside, short int }

// add tallies the spans of one forward of g on n h×w images on workers
// workers (0: the process default), whose spans end at images' last tile
// rows when perImage.
func (s *spanCases) add(g ConvGeom, n, h, w, workers int, perImage bool) {
	oh, ow, _ := g.OutputSize(h, w)
	tl := winograd.F43
	r := &winoRun[float32]{n: n, perImage: perImage}
	r.th, r.tw = winograd.Tiles(tl, oh, ow)
	r.rowsPer, r.spans, r.spansPerImage = winoSpans(g, n, r.th, r.tw, tl.Alpha*tl.Alpha, parallel.Workers(workers), perImage)
	for sp := 0; sp < r.spans; sp++ {
		row0, row1 := r.span(sp)
		if row0/r.th != (row1-1)/r.th {
			s.across++
		}
		if row1%r.th != 0 {
			s.inside++
		}
		if row1-row0 < r.rowsPer {
			s.short++
		}
	}
}

// TestWinogradGroupedMatchesNaive: grouped layers on the Winograd path
// against the float64 definition, in every family this CPU and build
// have: float32 within 1e-5 relative (Frobenius), float64 within 1e-12,
// with and without bias, on 1 to 3 workers, with work items that span
// image boundaries (the fused kernels) or end at them (the others), and
// with spans that end inside images and are cut short.
func TestWinogradGroupedMatchesNaive(t *testing.T) {
	prev := isa.Selected()
	defer func() { _ = isa.Select(prev) }()
	rng := rand.New(rand.NewPCG(91, 92))
	trials := 40
	if testing.Short() {
		trials = 8
	}
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		fused := winograd.HasGatherInput[float32](fam, winograd.F43)
		var cases32, cases64 spanCases
		worst := 0.0
		for trial := 0; trial < trials; trial++ {
			g, n, h, w, budget := groupedWinogradCase(rng, trial)
			setWinoBudget(t, budget)
			workers := 1 + rng.IntN(3)
			cc := randomConvCase(rng, g, n, h, w)
			x32, wt32, bias32, want := cc.x, cc.wt, cc.bias, cc.want
			c, err := NewConv2d(g, wt32, bias32)
			if err != nil {
				t.Fatal(err)
			}
			c.Workers = workers
			got := make([]float32, len(want))
			if err := c.Forward(got, x32, n, h, w); err != nil {
				t.Fatal(err)
			}
			e := relErr(got, want)
			if e > 1e-5 {
				t.Fatalf("%v float32 %+v n=%d %d×%d budget %d, %d workers: relative error %g", fam, g, n, h, w, budget, workers, e)
			}
			worst = max(worst, e)
			if e := float64Error(t, g, wt32, bias32, x32, want, n, h, w, workers); e > 1e-12 {
				t.Fatalf("%v float64 %+v n=%d %d×%d budget %d, %d workers: relative error %g", fam, g, n, h, w, budget, workers, e)
			}
			// The spans of forwardWinograd (winoRun.perImage).
			cases32.add(g, n, h, w, workers, g.Groups > 1 && !fused)
			cases64.add(g, n, h, w, workers, g.Groups > 1 && !winograd.HasGatherInput[float64](fam, winograd.F43))
		}
		// The trials must have reached the cases they are for.
		if fused && cases32.across == 0 {
			t.Errorf("%v: no float32 work item ran across an image boundary", fam)
		}
		for _, c := range []spanCases{cases32, cases64} {
			if c.inside == 0 || c.short == 0 {
				t.Errorf("%v: spans ending inside an image %d, cut short %d: want some of each", fam, c.inside, c.short)
			}
		}
		t.Logf("%v: worst float32 relative error %.2e; float32 spans %+v, float64 %+v", fam, worst, cases32, cases64)
	}
}

// TestWinogradGroupedNamesNonFiniteInput: a NaN or ±Inf in one channel
// of one group of one image is ErrNonFinite naming that input element, on
// the Winograd path of grouped layers in every family. With the fused
// kernels every item checks the rows it reads (of its group), so this
// holds on several workers; elsewhere an image's group is checked by the
// item holding its first tile row, and the test runs on one worker (see
// TestWinogradNamesNonFiniteInput).
func TestWinogradGroupedNamesNonFiniteInput(t *testing.T) {
	prev := isa.Selected()
	defer func() { _ = isa.Select(prev) }()
	rng := rand.New(rand.NewPCG(93, 94))
	trials := 20
	if testing.Short() {
		trials = 6
	}
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		for trial := 0; trial < trials; trial++ {
			g, n, h, w, budget := groupedWinogradCase(rng, trial)
			setWinoBudget(t, budget)
			cg := g.InChannels / g.Groups
			img, grp, ci := rng.IntN(n), rng.IntN(g.Groups), rng.IntN(cg)
			// Every input element is read by some tile, whatever the
			// padding.
			i := ((img*g.InChannels+grp*cg+ci)*h+rng.IntN(h))*w + rng.IntN(w)
			x := randVec(rng, n*g.InChannels*h*w)
			bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
			x[i] = bad
			wt := randVec(rng, g.WeightLen())
			oh, ow, _ := g.OutputSize(h, w)
			want := fmt.Sprintf("input[%d] = ", i)
			workers32 := 1
			if winograd.HasGatherInput[float32](fam, winograd.F43) {
				workers32 = 1 + rng.IntN(3)
			}
			c64, err := NewConv2d(g, wt, nil)
			if err != nil {
				t.Fatal(err)
			}
			c64.Workers = 1
			err = c64.Forward(make([]float64, n*g.OutChannels*oh*ow), x, n, h, w)
			if !errors.Is(err, deconv.ErrNonFinite) || !strings.Contains(err.Error(), want) {
				t.Fatalf("%v float64 %+v n=%d %d×%d, %v at %d (image %d, group %d): %v", fam, g, n, h, w, bad, i, img, grp, err)
			}
			c32, err := NewConv2d(g, to32(wt), nil)
			if err != nil {
				t.Fatal(err)
			}
			c32.Workers = workers32
			err = c32.Forward(make([]float32, n*g.OutChannels*oh*ow), to32(x), n, h, w)
			if !errors.Is(err, deconv.ErrNonFinite) || !strings.Contains(err.Error(), want) {
				t.Fatalf("%v float32 %+v n=%d %d×%d, %d workers, %v at %d (image %d, group %d): %v", fam, g, n, h, w, workers32, bad, i, img, grp, err)
			}
		}
	}
}

// TestWinogradGroupedOverflowNamesOutput: finite weights that overflow
// float32 in one group only are ErrNonFinite naming an output of that
// group, in every family.
func TestWinogradGroupedOverflowNamesOutput(t *testing.T) {
	prev := isa.Selected()
	defer func() { _ = isa.Select(prev) }()
	g := ConvGeom{InChannels: 12, OutChannels: 8, Groups: 4, Algorithm: ConvWinograd,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	const n, h, w, grp = 3, 9, 11, 2
	wt := make([]float32, g.WeightLen())
	per := g.WeightLen() / g.Groups
	for i := grp * per; i < (grp+1)*per; i++ {
		wt[i] = 3e38
	}
	x := make([]float32, n*g.InChannels*h*w)
	for i := range x {
		x[i] = 1
	}
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		c, err := NewConv2d(g, wt, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Workers = 2
		err = c.Forward(make([]float32, n*g.OutChannels*h*w), x, n, h, w)
		var idx int
		if !errors.Is(err, deconv.ErrNonFinite) {
			t.Fatalf("%v: %v, want ErrNonFinite", fam, err)
		}
		if _, serr := fmt.Sscanf(err.Error()[strings.Index(err.Error(), "output["):], "output[%d]", &idx); serr != nil {
			t.Fatalf("%v: %v names no output", fam, err)
		}
		coutg := g.OutChannels / g.Groups
		if co := idx / (h * w) % g.OutChannels; co/coutg != grp {
			t.Errorf("%v: %v names output channel %d, of group %d, want group %d", fam, err, co, co/coutg, grp)
		}
	}
}
