package fold

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/winograd"
)

// The Winograd path of Conv2d: F(4×4, 3×3) (package internal/winograd).
//
// Why F(4,3): it needs 36 products per 16 outputs (4× fewer than the
// direct 144), and its float32 error is about 2e-6 relative (Frobenius),
// a factor 5 inside the 1e-5 the path promises (TestWinogradErrorGrows-
// WithTileSize measured direct 2.7e-7, F(2,3) 2.6e-7, F(4,3) 1.8e-6 and
// F(6,3) 3.8e-6 on a 64→64 layer). F(6,3) would save another 1.26× in
// the products, but its transforms, run as 64×64 and 36×64 Kronecker
// GEMMs, cost more than that saving (per output and per 64→128 layer
// about 235 multiply-adds against F(4,3)'s 220), its edge tiles waste more
// of small images, and it halves the accuracy margin; F(2,3) saves only
// 2.25× in the products. The transforms run as GEMMs with the 36×36 and
// 16×36 Kronecker matrices on the same micro-kernels as the products,
// except the float32 input transform on AVX-512, which has a separable
// kernel fused with the gather (winograd.GatherInput).

// One work item takes one group's channels over a span of tile rows (of
// one image or several small ones) and runs four stages in two pooled
// buffers that stay in the L2 and L3 caches:
//
//  1. gather the group's 6×6 input tiles, tiles innermost (buffer 1);
//  2. V = Bᵀ·d·B for the group's channels at once (buffer 2): separably,
//     by the AVX-512 kernel of winograd.InputTransform for float32, or
//     else as one GEMM by the Kronecker matrix Bᵀ⊗Bᵀ. For float32 F(4,3)
//     on AVX-512, winograd.GatherInput runs stages 1 and 2 fused, from
//     the input rows straight into buffer 2;
//  3. for each of the 36 positions, M_ξ = U_ξ·V_ξ (the group's output
//     channels × tiles, tiles innermost: buffer 1; U_ξ, stored
//     transposed, and V_ξ are read in place by the micro-kernels);
//  4. where package winograd has an output kernel (float32 F(4,3) with
//     AVX-512), Y = Aᵀ·M·A with the bias, written into the output in one
//     pass (winograd.Output); elsewhere Y = (Aᵀ⊗Aᵀ)·M as a GEMM (buffer 2),
//     scattered into the output with the bias (winograd.Scatter); then
//     the output rows are checked for overflow while in cache.
//
// The products have the tiles innermost so that the output kernel reads
// 16 tiles of one channel and position as one vector.
//
// Why items per group: an item covering every group's channels reads all
// the transformed filters (36 × Cin/groups × Cout: 4.7 MB on Table 3's
// row 04, 256→512 in 4 groups) for a span of about 32 tiles, the budget
// being divided among all channels, so every item re-read them from L3 or
// memory; an item of one group reads its group's quarter and holds about
// 3 times the tiles. The forward ran 1.9× faster on that row (35 against
// 68 ms CPU time per call at batch 8, BenchmarkBlockedTune and the
// former path's BenchmarkGroupedTune side by side). With one group the
// items are as before.

// winoBudget is the number of elements of one stage's buffer per work
// item: 1 MiB of float32, so that a position's operands of stage 3 stay
// in L2 and the item's buffers in the shared L3.
var winoBudget = 1 << 19

// winoGroupBudget is winoBudget for the items of grouped layers (one
// group's channels each): 1.5 MiB of float32, 64 tiles per item on
// Table 3's rows 03 and 04 (64→128 channels per group). Measured at batch
// 8 (CPU time per call, BenchmarkWinogradGroupedBudget, four alternating
// runs on a loaded machine): 4% faster than winoBudget's 96 tiles on
// row 04 and 1.5% on row 03 (9% and 5% in an earlier run), about 5%
// faster than half of it (32 tiles) on row 04; 2 MiB and more ran
// 1.2–1.6× slower (the buffers outgrow L2). One group keeps winoBudget:
// its 32×32 64→64 layer ran 10% slower with this one.
var winoGroupBudget = 3 << 17

