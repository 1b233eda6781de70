package isqrt

import "sync"

// A team runs the parts of one operation of a work on several goroutines:
// the upper-triangle products, split by block rows (each block row one
// single-threaded GEMM, so no worker waits on another inside the product
// and none packs an operand another also packs), and the O(n²) passes
// between them. The goroutines are long-lived, as the GEMM engine's are:
// starting goroutines per call would allocate on every call; sending a job
// value on a channel does not.

// tasker runs part i of its current operation.
type tasker interface {
	runTask(i int)
}

type teamJob struct {
	t  tasker
	i  int
	wg *sync.WaitGroup
}

var (
	teamMu      sync.Mutex
	teamWorkers int
	teamJobs    = make(chan teamJob)
)

func teamWorker() {
	for j := range teamJobs {
		j.t.runTask(j.i)
		j.wg.Done()
	}
}

// runTeam runs parts 0 … n−1 of t, part 0 on the calling goroutine, and
// returns when all are done. Parts must not call runTeam themselves.
func runTeam(t tasker, n int, wg *sync.WaitGroup) {
	if n > 1 {
		teamMu.Lock()
		for teamWorkers < n-1 {
			teamWorkers++
			go teamWorker()
		}
		teamMu.Unlock()
		wg.Add(n - 1)
		for i := 1; i < n; i++ {
			teamJobs <- teamJob{t, i, wg}
		}
	}
	t.runTask(0)
	wg.Wait()
}

// snake reports whether block b of a sequence of blocks of decreasing
// cost belongs to part i of nw: blocks are dealt 0, 1, …, nw−1, nw−1, …,
// 0, 0, 1, …, which balances costs that fall linearly (the rows of a
// triangle) to within one block.
func snake(b, i, nw int) bool {
	r, pos := b/nw, b%nw
	if r%2 == 1 {
		pos = nw - 1 - pos
	}
	return pos == i
}
