// Package parallel splits a range of independent work items over a few
// goroutines. It is the library's one place that decides how many
// goroutines a call uses.
package parallel

import (
	"runtime"
	"sync"
)

// Workers resolves a requested worker count: n > 0 is taken as it is,
// anything else means one worker per usable CPU (GOMAXPROCS).
func Workers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// For calls body(lo, hi) over consecutive chunks that cover [0, items)
// exactly once, on at most workers goroutines (the caller's goroutine is one
// of them), and returns when all are done. Items are dealt in contiguous
// chunks of near-equal size so each worker touches one region of memory.
// With one worker, or one item, body runs on the caller's goroutine and
// nothing is allocated.
func For(items, workers int, body func(lo, hi int)) {
	if items <= 0 {
		return
	}
	w := Workers(workers)
	if w > items {
		w = items
	}
	if w <= 1 {
		body(0, items)
		return
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for i := 1; i < w; i++ {
		lo, hi := i*items/w, (i+1)*items/w
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, items/w)
	wg.Wait()
}
