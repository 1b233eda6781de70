package gemm

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// TestRaceSeesAssembly runs, in a child process, a product whose
// assembly micro-kernel writes C while another goroutine writes C without
// synchronisation: the race detector must report it, which it can only do
// if the assembly calls are annotated.
func TestRaceSeesAssembly(t *testing.T) {
	if !race.Enabled {
		t.Skip("needs -race")
	}
	if !isa.Supported(isa.AVX2) || kernelFor[float32](isa.AVX2).fam == isa.Generic {
		t.Skip("no assembly kernels in this build or on this CPU")
	}
	if os.Getenv("DECONV_RACE_CHILD") == "gemm" {
		const n = 48 // whole AVX2 tiles (6×16): no Go code writes C
		a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c[5] = 1 // unsynchronised with the product below
		}()
		// β = 0: the kernel only writes C, so the report names its write.
		_ = gemmDense(isa.AVX2, 1, NoTrans, NoTrans, n, n, n, 1, a, n, b, n, 0, c, n)
		wg.Wait()
		return
	}
	out, err := childRun(t, "gemm")
	if err == nil || !strings.Contains(out, "DATA RACE") {
		t.Fatalf("the race detector did not see the assembly's writes (err %v):\n%s", err, out)
	}
}

func childRun(t *testing.T, which string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaceSeesAssembly$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DECONV_RACE_CHILD="+which)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRaceSeesPackAssembly is TestRaceSeesAssembly for the AVX-512
// packers: a register transpose and a masked run copy each write a
// destination that another goroutine writes unsynchronised.
func TestRaceSeesPackAssembly(t *testing.T) {
	if !race.Enabled {
		t.Skip("needs -race")
	}
	if !RegisterTransposes(isa.AVX512) {
		t.Skip("no AVX-512 packers in this build or on this CPU")
	}
	switch os.Getenv("DECONV_RACE_CHILD") {
	case "transpose", "runs":
		src, dst := make([]float32, 32*32), make([]float32, 32*32)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst[33] = 1 // unsynchronised with the copy below
		}()
		if os.Getenv("DECONV_RACE_CHILD") == "transpose" {
			TransposeCopy(isa.AVX512, dst, 32, src, 32, 32, 32)
		} else {
			copyRuns(isa.AVX512, dst, 32, src, 32, 32, 12)
		}
		wg.Wait()
		return
	}
	for _, which := range []string{"transpose", "runs"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRaceSeesPackAssembly$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DECONV_RACE_CHILD="+which)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "DATA RACE") {
			t.Fatalf("%s: the race detector did not see the assembly's writes (err %v):\n%s", which, err, out)
		}
	}
}
