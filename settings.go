package deconv

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
)

// SetThreads sets the process-wide default number of goroutines one call
// uses wherever a Workers field or option is left at 0. n = 0 means one per
// core (GOMAXPROCS); a larger n than the cores is clamped to them, since
// more goroutines than cores only add switching to compute-bound work.
// A negative n is ErrParam and changes nothing. It is safe to call at any
// time from any goroutine; calls in progress keep the count they started
// with.
func SetThreads(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: %d threads", ErrParam, n)
	}
	parallel.SetDefault(n)
	return nil
}

// Threads returns the number of goroutines a call with Workers = 0 uses.
func Threads() int { return parallel.Workers(0) }

// SetISA selects the kernel family by name: "generic", "avx2" or
// "avx512" (case-insensitive). An unknown name is ErrParam, a family this
// CPU or build cannot run is ErrUnsupported; either way nothing changes.
// Plans and layers built afterwards use the new family; those built
// before keep the kernels they chose. A successful call also clears an
// error left by a bad DECONV_ISA at start-up.
func SetISA(name string) error {
	f, err := isa.Parse(name)
	if err != nil {
		return err
	}
	return isa.Select(f)
}

// ISA returns the name of the kernel family in use ("generic", "avx2" or
// "avx512").
func ISA() string { return isa.Selected().String() }

// ISAs lists the names of the families this CPU and build can run,
// lowest first.
func ISAs() []string {
	var names []string
	for _, f := range isa.Available() {
		names = append(names, f.String())
	}
	return names
}
