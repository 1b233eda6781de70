package im2col

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netdeconv/deconv"
)

// transform is one entry point of the package at a fixed plan, with the
// lengths of its two slices: out is written, in is read.
type transform struct {
	name       string
	pl         *Plan
	outN, inN  int
	run        func(out, in []float32) error
	wantsBlock bool // UnfoldBlock: out is a strided block, not exact
}

// transforms lists every transform on small plans of every kind: Rows,
// Unfold, FlatSampling, their adjoints, and UnfoldBlock.
func transforms(t *testing.T, workers int) []transform {
	t.Helper()
	g := deconv.Geometry{KernelH: 3, KernelW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 0, DilationH: 2, DilationW: 1}
	mk := func(p Params) *Plan {
		p.Workers = workers
		pl, err := NewPlan(p)
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	base := Params{Batch: 3, Channels: 4, Height: 9, Width: 8, Geometry: g}
	rowsPl := mk(base)
	unf := base
	unf.Layout = Unfold
	unfPl := mk(unf)
	flat := Params{Batch: 3, Channels: 4, Height: 16, Width: 16, FlatSampling: true, Sampling: 2,
		Geometry: deconv.Geometry{KernelH: 1, KernelW: 1}}
	flatPl := mk(flat)
	var ts []transform
	for _, c := range []struct {
		name string
		pl   *Plan
	}{{"rows", rowsPl}, {"unfold", unfPl}, {"flat", flatPl}} {
		pl := c.pl
		ts = append(ts,
			transform{name: "Im2col/" + c.name, pl: pl, outN: pl.DstLen(), inN: pl.SrcLen(),
				run: func(out, in []float32) error { return Im2col(pl, out, in) }},
			transform{name: "Col2im/" + c.name, pl: pl, outN: pl.SrcLen(), inN: pl.DstLen(),
				run: func(out, in []float32) error { return Col2im(pl, out, in) }})
	}
	ld := 2 * unfPl.OutW()
	ts = append(ts, transform{name: "UnfoldBlock", pl: unfPl, outN: (unfPl.Cols()-1)*ld + ld, inN: unfPl.SrcLen(), wantsBlock: true,
		run: func(out, in []float32) error { return UnfoldBlock(unfPl, out, ld, in, 1, 1, 3) }})
	return ts
}

// TestExactLengths: a slice one element short or long is ErrShape naming
// both numbers (the old transforms took any longer slice and used its
// prefix). UnfoldBlock's strided destination may be longer.
func TestExactLengths(t *testing.T) {
	for _, tr := range transforms(t, 1) {
		for _, d := range []int{-1, 1} {
			for _, c := range [][2]int{{tr.outN, tr.inN + d}, {tr.outN + d, tr.inN}} {
				if tr.wantsBlock && d > 0 && c[0] != tr.outN {
					continue // a longer block buffer is allowed
				}
				err := tr.run(make([]float32, c[0]), make([]float32, c[1]))
				if !errors.Is(err, deconv.ErrShape) {
					t.Errorf("%s: lengths %d, %d (want %d, %d): %v, want ErrShape", tr.name, c[0], c[1], tr.outN, tr.inN, err)
					continue
				}
				bad, want := c[0], tr.outN
				if c[1] != tr.inN {
					bad, want = c[1], tr.inN
				}
				if msg := err.Error(); !strings.Contains(msg, fmt.Sprint(bad)) || !strings.Contains(msg, fmt.Sprint(want)) {
					t.Errorf("%s: %q does not name %d and %d", tr.name, msg, bad, want)
				}
			}
		}
		if err := tr.run(make([]float32, tr.outN), make([]float32, tr.inN)); err != nil {
			t.Errorf("%s: exact lengths: %v", tr.name, err)
		}
	}
}

// TestOverlap: every transform refuses a destination that shares memory
// with its input (the 1×1 Im2col used to run in place and return wrong
// values with a nil error).
func TestOverlap(t *testing.T) {
	for _, tr := range transforms(t, 1) {
		buf := make([]float32, tr.outN+tr.inN)
		for _, shift := range []int{0, 1, tr.inN / 2, tr.outN - 1} {
			if shift < 0 || shift+tr.inN > len(buf) || shift >= tr.outN {
				continue
			}
			out, in := buf[:tr.outN], buf[shift:shift+tr.inN]
			if err := tr.run(out, in); !errors.Is(err, deconv.ErrOverlap) {
				t.Errorf("%s: input at offset %d of the output: %v, want ErrOverlap", tr.name, shift, err)
			}
		}
		if err := tr.run(buf[:tr.outN], buf[tr.outN:]); err != nil {
			t.Errorf("%s: adjacent slices: %v", tr.name, err)
		}
	}
	// The 1×1 transform whose output has the input's length, in place.
	pl, err := NewPlan(Params{Batch: 2, Channels: 3, Height: 4, Width: 5, Geometry: deconv.Geometry{KernelH: 1, KernelW: 1}, Layout: Unfold})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, pl.SrcLen())
	if pl.DstLen() != len(x) {
		t.Fatalf("1×1 plan: %d ≠ %d", pl.DstLen(), len(x))
	}
	if err := Im2col(pl, x, x); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("in-place 1×1 Im2col: %v, want ErrOverlap", err)
	}
	if err := Col2im(pl, x, x); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("in-place 1×1 Col2im: %v, want ErrOverlap", err)
	}
}

