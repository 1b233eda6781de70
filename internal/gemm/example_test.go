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

	// The covariance-style product XᵀX of the im2col rows of a 1×1×3×3
	// image with a 2×2 kernel, without building the im2col matrix.
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	im, err := gemm.NewIm2col(x, gemm.Im2colGeom{N: 1, C: 1, H: 3, W: 3, KH: 2, KW: 2, Stride: 1, Dilation: 1, Sampling: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	cov := make([]float32, 16)
	if err := gemm.Syrk[float32](gemm.Full, 1, im, 0, cov, 4); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cov[:4])
	// Output:
	// [4 5 10 11]
	// [46 58 82 94]
}