// mayUseWinograd reports whether calls may take the Winograd path, so the
// transformed weights are worth keeping (useWinogradGrouped adds the
// grouped layers, whose rule depends on the element type and family; a
// family selected later that takes the path transforms the weights per
// call, as for unpublished weights).
func (g ConvGeom) mayUseWinograd() bool {
	switch g.Algorithm {
	case ConvWinograd:
		return true
	case ConvDirect, ConvBlocked:
		return false
	}
	return g.useWinograd(winogradMinOutput, winogradMinOutput)
}

// tile returns the layer's Winograd algorithm (F(4,3) unless a test set
// another).
func (c *Conv2d[T]) tile() *winograd.Tile {
	if c.wtile != nil {
		return c.wtile
	}
	return winograd.F43
}

// store publishes a weight set, with its Winograd transform and its
// packing for the blocked path when the layer may use them, computed once
// per weight change.
func (c *Conv2d[T]) store(p *weights[T]) {
	if g := c.geom; g.mayUseWinograd() || useWinogradGrouped[T](g, math.MaxInt, math.MaxInt) {
		tl := c.tile()
		p.wino = make([]T, winoFilterLen[T](g, tl))
		winograd.FilterTransform(tl, p.wino, p.weight, g.OutChannels, g.InChannels/g.Groups, filterStride[T](g.OutChannels))
	}
	if g := c.geom; g.mayUseBlocked() && len(p.weight) > 0 {
		var z T
		if _, ok := any(z).(float32); ok || g.Algorithm == ConvBlocked {
			p.blocked = packBlocked(p.weight, g)
		}
	}
	c.p.Store(p)
}

// winoFilters returns the transformed filters of weight: the published
// ones when weight is the published weight set, or a transform computed
// into the workspace on up to workers goroutines (a FastDeconv's
// batch-folded weights in training).
func (c *Conv2d[T]) winoFilters(wk *convWork[T], weight []T, workers int) []T {
	if p := c.p.Load(); p.wino != nil && len(p.weight) > 0 && &p.weight[0] == &weight[0] {
		return p.wino
	}
	g, tl := c.geom, c.tile()
	n := winoFilterLen[T](g, tl)
	if cap(wk.wino.ubuf) < n {
		wk.wino.ubuf = make([]T, n)
	}
	u := wk.wino.ubuf[:n]
	wk.wino.filt.transform(tl, u, weight, g.OutChannels, g.InChannels/g.Groups, filterStride[T](g.OutChannels), workers)
	return u
}

// filterRun is winograd.FilterTransform split by output channels over the
// forward's goroutines: a training forward transforms its freshly folded
// filters every call (128×64 kernels of 3×3 take milliseconds), and on one
// goroutine the others would wait for it. Each kernel's transform is the
// same wherever it runs.
type filterRun[T Float] struct {
	tile                  *winograd.Tile
	u, w                  []T
	cout, cin, ldu, parts int
}

// filterSplitMin is the number of kernels from which the transform is
// split: below, it takes less than handing it out costs.
const filterSplitMin = 1024

// transform is FilterTransform(tl, u, w, cout, cin, ldu) on up to workers
// goroutines.
func (f *filterRun[T]) transform(tl *winograd.Tile, u, w []T, cout, cin, ldu, workers int) {
	parts := min(parallel.Workers(workers), cout)
	if parts <= 1 || cout*cin < filterSplitMin {
		winograd.FilterTransform(tl, u, w, cout, cin, ldu)
		return
	}
	*f = filterRun[T]{tile: tl, u: u, w: w, cout: cout, cin: cin, ldu: ldu, parts: parts}
	parallel.Run(f, parts)
	*f = filterRun[T]{} // no reference to the buffers kept
}

