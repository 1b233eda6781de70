// Command figure7 prints the paper's Figure 7 as numbers: the residual
// ‖D_k·D_k·Cov − I‖_F of every iterate of the coupled and the uncoupled
// Newton–Schulz iterations on the 27×27 covariance of the 3×3 windows of
// a photograph in three colour channels, as comma-separated columns.
// `make report` draws it with the other figures.
//
// Usage:
//
//	figure7 [-iterations 100] [-float32] [-eps 0] [image.png|image.jpg|folder]
//
// Without an image it uses the report's embedded photograph.
package main

import (
	"flag"
	"fmt"
	"image"
	"os"

	"github.com/netdeconv/deconv/bench/internal/paper"
)

func main() {
	iters := flag.Int("iterations", 100, "iterations of each method")
	f32 := flag.Bool("float32", false, "iterate in float32 (residuals are measured in float64)")
	eps := flag.Float64("eps", 0, "added to the covariance's diagonal")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: figure7 [flags] [image.png|image.jpg|folder]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	imgs := []image.Image{paper.DefaultImage()}
	if flag.NArg() == 1 {
		var err error
		if imgs, _, err = paper.LoadImages(flag.Arg(0)); err != nil {
			fmt.Fprintln(os.Stderr, "figure7:", err)
			os.Exit(1)
		}
	}
	d, err := paper.Figure7(imgs, paper.Figure7Options{Iterations: *iters, Float32: *f32, Eps: *eps})
	if err != nil {
		fmt.Fprintln(os.Stderr, "figure7:", err)
		os.Exit(1)
	}
	fmt.Printf("# %d×%d patch covariance, condition number %.4g, float32 %v\n", d.N, d.N, d.Condition(), d.Float32)
	if err := d.WriteCSV(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "figure7:", err)
		os.Exit(1)
	}
}
