package parallel

import (
	"runtime"
	"sync"
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
	c := runtime.GOMAXPROCS(0)
	if Workers(1) != 1 || Workers(0) != c || Workers(-2) != c || Workers(c+1) != c || Workers(1<<20) != c {
		t.Fatal("Workers does not resolve counts as documented")
	}
	SetDefault(1)
	defer SetDefault(0)
	if Workers(0) != 1 || Workers(-1) != 1 || Workers(c) != c {
		t.Fatal("Workers ignores the process default")
	}
}

// TestPoolBounded: any number of concurrent callers, each asking for more
// workers than there are cores, leaves the pool at or below its limit,
// and every item still runs once.
func TestPoolBounded(t *testing.T) {
	var done sync.WaitGroup
	var total atomic.Int64
	for g := 0; g < 200; g++ {
		done.Add(1)
		go func() {
			defer done.Done()
			For(1000, 1<<20, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					For(4, 4, func(lo, hi int) { total.Add(int64(hi - lo)) })
				}
			})
		}()
	}
	done.Wait()
	if total.Load() != 200*1000*4 {
		t.Fatalf("covered %d items, want %d", total.Load(), 200*1000*4)
	}
	if PoolSize() > int(poolLimit()) {
		t.Fatalf("pool grew to %d goroutines, limit %d", PoolSize(), poolLimit())
	}
	if n := runtime.NumGoroutine(); n > int(poolLimit())+10 {
		t.Fatalf("%d goroutines alive after the calls returned", n)
	}
}

// TestNestedFor runs For inside For bodies, which must neither deadlock nor
// lose items.
func TestNestedFor(t *testing.T) {
	var total int64
	For(8, 4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			For(100, 3, func(lo, hi int) { atomic.AddInt64(&total, int64(hi-lo)) })
		}
	})
	if total != 800 {
		t.Fatalf("nested For covered %d items, want 800", total)
	}
}

// TestForAllocatesNothing: with a body that does not allocate (created
// once), a call allocates nothing once the workers are running.
func TestForAllocatesNothing(t *testing.T) {
	sink := make([]int64, 64)
	body := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			atomic.AddInt64(&sink[i], 1)
		}
	}
	For(64, 2, body)
	if a := testing.AllocsPerRun(50, func() { For(64, 2, body) }); a != 0 {
		t.Fatalf("For allocated %v times per call", a)
	}
}

type countParts struct{ hits []int32 }

func (c *countParts) RunPart(i int) { atomic.AddInt32(&c.hits[i], 1) }

func TestRunRunsEachPartOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 17} {
		c := &countParts{hits: make([]int32, n)}
		Run(c, n)
		for i, h := range c.hits {
			if h != 1 {
				t.Fatalf("n=%d: part %d ran %d times", n, i, h)
			}
		}
	}
}

// TestPanicReachesCaller: a panic in a chunk that runs on a pool goroutine
// comes back to the caller, after every other chunk has finished, and the
// pool keeps working.
func TestPanicReachesCaller(t *testing.T) {
	for _, run := range []func(){
		func() {
			For(8, 4, func(lo, hi int) {
				if lo > 0 {
					panic("boom")
				}
			})
		},
		func() { Run(panicParts{}, 4) },
	} {
		func() {
			defer func() {
				p, ok := recover().(*Panic)
				if !ok || p.Value != "boom" || len(p.Stack) == 0 {
					t.Fatalf("recovered %v, want a *Panic of boom", p)
				}
			}()
			run()
			t.Fatal("no panic reached the caller")
		}()
	}
	var total atomic.Int64
	For(100, 4, func(lo, hi int) { total.Add(int64(hi - lo)) })
	if total.Load() != 100 {
		t.Fatalf("after the panics For covered %d items", total.Load())
	}
}

type panicParts struct{}

func (panicParts) RunPart(i int) {
	if i == 3 {
		panic("boom")
	}
}

func TestWidest(t *testing.T) {
	ResetWidest()
	For(100, 1, func(lo, hi int) {})
	if Widest() != 1 {
		t.Fatalf("a one-worker call: Widest = %d", Widest())
	}
	For(1, 8, func(lo, hi int) {})
	if Widest() != 1 {
		t.Fatalf("one item: Widest = %d", Widest())
	}
	// Run's parts each run on a goroutine of their own.
	Run(&countParts{hits: make([]int32, 3)}, 3)
	if Widest() != 3 {
		t.Fatalf("Run of 3 parts: Widest = %d, want 3", Widest())
	}
}
