package gemm_test

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/gemm"
)

func Example() {
	// C = A·B for a 2×3 A and a 3×2 B.
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	c := make([]float32, 4)
	if err := gemm.Sgemm(gemm.NoTrans, gemm.NoTrans, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c)

	// The covariance-style product XᵀX of 3 samples of 2 features, whole
	// (upper triangle mirrored), on one worker.
	x := []float32{1, 2, 3, 4, 5, 6}
	cov := make([]float32, 4)
	if err := gemm.SyrkDense[float32](1, gemm.Full, 2, 3, 1, x, 2, 0, cov, 2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cov)
	// Output:
	// [4 5 10 11]
	// [35 44 44 56]
}

func ExamplePanels() {
	// XᵀX of 3 samples of 2 features, written straight into the kernels'
	// packed layout as they are produced: each value is stored once, in
	// its panel.
	var ps gemm.Panels[float32]
	ps.Init()
	const n, k = 2, 3
	nr := ps.NR()
	pb := make([]float32, ps.Len(n, k))
	for p := 0; p < k; p++ {
		for f := 0; f < n; f++ {
			pb[f/nr*k*nr+p*nr+f%nr] = float32(p*n + f + 1) // X = [1 2; 3 4; 5 6]
		}
	}
	c := make([]float32, n*n)
	if err := ps.Upper(n, k, k, 1, pb, 0, c, n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c) // the upper triangle; below it is untouched
	// Output:
	// [35 44 0 56]
}

func ExampleUpperSum() {
	// C = S·T + T·S for two symmetric 2×2 matrices: a symmetric sum,
	// computed as one product of depth 4 on the upper triangle, then
	// mirrored.
	var u gemm.UpperSum[float32]
	s := []float32{2, 1, 1, 3}
	t := []float32{1, 0, 0, 2}
	c := make([]float32, 4)
	if err := u.Upper(1, 2, 1, s, t, t, s, c, gemm.SymA1|gemm.SymA2|gemm.Mirror); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c)
	// Output:
	// [4 3 3 12]
}

// ExampleShifted computes the weight gradient of a one-channel 1-D
// convolution with a 2-tap kernel and no padding, dW[t] = Σ_p x[p+t]·dy[p],
// as a product of the Shifted view of x (one row per tap) with dy.
func ExampleShifted() {
	x := []float64{1, 2, 3, 4, 5}
	dy := []float64{1, 0, 0, 1} // the output gradient at positions 0…3
	var xs gemm.Shifted[float64]
	if err := xs.Set(x, 1, []int{0, 1}, len(dy)); err != nil {
		fmt.Println(err)
		return
	}
	d, err := gemm.NewDense(dy, len(dy), 1, 1, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	dw := make([]float64, 2)
	if err := gemm.Gemm(1, 1, &xs, d, 0, dw, 1); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dw)
	// Output:
	// [5 7]
}
