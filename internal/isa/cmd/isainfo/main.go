// Command isainfo prints the kernel family the library detects and uses,
// or, with -supports NAME, exits 0 when this machine can run family NAME
// and 1 when it cannot (the Makefile uses it to force every family the CPU
// has).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/netdeconv/deconv/internal/isa"
)

func main() {
	supports := flag.String("supports", "", "exit 0 if this family (generic, avx2, avx512) can run here, 1 if not")
	flag.Parse()
	if *supports != "" {
		f, err := isa.Parse(*supports)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if !isa.Supported(f) {
			os.Exit(1)
		}
		return
	}
	fmt.Printf("detected %s\nselected %s\n", isa.Detected(), isa.Selected())
	if err := isa.Err(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
}
