// Package isa makes the library's one decision about which family of
// kernels runs: AVX-512, AVX2+FMA, or generic Go.
//
// The decision is taken once, when the package is initialised, from the
// CPU's features (github.com/klauspost/cpuid/v2, which also checks that the
// operating system saves the wider registers). The environment variable
// DECONV_ISA overrides it:
//
//	DECONV_ISA=generic   portable Go kernels only
//	DECONV_ISA=avx2      AVX2 + FMA kernels
//	DECONV_ISA=avx512    AVX-512 (F, BW, DQ, VL) kernels
//
// Asking for a family that the CPU or the build lacks (pure-Go builds with
// the purego tag, or any GOARCH but amd64, have only the generic family)
// does not crash: Selected falls back to Generic and Err reports the
// problem, and every validating entry point of the library returns that
// error, so a misconfiguration surfaces at the first call rather than as an
// illegal instruction later.
//
// Packages with kernels keep one implementation per family and look up the
// family here once (typically when a plan is built); tests reach every
// family the machine has through Available.
package isa

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netdeconv/deconv/internal/errs"
)

// Family names a set of kernels that share an instruction-set requirement.
// Families are ordered: a CPU that runs one runs every lower one.
type Family uint8

const (
	// Generic kernels are portable Go and run everywhere.
	Generic Family = iota
	// AVX2 kernels need AVX2 and FMA3.
	AVX2
	// AVX512 kernels need AVX-512 F, BW, DQ and VL (and the AVX2, FMA and
	// BMI2 that every such CPU has).
	AVX512
)

// EnvVar is the environment variable that overrides the detected family.
const EnvVar = "DECONV_ISA"

// String returns the family's name as DECONV_ISA spells it.
func (f Family) String() string {
	switch f {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// Parse turns a DECONV_ISA value (case-insensitive, surrounding spaces
// ignored) into a Family.
func Parse(s string) (Family, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "generic", "go", "purego":
		return Generic, nil
	case "avx2":
		return AVX2, nil
	case "avx512":
		return AVX512, nil
	}
	return Generic, fmt.Errorf("%w: unknown instruction-set family %q (want generic, avx2 or avx512)", errs.ErrParam, s)
}

var (
	detected = detect()
	// selected and initErr change together under mu (Select); readers
	// load them without locking.
	mu       sync.Mutex
	selected atomic.Uint32
	initErr  atomic.Pointer[error]
)

func init() {
	f, err := choose(os.Getenv(EnvVar), detected)
	selected.Store(uint32(f))
	if err != nil {
		initErr.Store(&err)
	}
}

// Select makes f the family used from now on, at run time, and clears an
// error left by DECONV_ISA. A family the CPU or build cannot run is an
// error and changes nothing. Plans built before keep the family they
// looked up.
func Select(f Family) error {
	if f > AVX512 {
		return fmt.Errorf("%w: unknown family %v", errs.ErrParam, f)
	}
	if f > detected {
		return fmt.Errorf("%w: %s kernels asked for, but this CPU and build support at most %s", errs.ErrUnsupported, f, detected)
	}
	mu.Lock()
	selected.Store(uint32(f))
	initErr.Store(nil)
	mu.Unlock()
	return nil
}

// choose applies an override to the detected family.
func choose(override string, best Family) (Family, error) {
	if strings.TrimSpace(override) == "" {
		return best, nil
	}
	f, err := Parse(override)
	if err != nil {
		return Generic, fmt.Errorf("%w: %s: %v", errs.ErrUnsupported, EnvVar, err)
	}
	if f > best {
		return Generic, fmt.Errorf("%w: %s=%s asks for %s kernels, but this CPU and build support at most %s", errs.ErrUnsupported, EnvVar, override, f, best)
	}
	return f, nil
}

// Detected returns the highest family the CPU and the build support.
func Detected() Family { return detected }

// Selected returns the family in use: Detected, or what DECONV_ISA or
// Select asked for.
func Selected() Family { return Family(selected.Load()) }

// Err reports why DECONV_ISA could not be honoured, or nil. While it is
// non-nil the library runs generic kernels and its validating entry points
// return this error.
func Err() error {
	if e := initErr.Load(); e != nil {
		return *e
	}
	return nil
}

// Supported reports whether kernels of family f can run here.
func Supported(f Family) bool { return f <= detected }

// Available lists every family that can run here, lowest first; tests use
// it to run each kernel path against the generic one.
func Available() []Family {
	fs := make([]Family, 0, 3)
	for f := Generic; f <= detected; f++ {
		fs = append(fs, f)
	}
	return fs
}
