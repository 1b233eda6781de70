package im2col

import (
	"fmt"
	"sync"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/mem"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
)

// Float is the element type of the transforms.
type Float interface{ float32 | float64 }

// Im2col writes the patches of the NCHW batch src into dst in the plan's
// layout. dst must hold exactly DstLen() and src exactly SrcLen() elements
// (deconv.ErrShape otherwise), and they must not overlap
// (deconv.ErrOverlap). Every element of dst is written (zeros where a
// patch reaches into the padding), so dst need not be cleared first. The
// values are not inspected: NaNs and infinities are copied like any
// other value.
func Im2col[T Float](pl *Plan, dst, src []T) error {
	if err := pl.checkLengths(len(dst), len(src), "destination", "source"); err != nil {
		return err
	}
	if mem.Overlap(dst, src) {
		return fmt.Errorf("%w: im2col destination and source share memory", deconv.ErrOverlap)
	}
	k := kernelsFor[T](pl)
	switch {
	case pl.p.FlatSampling:
		runTask(pl, opFlatRows, dst, src, k, (pl.positions+flatRowBlock-1)/flatRowBlock)
	case pl.p.Layout == Unfold:
		runTask(pl, opUnfold, dst, src, k, pl.p.Batch*pl.p.Channels)
	default:
		runTask(pl, opRows, dst, src, k, pl.p.Batch*pl.outH)
	}
	return nil
}

// Col2im is the adjoint of Im2col: it overwrites the NCHW batch dst with the
// sum, over every patch element of cols, of that element placed back where
// Im2col read it. Overlapping patches add up; elements that came from the
// padding are dropped; input pixels no kept patch covers become zero. So
// ⟨Im2col(x), y⟩ = ⟨x, Col2im(y)⟩ for all x, y — the gradient of Im2col.
// dst must hold exactly SrcLen() and cols exactly DstLen() elements, and
// they must not overlap.
func Col2im[T Float](pl *Plan, dst, cols []T) error {
	if err := pl.checkLengths(len(cols), len(dst), "columns", "destination"); err != nil {
		return err
	}
	if mem.Overlap(dst, cols) {
		return fmt.Errorf("%w: col2im destination and columns share memory", deconv.ErrOverlap)
	}
	var k kernels[T]
	switch {
	case pl.p.FlatSampling:
		runTask(pl, opFlatClear, dst, nil, k, pl.p.Batch*pl.p.Channels)
		runTask(pl, opFlatRowsAdjoint, dst, cols, k, pl.positions)
	case pl.p.Layout == Unfold:
		runTask(pl, opUnfoldAdjoint, dst, cols, k, pl.p.Batch*pl.p.Channels)
	default:
		runTask(pl, opRowsAdjoint, dst, cols, k, pl.p.Batch*pl.p.Channels)
	}
	return nil
}

// checkLengths applies the library's rule: a slice has exactly the length
// the plan needs.
func (pl *Plan) checkLengths(colsLen, imageLen int, colsName, imageName string) error {
	if colsLen != pl.dstLen {
		return fmt.Errorf("%w: %s has %d elements, the plan needs %d", deconv.ErrShape, colsName, colsLen, pl.dstLen)
	}
	if imageLen != pl.srcLen {
		return fmt.Errorf("%w: %s has %d elements, the plan needs %d", deconv.ErrShape, imageName, imageLen, pl.srcLen)
	}
	return nil
}

// op names the work a task's parts do.
type op uint8

const (
	opRows op = iota
	opUnfold
	opFlatRows
	opRowsAdjoint
	opUnfoldAdjoint
	opFlatClear
	opFlatRowsAdjoint
)

// task is one transform call split into parts, one per worker: part i
// does items [i·items/parts, (i+1)·items/parts). Tasks are pooled and
// handed to parallel.Run as a pointer, so a call allocates nothing.
type task[T Float] struct {
	pl           *Plan
	op           op
	dst, src     []T
	k            kernels[T]
	items, parts int
}

// testHookPart, when set (by tests only), is called at the start of every
// part, on the goroutine that runs it.
var testHookPart func()

var taskPools [2]sync.Pool

// runTask runs items work items of kind o on at most the plan's workers.
func runTask[T Float](pl *Plan, o op, dst, src []T, k kernels[T], items int) {
	if items <= 0 {
		return
	}
	var z T
	pool := &taskPools[1]
	if _, ok := any(z).(float32); ok {
		pool = &taskPools[0]
	}
	t, _ := pool.Get().(*task[T])
	if t == nil {
		t = new(task[T])
	}
	t.pl, t.op, t.dst, t.src, t.k = pl, o, dst, src, k
	t.items, t.parts = items, min(items, pl.workers())
	parallel.Run(t, t.parts)
	*t = task[T]{} // keep no caller data alive in the pool
	pool.Put(t)
}

