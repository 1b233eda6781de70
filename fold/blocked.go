package fold

import (
	"sync/atomic"
	"unsafe"

	"github.com/netdeconv/deconv/internal/dconv"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
)

// The blocked path of Conv2d, for grouped layers: per (group, image,
// band of output rows) work item, a zero-padded copy of the group's input
// rows, then internal/dconv computes four output channels at a time,
// keeping 6 rows × 4 channels of output vectors in registers while it
// runs over every (input channel, tap) term (or eight at a time, 3 rows ×
// 8 channels, up to 32 input channels per group or in strips:
// blockedWide). An item of 24 output rows or more is computed in strips
// of 12 rows, each over passes of a few input channels whose padded rows
// stay in L1 (blockedStripRows); an item's padded input rows take at most
// blockedItemBytes. There is no im2col and no packing of the input (with
// one item per image, a group's padded planes are written by one table
// gather); the weights are packed (four channels' weights of a term
// together) once per published weight set, and other weights (a
// FastDeconv's folded ones) once per worker and group, which the work
// order (groups outermost) makes about once per call.

// The blocked path's part of ConvAuto's rule, measured at batch 8 (CPU
// time per call, every path in one process, BenchmarkBlockedTune, Intel
// Xeon with AVX-512, 2 cores): against the better of the taps and the
// direct paths the blocked path ran 2.4× faster on 512→512 in 32 groups
// at 16×16 (16 channels per group), 1.7–1.9× on 512→512 in 8 groups at
// 16×16 (64) and 256→512 in 32 groups at 32×32 (8), 1.5–1.7× with 4
// channels per group (32×32 and 64×64), 1.2× with 2 (128×128), and
// 1.1–1.15× with 64 at 32×32 and 64×64 (256→512 in 4 groups, 128→256 in
// 2; both now take the Winograd path, which ConvAuto tries first: see
// winogradGroupMinChannels). It lost to the taps path with one input channel per group or fewer
// than 4 output channels per group (0.6×: depthwise layers, where three
// of the kernel's four channels would be padding), and on 8-column
// outputs (0.5× on a dense 8×8 layer: half of every vector is masked
// off). Dense layers keep the Winograd and direct paths (a tie at 16×16,
// 256→512; Winograd 1.4× faster at 32×32).

// blockedMinChannels is the fewest input channels per group for which
// ConvAuto takes the blocked path.
const blockedMinChannels = 2

// blockedChunkBytes bounds the padded input rows of the input channels
// one pass of the kernel reads when a group's padded input is larger than
// blockedChunkAbove: they stay in the 32–48 KiB L1 cache while every
// block of output channels reads them. Measured on one worker
// (BenchmarkBlockedChunk, CPU time, Intel Xeon, a loaded machine): on
// 256→512 in 4 groups at 32×32 (296 KiB of padded input per group) passes
// of 16 to 42 KiB ran as fast as one pass over all 64 channels or up to 7%
// faster, depending on the run (8 KiB: 25% slower); on 512→512 in 8
// groups at 16×16 (83 KiB) every bound was 5–15% slower than one pass (the
// partial sums' extra reads and writes cost more than reading the input
// from L2), and with 16 channels per group (21 KiB) one pass was as fast
// as any.
const blockedChunkBytes = 16 << 10

// blockedChunkAbove is the size of a group's padded input rows above
// which the kernel's passes are bounded by blockedChunkBytes.
const blockedChunkAbove = 128 << 10

// blockedTuning is the blocked path's tuning: the constants
// blockedMinChannels, blockedChunkBytes, blockedChunkAbove,
// blockedWideMaxChannels, blockedStripRows, blockedStripBytes and
// blockedItemBytes, or the
// values a test or benchmark sets in blockedOverride to reach paths
// (passes of a few channels, blocks of 4 or 8, strips of a few rows or
// none, items of a few rows) the constants do not take on its shapes.
type blockedTuning struct {
	minChannels, chunkBytes, chunkAbove, wideMaxChannels int
	stripRows, stripBytes, itemBytes                     int
}

