//go:build unix

package gemm

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system: on
// a shared machine whose load varies, a benchmark's CPU time per operation
// varies far less than its wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
