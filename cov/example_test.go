package cov_test

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/cov"
)

// The covariance that deconvolves the input of a 3×3 convolution:
// 64 channels in blocks of 16 sharing one covariance, every third window.
func ExampleCompute() {
	pl, err := cov.NewPlan(cov.Params{
		Batch: 2, Channels: 64, Height: 16, Width: 16, Sampling: 3, Block: 16, Eps: 1e-5,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1},
	})
	if err != nil {
		panic(err)
	}
	x := make([]float32, pl.SrcLen()) // NCHW input
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	mean, c := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	if err := cov.Compute(pl, mean, c, x); err != nil {
		panic(err)
	}
	fmt.Println(pl.Groups(), "covariance of", pl.Features(), "×", pl.Features(), "from", pl.Rows(), "rows")
	// Output: 1 covariance of 144 × 144 from 288 rows
}

// Statistics of several batches (or of several goroutines or machines)
// merge into those of all the data.
func ExampleStats_Merge() {
	pl, err := cov.NewLinearPlan(cov.LinearParams{Batch: 4, Features: 6, Block: 3})
	if err != nil {
		panic(err)
	}
	a, b := cov.NewStats(pl), cov.NewStats(pl)
	if err := cov.Accumulate(pl, a, []float64{1, 2, 3, 4, 5, 6, 1, 1, 1, 2, 2, 2, 0, 1, 0, 1, 0, 1, 3, 3, 3, 3, 3, 3}); err != nil {
		panic(err)
	}
	if err := cov.Accumulate(pl, b, []float64{2, 2, 2, 2, 2, 2, 4, 0, 4, 0, 4, 0, 1, 2, 3, 3, 2, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		panic(err)
	}
	if err := a.Merge(b); err != nil {
		panic(err)
	}
	mean, c := make([]float64, 3), make([]float64, 9)
	if err := cov.Finalize(a, mean, c); err != nil {
		panic(err)
	}
	fmt.Printf("n=%g mean=%.4f var0=%.4f\n", a.Count(), mean, c[0])
	// Output: n=16 mean=[1.6875 1.8125 1.9375] var0=1.8398
}

// With an all-reduce that only sums, replicas exchange sums about a
// shared reference point (here the running mean) instead of merging.
func ExampleStats_Sums() {
	pl, err := cov.NewLinearPlan(cov.LinearParams{Batch: 2, Features: 2, Block: 2})
	if err != nil {
		panic(err)
	}
	ref := []float64{10, 10} // e.g. the running mean, identical on all replicas
	replicas := [][]float64{{10, 11, 12, 9}, {9, 10, 11, 12}}
	total := make([]float64, 0)
	for _, x := range replicas {
		st := cov.NewStats(pl)
		if err := cov.Accumulate(pl, st, x); err != nil {
			panic(err)
		}
		buf := make([]float64, st.SumsLen())
		if err := st.Sums(buf, ref); err != nil {
			panic(err)
		}
		if len(total) == 0 {
			total = buf
			continue
		}
		for i := range total { // what a SUM all-reduce computes
			total[i] += buf[i]
		}
	}
	st := cov.NewStats(pl)
	if err := st.SetSums(ref, total); err != nil {
		panic(err)
	}
	mean, c := make([]float64, 2), make([]float64, 4)
	if err := cov.Finalize(st, mean, c); err != nil {
		panic(err)
	}
	fmt.Printf("mean=%.2f cov=%.4f\n", mean, c)
	// Output: mean=[10.50 10.50] cov=[1.2500 -0.2500 -0.2500 1.2500]
}
