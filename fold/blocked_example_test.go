package fold_test

import (
	"errors"
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/fold"
)

// ExampleConvBlocked forces the blocked path on a grouped layer: two
// groups of two input channels, each output channel a 3×3 box filter over
// its group's first channel. ConvAuto takes the same path by itself for
// float32 layers of the shapes in its rule; here it is forced, so float64
// runs the path's portable loop.
func ExampleConvBlocked() {
	g := fold.ConvGeom{InChannels: 4, OutChannels: 2, Groups: 2, Algorithm: fold.ConvBlocked,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	w := make([]float64, g.WeightLen()) // 2 output channels × 2 input channels × 3×3
	for oc := range 2 {
		for t := range 9 {
			w[oc*18+t] = 1 // the first input channel of the group
		}
	}
	x := make([]float64, 4*3*3) // one image, 4 channels of 3×3
	for i := range 9 {
		x[i] = float64(i + 1)     // channel 0 (group 0)
		x[18+i] = float64(10 * i) // channel 2 (group 1)
	}
	c, err := fold.NewConv2d(g, w, []float64{0, 0.5})
	if err != nil {
		panic(err)
	}
	y := make([]float64, 2*3*3)
	if err := c.Forward(y, x, 1, 3, 3); err != nil {
		panic(err)
	}
	fmt.Println(y[:9])
	fmt.Println(y[9:])
	// The blocked kernel reads output columns as contiguous vectors:
	// column strides other than 1 are not its to compute.
	g.StrideW = 2
	_, err = fold.NewConv2d(g, w, nil)
	fmt.Println(errors.Is(err, deconv.ErrUnsupported))
	// Output:
	// [12 21 16 27 45 33 24 39 28]
	// [80.5 150.5 120.5 210.5 360.5 270.5 200.5 330.5 240.5]
	// true
}
