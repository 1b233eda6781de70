package dconv

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// Float is the set of element types Rows handles: the vector kernel is
// float32's; float64 runs the portable loop.
type Float interface{ float32 | float64 }

// Channels and WideChannels are the numbers of output channels one Rows
// call computes (its ch): 4 channels × 6 rows of vectors in registers, or
// 8 channels × 3 rows, which loads half as many input vectors per
// multiply-add and broadcasts each weight instead. The 8 × 3 shape was
// measured 4–14% faster with up to 32 input channels per group and a tie
// with 64, including groups whose padded input exceeds L1, so its gain is
// not from the input's L2 traffic; the caller picks the shape by channels
// per group (fold's blockedWideMaxChannels).
const (
	Channels     = 4
	WideChannels = 8
)

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

// Add appends the offset off of the next term. It panics when off is
// negative: Rows checks only the end of src, so a negative offset would
// read before it.
func (o *Offsets) Add(off int) {
	if off < 0 {
		panic("dconv: negative offset")
	}
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
// hold Channels·terms values. A block of WideChannels is two such blocks.
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

// weightAt returns the index in w of channel c's weight of term t, for
// blocks of 4 channels packed by Pack wld elements apart.
func weightAt(c, t, wld int) int { return c/Channels*wld + t*Channels + c%Channels }

// Available reports whether the vector kernel runs for elements of type T
// and family fam on this CPU.
func Available[T Float](fam isa.Family) bool {
	var z T
	return unsafe.Sizeof(z) == 4 && available(fam)
}

// Rows computes, for c < ch (Channels or WideChannels), r < rows and
// x < cols,
//
//	dst[c·ldc + r·ldd + x] = bias[c] + Σ_{t<terms} w[(c/4)·wld + 4t + c%4] · src[r·lds + off_t + x]
//
// over the first terms of o, summing them in order (w: blocks of 4
// channels packed by Pack, the second, with ch 8, wld elements after the
// first; bias ch values); with bias nil the sum is added to dst's values
// instead, so that a long list can be summed in parts (a chunk of input
// channels at a time: their terms are a run of o, their weights a run of
// w). It runs the kernel of family fam when Available, the portable loop
// otherwise. It panics when a slice is too short, terms is not in
// [1, o.Len()] or ch is neither Channels nor WideChannels.
func Rows[T Float](fam isa.Family, ch int, dst []T, ldd, ldc int, src []T, lds, rows, cols int, w []T, wld int, o *Offsets, terms int, bias []T) {
	if ch != Channels && ch != WideChannels {
		panic("dconv: channel block neither 4 nor 8")
	}
	if rows <= 0 || cols <= 0 {
		return
	}
	if terms <= 0 || terms > len(o.elem) {
		panic("dconv: term count out of range")
	}
	maxOff := o.maxOff
	if terms < len(o.elem) {
		maxOff = 0
		for _, off := range o.elem[:terms] {
			maxOff = max(maxOff, off)
		}
	}
	_ = dst[(ch-1)*ldc+(rows-1)*ldd+cols-1]
	_ = src[(rows-1)*lds+maxOff+cols-1]
	_ = w[Channels*terms-1]
	if ch == WideChannels {
		if wld < Channels*terms {
			panic("dconv: weight blocks overlap")
		}
		_ = w[wld+Channels*terms-1]
	}
	if bias != nil {
		_ = bias[ch-1]
	}
	if d, ok := any(dst).([]float32); ok && available(fam) {
		kernel(ch, d, ldd, ldc, any(src).([]float32), lds, rows, cols, any(w).([]float32), wld, o, terms, maxOff, any(bias).([]float32))
		return
	}
	Generic(ch, dst, ldd, ldc, src, lds, rows, cols, w, wld, o, terms, bias)
}

// Generic is Rows's portable loop.
func Generic[T Float](ch int, dst []T, ldd, ldc int, src []T, lds, rows, cols int, w []T, wld int, o *Offsets, terms int, bias []T) {
	for c := range ch {
		for r := range rows {
			out := dst[c*ldc+r*ldd : c*ldc+r*ldd+cols]
			if bias != nil {
				for x := range out {
					out[x] = bias[c]
				}
			}
			for t, off := range o.elem[:terms] {
				wt := w[weightAt(c, t, wld)]
				in := src[r*lds+off : r*lds+off+cols]
				for x := range out {
					out[x] += wt * in[x]
				}
			}
		}
	}
}
