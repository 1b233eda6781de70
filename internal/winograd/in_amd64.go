//go:build amd64 && gc && !purego

package winograd

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

//go:generate sh -c "cd ../_gen && go run ./winin -pkg winograd -out ../winograd/in_amd64.s -stubs ../winograd/in_stub_amd64.go"

// inputKernel reports whether InputTransform has a kernel for T and fam.
func inputKernel[T Float](fam isa.Family) bool {
	var z T
	_, f32 := any(z).(float32)
	return f32 && fam >= isa.AVX512 && isa.Supported(isa.AVX512)
}

// inputF32 runs the kernel on c channels of w tiles (a multiple of 16),
// in one call when the channels' rows are contiguous (w = ld) and per
// channel otherwise. The sizes are checked by the caller.
func inputF32(dst, src []float32, rs, c, ld, w int, bt *[36]float32) {
	if race.Enabled {
		span := ((c-1)*ld + w) * 4
		for k := range 36 {
			race.Read(unsafe.Pointer(&src[k*rs]), span)
			race.Write(unsafe.Pointer(&dst[k*rs]), span)
		}
	}
	if w == ld {
		inputF32AVX512(&dst[0], &src[0], rs*4, c*ld/16, &bt[0])
		return
	}
	for ci := range c {
		inputF32AVX512(&dst[ci*ld], &src[ci*ld], rs*4, w/16, &bt[0])
	}
}
