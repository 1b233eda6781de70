//go:build amd64 && gc && !purego

package gather

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// addWidenF32 runs whole blocks of 16 values through the AVX-512 kernel
// and the rest through the generic loop; a package-level value, so that
// looking it up allocates nothing.
var addWidenF32 = AddWidenFunc[float32](func(dst []float64, src []float32) {
	dst = dst[:len(src)]
	n := len(src) &^ 15
	if n > 0 {
		if race.Enabled {
			race.Read(unsafe.Pointer(&src[0]), n*4)
			race.Read(unsafe.Pointer(&dst[0]), n*8)
			race.Write(unsafe.Pointer(&dst[0]), n*8)
		}
		addWidenF32AVX512(&dst[0], &src[0], n)
	}
	AddWiden(dst[n:], src[n:])
})

func addWidenKernel[T Float](f isa.Family) AddWidenFunc[T] {
	var zero T
	if _, ok := any(zero).(float32); ok && f >= isa.AVX512 && isa.Supported(isa.AVX512) {
		return any(addWidenF32).(AddWidenFunc[T])
	}
	return nil
}
