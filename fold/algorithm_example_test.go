package fold_test

import (
	"errors"
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/fold"
)

func ExampleConvAlgorithm() {
	// The same 3×3 box filter by the direct path and by Winograd's
	// F(4×4, 3×3): the results agree to rounding.
	g := fold.ConvGeom{InChannels: 1, OutChannels: 1, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	w := []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, alg := range []fold.ConvAlgorithm{fold.ConvDirect, fold.ConvWinograd} {
		g.Algorithm = alg
		c, err := fold.NewConv2d(g, w, nil)
		if err != nil {
			panic(err)
		}
		y := make([]float64, 9)
		if err := c.Forward(y, x, 1, 3, 3); err != nil {
			panic(err)
		}
		for i := range y {
			y[i] = float64(int64(y[i]*1e9+0.5)) / 1e9 // rounding noise off
		}
		fmt.Println(alg, y)
	}
	// Winograd has no strided kernels: asking for it is an error at
	// construction.
	g.Algorithm, g.StrideH, g.StrideW = fold.ConvWinograd, 2, 2
	_, err := fold.NewConv2d(g, w, nil)
	fmt.Println(errors.Is(err, deconv.ErrUnsupported))
	// Output:
	// direct [12 21 16 27 45 33 24 39 28]
	// winograd [12 21 16 27 45 33 24 39 28]
	// true
}
