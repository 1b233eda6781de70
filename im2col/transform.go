package im2col

import (
	"fmt"
	"github.com/netdeconv/deconv"
	"sync"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
)

// Float is the element type of the transforms.
type Float interface{ float32 | float64 }

// Im2col writes the patches of the NCHW batch src into dst in the plan's
// layout. dst must hold at least DstLen() and src at least SrcLen()
// elements; only those prefixes are used. Every element of the output
// prefix is written (zeros where a patch reaches into the padding), so dst
// need not be cleared first.
func Im2col[T Float](pl *Plan, dst, src []T) error {
	if err := pl.checkLengths(len(dst), len(src), "destination", "source"); err != nil {
		return err
	}
	dst, src = dst[:pl.dstLen], src[:pl.srcLen]
	k := kernelsFor[T](pl)
	switch {
	case pl.p.FlatSampling:
		flatRows(pl, dst, src, k)
	case pl.p.Layout == Unfold:
		unfold(pl, dst, src, k)
	default:
		rows(pl, dst, src, k)
	}
	return nil
}

// Col2im is the adjoint of Im2col: it overwrites the NCHW batch dst with the
// sum, over every patch element of cols, of that element placed back where
// Im2col read it. Overlapping patches add up; elements that came from the
// padding are dropped; input pixels no kept patch covers become zero. So
// ⟨Im2col(x), y⟩ = ⟨x, Col2im(y)⟩ for all x, y — the gradient of Im2col.
func Col2im[T Float](pl *Plan, dst, cols []T) error {
	if err := pl.checkLengths(len(cols), len(dst), "columns", "destination"); err != nil {
		return err
	}
	dst, cols = dst[:pl.srcLen], cols[:pl.dstLen]
	switch {
	case pl.p.FlatSampling:
		flatRowsAdjoint(pl, dst, cols)
	case pl.p.Layout == Unfold:
		unfoldAdjoint(pl, dst, cols)
	default:
		rowsAdjoint(pl, dst, cols)
	}
	return nil
}

func (pl *Plan) checkLengths(colsLen, imageLen int, colsName, imageName string) error {
	if colsLen < pl.dstLen {
		return fmt.Errorf("%w: %s has %d elements, the plan needs %d", deconv.ErrShape, colsName, colsLen, pl.dstLen)
	}
	if imageLen < pl.srcLen {
		return fmt.Errorf("%w: %s has %d elements, the plan needs %d", deconv.ErrShape, imageName, imageLen, pl.srcLen)
	}
	return nil
}

// kernels are the per-family building blocks a transform uses.
type kernels[T Float] struct {
	strided   gather.StridedFunc[T]
	strided2D gather.Strided2DFunc[T]
	// stream copies a finished block of output to dst with non-temporal
	// stores; nil when the family has none, and then output is written in
	// place.
	stream gather.CopyFunc[T]
}

