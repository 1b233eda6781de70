package winograd

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// TestRaceSeesOutputKernel runs, in a child process, the output kernel
// while another goroutine writes one of its outputs without
// synchronisation: the race detector must report it, which it can only do
// if the assembly call is annotated.
func TestRaceSeesOutputKernel(t *testing.T) {
	if !race.Enabled {
		t.Skip("needs -race")
	}
	fam := isa.Selected()
	if !HasOutputKernel[float32](fam, F43) {
		t.Skip("no output kernel in this build or on this CPU")
	}
	if os.Getenv("DECONV_RACE_CHILD") == "winograd" {
		const cout, oh, ow = 2, 8, 20
		th, tw := Tiles(F43, oh, ow)
		ld := th * tw
		y := make([]float32, 36*cout*ld)
		dst := make([]float32, cout*oh*ow)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst[oh*ow+5] = 1 // unsynchronised with the kernel below
		}()
		Output(fam, F43, dst, y, cout*ld, ld, nil, cout, oh, ow, th, tw, 0, th, false)
		wg.Wait()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaceSeesOutputKernel$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DECONV_RACE_CHILD=winograd")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DATA RACE") {
		t.Fatalf("the race detector did not see the kernel's writes (err %v):\n%s", err, out)
	}
}
