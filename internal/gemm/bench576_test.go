package gemm

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/netdeconv/deconv/internal/cputime"
	"github.com/netdeconv/deconv/internal/isa"
)

// The products of the isqrt backward on the paper's 576×576 covariance
// (64 channels, 3×3 kernels): square products too small for the blocking
// of large ones to amortise its packing, and too large for the small path.
// These benchmarks isolate them, on 1 and 2 workers, with their rate as a
// fraction of the FMA peak of the cores they ran on.

const bench576 = 576

var corePeak struct {
	once sync.Once
	gf   [isa.AVX512 + 1]float64
}

// corePeakGFLOPS returns the float32 FMA peak of one core for family f, in
// GFLOP/s, measured once per process (0 for families without a probe).
func corePeakGFLOPS(f isa.Family) float64 {
	corePeak.once.Do(func() {
		for _, g := range isa.Available() {
			if g == isa.Generic {
				continue
			}
			best := 0.0
			for range 3 {
				t0 := time.Now()
				fl := FMAPeak(g, 1<<20)
				best = max(best, fl/time.Since(t0).Seconds()/1e9)
			}
			corePeak.gf[g] = best
		}
	})
	if int(f) < len(corePeak.gf) {
		return corePeak.gf[f]
	}
	return 0
}

// reportRate reports the rate of flops per iteration, its fraction of
// the peak of workers cores, and the CPU time per iteration since t0 (on
// a shared machine it varies far less than the wall time).
func reportRate(b *testing.B, f isa.Family, workers int, flops float64, t0 time.Duration) {
	b.ReportMetric(float64(cputime.Process()-t0)/1e6/float64(b.N), "cpu-ms/op")
	gf := flops * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(gf, "GFLOP/s")
	if p := corePeakGFLOPS(f); p > 0 {
		b.ReportMetric(100*gf/(p*float64(workers)), "%peak")
	}
}

// BenchmarkGemm576 runs GemmDense 576³ in float32 with each transpose of
// the isqrt products, on 1 and 2 workers.
func BenchmarkGemm576(b *testing.B) {
	const n = bench576
	rng := rand.New(rand.NewPCG(7, 8))
	x, y, c := randSlice[float32](rng, n*n), randSlice[float32](rng, n*n), make([]float32, n*n)
	for _, tr := range []struct {
		name   string
		tA, tB Transpose
	}{{"NN", NoTrans, NoTrans}, {"NT", NoTrans, Trans}, {"TN", Trans, NoTrans}} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/w%d", tr.name, w), func(b *testing.B) {
				benchFamilies(b, func(b *testing.B, f isa.Family) {
					t0 := cputime.Process()
					for b.Loop() {
						if err := gemmDense(f, w, tr.tA, tr.tB, n, n, n, 1, x, n, y, n, 0, c, n); err != nil {
							b.Fatal(err)
						}
					}
					reportRate(b, f, w, 2*n*n*n, t0)
				})
			})
		}
	}
}

// BenchmarkUpperSumShapes576 runs UpperSum at the shapes of the isqrt backward's
// tangent sums: one product (the forward's) and a sum of two, symmetric
// A, mirrored, on 1 and 2 workers. The rate counts the flops of the upper
// triangle, n(n+1)/2 elements, as the work done.
func BenchmarkUpperSumShapes576(b *testing.B) {
	const n = bench576
	rng := rand.New(rand.NewPCG(9, 10))
	a1, a2 := symmetricSlice[float32](rng, n), symmetricSlice[float32](rng, n)
	b1, b2 := randSlice[float32](rng, n*n), randSlice[float32](rng, n*n)
	c := make([]float32, n*n)
	for _, ops := range []int{1, 2} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("ops%d/w%d", ops, w), func(b *testing.B) {
				benchFamilies(b, func(b *testing.B, f isa.Family) {
					var u UpperSum[float32]
					x2, y2 := a2, b2
					flags := SymA1 | SymA2 | Mirror
					if ops == 1 {
						x2, y2, flags = nil, nil, SymA1|Mirror
					}
					t0 := cputime.Process()
					for b.Loop() {
						if err := u.upper(f, w, n, 1, a1, b1, x2, y2, c, flags); err != nil {
							b.Fatal(err)
						}
					}
					reportRate(b, f, w, float64(ops)*n*(n+1)*n, t0)
				})
			})
		}
	}
}
