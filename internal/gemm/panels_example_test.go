package gemm_test

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/gemm"
)

func ExamplePanels_UpperScratch() {
	// A partial sum whose lower triangle nobody reads: the diagonal tiles
	// may write there too, which spares their merge.
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
	if err := ps.UpperScratch(n, k, k, 1, pb, 0, c, n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c[0], c[1], c[3]) // the upper triangle
	// Output:
	// 35 44 56
}
