package deconv_test

import (
	"errors"
	"fmt"

	"github.com/netdeconv/deconv"
)

func ExampleGeometry_OutputSize() {
	// A 3×5 kernel with padding (1, 2) and stride (2, 1) on a 32×32 input,
	// as torch.nn.Conv2d(kernel_size=(3, 5), padding=(1, 2), stride=(2, 1)).
	g := deconv.Geometry{KernelH: 3, KernelW: 5, PadH: 1, PadW: 2, StrideH: 2, StrideW: 1}
	oh, ow, err := g.OutputSize(32, 32)
	fmt.Println(oh, ow, err)

	// A kernel larger than the padded input is a shape error.
	_, _, err = deconv.Square(7, 1, 0, 1).OutputSize(5, 5)
	fmt.Println(errors.Is(err, deconv.ErrShape))
	// Output:
	// 16 32 <nil>
	// true
}

func ExampleSetThreads() {
	// Every call whose Workers is 0 now uses one goroutine.
	if err := deconv.SetThreads(1); err != nil {
		panic(err)
	}
	fmt.Println(deconv.Threads())
	// 0 restores one per core.
	_ = deconv.SetThreads(0)
	// Output: 1
}

func ExampleSetISA() {
	// The portable kernels run everywhere; an unknown name changes nothing.
	before := deconv.ISA()
	fmt.Println(deconv.SetISA("generic"), deconv.ISA())
	err := deconv.SetISA("neon")
	fmt.Println(errors.Is(err, deconv.ErrParam), deconv.ISA())
	_ = deconv.SetISA(before)
	// Output:
	// <nil> generic
	// true generic
}
