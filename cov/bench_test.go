package cov

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/cputime"
	"github.com/netdeconv/deconv/internal/gemm"
)

// paperParams is the benchmark's layer: x 32×64×128×128, 3×3 kernel,
// padding 1, stride 1, S = 3, B = 64: 59168 rows of 576 features.
func paperParams(batch int) Params {
	return Params{
		Batch: batch, Channels: 64, Height: 128, Width: 128, Sampling: 3, Block: 64, Eps: 1e-5,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1},
	}
}

// paperInput returns the benchmark's data: uniform [0,1) plus an offset
// per channel drawn from [−2, 2), so the features' means are far from
// zero next to their spread (σ ≈ 0.29) and the centring matters.
func paperInput(batch int) []float32 {
	p := paperParams(batch)
	hw := p.Height * p.Width
	rng := rand.New(rand.NewPCG(2020, 4))
	x := make([]float32, batch*p.Channels*hw)
	for i := 0; i < len(x); i += hw {
		off := float32(4*rng.Float64() - 2)
		for j := i; j < i+hw; j++ {
			x[j] = off + rng.Float32()
		}
	}
	return x
}

// BenchmarkPaperCov: float32, x 32×64×128×128, kernel 3, padding 1,
// stride 1, S 3, B 64, eps 1e-5 → μ (576) and the 576×576 Cov.
func BenchmarkPaperCov(b *testing.B) {
	pl, err := NewPlan(paperParams(32))
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput(32)
	mean, c := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	for b.Loop() {
		if err := Compute(pl, mean, c, x); err != nil {
			b.Fatal(err)
		}
	}
	// Useful work: the upper triangle of XᵀX, rows·F·(F+1)/2 multiply-adds.
	f := float64(pl.Features())
	b.ReportMetric(float64(pl.Rows())*f*(f+1)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")

	// The relative Frobenius error of this float32 Cov against the float64
	// computation on the same input (checked against the materialized
	// oracle by the tests), outside the timed loop.
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	m64, c64 := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := Compute(pl, m64, c64, x64); err != nil {
		b.Fatal(err)
	}
	// Reported in units of 1e-9 (benchmark metrics print few digits).
	b.ReportMetric(relFrob(c, c64)*1e9, "cov-relerr-e-9")
}

// BenchmarkPaperCovBackward: the gradient of BenchmarkPaperCov's μ and
// Cov with respect to x, on the same layer and data, for random dmean and
// dcov; compare its time with BenchmarkPaperCov's from the same run.
func BenchmarkPaperCovBackward(b *testing.B) {
	pl, err := NewPlan(paperParams(32))
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput(32)
	mean, c := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	if err := Compute(pl, mean, c, x); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2020, 5))
	dmean, dcov := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	for i := range dmean {
		dmean[i] = float32(rng.NormFloat64())
	}
	for i := range dcov {
		dcov[i] = float32(rng.NormFloat64())
	}
	dx := make([]float32, pl.SrcLen())
	for b.Loop() {
		if err := Backward(pl, dx, dmean, dcov, x, mean); err != nil {
			b.Fatal(err)
		}
	}
	// Useful work: the product of the rows with the F×F matrix,
	// rows·F² multiply-adds.
	f := float64(pl.Features())
	b.ReportMetric(2*float64(pl.Rows())*f*f*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkPaperCovPair runs BenchmarkPaperCov's covariance and the plain
// float32 SYRK of the same 59168×576 product (internal/gemm's
// BenchmarkPaperSyrk) side by side in one process, so that their ratio,
// the cost of the fused gather, is measured under the same conditions
// (with -count n the two alternate).
func BenchmarkPaperCovPair(b *testing.B) {
	pl, err := NewPlan(paperParams(32))
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput(32)
	rows, f := pl.Rows(), pl.Features()
	b.Run("cov", func(b *testing.B) {
		mean, c := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
		testForceDense = os.Getenv("COV_DENSE") != ""
		defer func() { testForceDense = false }()
		t0 := cputime.Process()
		for b.Loop() {
			if err := Compute(pl, mean, c, x); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, t0)
	})
	b.Run("syrk", func(b *testing.B) {
		// A dense matrix of as many rows, values like the input's.
		y, c := make([]float32, rows*f), make([]float32, f*f)
		for i := range y {
			y[i] = x[i%len(x)]
		}
		t0 := cputime.Process()
		for b.Loop() {
			if err := gemm.SyrkDense(0, gemm.Full, f, rows, 1, y, f, 0, c, f); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, t0)
	})
}
