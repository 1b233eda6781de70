// Package gather holds the memory-bound kernels that im2col-style code is
// made of: strided gathers (every step-th element of a row), their adjoint
// scatter-adds, and a cache-blocked transpose. Each kernel has a generic Go
// version, always compiled so tests can compare it with the assembly in one
// binary, and AVX2/AVX-512 versions on amd64, chosen by family (see
// internal/isa) through the *For functions.
package gather

import "github.com/netdeconv/deconv/internal/isa"

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

// StridedFor returns the StridedFunc of family f for element type T. Asking
// for a family the build lacks returns the generic kernel.
func StridedFor[T Float](f isa.Family) StridedFunc[T] {
	var zero T
	switch any(zero).(type) {
	case float32:
		if k := strided32(f); k != nil {
			return any(k).(func([]T, []T, int))
		}
	case float64:
		if k := strided64(f); k != nil {
			return any(k).(func([]T, []T, int))
		}
	}
	return Strided[T]
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
