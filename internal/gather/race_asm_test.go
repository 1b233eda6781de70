package gather

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// TestRaceSeesAssembly runs, in a child process, a streaming copy whose
// assembly writes dst while another goroutine writes dst without
// synchronisation: the race detector must report it, which it can only do
// if the assembly calls are annotated.
func TestRaceSeesAssembly(t *testing.T) {
	if !race.Enabled {
		t.Skip("needs -race")
	}
	cp := StreamCopyFor[float32](isa.AVX2)
	if !isa.Supported(isa.AVX2) || cp == nil {
		t.Skip("no assembly kernels in this build or on this CPU")
	}
	if os.Getenv("DECONV_RACE_CHILD") == "gather" {
		dst, src := make([]float32, 4096), make([]float32, 4096)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst[2048] = 1 // unsynchronised with the copy below
		}()
		cp(dst, src)
		wg.Wait()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaceSeesAssembly$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DECONV_RACE_CHILD=gather")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DATA RACE") {
		t.Fatalf("the race detector did not see the assembly's writes (err %v):\n%s", err, out)
	}
}
