package isqrt

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/netdeconv/deconv/internal/parallel"
)

// A matrix of 97 to 192 rows costs about a millisecond: some 25
// operations (products and O(n²) passes) of 10 to 60 µs each. Handing
// each of them to the pool's goroutines (parallel.Run) costs a wake-up of
// a parked goroutine per operation, which on these machines is of the
// order of the operation itself: at n = 147 two goroutines were slower
// than one. So for these sizes the call's goroutines are started once,
// by one parallel.Run, and stay for the whole call: one of them (the
// leader) runs the computation, and every operation's parts are claimed
// from a shared counter by whichever member is free, while the others
// spin between operations. The leader never waits for a part nobody has
// claimed, only for parts being run, so a member that starts late (or
// never, when the pool is full and Run runs it after the leader) only
// costs its share of the parallelism. Each part is the same computation
// whoever runs it (the same single-threaded products on the same rows,
// its sums kept apart), so the results are those of one goroutine, bit
// for bit.
//
// The positive-definiteness check (chol.go), which nothing in the
// iteration needs, is a task of its own that a free member takes while
// the leader starts iterating; its verdict is awaited before anything is
// written to dst, so an indefinite input is reported exactly as before,
// dst untouched.

// spinMinN and spinMaxN bound the sizes that run on a spinning team:
// below, the products are single full ones (upperMul) and the whole call
// is a few hundred µs; above, the products split rows inside the engine
// (gemm.UpperSum) and every operation is long enough for parallel.Run.
const (
	spinMinN = upperSplitMin + 1
	spinMaxN = 4 * symBlock
)

// spinTeam is the state of one call on a spinning team (see above). It
// lives in the work it serves, so a call allocates nothing.
type spinTeam[T Float] struct {
	w *work[T]
	p *Plan[T]

	// The call's arguments and outcome, for the member that leads.
	dst, a []T
	res    Result
	err    error

	lead atomic.Bool // taken by the first member to arrive
	quit atomic.Bool // set by the leader when the call is over

	// state is the operation on offer: its generation (bits 16 and up),
	// its number of parts (bits 8–15) and the next part to claim (bits
	// 0–7). The leader writes the operation's fields in w, then stores
	// state; a member claims a part by incrementing it.
	state atomic.Uint64
	gen   uint64
	done  atomic.Int32 // parts of the current operation finished
	parts int32        // parts of the current operation

	// Parking (see parkHelper, waitLeader): the helpers counted in
	// sleepers wait for a token on hWake; the leader, when lSleep, for
	// one on lWake.
	sleepers     atomic.Int32
	hWake, lWake chan struct{}
	lSleep       atomic.Bool

	// The positive-definiteness check: task is 0 when none is posted, 1
	// posted, 2 taken, 3 finished with taskErr.
	task     atomic.Int32
	taskErr  error
	tn       int
	ta       []T
	tsNormal bool
	tc       float64
}

// spinFits reports whether a call of the plan on w runs on a spinning
// team: the fast coupled iteration, at least two goroutines, a size in
// [spinMinN, spinMaxN].
func (w *work[T]) spinFits(p *Plan[T]) bool {
	return p.opt.Method == Coupled && w.nw > 1 && p.n >= spinMinN && p.n <= spinMaxN
}

// runSpin is run on a team of w.nw goroutines: the products become
// single-threaded and every team operation goes to the members.
func (w *work[T]) runSpin(p *Plan[T], dst, a []T) (Result, error) {
	t := &w.tm
	t.w, t.p, t.dst, t.a = w, p, dst, a
	t.lead.Store(false)
	t.quit.Store(false)
	t.task.Store(0)
	t.state.Store(0)
	t.gen = 0
	if t.hWake == nil {
		t.hWake, t.lWake = make(chan struct{}, maxTeam), make(chan struct{}, 1)
	}
	if testHookThreads != nil {
		testHookThreads(w.nw) // the call's goroutines, as a product's
	}
	threads := w.threads
	w.threads = 1
	w.spinning = true
	parallel.Run(t, w.nw)
	w.spinning = false
	w.threads = threads
	res, err := t.res, t.err
	t.dst, t.a, t.ta, t.res, t.err, t.taskErr = nil, nil, nil, Result{}, nil, nil
	return res, err
}

// spinIdle is how long a member spins without finding anything to do
// before it parks until woken. On a quiet machine the operations of a call
// follow each other within microseconds and nobody parks; on a busy one
// the goroutine awaited may be descheduled by the system for a time
// slice, and a spinning member would take the CPU it needs.
const spinIdle = 20 * time.Microsecond

// RunPart is one member of the team (parallel.Parts): the first to
// arrive leads, the others help until the leader quits.
func (t *spinTeam[T]) RunPart(int) {
	if t.lead.CompareAndSwap(false, true) {
		defer t.finishLead() // even if the computation panics
		t.res, t.err = t.w.runOne(t.p, t.dst, t.a)
		return
	}
	var since time.Time
	for spins := 0; !t.quit.Load(); spins++ {
		if t.tryTask() || t.tryPart() {
			spins = 0
			continue
		}
		if spins&63 == 63 {
			if spins == 63 {
				since = time.Now()
			} else if time.Since(since) > spinIdle {
				t.parkHelper()
				spins = 0
				continue
			}
			runtime.Gosched()
		}
	}
}

