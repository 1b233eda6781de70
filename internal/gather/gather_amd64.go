//go:build amd64 && gc && !purego

package gather

import (
	"math"
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

//go:generate sh -c "cd ../_gen && go run ./gather -pkg gather -out ../gather/strided_amd64.s -stubs ../gather/strided_stub_amd64.go"

// maxGatherStep keeps the gathers' 32-bit element indices (up to 15·step)
// far from overflow; longer steps are rare and take the generic loop.
const maxGatherStep = math.MaxInt32 / 32

func strided32(f isa.Family) func(dst, src []float32, step int) {
	switch f {
	case isa.AVX512:
		return func(dst, src []float32, step int) { stridedAsm(dst, src, step, 16, stridedF32AVX512) }
	case isa.AVX2:
		return func(dst, src []float32, step int) { stridedAsm(dst, src, step, 8, stridedF32AVX2) }
	}
	return nil
}

func strided64(f isa.Family) func(dst, src []float64, step int) {
	switch f {
	case isa.AVX512:
		return func(dst, src []float64, step int) { stridedAsm(dst, src, step, 8, stridedF64AVX512) }
	case isa.AVX2:
		return func(dst, src []float64, step int) { stridedAsm(dst, src, step, 4, stridedF64AVX2) }
	}
	return nil
}

// stridedAsm runs the assembly kernel over the whole vectors of dst and the
// generic loop over the rest. Unit steps are copies, which memmove already
// does with the widest loads.
func stridedAsm[T Float](dst, src []T, step, lanes int, kernel func(dst, src *T, n, step int)) {
	if step == 1 || step > maxGatherStep {
		Strided(dst, src, step)
		return
	}
	n := len(dst) - len(dst)%lanes
	if n > 0 {
		_ = src[(n-1)*step] // the kernel reads up to here
		kernel(&dst[0], &src[0], n, step)
	}
	if n < len(dst) {
		Strided(dst[n:], src[n*step:], step)
	}
}

// streamMin is the smallest copy worth streaming: below it the alignment
// head and tail and the closing fence dominate.
const streamMin = 2048

func streamCopy[T Float](f isa.Family) CopyFunc[T] {
	switch f {
	case isa.AVX512:
		return func(dst, src []T) { streamAsm(dst, src, 64, streamAVX512) }
	case isa.AVX2:
		return func(dst, src []T) { streamAsm(dst, src, 32, streamAVX2) }
	}
	return nil
}

// streamAsm copies the unaligned head and the tail of dst with copy and the
// aligned middle, a multiple of four vectors, with the kernel.
func streamAsm[T Float](dst, src []T, align int, kernel func(dst, src *byte, n int)) {
	src = src[:len(dst)]
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(dst)*size < streamMin {
		copy(dst, src)
		return
	}
	head := int(-uintptr(unsafe.Pointer(&dst[0]))&uintptr(align-1)) / size
	copy(dst[:head], src[:head])
	body := ((len(dst) - head) * size) &^ (4*align - 1)
	kernel((*byte)(unsafe.Pointer(&dst[head])), (*byte)(unsafe.Pointer(&src[head])), body)
	rest := head + body/size
	copy(dst[rest:], src[rest:])
}
