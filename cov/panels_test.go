package cov

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
)

// panelShapes are convolutions whose covariances have F = 1, 2, 9, 17, 63,
// 65, 72 and 576 features, with sample counts that are not multiples of a
// panel (256) or a chunk (4096 rows), groups that fill several column
// blocks with a partial last one, and shared covariances of one or several
// blocks per window.
func panelShapes() []Params {
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	k1 := deconv.Geometry{KernelH: 1, KernelW: 1}
	return []Params{
		{Batch: 2, Channels: 130, Height: 20, Width: 19, Groups: 130, Geometry: k3},           // depthwise, F = 9, 3 blocks
		{Batch: 3, Channels: 6, Height: 41, Width: 37, Groups: 3, Geometry: k1},               // F = 2, several chunks
		{Batch: 1, Channels: 5, Height: 30, Width: 30, Groups: 5, Geometry: k1},               // F = 1
		{Batch: 2, Channels: 34, Height: 13, Width: 11, Groups: 2, Geometry: k1, Sampling: 1}, // F = 17
		{Batch: 2, Channels: 14, Height: 17, Width: 15, Groups: 2, Geometry: k3, Sampling: 2}, // F = 63
		{Batch: 1, Channels: 130, Height: 9, Width: 8, Groups: 2, Geometry: k1},               // F = 65
		{Batch: 2, Channels: 64, Height: 16, Width: 16, Groups: 8, Geometry: k3, Sampling: 3}, // F = 72
		{Batch: 2, Channels: 64, Height: 24, Width: 24, Block: 64, Geometry: k3, Sampling: 1}, // F = 576, shared
		{Batch: 3, Channels: 12, Height: 45, Width: 47, Block: 4, Geometry: k3, Sampling: 1},  // 3 blocks per window, several chunks
		{Batch: 2, Channels: 12, Height: 10, Width: 12, Block: 5, Geometry: k3, Grouping: 1},  // gcd block, contiguous
		// The strips of the gather: taps that read neighbouring pixels and
		// land in neighbouring lanes move together, under per-window
		// masks where some read padding.
		{Batch: 2, Channels: 6, Height: 19, Width: 23, Block: 6, Geometry: deconv.Square(5, 1, 2, 1), Sampling: 2},                         // strips of 5, two padded windows per side
		{Batch: 1, Channels: 4, Height: 21, Width: 22, Block: 2, Geometry: deconv.Square(9, 1, 4, 1), Sampling: 1},                         // strips of 8 and 1 (a 9-wide row)
		{Batch: 2, Channels: 8, Height: 17, Width: 18, Groups: 2, Geometry: deconv.Square(3, 1, 2, 2), Sampling: 1},                        // dilation: strips of 1
		{Batch: 2, Channels: 10, Height: 15, Width: 16, Block: 10, Geometry: deconv.Square(3, 2, 1, 1), Sampling: 2},                       // conv stride 2: step 4
		{Batch: 1, Channels: 7, Height: 12, Width: 40, Block: 7, Geometry: deconv.Geometry{KernelH: 1, KernelW: 4, PadW: 3}, Sampling: 1},  // 1×4, padding wider than half
		{Batch: 2, Channels: 24, Height: 11, Width: 13, Block: 8, Geometry: deconv.Geometry{KernelH: 3, KernelW: 2, PadH: 1}, Sampling: 3}, // 3×2, interleaved blocks (strips of 1)
		{Batch: 3, Channels: 4, Height: 5, Width: 3, Block: 4, Geometry: deconv.Square(3, 1, 1, 1), Sampling: 1},                           // a row narrower than the kernel with padding
		{Batch: 1, Channels: 48, Height: 33, Width: 35, Groups: 16, Geometry: k3, Sampling: 1},                                             // F = 27, Workers 1 below
	}
}

// TestPanelsAgainstOracle checks the panel path, and the dense path it
// replaced, against the materialized float64 oracle on shapes chosen to
// exercise the panel path's edges.
func TestPanelsAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i, p := range panelShapes() {
		p.Eps = 1e-5
		if i == len(panelShapes())-1 {
			p.Workers = 1
		}
		pl, err := NewPlan(p)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		x := randData(rng, pl.SrcLen(), p.Height*p.Width)
		rows := oracleConvRows(p, x)
		var wm, wc [][]float64
		for _, r := range rows {
			m, c := oracleMoments(r, p.Eps, false)
			wm, wc = append(wm, m), append(wc, c)
		}
		for _, dense := range []bool{false, true} {
			testForceDense = dense
			checkAgainst(t, fmt.Sprintf("F=%d G=%d dense=%v %+v", pl.Features(), pl.Groups(), dense, p), pl, x, wm, wc)
		}
		testForceDense = false
	}
}

// TestPanelsNonFinite: a NaN or an Inf in any group is reported, by the
// panel path as by the dense one.
func TestPanelsNonFinite(t *testing.T) {
	for _, p := range panelShapes()[:3] {
		pl, err := NewPlan(p)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, pl.SrcLen())
		for i := range x {
			x[i] = float32(i%7) * 0.25
		}
		// The first pixel of the last group's last channel: the first
		// window reads it, whatever the sampling.
		x[(p.Channels-1)*p.Height*p.Width] = float32(math.Inf(1))
		mean, c := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
		if err := Compute(pl, mean, c, x); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("%+v: %v, want ErrNonFinite", p, err)
		}
	}
}

// TestGroupedAllocatesNothing: grouped plans (blocks of groups, one or
// several chunks) allocate nothing per call once warm.
func TestGroupedAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, p := range panelShapes()[:2] {
		p.Workers = 2
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
		if a := testing.AllocsPerRun(20, func() { _ = Compute(pl, mean, cv, x) }); a != 0 {
			t.Errorf("%+v: Compute allocated %v times per call", p, a)
		}
	}
}

// TestChunkSamples checks that the chunks of a batch cover its samples in
// order, each at least one panel and at most as many panels as chunks of
// perChunk would hold, the sizes differing by one panel at most, for
// counts as batchMoments makes them (chunkCount: even unless one chunk or
// one panel per chunk).
func TestChunkSamples(t *testing.T) {
	for _, perPanel := range []int{1, 3, 256} {
		for _, samples := range []int{1, 2, 255, 256, 257, 4095, 4097, 59168, 1e6 + 3} {
			for _, perChunk := range []int{1, 2, 16} {
				panels := (samples + perPanel - 1) / perPanel
				chunks := chunkCount(panels, perChunk)
				if chunks%2 != 0 && chunks != 1 && chunks != panels {
					t.Fatalf("perPanel %d, samples %d, perChunk %d: %d chunks of %d panels", perPanel, samples, perChunk, chunks, panels)
				}
				next, lo, hi := 0, panels, 0
				for ci := 0; ci < chunks; ci++ {
					s0, s1 := chunkSamples(ci, chunks, panels, perPanel, samples)
					n := (s1 - s0 + perPanel - 1) / perPanel
					if s0 != next || s1 <= s0 || s0%perPanel != 0 || n > perChunk {
						t.Fatalf("perPanel %d, samples %d, perChunk %d: chunk %d of %d is %d…%d after %d", perPanel, samples, perChunk, ci, chunks, s0, s1, next)
					}
					lo, hi = min(lo, n), max(hi, n)
					next = s1
				}
				if next != samples || hi-lo > 1 {
					t.Fatalf("perPanel %d, samples %d, perChunk %d: chunks end at %d, sizes %d…%d panels", perPanel, samples, perChunk, next, lo, hi)
				}
			}
		}
	}
}