// RunPart transforms the kernels of output channels [i·cout/parts,
// (i+1)·cout/parts) (parallel.Parts): their columns of u.
func (f *filterRun[T]) RunPart(i int) {
	co0, co1 := i*f.cout/f.parts, (i+1)*f.cout/f.parts
	k := f.cin * f.tile.R * f.tile.R
	winograd.FilterTransform(f.tile, f.u[co0:], f.w[co0*k:co1*k], co1-co0, f.cin, f.ldu)
}

// winoFilterLen is the length of the transformed filters: α² blocks of
// InChannels/Groups rows of filterStride(OutChannels).
func winoFilterLen[T Float](g ConvGeom, tl *winograd.Tile) int {
	return tl.Alpha * tl.Alpha * g.InChannels / g.Groups * filterStride[T](g.OutChannels)
}

// winoRun is the state one Winograd forward shares with its workers; it
// lives in the pooled workspace and its body is bound once.
type winoRun[T Float] struct {
	tile                     *winograd.Tile
	geom                     ConvGeom
	dst, x, u, bias          []T
	n, h, w, oh, ow, th, tw  int
	rowsPer, ld, rsIn, rsOut int
	spans, spansPerImage     int  // spans of tile rows per group, per image
	perImage                 bool // spans end at images' last tile rows
	ldu                      int
	size1, size2             int
	fam                      isa.Family
	outKernel                bool // stage 4 by winograd.Output
	fused                    bool // stages 1 and 2 by winograd.GatherInput
	stream                   bool // its stores non-temporal
	finite                   gather.FiniteFunc[T]
	strided                  gather.Strided2DFunc[T]
	stridedFam               isa.Family
	fe                       firstError
	body                     func(lo, hi int)
	ubuf                     []T // transformed filters of unpublished weights
	filt                     filterRun[T]
}

// forwardWinograd is forward's Winograd path, for validated shapes.
func (c *Conv2d[T]) forwardWinograd(wk *convWork[T], dst, x []T, n, h, w, oh, ow int, weight, bias []T, workers int) error {
	g := c.geom
	r := &wk.wino
	r.tile = c.tile()
	workers = parallel.Workers(workers)
	r.u = c.winoFilters(wk, weight, workers)
	a2, m2 := r.tile.Alpha*r.tile.Alpha, winograd.OutputRows(r.tile)
	r.geom, r.dst, r.x, r.bias = g, dst, x, bias
	r.n, r.h, r.w, r.oh, r.ow = n, h, w, oh, ow
	r.th, r.tw = winograd.Tiles(r.tile, oh, ow)
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	r.fam = isa.Selected()
	// Gather (the path without the fused kernel) writes a span per call,
	// and a group's span can be one call only within one image.
	r.fused = winograd.HasGatherInput[T](r.fam, r.tile)
	r.perImage = g.Groups > 1 && !r.fused
	r.rowsPer, r.spans, r.spansPerImage = winoSpans(g, n, r.th, r.tw, a2, workers, r.perImage)
	r.ld = padStride[T](r.rowsPer * r.tw)
	r.rsIn = padStride[T](cg * r.ld)
	r.ldu = filterStride[T](g.OutChannels)
	r.rsOut = padStride[T](coutg * r.ld)
	r.outKernel = winograd.HasOutputKernel[T](r.fam, r.tile)
	r.stream = len(dst)*int(unsafe.Sizeof(dst[0])) >= winoStreamBytes
	r.size1 = max(a2*r.rsIn, a2*r.rsOut)
	r.size2 = a2 * r.rsIn
	if !r.outKernel {
		r.size2 = max(r.size2, m2*r.rsOut)
	}
	r.finite = gather.FiniteFor[T](r.fam)
	if r.strided == nil || r.stridedFam != r.fam {
		// Looked up once per family: a generic function value allocates.
		r.strided, r.stridedFam = gather.Strided2DFor[T](r.fam), r.fam
	}
	r.fe.err = nil
	parallel.For(g.Groups*r.spans, workers, r.body)
	err := r.fe.err
	r.dst, r.x, r.u, r.bias, r.fe.err = nil, nil, nil, nil, nil // keep no caller data alive
	return err
}

