package isqrt

import (
	"sync/atomic"

	"github.com/netdeconv/deconv/internal/parallel"
)

// A single matrix of 97 to 192 rows (the 147×147 covariance of the 7×7
// first layers) costs about a millisecond in some 25 operations of 10 to
// 60 µs. Splitting those operations over two goroutines did not pay on the
// 2-core machines this library is measured on: waking a parked pool
// goroutine per operation costs about what the operation does, and a
// helper spinning between operations slowed the leader's products nearly
// two-fold (the two virtual cores share more than their caches), so that
// either way two goroutines took longer than one (see
// BenchmarkInvSqrtSmall). What does pay is work that needs no
// synchronisation: the positive-definiteness check (chol.go, about 10% of
// the call), which nothing in the iteration reads. So a call of the
// Coupled method at these sizes, given two goroutines or more, runs the
// whole iteration on one of them with single-threaded products, and the
// check on another, started once per call and parked until the check is
// posted; the iteration awaits its verdict before anything is written to
// dst, so an indefinite input is reported exactly as before, dst
// untouched. A helper that starts late, or never (the pool full: Run then
// runs it after the leader), costs nothing but the overlap: the leader
// runs the check itself if nobody has taken it. The results are those of
// one goroutine, bit for bit. CoupledReference and Uncoupled take no part
// in this (besideFits): at these sizes they still deal their block rows
// over the team of products.go.

// besideMinN and besideMaxN bound the sizes that run their check beside
// the iteration: below, the check is a few tens of µs, about what
// starting the helper costs; above, the iteration's own operations are
// long enough to use every goroutine (gemm.UpperSum and the team of
// products.go), and the check runs before it on all of them. Measured
// (BenchmarkInvSqrtSmall, Intel Xeon at 2.5 GHz, 2 cores, medians of 3),
// two goroutines against one on this path: 0.41 against 0.46 ms at
// n = 97, 1.13 against 1.22 ms at 147, 1.85 against 1.97 ms at 192; the
// former team of block rows on two goroutines took 0.56, 1.42 and
// 2.36 ms.
const (
	besideMinN = upperSplitMin + 1
	besideMaxN = 4 * symBlock
)

// besideRun is the state of one call whose check runs beside the
// iteration. It lives in the work it serves, so a call allocates nothing.
type besideRun[T Float] struct {
	w *work[T]
	p *Plan[T]

	// The call's arguments and outcome, for the member that leads.
	dst, a []T
	res    Result
	err    error

	lead atomic.Bool // taken by the first member to arrive
	quit atomic.Bool // set by the leader when the call is over

	// The check: task is 0 when none is posted, 1 posted, 2 taken, 3
	// finished with taskErr.
	task     atomic.Int32
	taskErr  error
	tn       int
	ta       []T
	tsNormal bool
	tc       float64

	// Parking (see park): the helper, when hSleep, waits for a token on
	// hWake; the leader, when lSleep, for one on lWake. parallel.Run(t, 2)
	// starts one helper, so one slot each is enough.
	hWake, lWake   chan struct{}
	hSleep, lSleep atomic.Bool
}

// besideFits reports whether a call of the plan on w runs its check
// beside the iteration: the fast coupled iteration, at least two
// goroutines, a size in [besideMinN, besideMaxN].
func (w *work[T]) besideFits(p *Plan[T]) bool {
	return p.opt.Method == Coupled && w.nw > 1 && p.n >= besideMinN && p.n <= besideMaxN
}