// blockedOverride is nil outside tests and benchmarks: then
// blockedParams returns the constants.
var blockedOverride atomic.Pointer[blockedTuning]

// blockedParams returns the blocked path's tuning in effect.
func blockedParams() blockedTuning {
	if p := blockedOverride.Load(); p != nil {
		return *p
	}
	return blockedTuning{blockedMinChannels, blockedChunkBytes, blockedChunkAbove, blockedWideMaxChannels, blockedStripRows, blockedStripBytes, blockedItemBytes}
}

// blockedMaxChannels bounds the layers ConvAuto sends to the blocked
// path: at most blockedMaxChannels input channels per group, the most of
// the measured wins. Measured like the rule above (batch 8, CPU time per
// call, BenchmarkBlockedTune, 2 workers), against the direct path, which
// ConvAuto takes otherwise where the Winograd rules do not apply (other
// kernels, strides, smaller outputs): 1.05× faster with 256 channels per
// group at 16×16 (512→512 in 2 groups) and 1.1× at 56×56 (in 2), 1.3×
// with 128 at 16×16 (512→512 in 4), 1.1–1.15× at 32×32 and 56×56
// (256→256 in 2), 1.1× with 64 at 32×32 (Table 3's row 04) and 1.15× at
// 64×64 (row 03); against the taps path, 1.3× with 4 channels per group
// at 256×256 (32→64 in 8) and 1.35× with 2 at 128×128 (64→128 in 32).
// Before the strips of rows (blockedStripRows) it lost on the large
// planes (0.62–0.84× at 56×56 and 64×64), which an upper bound on the
// volume then kept from it. Where the Winograd rules apply (3×3 layers of
// stride 1 with 32 or more channels per group on 32×32 outputs, 128 or
// more on 16×16), Winograd runs first, 1.25–2.3× faster than this path.
const blockedMaxChannels = 256

// blockedMinWidth is the narrowest output (columns) for which ConvAuto
// takes the blocked path: one whole vector.
const blockedMinWidth = dconv.Lanes

// blockedCapable reports whether the blocked kernel computes this
// geometry: it reads output columns as contiguous vectors, so stride 1
// across columns.
func (g ConvGeom) blockedCapable() bool { return g.StrideW == 1 }

// useBlocked reports whether a call of element type T with an oh×ow
// output takes the blocked path.
func useBlocked[T Float](g ConvGeom, oh, ow int) bool {
	switch g.Algorithm {
	case ConvBlocked:
		return true
	case ConvAuto:
		return g.Groups > 1 && g.blockedCapable() && dconv.Available[T](isa.Selected()) &&
			g.InChannels/g.Groups >= blockedParams().minChannels && g.OutChannels/g.Groups >= dconv.Channels &&
			ow >= blockedMinWidth && g.InChannels/g.Groups <= blockedMaxChannels
	}
	return false
}

// blockedRun is the state one blocked forward shares with its workers.
type blockedRun[T Float] struct {
	geom                 ConvGeom
	dst, x, weight, bias []T
	n, h, w, oh, ow      int
	rowsPer, bands       int
	hp, wp, plane        int
	chunk                int           // input channels per pass (blockedChunkBytes)
	strip, stripChunk    int           // rows per strip and input channels per pass of a strip (blockedStripRows); 0: no strips
	wide                 bool          // blocks of 8 output channels (blockedWide)
	offs                 dconv.Offsets // the terms of one output channel over the padded planes
	packed               []T           // every group's packed weights (packBlocked); nil: packed by the workers
	padTab               *gather.Table // whole padded planes by table; nil: by rows (padRows)
	tables               tapsTables
	fam                  isa.Family
	finite               gather.FiniteFunc[T]
	fe                   firstError
	body                 func(lo, hi int)
}

