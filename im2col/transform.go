package im2col

import (
	"fmt"
	"sync"

	"github.com/netdeconv/deconv/internal/gather"
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
		return fmt.Errorf("%w: %s has %d elements, the plan needs %d", ErrLength, colsName, colsLen, pl.dstLen)
	}
	if imageLen < pl.srcLen {
		return fmt.Errorf("%w: %s has %d elements, the plan needs %d", ErrLength, imageName, imageLen, pl.srcLen)
	}
	return nil
}

// kernels are the per-family building blocks a transform uses.
type kernels[T Float] struct {
	strided gather.StridedFunc[T]
	// stream copies a finished block of output to dst with non-temporal
	// stores; nil when the family has none, and then output is written in
	// place.
	stream gather.CopyFunc[T]
}

func kernelsFor[T Float](pl *Plan) kernels[T] {
	return kernels[T]{strided: gather.StridedFor[T](pl.family), stream: gather.StreamCopyFor[T](pl.family)}
}

// stageElems bounds the staging buffer in which a block of output is built
// before it is streamed to dst: 128 KiB of float32 stays in L2 while it is
// written piecewise and read back once.
const stageElems = 32768

// span is the range [lo, hi) of kept output positions along the width whose
// tap kj lands inside the image, and the input column of position lo.
type span struct{ lo, hi, start int }

// spans computes, for each kernel column kj, which output positions read
// real pixels; everything outside [lo, hi) reads padding. It depends only
// on the plan, so it is computed once per call, not per row.
func (pl *Plan) spans() []span {
	p := pl.p
	sp := make([]span, p.KernelW)
	for kj := range sp {
		w0 := kj*p.DilationW - p.PadW // input column of position 0
		lo := 0
		if w0 < 0 {
			lo = (-w0-1)/pl.stepW + 1 // ⌈−w0/step⌉ without overflow
		}
		hi := 0
		if last := p.Width - 1 - w0; last >= 0 {
			hi = min(last/pl.stepW+1, pl.outW)
		}
		lo = min(lo, hi)
		sp[kj] = span{lo: lo, hi: hi, start: w0 + lo*pl.stepW}
	}
	return sp
}

// fillRow writes one output row of patches for tap (ki, kj) at output row
// oh of one channel plane: zeros over the padding, a strided run of the
// input row in between. It returns without reading plane when the tap's
// input row is padding.
func fillRow[T Float](seg, plane []T, h, width int, s span, step int, k kernels[T]) {
	if h < 0 || h*width >= len(plane) {
		clear(seg)
		return
	}
	clear(seg[:s.lo])
	if s.hi > s.lo {
		k.strided(seg[s.lo:s.hi], plane[h*width+s.start:], step)
	}
	clear(seg[s.hi:])
}

// unfold writes Batch × Cols × Positions. One work item is one (image,
// channel) plane, whose KernelH·KernelW output rows are contiguous in dst.
func unfold[T Float](pl *Plan, dst, src []T, k kernels[T]) {
	p := pl.p
	sp := pl.spans()
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	L := pl.positions
	// Output rows (one per tap) are built in a staging buffer, as many as
	// fit, and streamed out together; without a streaming copy, or when one
	// row does not fit, they are written in place.
	perStage := stageElems / L
	if k.stream == nil {
		perStage = 0
	}
	parallel.For(p.Batch*p.Channels, pl.workers(), func(lo, hi int) {
		var stage *[]T
		if perStage > 0 {
			stage = getScratch[T](min(perStage, kk) * L)
			defer putScratch(stage)
		}
		for item := lo; item < hi; item++ {
			plane := src[item*planeLen : (item+1)*planeLen]
			out := dst[item*kk*L : (item+1)*kk*L]
			buf, staged := out, 0 // buf receives taps staged… of out
			for tap := 0; tap < kk; tap++ {
				ki, kj := tap/p.KernelW, tap%p.KernelW
				if perStage > 0 && tap%perStage == 0 {
					if tap > 0 {
						k.stream(out[staged*L:tap*L], buf[:(tap-staged)*L])
					}
					buf, staged = *stage, tap
				}
				row := buf[(tap-staged)*L : (tap-staged+1)*L]
				h0 := ki*p.DilationH - p.PadH
				for oh := 0; oh < pl.outH; oh++ {
					fillRow(row[oh*pl.outW:(oh+1)*pl.outW], plane, h0+oh*pl.stepH, p.Width, sp[kj], pl.stepW, k)
				}
			}
			if perStage > 0 {
				k.stream(out[staged*L:], buf[:(kk-staged)*L])
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
// is written along its rows.
func rows[T Float](pl *Plan, dst, src []T, k kernels[T]) {
	p := pl.p
	sp := pl.spans()
	kk := p.KernelH * p.KernelW
	planeLen := p.Height * p.Width
	chunk := max(1, tileElems/(kk*pl.outW)) // channels per tile
	// An item's output, OutW whole rows, is contiguous: when it fits, it is
	// transposed into a staging buffer and streamed out in one piece.
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
				for c := c0; c < c1; c++ {
					plane := src[(n*p.Channels+c)*planeLen : (n*p.Channels+c+1)*planeLen]
					for ki := 0; ki < p.KernelH; ki++ {
						h := oh*pl.stepH + ki*p.DilationH - p.PadH
						for kj, s := range sp {
							r := (c-c0)*kk + ki*p.KernelW + kj
							fillRow(t[r*pl.outW:(r+1)*pl.outW], plane, h, p.Width, s, pl.stepW, k)
						}
					}
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
	sp := pl.spans()
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
	sp := pl.spans()
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