// RunPart implements parallel.Parts.
func (t *task[T]) RunPart(i int) {
	if testHookPart != nil {
		testHookPart()
	}
	lo, hi := i*t.items/t.parts, (i+1)*t.items/t.parts
	switch t.op {
	case opRows:
		rows(t.pl, t.dst, t.src, t.k, lo, hi)
	case opUnfold:
		if t.pl.unfoldTab() != nil {
			unfoldByTable(t.pl, t.dst, t.src, t.k, lo, hi)
			break
		}
		unfold(t.pl, t.dst, t.src, t.k, lo, hi)
	case opFlatRows:
		flatRows(t.pl, t.dst, t.src, t.k, lo, hi)
	case opRowsAdjoint:
		rowsAdjoint(t.pl, t.dst, t.src, lo, hi)
	case opUnfoldAdjoint:
		unfoldAdjoint(t.pl, t.dst, t.src, lo, hi)
	case opFlatClear:
		hw := t.pl.p.Height * t.pl.p.Width
		clear(t.dst[lo*hw : hi*hw])
	case opFlatRowsAdjoint:
		flatRowsAdjoint(t.pl, t.dst, t.src, lo, hi)
	}
}

// kernels are the per-family building blocks a transform uses.
type kernels[T Float] struct {
	strided   gather.StridedFunc[T]
	strided2D gather.Strided2DFunc[T]
	// stream copies a finished block of output to dst with non-temporal
	// stores; nil when the family has none, and then output is written in
	// place.
	stream gather.CopyFunc[T]
	// table gathers whole planes through the plan's offset table.
	table gather.TableFunc[T]
}

func newKernels[T Float](f isa.Family) kernels[T] {
	return kernels[T]{
		strided:   gather.StridedFor[T](f),
		strided2D: gather.Strided2DFor[T](f),
		stream:    gather.StreamCopyFor[T](f),
		table:     gather.TableFor[T](f),
	}
}

// kernelsFor returns the plan's kernels for element type T, chosen once
// when the plan was built.
func kernelsFor[T Float](pl *Plan) kernels[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(pl.k32).(kernels[T])
	}
	return any(pl.k64).(kernels[T])
}

// stageElems bounds the staging buffer in which a block of output is built
// before it is streamed to dst: 128 KiB of float32 stays in L2 while it is
// written piecewise and read back once.
const stageElems = 32768

// span is the range [lo, hi) of kept output positions along one axis whose
// kernel tap lands inside the image, and the input coordinate of position
// lo. Positions outside [lo, hi) read padding.
type span struct{ lo, hi, start int }

// axisSpan computes the span of tap k along one axis. Every term is
// bounded by the padded input, which NewPlan checked fits an int.
func axisSpan(in, dilation, pad, step, out, k int) span {
	x0 := k*dilation - pad // input coordinate of position 0
	lo := 0
	if x0 < 0 {
		lo = (-x0-1)/step + 1 // ⌈−x0/step⌉ without overflow
	}
	hi := 0
	if last := in - 1 - x0; last >= 0 {
		hi = min(last/step+1, out)
	}
	lo = min(lo, hi)
	return span{lo: lo, hi: hi, start: x0 + lo*step}
}

// maxSpanTable bounds the kernel extent whose spans a plan tabulates; the
// spans of larger kernels (reachable only with very large padding) are
// computed when used, so a plan never allocates in proportion to a
// parameter.
const maxSpanTable = 4096

// axisSpans tabulates the spans of the kernel's taps along one axis, or
// returns nil for a kernel longer than maxSpanTable.
func axisSpans(in, kernel, dilation, pad, step, out int) []span {
	if kernel > maxSpanTable {
		return nil
	}
	sp := make([]span, kernel)
	for k := range sp {
		sp[k] = axisSpan(in, dilation, pad, step, out, k)
	}
	return sp
}

// colSpan returns the span of kernel column kj.
func (pl *Plan) colSpan(kj int) span {
	if pl.colSpans != nil {
		return pl.colSpans[kj]
	}
	return axisSpan(pl.p.Width, pl.p.DilationW, pl.p.PadW, pl.stepW, pl.outW, kj)
}

// rowSpan returns the span of kernel row ki.
func (pl *Plan) rowSpan(ki int) span {
	if pl.rowSpans != nil {
		return pl.rowSpans[ki]
	}
	return axisSpan(pl.p.Height, pl.p.DilationH, pl.p.PadH, pl.stepH, pl.outH, ki)
}

