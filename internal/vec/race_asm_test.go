package vec

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// TestRaceSeesAssembly runs, in a child process, a kernel that writes x
// while another goroutine writes x without synchronisation: the race
// detector must report it, which it can only do if the assembly calls are
// annotated.
func TestRaceSeesAssembly(t *testing.T) {
	if !race.Enabled {
		t.Skip("needs -race")
	}
	if !isa.Supported(isa.AVX2) {
		t.Skip("no assembly kernels on this CPU")
	}
	if os.Getenv("DECONV_RACE_CHILD") == "vec" {
		x := make([]float32, 4096)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			x[2048] = 1 // unsynchronised with the kernel below
		}()
		NegHalfSumSquares(isa.AVX2, x)
		wg.Wait()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaceSeesAssembly$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DECONV_RACE_CHILD=vec")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DATA RACE") {
		t.Fatalf("the race detector did not see the assembly's writes (err %v):\n%s", err, out)
	}
}