// runBeside runs the call on two goroutines: the iteration on one, with
// single-threaded products and serial passes, the check on the other.
func (w *work[T]) runBeside(p *Plan[T], dst, a []T) (Result, error) {
	if testHookThreads != nil {
		testHookThreads(2) // the call's goroutines, as a product's
	}
	t := &w.tm
	t.w, t.p, t.dst, t.a = w, p, dst, a
	t.lead.Store(false)
	t.quit.Store(false)
	t.task.Store(0)
	if t.hWake == nil {
		t.hWake, t.lWake = make(chan struct{}, 1), make(chan struct{}, 1)
	}
	threads, nw := w.threads, w.nw
	w.threads, w.nw, w.beside = 1, 1, true
	// Restored even if the call panics (parallel.Run re-raises a part's
	// panic here), so that a caller that recovers finds the work as before
	// and no longer holding its slices.
	defer func() {
		w.threads, w.nw, w.beside = threads, nw, false
		t.dst, t.a, t.ta, t.res, t.err, t.taskErr = nil, nil, nil, Result{}, nil, nil
	}()
	parallel.Run(t, 2)
	return t.res, t.err
}

// RunPart is one member of the call (parallel.Parts): the first to arrive
// leads, the other runs the check if it is posted before the leader
// quits.
func (t *besideRun[T]) RunPart(int) {
	if t.lead.CompareAndSwap(false, true) {
		defer t.finishLead() // even if the computation panics
		t.res, t.err = t.w.runOne(t.p, t.dst, t.a)
		return
	}
	for !t.quit.Load() && !t.tryTask() {
		t.park()
	}
}

// finishLead ends the call for the helper.
func (t *besideRun[T]) finishLead() {
	t.quit.Store(true)
	t.wakeHelper()
}

// park blocks the helper until the check is posted or the call is over.
// It announces itself in hSleep before looking a last time, so that a post
// made meanwhile is either seen or finds the flag up and wakes it: when
// the leader takes the flag down a token comes on hWake, when the helper
// does no token comes, so none is ever left over for the next call.
func (t *besideRun[T]) park() {
	t.hSleep.Store(true)
	if t.quit.Load() || t.task.Load() == 1 {
		if !t.hSleep.CompareAndSwap(true, false) {
			<-t.hWake // the leader took the flag: its token is coming
		}
		return
	}
	<-t.hWake
}

// wakeHelper wakes the helper if it is parked.
func (t *besideRun[T]) wakeHelper() {
	if t.hSleep.Load() && t.hSleep.CompareAndSwap(true, false) {
		t.hWake <- struct{}{}
	}
}

// postCheck offers the positive-definiteness check of the input to the
// helper.
func (t *besideRun[T]) postCheck(n int, a []T, sNormal bool, c float64) {
	t.tn, t.ta, t.tsNormal, t.tc = n, a, sNormal, c
	t.task.Store(1)
	t.wakeHelper()
}

// tryTask runs the posted check if nobody has taken it yet.
func (t *besideRun[T]) tryTask() bool {
	if t.task.Load() != 1 || !t.task.CompareAndSwap(1, 2) {
		return false
	}
	if testHookPart != nil {
		testHookPart(1)
		defer testHookPart(-1)
	}
	// Finished even if the check panics, so that the leader does not wait
	// for ever; parallel.Run then re-raises the panic on the caller.
	defer t.taskDone()
	t.taskErr = t.w.checkDefinite(t.tn, t.ta, t.tsNormal, t.tc)
	return true
}

// taskDone marks the check finished and wakes the leader if it parked.
func (t *besideRun[T]) taskDone() {
	t.task.Store(3)
	if t.lSleep.Load() && t.lSleep.CompareAndSwap(true, false) {
		t.lWake <- struct{}{}
	}
}

// checkResult returns the posted check's verdict, running it now if the
// helper has not taken it, else waiting for it (nil when none was
// posted). The leader parks while it waits: announced in lSleep, then
// looking a last time, as park does.
func (t *besideRun[T]) checkResult() error {
	if t.task.Load() == 0 {
		return nil
	}
	t.tryTask()
	if t.task.Load() != 3 {
		t.lSleep.Store(true)
		if t.task.Load() == 3 {
			if !t.lSleep.CompareAndSwap(true, false) {
				<-t.lWake // the helper took the flag: its token is coming
			}
		} else {
			<-t.lWake
		}
	}
	return t.taskErr
}