// winoSpans returns how forwardWinograd cuts each group's n·th tile rows
// of tw tiles into spans, one work item each: rowsPer tile rows a span,
// spans spans per group, and, with perImage, spansPerImage spans per image
// (the spans then end at each image's last tile row). A span holds as
// many tiles as winoBudget (winoGroupBudget with several groups) allows
// for one group's channels, at most winoMaxTiles, but few enough that
// every worker gets several items.
func winoSpans(g ConvGeom, n, th, tw, a2, workers int, perImage bool) (rowsPer, spans, spansPerImage int) {
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	rows := n * th
	budget := winoBudget
	if g.Groups > 1 {
		budget = winoGroupBudget
	}
	per := min(winoMaxTiles, max(16, budget/(a2*max(cg, coutg))))
	minSpans := max(1, (4*workers+g.Groups-1)/g.Groups)
	limit := max(1, min(per/tw, (rows+minSpans-1)/minSpans))
	if perImage {
		limit = min(limit, th)
	}
	rowsPer = winoRows(limit, tw)
	if perImage {
		spansPerImage = (th + rowsPer - 1) / rowsPer
		return rowsPer, n * spansPerImage, spansPerImage
	}
	return rowsPer, (rows + rowsPer - 1) / rowsPer, 0
}

// filterStride is the row length of the transformed filters: padStride,
// and not a multiple of 512 bytes either. The products read the filters
// in place as their transposed left operand, a few elements from each
// of cg rows; rows 512 bytes apart crowd into an eighth of L1's sets, and
// the products ran about 10% slower (BenchmarkWinogradProducts).
func filterStride[T Float](cout int) int {
	var z T
	ld := padStride[T](cout)
	if ld*int(unsafe.Sizeof(z))%512 == 0 {
		ld += 16
	}
	return ld
}

// winoMaxTiles bounds the tiles of a work item: the columns of its
// products, up to which the GEMM engine reads the operands in place
// (gemm's small-matrix path).
const winoMaxTiles = 256

// winoRows returns the tile rows per item, at most limit: the count
// whose tiles (rows·tw, the column count of the products) waste the
// least of the micro-kernels' column panels (32 columns, a multiple of
// every family's), preferring more rows on ties. A partial panel costs a
// whole panel's arithmetic.
func winoRows(limit, tw int) int {
	best, bestWaste := 1, 2.0
	for rows := 1; rows <= limit; rows++ {
		nt := rows * tw
		waste := float64((nt+31)/32*32-nt) / float64(nt)
		if waste <= bestWaste {
			best, bestWaste = rows, waste
		}
	}
	return best
}

// winoStreamBytes is the output size from which the output kernel writes
// with non-temporal stores: well past the caches, where the output would
// be evicted before the next layer reads it anyway.
const winoStreamBytes = 64 << 20

// padStride rounds a row length up to a multiple of 16 elements that is
// not a multiple of 1 KiB, so the micro-kernels can read the rows in
// place without cache-set conflicts.
func padStride[T Float](n int) int {
	var z T
	ld := (n + 15) &^ 15
	if ld*int(unsafe.Sizeof(z))%1024 == 0 {
		ld += 16
	}
	return ld
}

