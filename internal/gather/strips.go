package gather

import "github.com/netdeconv/deconv/internal/isa"

// MaxStripLanes is the widest strip a StripsFunc copies.
const MaxStripLanes = 8

// StripsFunc copies n strips of lanes = len(shift) consecutive values
// (1 ≤ lanes ≤ MaxStripLanes), lds elements apart in src, to strips ldd
// elements apart in dst, minus shift, and adds what it stores into sum:
//
//	for j < n, u < lanes:  v := src[j·lds+u] − shift[u];  dst[j·ldd+u] = v;  sum[u] += float64(v)
//
// The sums are float64 whatever T, so a mean taken from them is exact to
// float64 rounding however many strips add into it. It panics, like an
// index out of range, when a strip falls outside its slice or sum is
// shorter than shift.
type StripsFunc[T Float] func(dst []T, ldd int, src []T, lds, n int, shift []T, sum []float64)

// Strips is the generic StripsFunc: lane by lane, a strided walk each, in
// blocks of 64 values summed in T and then in float64.
func Strips[T Float](dst []T, ldd int, src []T, lds, n int, shift []T, sum []float64) {
	if n <= 0 {
		return
	}
	checkStrips(len(dst), ldd, len(src), lds, n, len(shift), len(sum))
	for u, s := range shift {
		var total float64
		for j0 := 0; j0 < n; j0 += 64 {
			var a0, a1 T
			j := j0
			for ; j+2 <= min(n, j0+64); j += 2 {
				v0 := src[j*lds+u] - s
				v1 := src[(j+1)*lds+u] - s
				dst[j*ldd+u] = v0
				dst[(j+1)*ldd+u] = v1
				a0 += v0
				a1 += v1
			}
			for ; j < min(n, j0+64); j++ {
				v := src[j*lds+u] - s
				dst[j*ldd+u] = v
				a0 += v
			}
			total += float64(a0) + float64(a1)
		}
		sum[u] += total
	}
}

// checkStrips panics unless a StripsFunc call with n ≥ 1 stays inside its
// slices; the assembly kernels rely on it.
func checkStrips(dstLen, ldd, srcLen, lds, n, lanes, sumLen int) {
	if lanes < 1 || lanes > MaxStripLanes || sumLen < lanes || ldd < 0 || lds < 0 ||
		(n-1)*ldd+lanes > dstLen || (n-1)*lds+lanes > srcLen {
		panic("gather: strips outside their slices")
	}
}

// StripsFor returns the StripsFunc of family f for element type T; a
// family without a kernel of its own (AVX2, whose masked stores are slow
// on some CPUs that have them) gets the generic one.
func StripsFor[T Float](f isa.Family) StripsFunc[T] {
	if k := stripsKernel[T](f); k != nil {
		return k
	}
	return Strips[T]
}
