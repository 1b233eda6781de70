package isqrt

import (
	"sync"
	"testing"

	"github.com/netdeconv/deconv/internal/parallel"
)

// TestBatchSplit checks how InvSqrtBatch spreads its matrices: small ones
// dealt out whole with single-threaded products, large ones in full rounds
// likewise and the matrices of a partial round with their products on all
// the goroutines.
func TestBatchSplit(t *testing.T) {
	if parallel.Cores() < 2 {
		t.Skip("one core: every product is single-threaded")
	}
	for _, tc := range []struct {
		n, count, workers int
		wantWide          bool // some product runs on more than one goroutine
	}{
		{9, 7, 2, false},
		{27, 3, 2, false},
		{teamMinN, 3, 2, true},
		{teamMinN, 4, 2, false},
		{teamMinN, 1, 2, true},
		{teamMinN, 3, 1, false},
	} {
		a := make([]float32, 0, tc.count*tc.n*tc.n)
		for i := range tc.count {
			a = append(a, to32(newSPD(tc.n, 100, 1e-5, uint64(i)).a)...)
		}
		var mu sync.Mutex
		widest := 0
		testHookThreads = func(threads int) {
			mu.Lock()
			widest = max(widest, threads)
			mu.Unlock()
		}
		p := mustPlan[float32](t, tc.n, Options{Workers: tc.workers})
		_, err := p.InvSqrtBatch(make([]float32, len(a)), a, tc.count)
		testHookThreads = nil
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if got := widest > 1; got != tc.wantWide {
			t.Errorf("%+v: widest product on %d goroutines", tc, widest)
		}
	}
}

// TestBatchNoAllocation: a batched call at the plan's size allocates
// nothing after the first, for small matrices dealt out and for a partial
// round of larger ones.
func TestBatchNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes pools drop their items")
	}
	for _, tc := range []struct{ n, count int }{{9, 128}, {27, 3}, {teamMinN + 2, 3}} {
		one := to32(newSPD(tc.n, 100, 1e-5, 1).a)
		a := make([]float32, 0, tc.count*tc.n*tc.n)
		for range tc.count {
			a = append(a, one...)
		}
		dst := make([]float32, len(a))
		for _, workers := range []int{1, 2} {
			p := mustPlan[float32](t, tc.n, Options{Workers: workers})
			for range 3 {
				if _, err := p.InvSqrtBatch(dst, a, tc.count); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(3, func() {
				if _, err := p.InvSqrtBatch(dst, a, tc.count); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%d×%d, %d workers: %v allocations per call", tc.count, tc.n, workers, allocs)
			}
		}
	}
}
