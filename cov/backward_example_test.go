package cov_test

import (
	"fmt"

	"github.com/netdeconv/deconv/cov"
)

// The gradient of the total variance trace(Cov) with respect to the
// input: 2·(x − μ)/n for each row. dmean is nil (the loss does not read
// the mean), and Backward adds into dx.
func ExampleBackward() {
	pl, err := cov.NewLinearPlan(cov.LinearParams{Batch: 3, Features: 2, Block: 2})
	if err != nil {
		panic(err)
	}
	x := []float64{1, 2, 3, 5, 2, 2}
	mean, c := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := cov.Compute(pl, mean, c, x); err != nil {
		panic(err)
	}
	dcov := []float64{1, 0, 0, 1} // ∂trace(Cov)/∂Cov = I
	dx := make([]float64, pl.SrcLen())
	if err := cov.Backward(pl, dx, nil, dcov, x, mean); err != nil {
		panic(err)
	}
	fmt.Printf("mean %.0f, dx %.4f\n", mean, dx)
	// Output: mean [2 3], dx [-0.6667 -0.6667 0.6667 1.3333 0.0000 -0.6667]
}
