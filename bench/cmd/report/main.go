// Command report reproduces the paper's Table 3 and Figures 2, 7 and 10
// on an embedded photograph, with a roofline and scaling measurements,
// and writes a Markdown report with CSV tables and PNG figures (by
// default into report/). Run it as `make report`; `make report
// ARGS=-compare` adds PyTorch's times for the same rows. `-h` lists the
// flags.
package main

import (
	"os"

	"github.com/netdeconv/deconv/bench/internal/report"
)

func main() {
	os.Exit(report.Main(os.Args[1:], os.Stdout, os.Stderr))
}