// fillTap writes the patches of tap (ki, kj) for output rows [oh0, oh1) of
// nplanes consecutive channel planes starting at plane (each planeLen long),
// into rows of outW values: output row oh of plane c goes to
// out[c*ldc+(oh−oh0)*outW:]. Padding becomes zeros; the real pixels are one
// two-dimensional strided gather per plane.
func fillTap[T Float](pl *Plan, out []T, ldc int, plane []T, planeLen, nplanes, oh0, oh1 int, rs, cs span, k kernels[T]) {
	outW, width := pl.outW, pl.p.Width
	lo, hi := max(rs.lo, oh0), min(rs.hi, oh1) // rows that read real pixels
	if lo >= hi {
		for c := 0; c < nplanes; c++ {
			clear(out[c*ldc : c*ldc+(oh1-oh0)*outW])
		}
		return
	}
	h := rs.start + (lo-rs.lo)*pl.stepH // input row of output row lo
	// Rows of one plane between kept output rows; with one row to gather
	// the step may be as large as the padding and is not needed (nor
	// representable as an element count).
	lds := 0
	if hi-lo > 1 {
		lds = pl.stepH * width
	}
	for c := 0; c < nplanes; c++ {
		o := out[c*ldc : c*ldc+(oh1-oh0)*outW]
		clear(o[:(lo-oh0)*outW])
		clear(o[(hi-oh0)*outW:])
		if cs.lo > 0 || cs.hi < outW {
			for r := lo - oh0; r < hi-oh0; r++ {
				clear(o[r*outW : r*outW+cs.lo])
				clear(o[r*outW+cs.hi : (r+1)*outW])
			}
		}
		if cs.hi > cs.lo {
			k.strided2D(o[(lo-oh0)*outW+cs.lo:], outW, plane[c*planeLen+h*width+cs.start:], lds,
				hi-lo, cs.hi-cs.lo, pl.stepW)
		}
	}
}

// UnfoldBlock writes the unfold-layout patches of output rows [oh0, oh1) of
// image n: Cols() rows, one per feature (channel, ki, kj), of
// (oh1−oh0)·OutW() positions each, row f starting at dst[f·ld]. It is the
// building block of tiled consumers, such as a convolution that multiplies
// the weights by one cache-sized block of patches at a time. It runs on the
// calling goroutine (the caller parallelises over blocks), ignores the
// plan's Layout, and does not support FlatSampling.
//
// src must hold exactly SrcLen() elements. dst is a strided block in the
// caller's buffer, so, as for a matrix with a leading dimension, it must
// hold at least (Cols()−1)·ld + (oh1−oh0)·OutW() elements (the only
// slice of the package not held to an exact length); it must not overlap
// src.
func UnfoldBlock[T Float](pl *Plan, dst []T, ld int, src []T, n, oh0, oh1 int) error {
	if pl.p.FlatSampling {
		return fmt.Errorf("%w: UnfoldBlock does not support FlatSampling", deconv.ErrParam)
	}
	if n < 0 || n >= pl.p.Batch || oh0 < 0 || oh1 > pl.outH || oh0 > oh1 {
		return fmt.Errorf("%w: image %d, output rows [%d, %d) of a %d-image batch with %d output rows", deconv.ErrParam, n, oh0, oh1, pl.p.Batch, pl.outH)
	}
	width := (oh1 - oh0) * pl.outW
	if ld < width {
		return fmt.Errorf("%w: leading dimension %d below the block width %d", deconv.ErrShape, ld, width)
	}
	if len(src) != pl.srcLen {
		return fmt.Errorf("%w: source has %d elements, the plan needs %d", deconv.ErrShape, len(src), pl.srcLen)
	}
	if width == 0 {
		return nil
	}
	need, ok := size.MulAdd(pl.cols-1, ld, width)
	if !ok {
		return fmt.Errorf("%w: block of %d rows with leading dimension %d", deconv.ErrOverflow, pl.cols, ld)
	}
	if len(dst) < need {
		return fmt.Errorf("%w: destination has %d elements, the block needs %d", deconv.ErrShape, len(dst), need)
	}
	if mem.Overlap(dst[:need], src) {
		return fmt.Errorf("%w: block destination and source share memory", deconv.ErrOverlap)
	}
	p := pl.p
	k := kernelsFor[T](pl)
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	planes := src[n*p.Channels*planeLen : (n+1)*p.Channels*planeLen]
	if oh0 == 0 && oh1 == pl.outH {
		// The table writes every row whole, so dst must hold the last
		// row's padding columns too.
		if t := pl.blockTab(ld); t != nil && len(dst) >= p.Channels*t.Len() {
			k.table(dst[:p.Channels*t.Len()], planes, t)
			return nil
		}
	}
	for tap := 0; tap < kk; tap++ {
		ki, kj := tap/p.KernelW, tap%p.KernelW
		fillTap(pl, dst[tap*ld:], kk*ld, planes, planeLen, p.Channels, oh0, oh1, pl.rowSpan(ki), pl.colSpan(kj), k)
	}
	return nil
}

