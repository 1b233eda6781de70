package taps

import (
	"math"
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// Float is the set of element types the kernels handle.
type Float interface{ float32 | float64 }

// Taps is the list of terms of one output: weight w at element offset off
// from the output's position in the source. Build it with Reset and Add;
// a Taps reuses its storage, so rebuilding one allocates nothing once it
// has held as many taps.
type Taps[T Float] struct {
	off    []int
	w      []T
	tab    []int64 // (byte offset, weight bits) pairs for the kernels
	maxOff int
}

// Reset empties the list.
func (p *Taps[T]) Reset() {
	p.off, p.w, p.tab, p.maxOff = p.off[:0], p.w[:0], p.tab[:0], 0
}

// Add appends a tap: weight w on the source element off positions after
// the output's (off ≥ 0).
func (p *Taps[T]) Add(off int, w T) {
	var z T
	size := int(unsafe.Sizeof(z))
	var bits int64
	if size == 4 {
		bits = int64(math.Float32bits(float32(w)))
	} else {
		bits = int64(math.Float64bits(float64(w)))
	}
	p.off = append(p.off, off)
	p.w = append(p.w, w)
	p.tab = append(p.tab, int64(off*size), bits)
	p.maxOff = max(p.maxOff, off)
}

// Len returns the number of taps.
func (p *Taps[T]) Len() int { return len(p.off) }

// Rows computes, for r < rows and x < cols,
//
//	dst[r·ldd + x] = bias + Σ_t w_t · src[r·lds + off_t + x·sx]
//
// summing the taps in the order they were added. Columns of unit stride
// (sx = 1) run on the vector kernels of the selected instruction set,
// others on a portable loop. It panics when dst or src is too short.
func Rows[T Float](dst []T, ldd int, src []T, lds, sx, rows, cols int, p *Taps[T], bias T) {
	if rows <= 0 || cols <= 0 {
		return
	}
	_ = dst[(rows-1)*ldd+cols-1]
	if len(p.off) == 0 {
		for r := 0; r < rows; r++ {
			fill(dst[r*ldd:r*ldd+cols], bias)
		}
		return
	}
	_ = src[(rows-1)*lds+p.maxOff+(cols-1)*sx]
	done := 0
	if sx == 1 {
		done = vector(isa.Selected(), dst, ldd, src, lds, rows, cols, p, bias)
	}
	if done < cols {
		generic(dst[done:], ldd, src[done*sx:], lds, sx, rows, cols-done, p, bias)
	}
}

// generic is the portable loop of Rows.
func generic[T Float](dst []T, ldd int, src []T, lds, sx, rows, cols int, p *Taps[T], bias T) {
	for r := 0; r < rows; r++ {
		out := dst[r*ldd : r*ldd+cols]
		fill(out, bias)
		for t, off := range p.off {
			w := p.w[t]
			in := src[r*lds+off:]
			if sx == 1 {
				in = in[:cols]
				for x := range out {
					out[x] += w * in[x]
				}
				continue
			}
			for x := range out {
				out[x] += w * in[x*sx]
			}
		}
	}
}

// raceRows tells the race detector what a kernel call reads and writes.
func raceRows[T Float](dst []T, ldd int, src []T, lds, rows, cols, maxOff int) {
	var z T
	size := int(unsafe.Sizeof(z))
	race.Read(unsafe.Pointer(&src[0]), ((rows-1)*lds+maxOff+cols)*size)
	for r := 0; r < rows; r++ {
		race.Write(unsafe.Pointer(&dst[r*ldd]), cols*size)
	}
}

func fill[T Float](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}
