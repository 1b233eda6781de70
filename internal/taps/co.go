package taps

import (
	"math"
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// CoTaps is a tap list shared by a block of output channels: each tap has
// one offset and one weight per channel. Computing the channels together
// loads each input vector once for all of them, which makes the kernel
// bound by its multiply-adds instead of its loads (a layer with several
// output channels per group). Build it with Reset and Add.
type CoTaps[T Float] struct {
	nco    int
	off    []int
	w      []T     // w[t*nco + c]
	tab    []int64 // per tap: byte offset, then nco weights' bits
	maxOff int
}

// CoBlock returns the number of output channels the vector kernel of the
// selected instruction set computes at once, or 0 when it has none (the
// caller then uses Taps one channel at a time).
func CoBlock() int { return coBlock(isa.Selected()) }

// Reset empties the list for blocks of nco channels.
func (p *CoTaps[T]) Reset(nco int) {
	p.nco, p.off, p.w, p.tab, p.maxOff = nco, p.off[:0], p.w[:0], p.tab[:0], 0
}

// Add appends a tap at element offset off (≥ 0) with the weights w of the
// block's channels (len(w) = the block's size).
func (p *CoTaps[T]) Add(off int, w []T) {
	var z T
	size := int(unsafe.Sizeof(z))
	p.off = append(p.off, off)
	p.w = append(p.w, w[:p.nco]...)
	p.tab = append(p.tab, int64(off*size))
	for _, v := range w[:p.nco] {
		if size == 4 {
			p.tab = append(p.tab, int64(math.Float32bits(float32(v))))
		} else {
			p.tab = append(p.tab, int64(math.Float64bits(float64(v))))
		}
	}
	p.maxOff = max(p.maxOff, off)
}

// RowsCo adds the taps to the block's channels: for c < nco, r < rows
// and x < cols,
//
//	dst[c·ldc + r·ldd + x] += Σ_t w_{t,c} · src[r·lds + off_t + x]
//
// (unit column stride; dst holds the bias beforehand). Whole vectors run
// on the selected family's kernel when its block is nco channels, the
// rest on a portable loop. It panics when dst or src is too short.
func RowsCo[T Float](dst []T, ldd, ldc int, src []T, lds, rows, cols int, p *CoTaps[T]) {
	if rows <= 0 || cols <= 0 || len(p.off) == 0 {
		return
	}
	_ = dst[(p.nco-1)*ldc+(rows-1)*ldd+cols-1]
	_ = src[(rows-1)*lds+p.maxOff+cols-1]
	done := vectorCo(isa.Selected(), dst, ldd, ldc, src, lds, rows, cols, p)
	if done == cols {
		return
	}
	for c := 0; c < p.nco; c++ {
		for r := 0; r < rows; r++ {
			out := dst[c*ldc+r*ldd+done : c*ldc+r*ldd+cols]
			for t, off := range p.off {
				w := p.w[t*p.nco+c]
				in := src[r*lds+off+done : r*lds+off+cols]
				for x := range out {
					out[x] += w * in[x]
				}
			}
		}
	}
}
