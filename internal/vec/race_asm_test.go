package vec

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// raceCase is one operand of one kernel: setup builds the kernel's
// arguments and returns a plain Go access of one element of that operand
// and the kernel call that reads or writes it.
type raceCase struct {
	name  string // kernel/operand
	setup func(f isa.Family) (touch, call func())
}

// raceLen is the operands' length: a multiple of every family's chunk, so
// that the element touched lies in the assembly's part, not a Go tail loop
// the race detector would see on its own.
const raceLen = 64

// raceAt is the element touched.
const raceAt = raceLen / 2

// raceSink receives the plain reads.
var raceSink float64

func raceF32() []float32 {
	x := make([]float32, raceLen)
	for i := range x {
		x[i] = float32(i + 1)
	}
	return x
}

func raceF64() []float64 {
	x := make([]float64, raceLen)
	for i := range x {
		x[i] = float64(i + 1)
	}
	return x
}

// touch returns the plain access that races with the kernel's on x: a
// read where the kernel writes x, which only the write annotation makes a
// race (a read annotation alone would not), and a write where it only
// reads x.
func touch[T Float](x []T, kernelWrites bool) func() {
	if kernelWrites {
		return func() { raceSink = float64(x[raceAt]) }
	}
	return func() { x[raceAt] = 1 }
}

// raceCases lists every operand of every kernel that has assembly.
func raceCases() []raceCase {
	var cs []raceCase
	cs = append(cs, raceCase{"SumSquares/x", func(f isa.Family) (func(), func()) {
		x := raceF32()
		return touch(x, false), func() { SumSquares(f, x) }
	}})
	cs = append(cs, raceCase{"NegHalfSumSquares/x", func(f isa.Family) (func(), func()) {
		x := raceF32()
		return touch(x, true), func() { NegHalfSumSquares(f, x) }
	}})
	for op, name := range []string{"y", "z", "w"} {
		cs = append(cs, raceCase{"ScaleSplit/" + name, func(f isa.Family) (func(), func()) {
			v := [3][]float32{raceF32(), raceF32(), raceF32()}
			return touch(v[op], true), func() { ScaleSplit(f, v[0], v[1], v[2], 0.5) }
		}})
	}
	for op, name := range []string{"dst", "src"} {
		cs = append(cs, raceCase{"ScaleFinite/" + name, func(f isa.Family) (func(), func()) {
			v := [2][]float32{raceF32(), raceF32()}
			return touch(v[op], op == 0), func() { ScaleFinite(f, v[0], v[1], 0.5) }
		}})
	}
	for op, name := range []string{"s", "x", "z"} {
		cs = append(cs, raceCase{"PairCheck/" + name, func(f isa.Family) (func(), func()) {
			v := [3][]float32{raceF32(), raceF32(), raceF32()}
			s64, root := raceF64(), raceF64()
			return touch(v[op], op == 0), func() { PairCheck(f, v[0], s64, v[1], v[2], root, 1, 1e-3, 1+1e-4) }
		}})
	}
	for op, name := range []string{"s64", "root"} {
		cs = append(cs, raceCase{"PairCheck/" + name, func(f isa.Family) (func(), func()) {
			s, x, z := raceF32(), raceF32(), raceF32()
			v := [2][]float64{raceF64(), raceF64()}
			return touch(v[op], op == 0), func() { PairCheck(f, s, v[0], x, z, v[1], 1, 1e-3, 1+1e-4) }
		}})
	}
	return cs
}

// TestRaceSeesAssembly runs, in a child process per vector family and
// operand of each kernel, the kernel while another goroutine reads (where
// the kernel writes) or writes (where it reads) one element of that
// operand without synchronisation: the race detector must
// report it, through the annotation of a range under the kernel's call,
// which it can only do if that operand's accesses by the assembly are
// annotated (internal/race).
func TestRaceSeesAssembly(t *testing.T) {
	if !race.Enabled {
		t.Skip("needs -race")
	}
	var fams []isa.Family
	for _, f := range []isa.Family{isa.AVX2, isa.AVX512} {
		if isa.Supported(f) {
			fams = append(fams, f)
		}
	}
	if len(fams) == 0 {
		t.Skip("no assembly kernels on this CPU")
	}
	if child := os.Getenv("DECONV_RACE_CHILD"); child != "" {
		for _, f := range fams {
			for _, c := range raceCases() {
				if child != fmt.Sprintf("vec/%v/%s", f, c.name) {
					continue
				}
				access, call := c.setup(f)
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					access() // unsynchronised with the kernel below
				}()
				call()
				wg.Wait()
				return
			}
		}
		t.Fatalf("no case %q", child)
	}
	for _, f := range fams {
		for _, c := range raceCases() {
			t.Run(fmt.Sprintf("%v/%s", f, c.name), func(t *testing.T) {
				cmd := exec.Command(os.Args[0], "-test.run=^TestRaceSeesAssembly$", "-test.count=1")
				cmd.Env = append(os.Environ(), fmt.Sprintf("DECONV_RACE_CHILD=vec/%v/%s", f, c.name))
				out, err := cmd.CombinedOutput()
				// The report must come from an annotation (a range access,
				// which the kernels' plain Go code does not make) under the
				// kernel's exported function (its wrapper may be inlined).
				kernel, _, _ := strings.Cut(c.name, "/")
				o := string(out)
				annotated := strings.Contains(o, "runtime.racereadrange()") || strings.Contains(o, "runtime.racewriterange()")
				if err == nil || !strings.Contains(o, "DATA RACE") || !annotated || !strings.Contains(o, "vec."+kernel+"[") {
					t.Fatalf("the race detector did not see the assembly's access (err %v):\n%s", err, out)
				}
			})
		}
	}
}
