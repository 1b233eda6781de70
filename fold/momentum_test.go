package fold

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv"
)

// TestMomentumRun: the running statistics' update split over goroutines
// gives momentumInto's values bit for bit, at lengths around the split
// threshold and with any worker count, reports a non-finite result as
// momentumInto does, and allocates nothing.
func TestMomentumRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rng := rand.New(rand.NewPCG(5, 6))
	for _, l := range []int{1, momentumMin - 1, momentumMin, momentumMin + 7, 576 * 576} {
		r, v := make([]float32, l), make([]float32, l)
		for i := range r {
			r[i], v[i] = rng.Float32()*2-1, rng.Float32()*2-1
		}
		want := make([]float32, l)
		if err := momentumInto(want, r, v, 0.1); err != nil {
			t.Fatal(err)
		}
		var u momentumRun[float32]
		for _, workers := range []int{0, 1, 2, 3} {
			got := make([]float32, l)
			if err := u.into(got, r, v, 0.1, workers); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("length %d workers %d: element %d = %v, momentumInto %v", l, workers, i, got[i], want[i])
				}
			}
			if u.dst != nil || u.r != nil || u.v != nil {
				t.Fatalf("length %d workers %d: the buffers are still referenced", l, workers)
			}
		}
		v[l-1] = float32(math.Inf(1))
		errWant := momentumInto(make([]float32, l), r, v, 0.1)
		err := u.into(make([]float32, l), r, v, 0.1, 2)
		if !errors.Is(err, deconv.ErrNonFinite) || err.Error() != errWant.Error() {
			t.Fatalf("length %d: %v, momentumInto %v", l, err, errWant)
		}
	}
	if raceEnabled {
		return // the race detector's bookkeeping allocates
	}
	r, v, dst := make([]float32, 576*576), make([]float32, 576*576), make([]float32, 576*576)
	var u momentumRun[float32]
	if allocs := testing.AllocsPerRun(5, func() { _ = u.into(dst, r, v, 0.1, 2) }); allocs != 0 {
		t.Errorf("%v allocations per update", allocs)
	}
}