// unfold writes Batch × Cols × Positions. One work item is one (image,
// channel) plane, whose KernelH·KernelW output rows are contiguous in dst;
// each output row is one tap's gather over the plane. When the item fits
// the staging buffer it is built there and streamed out in one piece.
func unfold[T Float](pl *Plan, dst, src []T, k kernels[T], lo, hi int) {
	p := pl.p
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	L := pl.positions
	staged := k.stream != nil && kk*L <= stageElems
	var stage *[]T
	if staged {
		stage = getScratch[T](kk * L)
		defer putScratch(stage)
	}
	for item := lo; item < hi; item++ {
		plane := src[item*planeLen : (item+1)*planeLen]
		final := dst[item*kk*L : (item+1)*kk*L]
		out := final
		if staged {
			out = *stage
		}
		if item+1 < hi {
			gather.Prefetch(src[(item+1)*planeLen : (item+2)*planeLen])
		}
		for tap := 0; tap < kk; tap++ {
			ki, kj := tap/p.KernelW, tap%p.KernelW
			fillTap(pl, out[tap*L:(tap+1)*L], 0, plane, planeLen, 1, 0, pl.outH, pl.rowSpan(ki), pl.colSpan(kj), k)
		}
		if staged {
			k.stream(final, out)
		}
	}
}

// tileElems bounds the scratch tile of the Rows layout (16 KiB of float32):
// the tile is written by rows and read by columns, so it must stay in L1.
const tileElems = 4096

// rows writes (Batch·Positions) × Cols. One work item is one output row oh
// of one image: its OutW rows of dst are contiguous. The item is built
// channel block by channel block as a small unfold-layout tile, which is
// then transposed into place, so the input is read along its rows and dst
// is written along its rows. When the item fits the staging buffer it is
// transposed there and streamed out in one piece.
func rows[T Float](pl *Plan, dst, src []T, k kernels[T], lo, hi int) {
	p := pl.p
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	chunk := max(1, tileElems/(kk*pl.outW)) // channels per tile
	itemLen := pl.outW * pl.cols
	staged := k.stream != nil && itemLen <= stageElems
	tile := getScratch[T](min(chunk, p.Channels) * kk * pl.outW)
	defer putScratch(tile)
	var stage *[]T
	if staged {
		stage = getScratch[T](itemLen)
		defer putScratch(stage)
	}
	for item := lo; item < hi; item++ {
		n, oh := item/pl.outH, item%pl.outH
		final := dst[(n*pl.positions+oh*pl.outW)*pl.cols:][:itemLen]
		out := final
		if staged {
			out = *stage
		}
		for c0 := 0; c0 < p.Channels; c0 += chunk {
			c1 := min(c0+chunk, p.Channels)
			t := (*tile)[:(c1-c0)*kk*pl.outW]
			planes := src[(n*p.Channels+c0)*planeLen : (n*p.Channels+c1)*planeLen]
			for tap := 0; tap < kk; tap++ {
				ki, kj := tap/p.KernelW, tap%p.KernelW
				fillTap(pl, t[tap*pl.outW:], kk*pl.outW, planes, planeLen, c1-c0, oh, oh+1, pl.rowSpan(ki), pl.colSpan(kj), k)
			}
			gather.Transpose(out[c0*kk:], pl.cols, t, pl.outW, (c1-c0)*kk, pl.outW)
		}
		if staged {
			k.stream(final, out)
		}
	}
}

// flatRowBlock is how many consecutive rows one FlatSampling work item
// writes.
const flatRowBlock = 64

