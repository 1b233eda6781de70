package dconv

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// Float is the set of element types Rows handles: the vector kernel is
// float32's; float64 runs the portable loop.
type Float interface{ float32 | float64 }

// Channels is the number of output channels one Rows call computes.
const Channels = 4

// Lanes is the number of float32 columns of one vector of the kernel.
const Lanes = 16

// Offsets is the list of a convolution's terms per output channel: the
// element offset, from an output position's place in the padded input, of
// each (input channel, kernel tap) pair, in the order the packed weights
// hold them. Build it with Reset and Add; it reuses its storage, so
// rebuilding one allocates nothing once it has held as many offsets.
type Offsets struct {
	elem   []int
	bytes  []int64 // the float32 kernel's form: (byte offset, 0) per term, the stride of the packed weights
	maxOff int
}

// Reset empties the list.
func (o *Offsets) Reset() { o.elem, o.bytes, o.maxOff = o.elem[:0], o.bytes[:0], 0 }

// Add appends the offset off (≥ 0) of the next term.
func (o *Offsets) Add(off int) {
	o.elem = append(o.elem, off)
	o.bytes = append(o.bytes, int64(off)*4, 0)
	o.maxOff = max(o.maxOff, off)
}

// Len returns the number of terms.
func (o *Offsets) Len() int { return len(o.elem) }

// Pack writes the weights of Channels output channels, weight holding
// their rows of terms one after the other (Channels × terms values, the
// layout of a convolution's weight tensor for consecutive output
// channels), into dst in the kernel's order: the channels' weights of
// term t together, dst[t·Channels + c] = weight[c·terms + t]. Both slices
// hold Channels·terms values.
func Pack[T Float](dst, weight []T, terms int) {
	_ = dst[Channels*terms-1]
	_ = weight[Channels*terms-1]
	for c := range Channels {
		row := weight[c*terms : (c+1)*terms]
		for t, v := range row {
			dst[t*Channels+c] = v
		}
	}
}

// Available reports whether the vector kernel runs for elements of type T
// and family fam on this CPU.
func Available[T Float](fam isa.Family) bool {
	var z T
	return unsafe.Sizeof(z) == 4 && available(fam)
}

// Rows computes, for c < Channels, r < rows and x < cols,
//
//	dst[c·ldc + r·ldd + x] = bias[c] + Σ_t w[t·Channels + c] · src[r·lds + off_t + x]
//
// summing the terms in the order of o (w packed by Pack, bias Channels
// values). It runs the kernel of family fam when Available(fam), the
// portable loop otherwise (see Available). It panics when a slice is too short or o is
// empty.
func Rows[T Float](fam isa.Family, dst []T, ldd, ldc int, src []T, lds, rows, cols int, w []T, o *Offsets, bias []T) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if len(o.elem) == 0 {
		panic("dconv: no terms")
	}
	_ = dst[(Channels-1)*ldc+(rows-1)*ldd+cols-1]
	_ = src[(rows-1)*lds+o.maxOff+cols-1]
	_ = w[Channels*len(o.elem)-1]
	_ = bias[Channels-1]
	if d, ok := any(dst).([]float32); ok && available(fam) {
		kernel(d, ldd, ldc, any(src).([]float32), lds, rows, cols, any(w).([]float32), o, any(bias).([]float32))
		return
	}
	Generic(dst, ldd, ldc, src, lds, rows, cols, w, o, bias)
}

// Generic is Rows's portable loop.
func Generic[T Float](dst []T, ldd, ldc int, src []T, lds, rows, cols int, w []T, o *Offsets, bias []T) {
	for c := range Channels {
		for r := range rows {
			out := dst[c*ldc+r*ldd : c*ldc+r*ldd+cols]
			for x := range out {
				out[x] = bias[c]
			}
			for t, off := range o.elem {
				wt := w[t*Channels+c]
				in := src[r*lds+off : r*lds+off+cols]
				for x := range out {
					out[x] += wt * in[x]
				}
			}
		}
	}
}
