// Command figure7 prints the paper's Figure 7 as numbers: the residual
// ‖D_k·D_k·Cov − I‖_F of every iterate of the coupled and the uncoupled
// Newton–Schulz iterations on the 27×27 covariance of the 3×3 windows of
// an image in three colour channels, as tab-separated columns.
//
// Usage:
//
//	figure7 [-iterations 100] [-float32] [-eps 0] [image.png|image.jpg]
//
// Without an image it uses the built-in natural-statistics image
// (isqrt.NaturalImage(256, 256, 1)).
package main

import (
	"flag"
	"fmt"
	"image"
	"os"

	"github.com/netdeconv/deconv/isqrt"
)

func main() {
	iters := flag.Int("iterations", 100, "iterations of each method")
	f32 := flag.Bool("float32", false, "iterate in float32 (residuals are measured in float64)")
	eps := flag.Float64("eps", 0, "added to the covariance's diagonal")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: figure7 [flags] [image.png|image.jpg]")
		flag.PrintDefaults()
	}
	flag.Parse()
	var img image.Image
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if flag.NArg() == 1 {
		var err error
		if img, err = isqrt.LoadImage(flag.Arg(0)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	d, err := isqrt.Figure7(img, isqrt.Figure7Options{Iterations: *iters, Float32: *f32, Eps: *eps})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := d.WriteTSV(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