// flatRows implements FlatSampling: row r is the C channels of flat pixel
// r·step of the N·H·W order. A block of rows within one image is gathered
// channel by channel (a strided run of each plane) into a tile, then
// transposed into place.
func flatRows[T Float](pl *Plan, dst, src []T, k kernels[T], lo, hi int) {
	p := pl.p
	C := p.Channels
	hw := p.Height * p.Width
	step := pl.stepW
	cChunk := max(1, tileElems/flatRowBlock)
	tile := getScratch[T](min(cChunk, C) * flatRowBlock)
	defer putScratch(tile)
	for b := lo; b < hi; b++ {
		r0, r1 := b*flatRowBlock, min((b+1)*flatRowBlock, pl.positions)
		for r0 < r1 {
			// Rows r0 … rEnd−1 fall in image n.
			q := r0 * step
			n := q / hw
			rEnd := min(r1, ((n+1)*hw+step-1)/step)
			nr := rEnd - r0
			pix := q - n*hw
			for c0 := 0; c0 < C; c0 += cChunk {
				c1 := min(c0+cChunk, C)
				t := (*tile)[:(c1-c0)*nr]
				for c := c0; c < c1; c++ {
					plane := src[(n*C+c)*hw : (n*C+c+1)*hw]
					k.strided(t[(c-c0)*nr:(c-c0+1)*nr], plane[pix:], step)
				}
				gather.Transpose(dst[r0*C+c0:], C, t, nr, c1-c0, nr)
			}
			r0 = rEnd
		}
	}
}

// unfoldAdjoint scatters Batch × Cols × Positions back onto the image, one
// (image, channel) plane per work item, so no two goroutines write the same
// pixel.
func unfoldAdjoint[T Float](pl *Plan, dst, cols []T, lo, hi int) {
	p := pl.p
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	L := pl.positions
	for item := lo; item < hi; item++ {
		plane := dst[item*planeLen : (item+1)*planeLen]
		clear(plane)
		in := cols[item*kk*L : (item+1)*kk*L]
		for ki := 0; ki < p.KernelH; ki++ {
			h0 := ki*p.DilationH - p.PadH
			for kj := 0; kj < p.KernelW; kj++ {
				s := pl.colSpan(kj)
				if s.hi == s.lo {
					continue
				}
				row := in[(ki*p.KernelW+kj)*L : (ki*p.KernelW+kj+1)*L]
				for oh := 0; oh < pl.outH; oh++ {
					h := h0 + oh*pl.stepH
					if h < 0 || h >= p.Height {
						continue
					}
					seg := row[oh*pl.outW:]
					gather.AddStrided(plane[h*p.Width+s.start:], seg[s.lo:s.hi], pl.stepW)
				}
			}
		}
	}
}

// rowsAdjoint scatters (Batch·Positions) × Cols back onto the image, one
// (image, channel) plane per work item.
func rowsAdjoint[T Float](pl *Plan, dst, cols []T, lo, hi int) {
	p := pl.p
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	for item := lo; item < hi; item++ {
		n, c := item/p.Channels, item%p.Channels
		plane := dst[item*planeLen : (item+1)*planeLen]
		clear(plane)
		for oh := 0; oh < pl.outH; oh++ {
			base := (n*pl.positions + oh*pl.outW) * pl.cols
			for ki := 0; ki < p.KernelH; ki++ {
				h := oh*pl.stepH + ki*p.DilationH - p.PadH
				if h < 0 || h >= p.Height {
					continue
				}
				prow := plane[h*p.Width : (h+1)*p.Width]
				for kj := 0; kj < p.KernelW; kj++ {
					s := pl.colSpan(kj)
					col := c*kk + ki*p.KernelW + kj
					w := s.start
					for ow := s.lo; ow < s.hi; ow++ {
						prow[w] += cols[base+ow*pl.cols+col]
						w += pl.stepW
					}
				}
			}
		}
	}
}

// flatRowsAdjoint puts FlatSampling rows [lo, hi) back on their pixels.
// Kept pixels are distinct, so after the image is cleared (opFlatClear) the
// rows can be written in parallel without two goroutines touching one
// element.
func flatRowsAdjoint[T Float](pl *Plan, dst, cols []T, lo, hi int) {
	C := pl.p.Channels
	hw := pl.p.Height * pl.p.Width
	step := pl.stepW
	for r := lo; r < hi; r++ {
		q := r * step
		n, pix := q/hw, q%hw
		row := cols[r*C : (r+1)*C]
		base := n*C*hw + pix
		for c, v := range row {
			dst[base+c*hw] = v
		}
	}
}

// Scratch tiles are pooled per element type so a transform at a fixed size
// allocates nothing after its first call.
var scratch32, scratch64 sync.Pool

func getScratch[T Float](n int) *[]T {
	var pool *sync.Pool
	var zero T
	if _, ok := any(zero).(float32); ok {
		pool = &scratch32
	} else {
		pool = &scratch64
	}
	if v, ok := pool.Get().(*[]T); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]T, n)
	return &s
}

func putScratch[T Float](s *[]T) {
	var zero T
	if _, ok := any(zero).(float32); ok {
		scratch32.Put(s)
	} else {
		scratch64.Put(s)
	}
}