// forwardBlocked is forward's blocked path, for validated shapes.
func (c *Conv2d[T]) forwardBlocked(wk *convWork[T], dst, x []T, n, h, w, oh, ow int, weight, bias []T, workers int) error {
	g := c.geom
	r := &wk.blocked
	workers = parallel.Workers(workers)
	r.geom, r.dst, r.x, r.weight, r.bias = g, dst, x, weight, bias
	r.n, r.h, r.w, r.oh, r.ow = n, h, w, oh, ow
	r.layout(g, n, w, oh, workers)
	r.offs.Reset()
	for ci := range g.InChannels / g.Groups {
		for ki := range g.KernelH {
			for kj := range g.KernelW {
				r.offs.Add(ci*r.plane + ki*g.DilationH*r.wp + kj*g.DilationW)
			}
		}
	}
	r.fam = isa.Selected()
	r.finite = gather.FiniteFor[T](r.fam)
	// With one band the padded planes are whole planes: one table
	// gather pads all of a group's (AVX-512 masked permutes), where row
	// copies cost a call per row of 16 pixels.
	r.padTab = nil
	if r.bands == 1 && r.fam == isa.AVX512 && r.plane <= maxTapsTable {
		r.padTab = r.tables.plane(g, h, w, r.hp, r.wp)
	}
	r.packed = nil
	if p := c.p.Load(); p.blocked != nil && len(p.weight) > 0 && &p.weight[0] == &weight[0] {
		r.packed = p.blocked
	}
	r.fe.err = nil
	parallel.For(g.Groups*n*r.bands, workers, r.body)
	err := r.fe.err
	r.dst, r.x, r.weight, r.bias, r.packed, r.fe.err = nil, nil, nil, nil, nil, nil
	return err
}

// layout sets how a call of n images with w input and oh output rows is
// cut into work items, strips and passes (the fields from rowsPer to
// wide) on the given workers.
func (r *blockedRun[T]) layout(g ConvGeom, n, w, oh, workers int) {
	var z T
	tune := blockedParams()
	// Split the output rows when there are too few (group, image) pairs
	// to keep every worker busy, and when a group's padded input rows
	// would take more than blockedItemBytes.
	cg := g.InChannels / g.Groups
	r.wp = w + 2*g.PadW
	r.bands = min(oh, max(1, (4*workers+n*g.Groups-1)/(n*g.Groups)))
	r.rowsPer = (oh + r.bands - 1) / r.bands
	// The padded rows of rowsPer output rows: (rowsPer−1)·StrideH plus
	// the kernel's reach.
	reach := (g.KernelH-1)*g.DilationH + 1
	fit := (tune.itemBytes/(cg*r.wp*int(unsafe.Sizeof(z)))-reach)/g.StrideH + 1
	r.rowsPer = min(r.rowsPer, max(1, fit))
	r.bands = (oh + r.rowsPer - 1) / r.rowsPer
	r.hp = (r.rowsPer-1)*g.StrideH + reach
	r.plane = r.hp * r.wp
	r.chunk = cg
	if planeBytes := r.plane * int(unsafe.Sizeof(z)); r.chunk*planeBytes > tune.chunkAbove {
		r.chunk = max(1, tune.chunkBytes/planeBytes)
	}
	r.strip, r.stripChunk = 0, 0
	if tune.stripRows > 0 && r.rowsPer >= 2*tune.stripRows {
		r.strip = tune.stripRows
		inRows := (r.strip-1)*g.StrideH + (g.KernelH-1)*g.DilationH + 1
		r.stripChunk = max(1, tune.stripBytes/(inRows*r.wp*int(unsafe.Sizeof(z))))
	}
	r.wide = blockedWide(g, r.strip > 0)
}