// TestNoAllocs: every transform at a fixed shape allocates nothing after
// its first call, on one worker and on two.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	for _, workers := range []int{1, 2} {
		for _, tr := range transforms(t, workers) {
			out, in := make([]float32, tr.outN), make([]float32, tr.inN)
			if allocs := testing.AllocsPerRun(20, func() {
				if err := tr.run(out, in); err != nil {
					t.Fatal(err)
				}
			}); allocs > 0 {
				t.Errorf("%s, %d workers: %v allocations per call", tr.name, workers, allocs)
			}
		}
	}
	// The paper layer's shape, whose items are staged and streamed.
	pl, err := NewPlan(Params{Batch: 2, Channels: 64, Height: 32, Width: 32, Sampling: 3,
		Geometry: deconv.Square(3, 1, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	src, dst := make([]float32, pl.SrcLen()), make([]float32, pl.DstLen())
	if allocs := testing.AllocsPerRun(5, func() { _ = Im2col(pl, dst, src) }); allocs > 0 {
		t.Errorf("paper layer: %v allocations per call", allocs)
	}
}

// TestWorkersObeyed counts the parts (each on its own goroutine) that
// enter the transforms: Params.Workers = 1 and 2 are obeyed, 0 follows
// deconv.SetThreads, and a negative count is refused by NewPlan.
func TestWorkersObeyed(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	var parts atomic.Int64
	testHookPart = func() { parts.Add(1) }
	defer func() { testHookPart = nil }()
	check := func(workers, want int) {
		t.Helper()
		for _, tr := range transforms(t, workers) {
			if tr.wantsBlock {
				continue // runs on its caller's goroutine by design
			}
			out, in := make([]float32, tr.outN), make([]float32, tr.inN)
			parts.Store(0)
			if err := tr.run(out, in); err != nil {
				t.Fatal(err)
			}
			calls := int64(1)
			if strings.HasPrefix(tr.name, "Col2im/flat") {
				calls = 2 // clears, then scatters
			}
			if got := parts.Load(); got != calls*int64(want) {
				t.Errorf("%s, Workers %d: %d parts, want %d", tr.name, workers, got, calls*int64(want))
			}
		}
	}
	check(1, 1)
	check(2, 2)
	if err := deconv.SetThreads(1); err != nil {
		t.Fatal(err)
	}
	check(0, 1)
	_ = deconv.SetThreads(2)
	check(0, 2)
	_ = deconv.SetThreads(0)
	if _, err := NewPlan(Params{Batch: 1, Channels: 1, Height: 3, Width: 3, Workers: -1, Geometry: deconv.Square(1, 1, 0, 1)}); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("Workers −1: %v, want ErrParam", err)
	}
}

// TestHugeGeometry: paddings and dilations near 2³¹ and 2⁶² on tiny
// images either plan and agree with the reference, or fail with a
// sentinel; a plan never allocates in proportion to them.
func TestHugeGeometry(t *testing.T) {
	for _, big := range []int{1<<31 - 1, 1 << 31, 1<<31 + 1, 1 << 32, 1 << 62, math.MaxInt / 2, math.MaxInt} {
		for _, g := range []deconv.Geometry{
			{KernelH: 2, KernelW: 3, PadH: big, PadW: big, StrideH: big, StrideW: big},
			{KernelH: 2, KernelW: 2, PadH: big / 2, PadW: 1, DilationH: big, StrideH: big},
			{KernelH: 3, KernelW: 1, PadH: big / 3, DilationH: big / 3, StrideH: big / 2},
			{KernelH: 1 << 20, KernelW: 1, PadH: 1 << 20, StrideH: 1 << 19},
		} {
			for _, layout := range []Layout{Rows, Unfold} {
				p := Params{Batch: 1, Channels: 2, Height: 2, Width: 3, Geometry: g, Layout: layout}
				pl, err := NewPlan(p)
				if err != nil {
					if !isSentinel(err) {
						t.Errorf("%+v: %v is not a sentinel", p, err)
					}
					continue
				}
				if pl.DstLen() > 1<<22 {
					continue
				}
				src := make([]float64, pl.SrcLen())
				for i := range src {
					src[i] = float64(i + 1)
				}
				got := make([]float64, pl.DstLen())
				if err := Im2col(pl, got, src); err != nil {
					t.Fatal(err)
				}
				want := refLayout(pl, refIm2col(pl.Params(), src))
				if j := firstDiff(got, want); j >= 0 {
					t.Fatalf("%+v: element %d = %v, want %v", p, j, got[j], want[j])
				}
			}
		}
	}
}

func isSentinel(err error) bool {
	for _, e := range deconv.Errors() {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
