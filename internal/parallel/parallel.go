// Package parallel splits a range of independent work items over a few
// goroutines. It is the library's one place that decides how many
// goroutines a call uses, and it keeps those goroutines alive between
// calls, so a call allocates nothing (beyond what its body does).
package parallel

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// defaultWorkers is the process-wide count for requests of 0 (SetDefault);
// 0 means one per usable CPU.
var defaultWorkers atomic.Int64

// SetDefault sets the count that Workers gives for a request of 0 or
// less; n ≤ 0 restores one per usable CPU.
func SetDefault(n int) { defaultWorkers.Store(int64(max(n, 0))) }

// Cores returns the number of usable CPUs, GOMAXPROCS.
func Cores() int { return runtime.GOMAXPROCS(0) }

// Workers resolves a requested worker count: n > 0 is taken as it is,
// anything else means the process default (SetDefault), itself one per
// usable CPU unless set. Either is clamped to the usable CPUs: the work is
// compute- or memory-bound, so more goroutines than cores only add
// switching (and would grow the pool).
func Workers(n int) int {
	if n <= 0 {
		n = int(defaultWorkers.Load())
	}
	c := Cores()
	if n <= 0 || n > c {
		return c
	}
	return n
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
	done   *call
}

// call is the bookkeeping of one For or Run: the parts still running and
// the first panic any of them raised.
type call struct {
	wg       sync.WaitGroup
	panicked atomic.Pointer[Panic]
}

// Panic is what For and Run re-raise on the caller's goroutine when a part
// panicked: the value and the stack of the goroutine it panicked on. A
// panic on a pool goroutine would otherwise end the process, where the
// caller (the C ABI's boundary, say) could have recovered it.
type Panic struct {
	Value any
	Stack []byte
}

// Error describes the panic and where it happened.
func (p *Panic) Error() string {
	return fmt.Sprintf("panic in a parallel part: %v\n%s", p.Value, p.Stack)
}

// recoverPart is deferred around each part: it keeps the first panic for
// the caller to re-raise once every part has finished.
func (c *call) recoverPart() {
	if r := recover(); r != nil {
		c.panicked.CompareAndSwap(nil, &Panic{Value: r, Stack: debug.Stack()})
	}
}

func (c *call) runBody(body func(lo, hi int), lo, hi int) {
	defer c.recoverPart()
	body(lo, hi)
}

func (c *call) runPart(p Parts, i int) {
	defer c.recoverPart()
	p.RunPart(i)
}

// widest is the most goroutines any one For or Run call has used since
// ResetWidest, so that tests can check that the library's entry points
// stay within the worker counts they are given. One atomic load per call
// (and a store when it grows) costs nothing measurable.
var widest atomic.Int64

func noteWidth(w int) {
	for {
		old := widest.Load()
		if int64(w) <= old || widest.CompareAndSwap(old, int64(w)) {
			return
		}
	}
}

// Widest returns the most goroutines (the caller's included) that one For
// or Run call has used since the last ResetWidest, process-wide; a call
// that runs on its caller alone counts 1.
func Widest() int { return int(widest.Load()) }

// ResetWidest restarts Widest's count.
func ResetWidest() { widest.Store(0) }

// finish waits for the parts, returns c to the pool and re-raises a part's
// panic. No part is running on the caller's data once it returns or
// panics.
func (c *call) finish() {
	c.wg.Wait()
	p := c.panicked.Swap(nil)
	calls.Put(c)
	if p != nil {
		panic(p)
	}
}

var (
	jobs = make(chan job)
	// started counts the pool's goroutines; it never exceeds poolLimit.
	started atomic.Int64
	// Calls are pooled: a WaitGroup that other goroutines signal must live
	// on the heap, and a fresh one per call would be an allocation.
	calls = sync.Pool{New: func() any { return new(call) }}
)

// poolLimit bounds the pool: a few workers per core, enough for nested
// calls and a few concurrent callers to proceed in parallel. Beyond it a
// chunk runs on its caller's goroutine instead, so no number of concurrent
// callers grows the pool.
func poolLimit() int64 { return int64(4 * max(Cores(), runtime.NumCPU())) }

// worker runs jobs for the life of the process. Workers are started on
// demand, when a call finds none idle, up to poolLimit.
func worker() {
	for j := range jobs {
		if j.parts != nil {
			j.done.runPart(j.parts, j.lo)
		} else {
			j.done.runBody(j.body, j.lo, j.hi)
		}
		j.done.wg.Done()
	}
}

// For calls body(lo, hi) over consecutive chunks that cover [0, items)
// exactly once, on at most workers goroutines (the caller's goroutine is one
// of them), and returns when all are done. Items are dealt in contiguous
// chunks of near-equal size so each worker touches one region of memory.
// With one worker, or one item, body runs on the caller's goroutine.
//
// For may be called from inside a body: a chunk that finds no idle worker
// starts a new one rather than wait, so nested calls cannot deadlock. A
// panic in any chunk is re-raised on the caller's goroutine as a *Panic,
// after every chunk has finished.
func For(items, workers int, body func(lo, hi int)) {
	if items <= 0 {
		return
	}
	w := Workers(workers)
	if w > items {
		w = items
	}
	noteWidth(w)
	if w <= 1 {
		body(0, items)
		return
	}
	c := calls.Get().(*call)
	c.wg.Add(w - 1)
	for i := 1; i < w; i++ {
		j := job{body: body, lo: i * items / w, hi: (i + 1) * items / w, done: c}
		if !send(j) {
			c.runBody(body, j.lo, j.hi)
			c.wg.Done()
		}
	}
	c.runBody(body, 0, items/w)
	c.finish()
}

// Run runs parts 0 … n−1 of p, part 0 on the calling goroutine and each
// other part on a worker of its own (or on the caller when the pool is
// full and busy, so parts must not wait on one another), and returns when
// all are done. It is For for work whose split is decided by the caller
// (the GEMM engine's blocks, for instance); like For it allocates nothing,
// may be called from inside a part, and re-raises a part's panic on the
// caller's goroutine.
func Run(p Parts, n int) {
	if n <= 0 {
		return
	}
	noteWidth(n)
	if n == 1 {
		p.RunPart(0)
		return
	}
	c := calls.Get().(*call)
	c.wg.Add(n - 1)
	for i := 1; i < n; i++ {
		if !send(job{parts: p, lo: i, done: c}) {
			c.runPart(p, i)
			c.wg.Done()
		}
	}
	c.runPart(p, 0)
	c.finish()
}

// send hands j to an idle worker, starting a new one when none is idle
// and the pool is below its limit; it reports false, having done nothing,
// when the pool is full and busy, and the caller then runs j itself.
func send(j job) bool {
	select {
	case jobs <- j:
		return true
	default:
	}
	if started.Add(1) > poolLimit() {
		started.Add(-1)
		// Full: one more try in case a worker just became idle.
		select {
		case jobs <- j:
			return true
		default:
			return false
		}
	}
	go worker()
	jobs <- j
	return true
}

// PoolSize returns the number of goroutines the pool has started.
func PoolSize() int { return int(started.Load()) }