// items computes work items [lo, hi): (group, image, band of output
// rows), groups outermost so that a worker packs each group's weights
// once.
func (r *blockedRun[T]) items(lo, hi int) {
	g := r.geom
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	feats := g.Features()
	kk := g.KernelH * g.KernelW
	L := r.oh * r.ow
	padBuf := getScratch[T](cg * r.plane)
	defer putScratch(padBuf)
	pad := *padBuf
	// The padding columns are never written: cleared once, they stay zero.
	clear(pad)
	blocks := (coutg + dconv.Channels - 1) / dconv.Channels
	var packed []T
	if r.packed == nil {
		packBuf := getScratch[T](blocks * dconv.Channels * feats)
		defer putScratch(packBuf)
		packed = *packBuf
	}
	// A last block of fewer than 4 channels runs on zero weights for the
	// missing ones, into a scratch of 4 channels' band.
	var tail *[]T
	if coutg%dconv.Channels != 0 {
		tail = getScratch[T](dconv.Channels * r.rowsPer * r.ow)
		defer putScratch(tail)
	}
	var zeros, tbias [dconv.WideChannels]T
	padPlanes := gather.TableFor[T](r.fam)
	packedGrp := -1
	for item := lo; item < hi; item++ {
		grp, rest := item/(r.n*r.bands), item%(r.n*r.bands)
		img, bnd := rest/r.bands, rest%r.bands
		oy0, oy1 := bnd*r.rowsPer, min((bnd+1)*r.rowsPer, r.oh)
		src := r.x[(img*g.InChannels+grp*cg)*r.h*r.w:][:cg*r.h*r.w]
		if bnd == 0 && !r.finite(src) {
			r.fe.set(nonFinite(src, "input", (img*g.InChannels+grp*cg)*r.h*r.w))
			return
		}
		if r.packed != nil {
			packed = r.packed[grp*blocks*dconv.Channels*feats:][:blocks*dconv.Channels*feats]
		} else if grp != packedGrp {
			packGroup(packed, r.weight[grp*coutg*feats:(grp+1)*coutg*feats], coutg, feats)
			packedGrp = grp
		}
		if r.padTab != nil {
			padPlanes(pad, src, r.padTab)
		} else {
			r.padRows(pad, src, oy0)
		}
		rows := oy1 - oy0
		base := (img*g.OutChannels+grp*coutg)*L + oy0*r.ow
		itemLen := rows * r.ow
		lds := g.StrideH * r.wp
		// The rows in strips (r.strip, or all of them), each strip's input
		// channels in chunks whose padded rows stay in L1 while every
		// block of output channels reads them; a strip's first chunk starts
		// from the bias, the others add to its partial sums.
		sub, chunk := rows, r.chunk
		if r.strip > 0 {
			sub, chunk = r.strip, r.stripChunk
		}
		for y0 := 0; y0 < rows; y0 += sub {
			yr := min(sub, rows-y0)
			for c0 := 0; c0 < cg; c0 += chunk {
				c1 := min(c0+chunk, cg)
				in := pad[c0*r.plane+y0*lds:]
				terms := (c1 - c0) * kk
				// Blocks of 8 output channels (two packed blocks of 4) while 8
				// remain and the rule takes them, then blocks of 4; the block
				// at channel co starts at co·feats of the packed weights.
				for co := 0; co < coutg; {
					ch := dconv.Channels
					if r.wide && coutg-co >= dconv.WideChannels {
						ch = dconv.WideChannels
					}
					w := packed[co*feats+c0*kk*dconv.Channels : (co+ch)*feats]
					k := min(ch, coutg-co)
					var bias []T
					if c0 == 0 {
						bias = zeros[:ch]
						if r.bias != nil {
							if k == ch {
								bias = r.bias[grp*coutg+co:][:ch]
							} else {
								clear(tbias[:])
								copy(tbias[:], r.bias[grp*coutg+co:][:k])
								bias = tbias[:ch]
							}
						}
					}
					if k == ch {
						dconv.Rows(r.fam, ch, r.dst[base+co*L+y0*r.ow:], r.ow, L, in, lds, yr, r.ow, w, dconv.Channels*feats, &r.offs, terms, bias)
					} else {
						dconv.Rows(r.fam, ch, (*tail)[y0*r.ow:], r.ow, itemLen, in, lds, yr, r.ow, w, dconv.Channels*feats, &r.offs, terms, bias)
					}
					co += ch
				}
			}
		}
		if k := coutg % dconv.Channels; k != 0 {
			b := blocks - 1
			for c := range k {
				copy(r.dst[base+(b*dconv.Channels+c)*L:][:itemLen], (*tail)[c*itemLen:(c+1)*itemLen])
			}
		}
		// Finite inputs and weights can still overflow in the products.
		if rows == r.oh {
			// Whole planes: the group's outputs are one run.
			if o := r.dst[base : base+coutg*L]; !r.finite(o) {
				r.fe.set(nonFinite(o, "output", base))
				return
			}
			continue
		}
		for co := range coutg {
			if o := r.dst[base+co*L : base+co*L+rows*r.ow]; !r.finite(o) {
				r.fe.set(nonFinite(o, "output", base+co*L))
				return
			}
		}
	}
}

