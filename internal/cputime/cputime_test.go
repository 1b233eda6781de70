package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestClocksAdvance: both clocks move forward while the thread computes
// (on the platforms that have them), never backwards, and the thread's
// time is part of the process's.
func TestClocksAdvance(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0, t0 := Process(), Thread()
	// Compute until the thread has used 20 ms of CPU, however loaded the
	// machine, or 10 s of wall time have passed.
	p1, t1 := p0, t0
	for start := time.Now(); t1-t0 < 20*time.Millisecond && time.Since(start) < 10*time.Second; {
		p1, t1 = Process(), Thread()
	}
	if p1 < p0 || t1 < t0 {
		t.Fatalf("clocks went back: process %v → %v, thread %v → %v", p0, p1, t0, t1)
	}
	if runtime.GOOS == "linux" && (p1 == p0 || t1-t0 < 20*time.Millisecond) {
		t.Fatalf("clocks did not move while computing: process %v → %v, thread %v → %v", p0, p1, t0, t1)
	}
	// Read the process's clock last, so that it includes all of the
	// thread's; each reading is rounded to microseconds.
	if p := Process(); t1-t0 > p-p0+10*time.Microsecond {
		t.Errorf("thread used %v, more than the process's %v", t1-t0, p-p0)
	}
}
