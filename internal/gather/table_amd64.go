//go:build amd64 && gc && !purego

package gather

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// The permute-program kernels, as package-level values so that looking
// one up allocates nothing.
var (
	tableF32Wide = TableFunc[float32](func(dst, src []float32, t *Table) { tableAsm(dst, src, t, &t.progs[0]) })
	tableF64Wide = TableFunc[float64](func(dst, src []float64, t *Table) { tableAsm(dst, src, t, &t.progs[1]) })
)

// tableKernel returns the AVX-512 kernel; AVX2 has no masked permute
// across a whole plane's window and keeps the generic loop.
func tableKernel[T Float](f isa.Family) TableFunc[T] {
	if f != isa.AVX512 || !isa.Supported(isa.AVX512) {
		return nil
	}
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(tableF32Wide).(TableFunc[T])
	}
	return any(tableF64Wide).(TableFunc[T])
}

// tableAsm checks the call and runs the kernel over every plane.
func tableAsm[T Float](dst, src []T, t *Table, p *tableProgram) {
	planes := t.check(len(dst), len(src))
	if planes == 0 {
		return
	}
	size := int(unsafe.Sizeof(dst[0]))
	if race.Enabled {
		race.Read(unsafe.Pointer(&src[0]), planes*t.planeLen*size)
		race.Write(unsafe.Pointer(&dst[0]), len(dst)*size)
	}
	prog := &p.prog[0].off
	permTableAVX512((*byte)(unsafe.Pointer(&dst[0])), (*byte)(unsafe.Pointer(&src[0])), prog, &p.counts[0],
		len(p.counts), p.last, planes, t.n*size, t.planeLen*size)
}