// padRows writes into pad the interior of the group's padded input rows
// of the band that starts at output row oy0: rows above or below the
// image are zeroed, the padding columns left as they are (zero).
func (r *blockedRun[T]) padRows(pad, src []T, oy0 int) {
	g := r.geom
	iy0 := oy0*g.StrideH - g.PadH
	for ci := range g.InChannels / g.Groups {
		for py := range r.hp {
			row := pad[ci*r.plane+py*r.wp : ci*r.plane+(py+1)*r.wp]
			iy := iy0 + py
			if iy < 0 || iy >= r.h {
				clear(row)
				continue
			}
			copy(row[g.PadW:g.PadW+r.w], src[(ci*r.h+iy)*r.w:(ci*r.h+iy+1)*r.w])
		}
	}
}

// mayUseBlocked reports whether float32 calls may take the blocked path,
// so the packed weights are worth keeping with a weight set: always when
// forced (the portable loop reads them too), and under ConvAuto only where
// the vector kernel runs, since without it the rule never takes the path.
// A family selected later with the kernel finds no packing and has the
// workers pack the weights.
func (g ConvGeom) mayUseBlocked() bool {
	switch g.Algorithm {
	case ConvBlocked:
		return true
	case ConvAuto:
		return g.Groups > 1 && g.blockedCapable() && dconv.Available[float32](isa.Selected()) &&
			g.InChannels/g.Groups >= blockedParams().minChannels && g.OutChannels/g.Groups >= dconv.Channels &&
			g.InChannels/g.Groups <= blockedMaxChannels
	}
	return false
}

// packBlocked returns the weights of every group packed for the blocked
// kernel: group by group, blocks of 4 output channels (the last padded
// with zero weights), the channels' weights of each term together.
func packBlocked[T Float](weight []T, g ConvGeom) []T {
	coutg, feats := g.OutChannels/g.Groups, g.Features()
	per := (coutg + dconv.Channels - 1) / dconv.Channels * dconv.Channels * feats
	out := make([]T, g.Groups*per)
	for grp := range g.Groups {
		packGroup(out[grp*per:(grp+1)*per], weight[grp*coutg*feats:(grp+1)*coutg*feats], coutg, feats)
	}
	return out
}

// packGroup packs one group's weights wg (coutg rows of feats) into dst,
// blocks of 4 output channels with the last padded with zeros.
func packGroup[T Float](dst, wg []T, coutg, feats int) {
	full := coutg / dconv.Channels
	for b := range full {
		dconv.Pack(dst[b*dconv.Channels*feats:][:dconv.Channels*feats], wg[b*dconv.Channels*feats:][:dconv.Channels*feats], feats)
	}
	if k := coutg % dconv.Channels; k != 0 {
		last := dst[full*dconv.Channels*feats:][:dconv.Channels*feats]
		clear(last)
		for c := range k {
			for t, v := range wg[(full*dconv.Channels+c)*feats:][:feats] {
				last[t*dconv.Channels+c] = v
			}
		}
	}
}

