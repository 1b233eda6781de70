package fold

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv/internal/winograd"
)

// TestFilterRunSplit: the Winograd filter transform split by output
// channels writes exactly what one FilterTransform writes (every column
// of every row, the padding columns left alone), for kernel counts
// around the split threshold and any worker count, and allocates nothing.
func TestFilterRunSplit(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rng := rand.New(rand.NewPCG(7, 8))
	tl := winograd.F43
	for _, sz := range [][2]int{{1, 3}, {7, 5}, {16, 64}, {33, 31}, {128, 64}} {
		cout, cin := sz[0], sz[1]
		ldu := filterStride[float32](cout)
		w := make([]float32, cout*cin*tl.R*tl.R)
		for i := range w {
			w[i] = rng.Float32()*2 - 1
		}
		n := tl.Alpha * tl.Alpha * cin * ldu
		want := make([]float32, n)
		for i := range want {
			want[i] = -7
		}
		winograd.FilterTransform(tl, want, w, cout, cin, ldu)
		var f filterRun[float32]
		for _, workers := range []int{1, 2, 3, 4} {
			got := make([]float32, n)
			for i := range got {
				got[i] = -7
			}
			f.transform(tl, got, w, cout, cin, ldu, workers)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%d×%d kernels, %d workers: element %d = %v, FilterTransform %v", cout, cin, workers, i, got[i], want[i])
				}
			}
			if f.u != nil || f.w != nil {
				t.Fatalf("%d×%d kernels, %d workers: the buffers are still referenced", cout, cin, workers)
			}
		}
		if !raceEnabled {
			if allocs := testing.AllocsPerRun(3, func() { f.transform(tl, want, w, cout, cin, ldu, 2) }); allocs != 0 {
				t.Errorf("%d×%d kernels: %v allocations per transform", cout, cin, allocs)
			}
		}
	}
}
