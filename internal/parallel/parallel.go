// Package parallel splits a range of independent work items over a few
// goroutines. It is the library's one place that decides how many
// goroutines a call uses, and it keeps those goroutines alive between
// calls, so a call allocates nothing (beyond what its body does).
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

// Parts is work split into numbered parts that may run concurrently; Run
// calls RunPart once for each part.
type Parts interface {
	RunPart(i int)
}

// job is one chunk of a For call, or one part of a Run call, sent by value
// to an idle worker.
type job struct {
	body   func(lo, hi int)
	parts  Parts
	lo, hi int
	done   *sync.WaitGroup
}

var (
	jobs = make(chan job)
	// WaitGroups are pooled: one that other goroutines signal must live on
	// the heap, and a fresh one per call would be an allocation.
	groups = sync.Pool{New: func() any { return new(sync.WaitGroup) }}
)

// worker runs jobs for the life of the process. Workers are started on
// demand, when a call finds none idle, so there are never more than the
// most chunks ever in flight at once.
func worker() {
	for j := range jobs {
		if j.parts != nil {
			j.parts.RunPart(j.lo)
		} else {
			j.body(j.lo, j.hi)
		}
		j.done.Done()
	}
}

// For calls body(lo, hi) over consecutive chunks that cover [0, items)
// exactly once, on at most workers goroutines (the caller's goroutine is one
// of them), and returns when all are done. Items are dealt in contiguous
// chunks of near-equal size so each worker touches one region of memory.
// With one worker, or one item, body runs on the caller's goroutine.
//
// For may be called from inside a body: a chunk that finds no idle worker
// starts a new one rather than wait, so nested calls cannot deadlock.
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
	wg := groups.Get().(*sync.WaitGroup)
	wg.Add(w - 1)
	for i := 1; i < w; i++ {
		send(job{body: body, lo: i * items / w, hi: (i + 1) * items / w, done: wg})
	}
	body(0, items/w)
	wg.Wait()
	groups.Put(wg)
}

// Run runs parts 0 … n−1 of p, part 0 on the calling goroutine and each
// other part on a worker of its own, and returns when all are done. It is
// For for work whose split is decided by the caller (the GEMM engine's
// blocks, for instance), and like For it allocates nothing and may be
// called from inside a part.
func Run(p Parts, n int) {
	if n <= 0 {
		return
	}
	if n == 1 {
		p.RunPart(0)
		return
	}
	wg := groups.Get().(*sync.WaitGroup)
	wg.Add(n - 1)
	for i := 1; i < n; i++ {
		send(job{parts: p, lo: i, done: wg})
	}
	p.RunPart(0)
	wg.Wait()
	groups.Put(wg)
}

// send hands j to an idle worker, starting a new one when none is idle.
func send(j job) {
	select {
	case jobs <- j:
	default:
		go worker()
		jobs <- j
	}
}
