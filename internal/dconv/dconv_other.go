//go:build !amd64 || !gc || purego

package dconv

import "github.com/netdeconv/deconv/internal/isa"

// available: builds without assembly have the portable loop only.
func available(isa.Family) bool { return false }

func kernel(ch int, dst []float32, ldd, ldc int, src []float32, lds, rows, cols int, w []float32, wld int, o *Offsets, terms, maxOff int, bias []float32) {
	panic("dconv: no vector kernel in this build")
}
