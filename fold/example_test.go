package fold_test

import (
	"fmt"
	"github.com/netdeconv/deconv"

	"github.com/netdeconv/deconv/fold"
)

func ExampleFastDeconv() {
	// FastDeconv(16, 32, kernel_size=3, padding=1) with the reference's
	// other defaults: block 64 (here all 16 channels), sampling stride 3,
	// 5 Newton–Schulz iterations, momentum 0.1.
	cfg := fold.NewFastDeconvConfig(16, 32, 3)
	cfg.PadH, cfg.PadW = 1, 1
	weight := make([]float32, 32*16*3*3)
	bias := make([]float32, 32)
	for i := range weight {
		weight[i] = float32(i%7) * 0.01
	}
	layer, err := fold.NewFastDeconv(cfg, weight, bias)
	if err != nil {
		panic(err)
	}
	n, h, w := 4, 24, 24
	x := make([]float32, n*16*h*w)
	for i := range x {
		x[i] = float32(i%13) * 0.1
	}
	y := make([]float32, n*32*h*w)
	if err := layer.Forward(y, x, n, h, w); err != nil { // training mode
		panic(err)
	}
	// Inference pays nothing for deconvolution: the running statistics are
	// folded into an ordinary convolution.
	conv, err := layer.Folded()
	if err != nil {
		panic(err)
	}
	if err := conv.Forward(y, x, n, h, w); err != nil {
		panic(err)
	}
	fmt.Println(layer.Block(), layer.NumFeatures(), len(layer.RunningDeconv()))
	// Output: 16 144 20736
}

func ExampleFold() {
	// One output row of 4 features in 2 blocks of 2 (contiguous), whitened
	// by D = 2·I around the mean μ = (1, 1): W' = 2·W and
	// b' = b − Σ W'·μ.
	w := []float64{1, 2, 3, 4}
	b := []float64{0.5}
	d := []float64{2, 0, 0, 2}
	mean := []float64{1, 1}
	wf, bf := make([]float64, 4), make([]float64, 1)
	bl := fold.Blocking{Features: 4, Block: 2, Grouping: deconv.Contiguous}
	if err := fold.Fold(wf, bf, w, b, 1, bl, d, mean); err != nil {
		panic(err)
	}
	fmt.Println(wf, bf)
	// Output: [2 4 6 8] [-19.5]
}

func ExampleConv2d() {
	// A 3×3 box filter with padding 1 over a 1×1×3×3 image of ones.
	g := fold.ConvGeom{InChannels: 1, OutChannels: 1, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	w := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	c, err := fold.NewConv2d(g, w, nil)
	if err != nil {
		panic(err)
	}
	x := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	y := make([]float32, 9)
	if err := c.Forward(y, x, 1, 3, 3); err != nil {
		panic(err)
	}
	fmt.Println(y)
	// Output: [4 6 4 6 9 6 4 6 4]
}

// A training step: the forward in training mode keeps what the backward
// needs; Backward returns the gradients of a loss with respect to the
// input, the weights and the bias, and an SGD update goes back through
// SetWeights.
func ExampleFastDeconv_Backward() {
	cfg := fold.NewFastDeconvConfig(4, 8, 3)
	cfg.PadH, cfg.PadW = 1, 1
	weight := make([]float32, 8*4*3*3)
	for i := range weight {
		weight[i] = float32(i%5)*0.02 - 0.04
	}
	bias := make([]float32, 8)
	layer, err := fold.NewFastDeconv(cfg, weight, bias)
	if err != nil {
		panic(err)
	}
	n, h, w := 2, 8, 8
	x := make([]float32, n*4*h*w)
	for i := range x {
		x[i] = float32((i*7919)%101)*0.02 - 1 // varied enough for a well-conditioned covariance
	}
	y := make([]float32, n*8*h*w)
	dx, dw, db := make([]float32, len(x)), make([]float32, len(weight)), make([]float32, len(bias))
	for step := 0; step < 3; step++ {
		if err := layer.Forward(y, x, n, h, w); err != nil {
			panic(err)
		}
		// The loss ½‖y‖², whose gradient with respect to y is y itself.
		loss := 0.0
		for _, v := range y {
			loss += 0.5 * float64(v) * float64(v)
		}
		if err := layer.Backward(dx, dw, db, y, x, n, h, w); err != nil {
			panic(err)
		}
		const lr = 0.002
		for i := range weight {
			weight[i] -= lr * dw[i]
		}
		for i := range bias {
			bias[i] -= lr * db[i]
		}
		if err := layer.SetWeights(weight, bias); err != nil {
			panic(err)
		}
		fmt.Printf("step %d: loss %.2f\n", step, loss)
	}
	// Output:
	// step 0: loss 11.43
	// step 1: loss 5.45
	// step 2: loss 3.36
}
