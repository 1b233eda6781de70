package gemm

import "sync"

// partRunner is a product split into parts that workers run concurrently.
type partRunner interface {
	runPart(idx int)
}

type job struct {
	r   partRunner
	idx int
	wg  *sync.WaitGroup
}

// Long-lived workers: starting goroutines per product would allocate on
// every call; sending a job value on a channel does not.
var (
	workMu  sync.Mutex
	workers int
	jobs    = make(chan job)
)

func worker() {
	for j := range jobs {
		j.r.runPart(j.idx)
		j.wg.Done()
	}
}

// ensureWorkers starts workers until n are running.
func ensureWorkers(n int) {
	workMu.Lock()
	for workers < n {
		workers++
		go worker()
	}
	workMu.Unlock()
}

// runParts runs parts 0..n-1 of r, part 0 on the calling goroutine, and
// returns when all are done.
func runParts(r partRunner, n int, wg *sync.WaitGroup) {
	if n > 1 {
		ensureWorkers(n - 1)
		wg.Add(n - 1)
		for i := 1; i < n; i++ {
			jobs <- job{r, i, wg}
		}
	}
	r.runPart(0)
	wg.Wait()
}
