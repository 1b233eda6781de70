package isqrt

import (
	"fmt"
	"testing"
	"time"

	"github.com/netdeconv/deconv/internal/cputime"
)

// cpuPerOp runs f b.N times and reports the process's CPU time per
// operation beside the wall time (see package cputime).
func cpuPerOp(b *testing.B, f func()) {
	b.ResetTimer()
	t0 := cputime.Process()
	for i := 0; i < b.N; i++ {
		f()
	}
	b.ReportMetric(float64((cputime.Process()-t0)/time.Nanosecond)/1e3/float64(b.N), "cpu-µs/op")
}

// benchCov returns an n×n float32 covariance of the kind a layer sees: the
// covariance of 3×3 windows of ⌈n/9⌉ channels, cut to n×n (a leading
// principal submatrix of an SPD matrix is SPD).
func benchCov(n int) []float32 {
	b := (n + 8) / 9
	full := layerCovariance(b, 1e-5, uint64(n))
	m := 9 * b
	out := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			out[i*n+j] = float32(full[i*m+j])
		}
	}
	return out
}

// BenchmarkInvSqrtSmall: one small matrix per call, the default options
// (the layers' isqrt through the C ABI and the Python binding at n = 27).
func BenchmarkInvSqrtSmall(b *testing.B) {
	for _, n := range []int{9, 27, 64, 97, 147, 192, 245, 363} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			cov := benchCov(n)
			p := mustPlan[float32](b, n, Options{})
			dst := make([]float32, n*n)
			cpuPerOp(b, func() {
				if _, err := p.InvSqrt(dst, cov); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkInvSqrtBatch: the groups of Table 3's layers, count×n.
func BenchmarkInvSqrtBatch(b *testing.B) {
	for _, sz := range []struct{ count, n int }{
		{1, 147}, {1, 245}, {1, 363}, {4, 576}, {8, 576}, {32, 72},
		{128, 9}, {256, 9}, {512, 9},
	} {
		one := benchCov(sz.n)
		a := make([]float32, 0, sz.n*sz.n*sz.count)
		for range sz.count {
			a = append(a, one...)
		}
		b.Run(fmt.Sprintf("%dx%d", sz.count, sz.n), func(b *testing.B) {
			p := mustPlan[float32](b, sz.n, Options{})
			dst := make([]float32, len(a))
			if _, err := p.InvSqrtBatch(dst, a, sz.count); err != nil {
				b.Fatal(err)
			}
			cpuPerOp(b, func() {
				if _, err := p.InvSqrtBatch(dst, a, sz.count); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkCholeskySmall times the positive-definiteness check alone at
// the first layers' size (see BenchmarkCholesky576), on one goroutine:
// what it adds to a call that runs without a team.
func BenchmarkCholeskySmall(b *testing.B) {
	for _, n := range []int{64, 147} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			cov := benchCov(n)
			p := mustPlan[float32](b, n, Options{})
			w := p.worker(0)
			w.setThreads(1)
			ch := grow(&w.chol, n*n)
			fill := func() {
				for i := 0; i < n; i++ {
					for j := i + 1; j < n; j++ {
						ch[i*n+j] = float64(cov[i*n+j])
					}
				}
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
		})
	}
}

// BenchmarkMirrorUpper: mirrorUpper of an n×n float32 matrix, the pass
// after every half product of the coupled iteration, at the sizes of the
// 7×7 first layers (147) and of the paper layer (576).
func BenchmarkMirrorUpper(b *testing.B) {
	for _, n := range []int{147, 576} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			c := make([]float32, n*n)
			for i := range c {
				c[i] = float32(i % 7)
			}
			for b.Loop() {
				mirrorUpper(n, c)
			}
		})
	}
}
