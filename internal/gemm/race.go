//go:build race

package gemm

import (
	"runtime"
	"unsafe"
)

// raceEnabled: race builds tell the detector about the memory the
// assembly kernels and copiers touch, which it cannot see into.
const raceEnabled = true

func raceRead(p unsafe.Pointer, n int) {
	if n > 0 {
		runtime.RaceReadRange(p, n)
	}
}

func raceWrite(p unsafe.Pointer, n int) {
	if n > 0 {
		runtime.RaceWriteRange(p, n)
	}
}