// items runs work items [lo, hi): item i is group i/spans's span i%spans
// of tile rows (winoRun.span), so the items of one group are consecutive
// and a worker's items share their group's transformed filters in cache.
func (r *winoRun[T]) items(lo, hi int) {
	g, tl := r.geom, r.tile
	a2, m2 := tl.Alpha*tl.Alpha, winograd.OutputRows(tl)
	C := g.InChannels
	cg, coutg := C/g.Groups, g.OutChannels/g.Groups
	b1, b2 := getScratch[T](r.size1), getScratch[T](r.size2)
	b3 := getScratch[T](winograd.BandLen(tl, r.tw))
	defer putScratch(b1)
	defer putScratch(b2)
	defer putScratch(b3)
	buf1, buf2 := *b1, *b2
	kin, kout := winograd.InputMatrix[T](tl), winograd.OutputMatrix[T](tl)
	plane := r.h * r.w
	fused := r.fused
	for item := lo; item < hi; item++ {
		grp := item / r.spans
		row0, row1 := r.span(item % r.spans)
		nt := (row1 - row0) * r.tw
		if fused {
			// The kernel checks the input rows it reads; every input row
			// is read by some item.
			for s0 := row0; s0 < row1; {
				s1, xo, _, l0, l1 := r.segment(grp, s0, row1)
				if _, finite := winograd.GatherInput(r.fam, tl, buf2[(s0-row0)*r.tw:], r.rsIn, r.ld, r.x[xo:], cg, r.h, r.w, g.PadH, g.PadW, r.th, r.tw, l0, l1, *b3); !finite {
					if err := r.inputError(grp, s0, s1); err != nil {
						r.fe.set(err)
						return
					}
					// Finite input that overflowed in the transform: the
					// output check reports it.
				}
				s0 = s1
			}
		} else {
			// Each image's input (its group's channels) is checked by the
			// item holding its first tile row.
			for row := row0; row < row1; row++ {
				if img := row / r.th; row%r.th == 0 {
					off := (img*C + grp*cg) * plane
					if src := r.x[off : off+cg*plane]; !r.finite(src) {
						r.fe.set(nonFinite(src, "input", off))
						return
					}
				}
			}
			// One segment: Gather zeroes its span's columns up to ld, so
			// the spans of grouped layers stay within an image here
			// (winoRun.perImage).
			s1, xo, _, l0, l1 := r.segment(grp, row0, row1)
			if s1 != row1 {
				// An internal invariant, not bad input: the span would be
				// gathered in part and the rest of its output computed
				// from stale columns.
				panic(fmt.Sprintf("fold: Winograd span of tile rows [%d, %d) of group %d crosses an image of %d tile rows on the gather path (segment ends at %d)", row0, row1, grp, r.th, s1))
			}
			winograd.Gather(tl, buf1, r.rsIn, r.ld, r.x[xo:], cg, r.h, r.w, g.PadH, g.PadW, r.th, r.tw, l0, l1, *b3, r.strided)
			if !winograd.InputTransform(r.fam, tl, buf2, buf1, r.rsIn, cg, r.ld, nt) {
				if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, a2, cg*r.ld, a2, 1, kin, a2, buf1, r.rsIn, 0, buf2, r.rsIn); err != nil {
					r.fe.set(err)
					return
				}
			}
		}
		for xi := 0; xi < a2; xi++ {
			// M_ξ (coutg × nt) = U_ξ·V_ξ, U_ξ stored transposed.
			if err := gemm.GemmDense(1, gemm.Trans, gemm.NoTrans, coutg, nt, cg,
				1, r.u[xi*cg*r.ldu+grp*coutg:], r.ldu, buf2[xi*r.rsIn:], r.ld,
				0, buf1[xi*r.rsOut:], r.ld); err != nil {
				r.fe.set(err)
				return
			}
		}
		var bias []T
		if r.bias != nil {
			bias = r.bias[grp*coutg : (grp+1)*coutg]
		}
		transformed := false // Y = (Aᵀ⊗Aᵀ)·M computed into buffer 2
		for s0 := row0; s0 < row1; {
			s1, _, do, l0, l1 := r.segment(grp, s0, row1)
			ran, finite := false, false
			if r.outKernel {
				ran, finite = winograd.Output(r.fam, tl, r.dst[do:], buf1[(s0-row0)*r.tw:], r.rsOut, r.ld, bias, coutg, r.oh, r.ow, r.th, r.tw, l0, l1, r.stream)
			}
			if !ran {
				if !transformed {
					if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, m2, coutg*r.ld, a2, 1, kout, a2, buf1, r.rsOut, 0, buf2, r.rsOut); err != nil {
						r.fe.set(err)
						return
					}
					transformed = true
				}
				winograd.Scatter(tl, r.dst[do:], buf2[(s0-row0)*r.tw:], r.rsOut, r.ld, 1, bias, coutg, r.oh, r.ow, r.th, r.tw, l0, l1)
			}
			// Finite inputs and weights can still overflow in the
			// products. The output kernel tells; the rows are searched for
			// the culprit only when it saw one, or when it did not run.
			if !finite {
				if err := r.outputError(grp, s0, s1); err != nil {
					r.fe.set(err)
					return
				}
			}
			s0 = s1
		}
	}
}

