package deconv_test

import (
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
)

func TestErrorsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i, e := range deconv.Errors() {
		if e == nil || seen[e.Error()] {
			t.Fatalf("sentinel %d is nil or repeats %q", i, e)
		}
		seen[e.Error()] = true
		for j, o := range deconv.Errors() {
			if i != j && errors.Is(e, o) {
				t.Fatalf("%v matches %v", e, o)
			}
		}
	}
}

func TestGeometry(t *testing.T) {
	g, err := deconv.Geometry{KernelH: 3, KernelW: 5, PadW: 2}.Normalize()
	if err != nil || g.StrideH != 1 || g.StrideW != 1 || g.DilationH != 1 || g.DilationW != 1 {
		t.Fatalf("Normalize = %+v, %v", g, err)
	}
	if oh, ow, err := g.OutputSize(10, 10); oh != 8 || ow != 10 || err != nil {
		t.Fatalf("OutputSize = %d, %d, %v; want 8, 10", oh, ow, err)
	}
	if !deconv.Square(3, 2, 1, 1).IsSquare() || g.IsSquare() {
		t.Fatal("IsSquare")
	}
	for _, c := range []struct {
		g    deconv.Geometry
		h, w int
		want error
	}{
		{deconv.Geometry{KernelH: 0, KernelW: 3}, 5, 5, deconv.ErrShape},
		{deconv.Geometry{KernelH: 3, KernelW: 3, StrideW: -1}, 5, 5, deconv.ErrParam},
		{deconv.Geometry{KernelH: 3, KernelW: 3, PadH: -1}, 5, 5, deconv.ErrParam},
		{deconv.Geometry{KernelH: 3, KernelW: 3, DilationH: -2}, 5, 5, deconv.ErrParam},
		{deconv.Geometry{KernelH: 7, KernelW: 3}, 5, 5, deconv.ErrShape},
		{deconv.Geometry{KernelH: 3, KernelW: 3}, 0, 5, deconv.ErrShape},
		{deconv.Geometry{KernelH: 3, KernelW: 3, PadH: math.MaxInt / 2}, 5, 5, deconv.ErrOverflow},
		{deconv.Geometry{KernelH: 3, KernelW: 3, DilationW: math.MaxInt/2 + 1}, 5, 5, deconv.ErrOverflow},
	} {
		if _, _, err := c.g.OutputSize(c.h, c.w); !errors.Is(err, c.want) {
			t.Errorf("%+v on %d×%d: %v, want %v", c.g, c.h, c.w, err, c.want)
		}
	}
	// Huge but representable padding gives the exact count.
	if n, err := deconv.OutputSize(1, 2, 1, 1<<40, 1<<30); err != nil || n != 2<<40+1-(1<<30) {
		t.Fatalf("OutputSize with huge padding = %d, %v", n, err)
	}
}

func TestGrouping(t *testing.T) {
	if deconv.Interleaved.Validate() != nil || deconv.Contiguous.Validate() != nil {
		t.Fatal("valid groupings refused")
	}
	if err := deconv.Grouping(2).Validate(); !errors.Is(err, deconv.ErrParam) {
		t.Fatalf("Grouping(2): %v", err)
	}
	if deconv.Interleaved.String() != "interleaved" || deconv.Grouping(9).String() != "Grouping(9)" {
		t.Fatal("String")
	}
}

func TestSetThreads(t *testing.T) {
	defer deconv.SetThreads(0)
	cores := runtime.GOMAXPROCS(0)
	if deconv.Threads() != cores {
		t.Fatalf("default Threads = %d, want %d", deconv.Threads(), cores)
	}
	if err := deconv.SetThreads(1); err != nil || deconv.Threads() != 1 {
		t.Fatalf("SetThreads(1): %v, Threads = %d", err, deconv.Threads())
	}
	if err := deconv.SetThreads(-1); !errors.Is(err, deconv.ErrParam) || deconv.Threads() != 1 {
		t.Fatalf("SetThreads(-1): %v, Threads = %d", err, deconv.Threads())
	}
	if err := deconv.SetThreads(1 << 20); err != nil || deconv.Threads() != cores {
		t.Fatalf("SetThreads(1<<20): %v, Threads = %d, want the %d cores", err, deconv.Threads(), cores)
	}
}

func TestSetISA(t *testing.T) {
	before := deconv.ISA()
	defer deconv.SetISA(before)
	if err := deconv.SetISA("sse9"); !errors.Is(err, deconv.ErrParam) || deconv.ISA() != before {
		t.Fatalf("unknown name: %v, ISA now %s", err, deconv.ISA())
	}
	names := deconv.ISAs()
	if len(names) == 0 || names[0] != "generic" {
		t.Fatalf("ISAs = %v", names)
	}
	for _, n := range names {
		if err := deconv.SetISA(n); err != nil || deconv.ISA() != n {
			t.Fatalf("SetISA(%s): %v, ISA now %s", n, err, deconv.ISA())
		}
	}
	if isa.Detected() < isa.AVX512 {
		if err := deconv.SetISA("avx512"); !errors.Is(err, deconv.ErrUnsupported) || deconv.ISA() != names[len(names)-1] {
			t.Fatalf("unsupported family: %v, ISA now %s", err, deconv.ISA())
		}
	}
}
