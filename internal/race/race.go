//go:build race

// Package race tells the race detector about memory that assembly kernels
// read and write, which it cannot see into (as klauspost/reedsolomon
// does). In builds without -race every function is an empty inline.
package race

import (
	"runtime"
	"unsafe"
)

// Enabled reports whether this is a race build.
const Enabled = true

// Read records a read of n bytes at p.
func Read(p unsafe.Pointer, n int) {
	if n > 0 {
		runtime.RaceReadRange(p, n)
	}
}

// Write records a write of n bytes at p.
func Write(p unsafe.Pointer, n int) {
	if n > 0 {
		runtime.RaceWriteRange(p, n)
	}
}