// span returns the tile rows [row0, row1) of span s of every group:
// rowsPer rows of the batch's n·th, or, with perImage, of one image's th.
func (r *winoRun[T]) span(s int) (row0, row1 int) {
	if !r.perImage {
		row0 = s * r.rowsPer
		return row0, min(row0+r.rowsPer, r.n*r.th)
	}
	img, k := s/r.spansPerImage, s%r.spansPerImage
	row0 = img*r.th + k*r.rowsPer
	return row0, min(row0+r.rowsPer, (img+1)*r.th)
}

// segment returns the part [s0, s1) of tile rows [s0, row1) that one call
// of the gather and output kernels covers, the offsets in x and dst of
// the array those calls address, and the segment's rows numbered in it.
// With one group that is the whole batch (the kernels step over images,
// whose channels are contiguous): s1 = row1, offsets 0, rows as they are.
// A group's channels are a contiguous block of each image, but its images
// lie C·h·w apart, not cg·h·w as the kernels assume: a segment then ends
// at an image's last tile row and addresses that image's group as a
// batch of one image of cg (coutg) channels.
func (r *winoRun[T]) segment(grp, s0, row1 int) (s1, xo, do, l0, l1 int) {
	g := r.geom
	if g.Groups == 1 {
		return row1, 0, 0, s0, row1
	}
	img := s0 / r.th
	s1 = min(row1, (img+1)*r.th)
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	xo = (img*g.InChannels + grp*cg) * r.h * r.w
	do = (img*g.OutChannels + grp*coutg) * r.oh * r.ow
	return s1, xo, do, s0 - img*r.th, s1 - img*r.th
}

// inputError returns the ErrNonFinite of the first NaN or ±Inf in the
// input rows that tile rows [row0, row1) read, in group grp's channels,
// or nil when there is none.
func (r *winoRun[T]) inputError(grp, row0, row1 int) error {
	tl, C := r.tile, r.geom.InChannels
	cg := C / r.geom.Groups
	for row := row0; row < row1; row++ {
		img, ty := row/r.th, row%r.th
		lo := max(0, ty*tl.M-r.geom.PadH)
		hi := min(r.h, ty*tl.M-r.geom.PadH+tl.Alpha)
		for ci := grp * cg; ci < (grp+1)*cg && lo < hi; ci++ {
			off := ((img*C+ci)*r.h + lo) * r.w
			if src := r.x[off : off+(hi-lo)*r.w]; !r.finite(src) {
				return nonFinite(src, "input", off)
			}
		}
	}
	return nil
}

// outputError returns the ErrNonFinite of the first NaN or ±Inf in the
// output rows of tile rows [row0, row1), in group grp's channels, or nil
// when there is none.
func (r *winoRun[T]) outputError(grp, row0, row1 int) error {
	tl, Cout := r.tile, r.geom.OutChannels
	coutg := Cout / r.geom.Groups
	for row := row0; row < row1; row++ {
		img, ty := row/r.th, row%r.th
		y0, y1 := ty*tl.M, min(ty*tl.M+tl.M, r.oh)
		for co := grp * coutg; co < (grp+1)*coutg; co++ {
			off := (img*Cout+co)*r.oh*r.ow + y0*r.ow
			if o := r.dst[off : off+(y1-y0)*r.ow]; !r.finite(o) {
				return nonFinite(o, "output", off)
			}
		}
	}
	return nil
}
