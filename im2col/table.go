package im2col

import (
	"math"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
)

// maxTableOutputs bounds the outputs per plane (KernelH·KernelW·Positions)
// for which an Unfold plan of family f gathers through a table of source
// offsets instead of one strided run per tap and output row: below it a
// plane's runs are so short that their calls and setup cost more than the
// copy. Set by BenchmarkIm2colSmall (batch 8, 3×3, padding 1) on an
// Intel Xeon: with AVX-512 (the permute kernel) the table was 1.4–7×
// faster from 8×8 up to 64×64 at sampling stride 3 (4356 outputs), 28×28,
// 40×40 and 64×64 at stride 1 (7056, 14400, 36864) and 128×128 at stride
// 3 (16641; BenchmarkPaperIm2col, batch 32, 0.8× the CPU time), so it
// serves every plane gather.NewTable takes; with the generic loop
// (generic and AVX2) it was 1.3–4× faster at 8×8 and 16×16 (324 outputs),
// even at 32×32 (1089) and slower from 64×64 on. A plan's table and
// programs take about 17 bytes per output.
func maxTableOutputs(f isa.Family) int {
	if f == isa.AVX512 {
		return gather.MaxTableLen
	}
	return 1024
}

// unfoldTable returns the plan's offset table: for each output of one
// (image, channel) plane in Unfold order (tap-major, then the kept
// positions), the offset of its pixel in the plane, or −1 for padding.
// It returns nil when the plan is not an Unfold plan small enough.
func unfoldTable(pl *Plan) *gather.Table {
	p := pl.p
	if p.Layout != Unfold || p.FlatSampling || pl.rowSpans == nil || pl.colSpans == nil {
		return nil
	}
	if p.Height*p.Width > math.MaxInt32/2 { // ≤ SrcLen, no overflow
		return nil
	}
	n, limit := p.KernelH*p.KernelW, maxTableOutputs(pl.family) // n ≤ maxSpanTable², no overflow
	if n > limit || pl.positions > limit/n {
		return nil
	}
	return buildTable(pl)
}

// buildTable builds the offset table of any Unfold plan whose plane's
// outputs and pixels fit 32-bit offsets (unfoldTable applies the size
// rule; benchmarks call it directly to time the table beyond the rule).
func buildTable(pl *Plan) *gather.Table {
	t, err := gather.NewTable(unfoldOffsets(pl, pl.positions), pl.p.Height*pl.p.Width)
	if err != nil {
		return nil // cannot happen with the checks above; the strided path
	}
	return t
}

// unfoldOffsets returns the offsets of one (image, channel) plane's
// outputs in Unfold order, each tap's row ld long: the offset of the
// output's pixel in the plane, or −1 for padding and for the columns from
// the plan's positions to ld.
func unfoldOffsets(pl *Plan, ld int) []int32 {
	p := pl.p
	idx := make([]int32, 0, p.KernelH*p.KernelW*ld)
	for ki := range p.KernelH {
		rs := pl.rowSpan(ki)
		for kj := range p.KernelW {
			cs := pl.colSpan(kj)
			for oh := range pl.outH {
				for ow := range pl.outW {
					o := int32(-1)
					if oh >= rs.lo && oh < rs.hi && ow >= cs.lo && ow < cs.hi {
						h := rs.start + (oh-rs.lo)*pl.stepH
						w := cs.start + (ow-cs.lo)*pl.stepW
						o = int32(h*p.Width + w)
					}
					idx = append(idx, o)
				}
			}
			for range ld - pl.positions {
				idx = append(idx, -1)
			}
		}
	}
	return idx
}

// unfoldTab returns the plan's offset table, building it on first use
// (safe for concurrent callers), or nil when the plan has none.
func (pl *Plan) unfoldTab() *gather.Table {
	pl.tableOnce.Do(pl.initTable)
	return pl.table
}

func (pl *Plan) initTable() { pl.table = unfoldTable(pl) }

// unfoldByTable writes the Unfold output of (image, channel) planes
// [lo, hi) through the plan's table: their outputs are contiguous in dst,
// and their planes in src.
func unfoldByTable[T Float](pl *Plan, dst, src []T, k kernels[T], lo, hi int) {
	n, planeLen := pl.table.Len(), pl.table.PlaneLen()
	k.table(dst[lo*n:hi*n], src[lo*planeLen:hi*planeLen], pl.table)
}

// blockTable is the offset table of UnfoldBlock's whole-image block with
// leading dimension ld: each channel's KernelH·KernelW rows of ld
// elements, the columns past the plan's positions zero (offset −1).
type blockTable struct {
	ld int
	t  *gather.Table // nil: the block is not worth a table
}

// blockTab returns the table of a whole-image block with leading
// dimension ld for an Unfold-style plan whose planes the table rule
// admits (the convolution's direct path calls UnfoldBlock with whole
// small images, where one strided run per tap and channel costs more than
// the copy), or nil. A convolution asks with one ld per shape, so the
// table is built once; a new ld builds a new one, which replaces the old
// for every later caller (a Table is immutable, so racing builders are
// harmless).
func (pl *Plan) blockTab(ld int) *gather.Table {
	if bt := pl.blockTable.Load(); bt != nil && bt.ld == ld {
		return bt.t
	}
	bt := &blockTable{ld: ld, t: buildBlockTable(pl, ld)}
	pl.blockTable.Store(bt)
	return bt.t
}

// buildBlockTable builds blockTab's table, or returns nil when the plan is
// not an Unfold plan small enough (the rule of unfoldTable, counted on the
// padded rows).
func buildBlockTable(pl *Plan, ld int) *gather.Table {
	p := pl.p
	if p.FlatSampling || pl.rowSpans == nil || pl.colSpans == nil || ld < pl.positions {
		return nil
	}
	if p.Height*p.Width > math.MaxInt32/2 {
		return nil
	}
	kk, limit := p.KernelH*p.KernelW, maxTableOutputs(pl.family)
	if kk > limit || ld > limit/kk {
		return nil
	}
	t, err := gather.NewTable(unfoldOffsets(pl, ld), p.Height*p.Width)
	if err != nil {
		return nil
	}
	return t
}