// blockedStripRows and blockedStripBytes: a work item of at least
// 2·blockedStripRows output rows is computed in strips of
// blockedStripRows rows, and each strip in passes of the input channels
// whose padded rows (the strip's and the kernel's reach below it) fit in
// blockedStripBytes, with blocks of 8 output channels (blockedWide). A
// pass's input then stays in L1 while every block of output channels
// reads it, and a strip's partial sums, a few rows of every output
// channel of the group, stay in L2 between its passes. Without strips, a
// group's whole padded input (296 KiB at 32×32 with 64 channels, 1.1 MiB
// at 64×64) was read again from L2 or beyond by every block of output
// channels, and passes over whole planes traded that for partial sums of
// whole planes. Measured by BenchmarkBlockedTune (blocked against
// blocked-unstriped, batch 8, CPU time per call, Intel Xeon with AVX-512,
// 2 cores, a loaded machine), the strips ran 17% faster on 256→512 in 4
// groups at 32×32 (44 against 53 ms, Table 3's row 04), 1.9× on 128→256
// in 2 groups at 64×64 and 1.7–1.8× at 56×56 (256→256 and 512→512 in 2),
// 8–13% faster with 2 and 4 channels per group at 128×128 and 256×256
// and 8% on 256→256 in 2 groups at 32×32. Strips of 12 rows over 16 KiB
// and of 9 over 16 KiB were within 3% of these; strips of 6 rows were
// slower (a strip of 6 leaves a short last block of rows as often as the
// whole plane does, with more passes), as were strips with blocks of 4
// channels × 6 rows (9% slower than 8 × 3 at row 04). Items of 16 to 23
// rows keep one pass: a strip of 12 and one of 4 to 11 ran 10–27% slower
// at 16×16. The gain is with both workers running: on one worker
// (BenchmarkBlockedChunk) row 04 tied, 47–51 ms with strips or without.
const (
	blockedStripRows  = 12
	blockedStripBytes = 24 << 10
)

// blockedItemBytes bounds the padded copy of a group's input rows that
// a work item (and so each worker) holds: the rows of an image are split
// into several items where a group's padded input plane would be larger,
// each item padding its own rows and the kernel's reach below them. It
// lets the blocked path take large planes without a scratch buffer as
// large as a group's input: 4 MiB holds the whole padded planes of every
// layer measured (at most 3.3 MiB: 256 channels per group at 56×56).
const blockedItemBytes = 4 << 20

// blockedWideMaxChannels is the most input channels per group for which
// the blocked path computes blocks of 8 output channels × 3 rows (inputs
// in registers) instead of 4 × 6 (weights in registers), in items not
// computed in strips (in strips, always: see blockedWide). Measured by
// BenchmarkBlockedTune's blocked-8x3 and blocked-4x6 (CPU time per call,
// batch 8, alternating rounds in one process, Intel Xeon with AVX-512, 2
// cores, a loaded machine), 8 × 3 against 4 × 6: 11% less with 32 input
// channels per group at 32×32 (256→256 in 8 groups), 10% with 4 at 64×64,
// 5% with 8 at 32×32, 4–14% with 16 at 16×16 (512→512 in 32 groups;
// 4–5% by the fastest of 16 rounds); with 64 a tie: −4% to +4% on 512→512
// in 8 groups at 16×16 and −2% to +2% on 256→512 in 4 groups at 32×32
// over several runs, +3% on 128→256 in 2 groups at 64×64. Halving the
// input vectors per multiply-add does not speed up the groups whose input
// (83 KiB of padded planes at 16×16 with 64 channels) exceeds L1, so the
// input's L2 traffic is not what bounds them.
const blockedWideMaxChannels = 32

// blockedWide reports whether the blocked path runs blocks of 8 output
// channels for geometry g, in work items computed in strips of rows
// (blockedStripRows) or not. In strips it takes them whatever the input
// channels (a tuning whose wideMaxChannels is 0 turns them off there too).
func blockedWide(g ConvGeom, inStrips bool) bool {
	wideMax := blockedParams().wideMaxChannels
	return g.OutChannels/g.Groups >= dconv.WideChannels &&
		(g.InChannels/g.Groups <= wideMax || inStrips && wideMax > 0)
}
