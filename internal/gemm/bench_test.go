package gemm

import (
	"github.com/netdeconv/deconv/internal/parallel"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// BenchmarkFMAPeak measures the float32 FMA peak of parallel.Workers(0) cores with
// independent register-resident FMA chains: the yardstick for GEMM speed.
func BenchmarkFMAPeak(b *testing.B) {
	for _, f := range isa.Available() {
		if f == isa.Generic {
			continue
		}
		b.Run(f.String(), func(b *testing.B) {
			nt := parallel.Workers(0)
			const iters = 1 << 20
			var flops float64
			for b.Loop() {
				var wg sync.WaitGroup
				for range nt {
					wg.Add(1)
					go func() { defer wg.Done(); FMAPeak(f, iters) }()
				}
				wg.Wait()
				flops += float64(nt) * fmaPeakFlops(f, iters)
			}
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func fmaPeakFlops(f isa.Family, iters int) float64 {
	switch f {
	case isa.AVX512:
		return float64(iters) * 24 * 16 * 2
	case isa.AVX2:
		return float64(iters) * 12 * 8 * 2
	}
	return 0
}

func benchFamilies(b *testing.B, fn func(b *testing.B, f isa.Family)) {
	b.Run("selected", func(b *testing.B) { fn(b, isa.Selected()) })
	for _, f := range isa.Available() {
		if f != isa.Selected() && f != isa.Generic {
			b.Run(f.String(), func(b *testing.B) { fn(b, f) })
		}
	}
}

// BenchmarkPaperSgemm: float32, row-major, 2048×2048 · 2048×2048, β = 0.
func BenchmarkPaperSgemm(b *testing.B) { benchSquareSgemm(b, 2048, 1) }

// BenchmarkPaperSgemm576: float32, row-major, 576×576 · 576×576, β = 0:
// one product of the size the isqrt iteration and its backward are made
// of, on all the workers; bench/compare.py sgemm576 sets it beside
// PyTorch's a @ b, the best rate either library reaches on such products.
func BenchmarkPaperSgemm576(b *testing.B) { benchSquareSgemm(b, bench576, 11) }

// benchSquareSgemm times C = A·B for random n×n float32 matrices on all
// the workers, with each family.
func benchSquareSgemm(b *testing.B, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	a, bb, c := randSlice[float32](rng, n*n), randSlice[float32](rng, n*n), make([]float32, n*n)
	benchFamilies(b, func(b *testing.B, f isa.Family) {
		for b.Loop() {
			if err := gemmDense(f, parallel.Workers(0), NoTrans, NoTrans, n, n, n, 1, a, n, bb, n, 0, c, n); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkPaperSyrk: float32 XᵀX for X of 59168×576 (the covariance of
// the batch-32 layer of the paper's Table 3), full result filled.
func BenchmarkPaperSyrk(b *testing.B) {
	const rows, n = 59168, 576
	rng := rand.New(rand.NewPCG(3, 4))
	x, c := randSlice[float32](rng, rows*n), make([]float32, n*n)
	benchFamilies(b, func(b *testing.B, f isa.Family) {
		for b.Loop() {
			if err := syrkDense(f, parallel.Workers(0), Full, n, rows, 1, x, n, 0, c, n); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rows)*n*(n+1)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkKernel runs each micro-kernel on cache-resident panels: the
// ceiling of the engine for its family.
func BenchmarkKernel(b *testing.B) {
	for _, f := range isa.Available() {
		b.Run("f32/"+f.String(), func(b *testing.B) {
			kr := kernelFor[float32](f)
			rng := rand.New(rand.NewPCG(5, 6))
			pa := randSlice[float32](rng, kr.kc*kr.mr)
			pb := randSlice[float32](rng, kr.kc*kr.nr)
			c := make([]float32, kr.mr*kr.nr)
			for b.Loop() {
				kr.fn(kr.kc, &pa[0], &pb[0], kr.nr, &c[0], kr.nr, 1, 1, 1)
			}
			b.ReportMetric(2*float64(kr.kc*kr.mr*kr.nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
