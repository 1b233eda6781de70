package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestForCoversEachItemOnce(t *testing.T) {
	for _, items := range []int{0, 1, 2, 3, 7, 100, 1001} {
		for _, workers := range []int{-1, 0, 1, 2, 3, 8, 2000} {
			hits := make([]int32, items)
			For(items, workers, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("items=%d workers=%d: item %d ran %d times", items, workers, i, h)
				}
			}
		}
	}
}

func TestWorkers(t *testing.T) {
	if Workers(3) != 3 || Workers(0) != runtime.GOMAXPROCS(0) || Workers(-2) != runtime.GOMAXPROCS(0) {
		t.Fatal("Workers does not resolve counts as documented")
	}
}