func newKernels[T Float](f isa.Family) kernels[T] {
	return kernels[T]{
		strided:   gather.StridedFor[T](f),
		strided2D: gather.Strided2DFor[T](f),
		stream:    gather.StreamCopyFor[T](f),
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

// axisSpans computes the span of each of the kernel's taps along one axis.
// It depends only on the plan, so it is computed once per call, not per
// row.
func axisSpans(in, kernel, dilation, pad, step, out int) []span {
	sp := make([]span, kernel)
	for k := range sp {
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
		sp[k] = span{lo: lo, hi: hi, start: x0 + lo*step}
	}
	return sp
}

// spans returns the column spans (one per kj) and row spans (one per ki),
// computed when the plan was built.
func (pl *Plan) spans() (cols, rows []span) { return pl.colSpans, pl.rowSpans }

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
			k.strided2D(o[(lo-oh0)*outW+cs.lo:], outW, plane[c*planeLen+h*width+cs.start:], pl.stepH*width,
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
	if len(src) < pl.srcLen {
		return fmt.Errorf("%w: source has %d elements, the plan needs %d", deconv.ErrShape, len(src), pl.srcLen)
	}
	if width == 0 {
		return nil
	}
	if need := (pl.cols-1)*ld + width; len(dst) < need {
		return fmt.Errorf("%w: destination has %d elements, the block needs %d", deconv.ErrShape, len(dst), need)
	}
	p := pl.p
	k := kernelsFor[T](pl)
	cs, rs := pl.spans()
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	planes := src[n*p.Channels*planeLen : (n+1)*p.Channels*planeLen]
	for tap := 0; tap < kk; tap++ {
		ki, kj := tap/p.KernelW, tap%p.KernelW
		fillTap(pl, dst[tap*ld:], kk*ld, planes, planeLen, p.Channels, oh0, oh1, rs[ki], cs[kj], k)
	}
	return nil
}

// unfold writes Batch × Cols × Positions. One work item is one (image,
// channel) plane, whose KernelH·KernelW output rows are contiguous in dst;
// each output row is one tap's gather over the plane. When the item fits
// the staging buffer it is built there and streamed out in one piece.
func unfold[T Float](pl *Plan, dst, src []T, k kernels[T]) {
	p := pl.p
	cs, rs := pl.spans()
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	L := pl.positions
	staged := k.stream != nil && kk*L <= stageElems
	parallel.For(p.Batch*p.Channels, pl.workers(), func(lo, hi int) {
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
				fillTap(pl, out[tap*L:(tap+1)*L], 0, plane, planeLen, 1, 0, pl.outH, rs[ki], cs[kj], k)
			}
			if staged {
				k.stream(final, out)
			}
		}
	})
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
func rows[T Float](pl *Plan, dst, src []T, k kernels[T]) {
	p := pl.p
	cs, rs := pl.spans()
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	chunk := max(1, tileElems/(kk*pl.outW)) // channels per tile
	itemLen := pl.outW * pl.cols
	staged := k.stream != nil && itemLen <= stageElems
	parallel.For(p.Batch*pl.outH, pl.workers(), func(lo, hi int) {
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
					fillTap(pl, t[tap*pl.outW:], kk*pl.outW, planes, planeLen, c1-c0, oh, oh+1, rs[ki], cs[kj], k)
				}
				gather.Transpose(out[c0*kk:], pl.cols, t, pl.outW, (c1-c0)*kk, pl.outW)
			}
			if staged {
				k.stream(final, out)
			}
		}
	})
}

// flatRowBlock is how many consecutive rows one FlatSampling work item
// writes.
const flatRowBlock = 64

// flatRows implements FlatSampling: row r is the C channels of flat pixel
// r·step of the N·H·W order. A block of rows within one image is gathered
// channel by channel (a strided run of each plane) into a tile, then
// transposed into place.
func flatRows[T Float](pl *Plan, dst, src []T, k kernels[T]) {
	p := pl.p
	C := p.Channels
	hw := p.Height * p.Width
	step := pl.stepW
	cChunk := max(1, tileElems/flatRowBlock)
	blocks := (pl.positions + flatRowBlock - 1) / flatRowBlock
	parallel.For(blocks, pl.workers(), func(lo, hi int) {
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
	})
}

// unfoldAdjoint scatters Batch × Cols × Positions back onto the image, one
// (image, channel) plane per work item, so no two goroutines write the same
// pixel.
func unfoldAdjoint[T Float](pl *Plan, dst, cols []T) {
	p := pl.p
	sp, _ := pl.spans()
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	L := pl.positions
	parallel.For(p.Batch*p.Channels, pl.workers(), func(lo, hi int) {
		for item := lo; item < hi; item++ {
			plane := dst[item*planeLen : (item+1)*planeLen]
			clear(plane)
			in := cols[item*kk*L : (item+1)*kk*L]
			for ki := 0; ki < p.KernelH; ki++ {
				h0 := ki*p.DilationH - p.PadH
				for kj, s := range sp {
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
	})
}

// rowsAdjoint scatters (Batch·Positions) × Cols back onto the image, one
// (image, channel) plane per work item.
func rowsAdjoint[T Float](pl *Plan, dst, cols []T) {
	p := pl.p
	sp, _ := pl.spans()
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	parallel.For(p.Batch*p.Channels, pl.workers(), func(lo, hi int) {
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
					for kj, s := range sp {
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
	})
}

// flatRowsAdjoint puts each FlatSampling row back on its pixel. Kept pixels
// are distinct, so after the image is cleared the rows can be written in
// parallel without two goroutines touching one element.
func flatRowsAdjoint[T Float](pl *Plan, dst, cols []T) {
	p := pl.p
	C := p.Channels
	hw := p.Height * p.Width
	step := pl.stepW
	parallel.For(p.Batch*C, pl.workers(), func(lo, hi int) {
		clear(dst[lo*hw : hi*hw])
	})
	parallel.For(pl.positions, pl.workers(), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			q := r * step
			n, pix := q/hw, q%hw
			row := cols[r*C : (r+1)*C]
			base := n*C*hw + pix
			for c, v := range row {
				dst[base+c*hw] = v
			}
		}
	})
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
