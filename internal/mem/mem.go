// Package mem answers questions about slices' memory that the kernels'
// argument checks need: whether a destination overlaps an input.
package mem

import "unsafe"

// Overlap reports whether a and b share any element of memory. Empty
// slices overlap nothing.
func Overlap[T any](a, b []T) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	var z T
	sz := unsafe.Sizeof(z)
	a0 := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
	b0 := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	a1 := a0 + uintptr(len(a))*sz
	b1 := b0 + uintptr(len(b))*sz
	return a0 < b1 && b0 < a1
}

// Same reports whether a and b are the same memory: same start, same
// length. In-place operations that support aliasing accept exactly this.
func Same[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}