// finishLead ends the call for the other members.
func (t *spinTeam[T]) finishLead() {
	t.quit.Store(true)
	t.wakeHelpers()
}

// offered reports whether a member has something to do or must stop.
func (t *spinTeam[T]) offered() bool {
	v := t.state.Load()
	return t.quit.Load() || t.task.Load() == 1 || int(v&0xff) < int(v>>8&0xff)
}

// parkHelper blocks a helper until the leader offers something. It counts
// itself among the sleepers before looking a last time, so that an offer
// made meanwhile either is seen or finds it counted and wakes it: every
// count the leader takes back comes with a token on hWake, every one the
// helper takes back itself without.
func (t *spinTeam[T]) parkHelper() {
	t.sleepers.Add(1)
	if t.offered() {
		for {
			s := t.sleepers.Load()
			if s == 0 {
				<-t.hWake // the leader took the count: its token is coming
				return
			}
			if t.sleepers.CompareAndSwap(s, s-1) {
				return
			}
		}
	}
	<-t.hWake
}

// wakeHelpers wakes every parked helper (after an offer).
func (t *spinTeam[T]) wakeHelpers() {
	for {
		s := t.sleepers.Load()
		if s == 0 {
			return
		}
		if t.sleepers.CompareAndSwap(s, s-1) {
			t.hWake <- struct{}{}
		}
	}
}

// waitLeader makes the leader wait until cond holds: a helper's part or
// task it awaits is finished. It spins, then parks (lSleep, lWake) until a
// helper finishing something wakes it.
func (t *spinTeam[T]) waitLeader(cond func(*spinTeam[T]) bool) {
	var since time.Time
	for spins := 0; !cond(t); spins++ {
		if spins&63 != 63 {
			continue
		}
		if spins == 63 {
			since = time.Now()
		} else if time.Since(since) > spinIdle {
			t.lSleep.Store(true)
			if cond(t) {
				if !t.lSleep.CompareAndSwap(true, false) {
					<-t.lWake
				}
				return
			}
			<-t.lWake
			spins = 0
			continue
		}
		runtime.Gosched()
	}
}

// wakeLeader wakes the leader if it parked (after a helper finished a part
// or the task).
func (t *spinTeam[T]) wakeLeader() {
	if t.lSleep.Load() && t.lSleep.CompareAndSwap(true, false) {
		t.lWake <- struct{}{}
	}
}

// partsDone and taskDone are the leader's conditions.
func partsDone[T Float](t *spinTeam[T]) bool { return t.done.Load() >= t.parts }
func taskDone[T Float](t *spinTeam[T]) bool  { return t.task.Load() == 3 }

// runOp offers the operation set in w as w.nw parts, takes parts itself
// until none is left, then waits for those the others took.
func (t *spinTeam[T]) runOp(nw int) {
	t.done.Store(0)
	t.parts = int32(nw)
	t.gen++
	t.state.Store(t.gen<<16 | uint64(nw)<<8)
	t.wakeHelpers()
	for t.tryPart() {
	}
	t.waitLeader(partsDone[T])
}

// tryPart claims and runs one part of the operation on offer; it reports
// false when none is left to claim.
func (t *spinTeam[T]) tryPart() bool {
	v := t.state.Load()
	parts, next := int(v>>8&0xff), int(v&0xff)
	if next >= parts {
		return false
	}
	if t.state.CompareAndSwap(v, v+1) {
		t.w.RunPart(next)
		t.done.Add(1)
		t.wakeLeader()
	}
	return true
}

// postCheck offers the positive-definiteness check of the input as a task.
func (t *spinTeam[T]) postCheck(n int, a []T, sNormal bool, c float64) {
	t.tn, t.ta, t.tsNormal, t.tc = n, a, sNormal, c
	t.task.Store(1)
	t.wakeHelpers()
}

// tryTask runs the posted check if nobody has taken it yet.
func (t *spinTeam[T]) tryTask() bool {
	if t.task.Load() != 1 || !t.task.CompareAndSwap(1, 2) {
		return false
	}
	if testHookPart != nil {
		testHookPart(1)
		defer testHookPart(-1)
	}
	t.taskErr = t.w.checkDefinite(t.tn, t.ta, t.tsNormal, t.tc)
	t.task.Store(3)
	t.wakeLeader()
	return true
}

// checkResult returns the posted check's verdict, running it now if no
// member has taken it, else waiting for it (nil when none was posted).
func (t *spinTeam[T]) checkResult() error {
	if t.task.Load() == 0 {
		return nil
	}
	t.tryTask()
	t.waitLeader(taskDone[T])
	return t.taskErr
}
