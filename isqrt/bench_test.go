package isqrt

import (
	"fmt"
	"testing"
	"time"

	"github.com/netdeconv/deconv/internal/cputime"
	"github.com/netdeconv/deconv/internal/parallel"
)

// reportCPU reports the process's CPU time per operation since t0 (see
// package cputime): on a loaded machine it varies far less than the wall time.
func reportCPU(b *testing.B, t0 time.Duration) {
	b.ReportMetric(float64(cputime.Process()-t0)/1e6/float64(b.N), "cpu-ms/op")
}

func benchInvSqrt(b *testing.B, n int, o Options, cov []float32) {
	p := mustPlan[float32](b, n, o)
	dst := make([]float32, n*n)
	if _, err := p.InvSqrt(dst, cov); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0 := cputime.Process()
	for i := 0; i < b.N; i++ {
		if _, err := p.InvSqrt(dst, cov); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, t0)
	// The reference's work: three n×n×n products per iteration.
	k := float64(p.Options().Iterations)
	b.ReportMetric(3*k*2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "ref-GFLOP/s")
}

// BenchmarkPaperNS5: float32, one 576×576 SPD matrix (the covariance of a
// layer with 3×3 kernels and blocks of 64 channels, plus 1e-5·I), 5 coupled
// iterations including the norm and the final scaling. ref-GFLOP/s counts
// the reference's 15 full products, so it compares directly with the
// reference's rate.
func BenchmarkPaperNS5(b *testing.B) {
	benchInvSqrt(b, 576, Options{}, to32(layerCovariance(64, 1e-5, 1)))
}

// BenchmarkNS5Methods compares the fast and the reference formulations.
func BenchmarkNS5Methods(b *testing.B) {
	cov := to32(layerCovariance(64, 1e-5, 1))
	for _, m := range []Method{Coupled, CoupledReference} {
		b.Run(m.String(), func(b *testing.B) { benchInvSqrt(b, 576, Options{Method: m}, cov) })
	}
}

// BenchmarkBatch: many small matrices in one call (the groups of a layer).
func BenchmarkBatch(b *testing.B) {
	for _, sz := range []struct{ blk, count int }{{1, 64}, {4, 16}, {16, 4}} {
		n := 9 * sz.blk
		one := to32(layerCovariance(sz.blk, 1e-5, 2))
		a := make([]float32, 0, n*n*sz.count)
		for range sz.count {
			a = append(a, one...)
		}
		b.Run(fmt.Sprintf("%dx%d", sz.count, n), func(b *testing.B) {
			p := mustPlan[float32](b, n, Options{})
			dst := make([]float32, len(a))
			for i := 0; i < b.N; i++ {
				if _, err := p.InvSqrtBatch(dst, a, sz.count); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCholesky576 times the positive-definiteness check alone
// (filling in the diagonal and factoring) on the matrix of
// BenchmarkPaperNS5, on the goroutines a call would use: its share of
// BenchmarkPaperNS5 is the check's cost.
func BenchmarkCholesky576(b *testing.B) {
	const n = 576
	cov := to32(layerCovariance(64, 1e-5, 1))
	p := mustPlan[float32](b, n, Options{})
	w := p.worker(0)
	w.setThreads(parallel.Workers(0))
	ch := grow(&w.chol, n*n)
	fill := func() {
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				ch[i*n+j] = float64(cov[i*n+j])
			}
		}
	}
	fill()
	if err := w.checkDefinite(n, cov, true, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fill()
		b.StartTimer()
		if err := w.checkDefinite(n, cov, true, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPaperIsqrtBackward: float32, the gradient of 5 coupled
// iterations on the 576×576 matrix of BenchmarkPaperNS5 (the default
// method, Frobenius pre-scaling), given the gradient of the result. The
// forward is not timed (BenchmarkPaperNS5Grad times it). ref-GFLOP/s
// counts what reverse-mode differentiation of the reference's 15 products
// costs: two products per product, 30 in all.
func BenchmarkPaperIsqrtBackward(b *testing.B) {
	const n = 576
	cov := to32(layerCovariance(64, 1e-5, 1))
	p := mustPlan[float32](b, n, Options{Grad: true})
	d := make([]float32, n*n)
	if _, err := p.InvSqrt(d, cov); err != nil {
		b.Fatal(err)
	}
	g := make([]float32, n*n)
	for i := range g {
		g[i] = float32(i%7) - 3
	}
	da := make([]float32, n*n)
	if err := p.Backward(da, g); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0 := cputime.Process()
	for i := 0; i < b.N; i++ {
		if err := p.Backward(da, g); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, t0)
	b.ReportMetric(30*2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "ref-GFLOP/s")
}

// BenchmarkPaperNS5Grad is BenchmarkPaperNS5 with Options.Grad: the
// difference is the cost of keeping the iterates for the backward.
func BenchmarkPaperNS5Grad(b *testing.B) {
	benchInvSqrt(b, 576, Options{Grad: true}, to32(layerCovariance(64, 1e-5, 1)))
}
