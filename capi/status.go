package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/netdeconv/deconv"
)

// The statuses beyond the Go sentinels, pinned in deconv.h.
const (
	statusOK       = 0
	statusNoMem    = 100
	statusInternal = 101
)

// errNoMem and errInternal are the causes of the two statuses no Go
// sentinel stands for.
var (
	errNoMem    = errors.New("deconv: out of memory")
	errInternal = errors.New("deconv: internal error")
)

// statusOf maps an error to its C status: nil is DECONV_OK, a root
// sentinel (or an error wrapping it) is its index in deconv.Errors() plus
// one, and anything unrecognised is an internal error.
func statusOf(err error) int {
	if err == nil {
		return statusOK
	}
	for i, e := range deconv.Errors() {
		if errors.Is(err, e) {
			return i + 1
		}
	}
	if errors.Is(err, errNoMem) {
		return statusNoMem
	}
	return statusInternal
}

// truncateUTF8 returns the longest prefix of s of at most max bytes that
// does not end inside a UTF-8 sequence and holds no NUL byte.
func truncateUTF8(s string, max int) string {
	for i := 0; i < len(s) && i < max; i++ {
		if s[i] == 0 {
			s = s[:i]
			break
		}
	}
	if len(s) <= max {
		return s
	}
	s = s[:max]
	// Drop the last character if the cut went through it.
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				s = s[:i]
			}
			break
		}
	}
	return s
}

// maxBytes bounds the size of one caller buffer: 2⁴⁷ bytes, the user
// address space of x86-64 and arm64 Linux. A larger length cannot be a real
// buffer and could make Go's slice arithmetic overflow.
const maxBytes = 1 << 47

// sliceAt views n elements of type T at p as a Go slice, after checking
// that p is not NULL (unless n is 0, which gives a nil slice when p is
// NULL) and that n elements fit in the address space from p. The slice
// must not outlive the call that received p.
func sliceAt[T any](p unsafe.Pointer, n uint64, name string) ([]T, error) {
	var zero T
	size := uint64(unsafe.Sizeof(zero))
	if p == nil {
		if n == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %s is NULL but its length is %d", deconv.ErrParam, name, n)
	}
	if err := fits(uint64(uintptr(p)), n, size, name); err != nil {
		return nil, err
	}
	if n == 0 {
		return unsafe.Slice((*T)(p), 0), nil
	}
	return unsafe.Slice((*T)(p), int(n)), nil
}

// fits checks that n elements of the given size starting at address addr
// stay below maxBytes and do not wrap around the address space.
func fits(addr, n, size uint64, name string) error {
	if n > maxBytes/size {
		return fmt.Errorf("%w: %s has length %d, over the limit of %d bytes", deconv.ErrOverflow, name, n, uint64(maxBytes))
	}
	if end := addr + n*size; end < addr {
		return fmt.Errorf("%w: %s of length %d wraps around the address space", deconv.ErrOverflow, name, n)
	}
	return nil
}

// overlap reports whether two buffers share a byte.
func overlap[T, U any](a []T, b []U) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	var za T
	var zb U
	a0 := uintptr(unsafe.Pointer(&a[0]))
	b0 := uintptr(unsafe.Pointer(&b[0]))
	a1 := a0 + uintptr(len(a))*unsafe.Sizeof(za)
	b1 := b0 + uintptr(len(b))*unsafe.Sizeof(zb)
	return a0 < b1 && b0 < a1
}

// noOverlap returns an ErrOverlap error naming the first pair of buffers
// that share memory.
func noOverlap[T any](names []string, bufs ...[]T) error {
	for i := range bufs {
		for j := i + 1; j < len(bufs); j++ {
			if overlap(bufs[i], bufs[j]) {
				return fmt.Errorf("%w: %s overlaps %s", deconv.ErrOverlap, names[i], names[j])
			}
		}
	}
	return nil
}

// exactLen checks that a buffer has exactly the length a plan needs.
func exactLen(name string, got, want int) error {
	if got != want {
		return fmt.Errorf("%w: %s has %d values, the plan needs %d", deconv.ErrShape, name, got, want)
	}
	return nil
}

// maxStructTail bounds how many bytes of a parameter struct beyond the
// fields this library knows it inspects.
const maxStructTail = 4096

// checkStructSize validates the struct_size a caller set: at least the
// size of the struct's first version (min), and if larger than the struct
// this library knows (known), every byte beyond must be zero, since a
// field the library does not know cannot be honoured. tail views those
// bytes (nil when given ≤ known).
func checkStructSize(name string, given, min, known uint64, tail func(n int) []byte) error {
	if given < min {
		return fmt.Errorf("%w: %s.struct_size is %d, at least %d expected (set it to sizeof)", deconv.ErrParam, name, given, min)
	}
	if given <= known {
		return nil
	}
	if given-known > maxStructTail {
		return fmt.Errorf("%w: %s.struct_size is %d, this library knows %d bytes of it", deconv.ErrParam, name, given, known)
	}
	for _, b := range tail(int(given - known)) {
		if b != 0 {
			return fmt.Errorf("%w: %s has fields this library version (%s) does not know", deconv.ErrUnsupported, name, versionString)
		}
	}
	return nil
}

// intArg converts a C size_t argument to int, or fails with ErrOverflow.
func intArg(name string, v uint64) (int, error) {
	if v > uint64(math.MaxInt) {
		return 0, fmt.Errorf("%w: %s = %d", deconv.ErrOverflow, name, v)
	}
	return int(v), nil
}

// enumArg checks that an int-valued enum field is in [0, max].
func enumArg(name string, v, max int) error {
	if v < 0 || v > max {
		return fmt.Errorf("%w: unknown %s %d", deconv.ErrParam, name, v)
	}
	return nil
}

// errNull is the error of a NULL pointer argument that must not be NULL.
func errNull(name string) error { return fmt.Errorf("%w: %s is NULL", deconv.ErrParam, name) }

// pick returns a when cond holds, else b.
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// elem is the element type of the _f32 and _f64 entry points.
type elem interface{ float32 | float64 }

func errOverlap(a, b string) error { return fmt.Errorf("%w: %s overlaps %s", deconv.ErrOverlap, a, b) }

// busy is the flag of a handle that is not safe for concurrent use.
type busy struct{ flag atomic.Bool }

// acquire marks the handle in use, or fails with ErrBusy.
func (b *busy) acquire(name string) error {
	if !b.flag.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: %s is in use by another call", deconv.ErrBusy, name)
	}
	return nil
}

func (b *busy) release() { b.flag.Store(false) }

// setISA is the body of deconv_set_isa.
func setISA(name string) error {
	if strings.ContainsRune(name, 0) {
		return fmt.Errorf("%w: ISA name holds a NUL", deconv.ErrParam)
	}
	return deconv.SetISA(name)
}
