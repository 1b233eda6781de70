package gather

import (
	"math"
	"math/bits"

	"github.com/netdeconv/deconv/internal/isa"
)

// MaxStripLanes is the widest strip StripRows copies.
const MaxStripLanes = 8

// Strip is one strip of a StripRows call: Lanes values that are
// neighbours in a source row and in a destination row alike (the taps of
// a window row, which land in neighbouring lanes of a panel), copied for
// every window. Offsets are in elements; the layout is the one the
// assembly kernels read.
type Strip struct {
	Src   int // window 0's first value: src[delta+Src] (may be negative where masked off)
	Dst   int // window 0's first lane: dst[Dst]
	Col   int // the lanes' first index in shift
	Lanes int // 1 … MaxStripLanes
	Masks int // window j's load mask is masks[Masks+j]
}

// StripRowsFunc runs the strips: for the k-th strip s, window j < n and
// lane u < s.Lanes,
//
//	x := 0, or src[delta + s.Src + j·step + u] where bit u of masks[s.Masks+j] is set
//	v := x − shift[s.Col+u];  dst[s.Dst + j·ldd + u] = v;  sums[8·k+u] += float64(v)
//
// Lanes whose mask bit is clear read nothing (padding, a row outside the
// image): their source offsets may lie outside src. Each strip has its
// own eight float64 sums (sums holds 8·len(strips)), which the caller
// folds where it wants them; they are float64 whatever T, each a sum of
// blocks of at most 64 windows added in T, so a mean taken from them is
// exact to float64 rounding however many windows add into it. It panics,
// like an index out of range, when a lane it reads or writes lies outside
// its slice. Strips must not overlap in dst.
type StripRowsFunc[T Float] func(dst []T, ldd int, src []T, delta, step, n int, strips []Strip, masks []uint16, shift []T, sums []float64)

// StripRows is the generic StripRowsFunc: lane by lane, a strided walk
// each, summed in T in blocks of 64 windows and then in float64.
func StripRows[T Float](dst []T, ldd int, src []T, delta, step, n int, strips []Strip, masks []uint16, shift []T, sums []float64) {
	if n <= 0 {
		return
	}
	checkStripRows(len(dst), ldd, len(src), delta, step, n, strips, masks, len(shift), len(sums))
	for k, s := range strips {
		m := masks[s.Masks : s.Masks+n]
		d := dst[s.Dst : s.Dst+(n-1)*ldd+s.Lanes]
		for u := 0; u < s.Lanes; u++ {
			sh := shift[s.Col+u]
			var total float64
			for j0 := 0; j0 < n; j0 += 64 {
				var a T
				for j := j0; j < min(n, j0+64); j++ {
					var x T
					if m[j]>>u&1 != 0 {
						x = src[delta+s.Src+j*step+u]
					}
					v := x - sh
					d[j*ldd+u] = v
					a += v
				}
				total += float64(a)
			}
			sums[8*k+u] += total
		}
	}
}

// checkStripRows panics unless a StripRowsFunc call with n ≥ 1 stays
// inside its slices; the assembly kernels rely on it. The extent of the
// lanes a mask sequence reads is found from its first and last few
// windows.
func checkStripRows(dstLen, ldd, srcLen, delta, step, n int, strips []Strip, masks []uint16, shiftLen, sumsLen int) {
	if ldd < 0 || step < 1 {
		panic("gather: strips with a negative stride")
	}
	if sumsLen < 8*len(strips) {
		panic("gather: strips without their sums")
	}
	// The reach of each strip's masks, remembered for the last few mask
	// offsets: strips of a few classes alternate (the tap rows of each
	// group), and a scan per strip would cost more than the copy.
	var seen [8]struct{ masks, lo, hi int }
	nseen, lo, hi := 0, 0, 0
	for _, s := range strips {
		if s.Lanes < 1 || s.Lanes > MaxStripLanes || s.Dst < 0 || s.Dst+(n-1)*ldd+s.Lanes > dstLen ||
			s.Col < 0 || s.Col+s.Lanes > shiftLen || s.Masks < 0 || s.Masks+n > len(masks) {
			panic("gather: strip outside its slices")
		}
		k := 0
		for k < min(nseen, len(seen)) && seen[k].masks != s.Masks {
			k++
		}
		if k < min(nseen, len(seen)) {
			lo, hi = seen[k].lo, seen[k].hi
		} else {
			// The lowest and highest offsets (from window 0's first value)
			// of a set bit: j·step + u grows with j by at least step, and
			// u < 8, so each scan stops a few windows past its first set
			// bit.
			lo, hi = math.MaxInt, math.MinInt
			m := masks[s.Masks : s.Masks+n]
			for j := 0; j < n && j*step < lo; j++ {
				if m[j] != 0 {
					lo = min(lo, j*step+bits.TrailingZeros16(m[j]))
				}
			}
			for j := n - 1; j >= 0 && j*step+16 > hi; j-- {
				if m[j] != 0 {
					hi = max(hi, j*step+bits.Len16(m[j])-1)
				}
			}
			seen[nseen%len(seen)] = struct{ masks, lo, hi int }{s.Masks, lo, hi}
			nseen++
		}
		// Bits at or beyond Lanes are ignored by the kernels; counting
		// them here only makes the check stricter.
		if lo <= hi && (delta+s.Src+lo < 0 || delta+s.Src+hi >= srcLen) {
			panic("gather: strip reads outside src")
		}
	}
}

// StripRowsFor returns the StripRowsFunc of family f for element type T;
// a family without a kernel of its own (AVX2, whose masked loads and
// stores are slow on some CPUs that have them) gets the generic one.
func StripRowsFor[T Float](f isa.Family) StripRowsFunc[T] {
	if k := stripRowsKernel[T](f); k != nil {
		return k
	}
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(stripRowsGenericF32).(StripRowsFunc[T])
	}
	return any(stripRowsGenericF64).(StripRowsFunc[T])
}

// The generic kernels as package-level values, so that looking one up
// allocates nothing.
var (
	stripRowsGenericF32 = StripRowsFunc[float32](StripRows[float32])
	stripRowsGenericF64 = StripRowsFunc[float64](StripRows[float64])
)
