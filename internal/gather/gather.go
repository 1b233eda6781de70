// Package gather holds the memory-bound kernels that im2col-style code is
// made of: strided gathers (every step-th element of a row, one row or
// many), their adjoint scatter-adds, a cache-blocked transpose, copies with
// non-temporal stores, prefetching, and finiteness checks. Each kernel has a generic Go
// version, always compiled so tests can compare it with the assembly in one
// binary, and AVX2/AVX-512 versions on amd64, chosen by family (see
// internal/isa) through the *For functions.
package gather

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// Float is the element type of every kernel.
type Float interface{ float32 | float64 }

// StridedFunc copies every step-th element of src into dst:
//
//	for i := range dst { dst[i] = src[i*step] }
//
// src must hold at least (len(dst)-1)*step+1 elements; step >= 1.
type StridedFunc[T Float] func(dst, src []T, step int)

// Strided is the generic StridedFunc. Unit steps become a copy (memmove,
// which is already vectorised).
func Strided[T Float](dst, src []T, step int) {
	if len(dst) == 0 {
		return
	}
	if step == 1 {
		copy(dst, src[:len(dst)])
		return
	}
	_ = src[(len(dst)-1)*step]
	j := 0
	for i := range dst {
		dst[i] = src[j]
		j += step
	}
}

// AddStrided is the adjoint of Strided: it adds src into every step-th
// element of dst.
//
//	for i := range src { dst[i*step] += src[i] }
func AddStrided[T Float](dst, src []T, step int) {
	if len(src) == 0 {
		return
	}
	_ = dst[(len(src)-1)*step]
	if step == 1 {
		dst = dst[:len(src)]
		for i, v := range src {
			dst[i] += v
		}
		return
	}
	j := 0
	for _, v := range src {
		dst[j] += v
		j += step
	}
}

// Strided2DFunc gathers a strided run from each of rows rows:
//
//	for r := 0; r < rows; r++ {
//		for i := 0; i < n; i++ { dst[r*ldd+i] = src[r*lds+i*step] }
//	}
//
// step >= 1; dst and src must hold the elements named (it panics, like an
// index out of range, when they do not).
type Strided2DFunc[T Float] func(dst []T, ldd int, src []T, lds, rows, n, step int)

// Strided2D is the generic Strided2DFunc.
func Strided2D[T Float](dst []T, ldd int, src []T, lds, rows, n, step int) {
	if rows == 0 || n == 0 {
		return
	}
	checkStrided2D(len(dst), ldd, len(src), lds, rows, n, step)
	for r := 0; r < rows; r++ {
		Strided(dst[r*ldd:r*ldd+n], src[r*lds:], step)
	}
}

// checkStrided2D panics unless a Strided2DFunc call stays inside its slices;
// the assembly kernels rely on it.
func checkStrided2D(dstLen, ldd, srcLen, lds, rows, n, step int) {
	if rows < 0 || n < 0 || step < 1 || ldd < 0 || lds < 0 ||
		(rows-1)*ldd+n > dstLen || (rows-1)*lds+(n-1)*step >= srcLen {
		panic("gather: strided gather outside its slices")
	}
}

// StridedFor returns the StridedFunc of family f for element type T. Asking
// for a family the build lacks returns the generic kernel.
func StridedFor[T Float](f isa.Family) StridedFunc[T] {
	k := Strided2DFor[T](f)
	return func(dst, src []T, step int) {
		if len(dst) > 0 {
			k(dst, 0, src, 0, 1, len(dst), step)
		}
	}
}

// Strided2DFor returns the Strided2DFunc of family f for element type T.
func Strided2DFor[T Float](f isa.Family) Strided2DFunc[T] {
	var zero T
	switch any(zero).(type) {
	case float32:
		if k := strided2D32(f); k != nil {
			return any(Strided2DFunc[float32](k)).(Strided2DFunc[T])
		}
	case float64:
		if k := strided2D64(f); k != nil {
			return any(Strided2DFunc[float64](k)).(Strided2DFunc[T])
		}
	}
	return Strided2D[T]
}

// transposeBlock is the edge of the square tiles Transpose works in: two
// 32×32 float64 tiles (16 KiB) stay in L1 while one is read by rows and the
// other written by columns.
const transposeBlock = 32

// Transpose writes the rows×cols matrix src (leading dimension lds) as the
// cols×rows matrix dst (leading dimension ldd):
//
//	dst[j*ldd+i] = src[i*lds+j]
func Transpose[T Float](dst []T, ldd int, src []T, lds int, rows, cols int) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = src[(rows-1)*lds+cols-1]
	_ = dst[(cols-1)*ldd+rows-1]
	for i0 := 0; i0 < rows; i0 += transposeBlock {
		i1 := min(i0+transposeBlock, rows)
		for j0 := 0; j0 < cols; j0 += transposeBlock {
			j1 := min(j0+transposeBlock, cols)
			for i := i0; i < i1; i++ {
				s := src[i*lds+j0 : i*lds+j1]
				d := dst[j0*ldd+i:]
				for jj, v := range s {
					d[jj*ldd] = v
				}
			}
		}
	}
}

// CopyFunc copies src into dst; len(dst) == len(src).
type CopyFunc[T Float] func(dst, src []T)

// StreamCopyFor returns the copy of family f that writes with non-temporal
// (cache-bypassing) stores, or nil when the family has none. Use it for
// output written once and not read back soon: it spares the read of each
// destination line that an ordinary store costs, a third of the traffic of
// a copy.
func StreamCopyFor[T Float](f isa.Family) CopyFunc[T] {
	return streamCopy[T](f)
}

// Prefetch asks the CPU to bring s into its caches ahead of use. It is a
// hint with no effect on results, and does nothing in builds without
// assembly.
func Prefetch[T Float](s []T) {
	if len(s) > 0 {
		prefetch(unsafe.Pointer(&s[0]), len(s)*int(unsafe.Sizeof(s[0])))
	}
}

// FiniteFunc reports whether every value of s is finite (no NaN, no ±Inf).
type FiniteFunc[T Float] func(s []T) bool

// Finite is the generic FiniteFunc: v−v is 0 for finite v and NaN
// otherwise, so the differences are summed and tested once, with no branch
// per element.
func Finite[T Float](s []T) bool {
	var acc T
	for _, v := range s {
		acc += v - v
	}
	return acc == 0
}

// The generic checks as package-level values: a generic function value
// made inside a generic function is a fresh closure, an allocation per
// lookup.
var (
	finite32 FiniteFunc[float32] = Finite[float32]
	finite64 FiniteFunc[float64] = Finite[float64]
)

// FiniteFor returns the FiniteFunc of family f for element type T. It
// allocates nothing, so it may be looked up on every call.
func FiniteFor[T Float](f isa.Family) FiniteFunc[T] {
	if k := finiteKernel[T](f); k != nil {
		return k
	}
	var z T
	if _, ok := any(z).(float32); ok {
		return any(finite32).(FiniteFunc[T])
	}
	return any(finite64).(FiniteFunc[T])
}
