package cov

import (
	"testing"
	"time"

	"github.com/netdeconv/deconv/internal/cputime"
)

// reportCPU adds the metric cpu-ms/op: the process's CPU time since t0
// (cputime.Process) per operation. On a shared, loaded machine it varies
// less than the wall time, so benchmarks report both.
func reportCPU(b *testing.B, t0 time.Duration) {
	b.ReportMetric(float64(cputime.Process()-t0)/1e6/float64(b.N), "cpu-ms/op")
}
