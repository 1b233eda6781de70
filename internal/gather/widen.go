package gather

import "github.com/netdeconv/deconv/internal/isa"

// AddWidenFunc adds src into dst, each value converted to float64 first:
//
//	dst[i] += float64(src[i])   for i < len(src)
//
// len(dst) must be at least len(src); it panics, like an index out of
// range, otherwise.
type AddWidenFunc[T Float] func(dst []float64, src []T)

// AddWiden is the generic AddWidenFunc.
func AddWiden[T Float](dst []float64, src []T) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += float64(v)
	}
}

// AddWidenFor returns the AddWidenFunc of family f for element type T:
// float32 on AVX-512 has a vector kernel, the others the generic loop.
func AddWidenFor[T Float](f isa.Family) AddWidenFunc[T] {
	if k := addWidenKernel[T](f); k != nil {
		return k
	}
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(addWidenGenericF32).(AddWidenFunc[T])
	}
	return any(addWidenGenericF64).(AddWidenFunc[T])
}

// The generic kernels as package-level values, so that looking one up
// allocates nothing.
var (
	addWidenGenericF32 = AddWidenFunc[float32](AddWiden[float32])
	addWidenGenericF64 = AddWidenFunc[float64](AddWiden[float64])
)
