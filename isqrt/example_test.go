package isqrt_test

import (
	"errors"
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/isqrt"
)

// The inverse square root of a 2×2 covariance, with the reference's 5
// iterations and with enough iterations to converge, against the exact
// value.
func ExamplePlan_InvSqrt() {
	cov := []float64{
		4, 1,
		1, 3,
	}
	d := make([]float64, 4)
	for _, o := range []isqrt.Options{{}, {Iterations: 30, Tol: 1e-12}, {Method: isqrt.Eigen}} {
		p, err := isqrt.NewPlan[float64](2, o)
		if err != nil {
			panic(err)
		}
		res, err := p.InvSqrt(d, cov)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-17v %2d iterations: [%.6f %.6f; %.6f %.6f]\n", o.Method, res.Iterations, d[0], d[1], d[2], d[3])
	}
	// Output:
	// coupled            5 iterations: [0.515809 -0.081659; -0.081659 0.597468]
	// coupled            6 iterations: [0.515809 -0.081659; -0.081659 0.597468]
	// eigen              0 iterations: [0.515809 -0.081659; -0.081659 0.597468]
}

// Many small matrices in one call: the per-group covariances of a grouped
// layer.
func ExamplePlan_InvSqrtBatch() {
	const n, groups = 3, 4
	a := make([]float32, 0, groups*n*n)
	for g := range groups {
		s := float32(g + 1)
		a = append(a, s, 0, 0, 0, 4*s, 0, 0, 0, 9*s)
	}
	p, err := isqrt.NewPlan[float32](n, isqrt.Options{Iterations: 40, Tol: 1e-6})
	if err != nil {
		panic(err)
	}
	d := make([]float32, len(a))
	if _, err := p.InvSqrtBatch(d, a, groups); err != nil {
		panic(err)
	}
	for g := range groups {
		fmt.Printf("group %d: diagonal %.4f %.4f %.4f\n", g, d[g*9], d[g*9+4], d[g*9+8])
	}
	// Output:
	// group 0: diagonal 1.0000 0.5000 0.3333
	// group 1: diagonal 0.7071 0.3536 0.2357
	// group 2: diagonal 0.5774 0.2887 0.1925
	// group 3: diagonal 0.5000 0.2500 0.1667
}

// The uncoupled iteration's divergence is an error, not a silent result.
func ExampleUncoupled() {
	cov := []float64{
		1.00, 0.99, 0.98,
		0.99, 1.00, 0.99,
		0.98, 0.99, 1.00,
	}
	p, _ := isqrt.NewPlan[float64](3, isqrt.Options{Method: isqrt.Uncoupled, Iterations: 50})
	_, err := p.InvSqrt(make([]float64, 9), cov)
	fmt.Println(errors.Is(err, deconv.ErrDiverged))
	// Output:
	// true
}

// The gradient of a loss through the inverse square root: here the loss
// is the sum of the elements of D, so dd is all ones. With enough
// iterations the iteration's gradient is the exact one, which Eigen
// computes.
func ExamplePlan_Backward() {
	cov := []float64{
		4, 1,
		1, 3,
	}
	d := make([]float64, 4)
	dd := []float64{1, 1, 1, 1}
	dcov := make([]float64, 4)
	for _, o := range []isqrt.Options{{Grad: true}, {Iterations: 30, Tol: 1e-12, Grad: true}, {Method: isqrt.Eigen, Grad: true}} {
		p, err := isqrt.NewPlan[float64](2, o)
		if err != nil {
			panic(err)
		}
		res, err := p.InvSqrt(d, cov)
		if err != nil {
			panic(err)
		}
		if err := p.Backward(dcov, dd); err != nil {
			panic(err)
		}
		fmt.Printf("%-8v %2d iterations: dcov = [%.6f %.6f; %.6f %.6f]\n", o.Method, res.Iterations, dcov[0], dcov[1], dcov[2], dcov[3])
	}
	// Output:
	// coupled   5 iterations: dcov = [-0.040371 -0.052596; -0.052596 -0.069435]
	// coupled   6 iterations: dcov = [-0.040371 -0.052596; -0.052596 -0.069435]
	// eigen     0 iterations: dcov = [-0.040371 -0.052596; -0.052596 -0.069435]
}
