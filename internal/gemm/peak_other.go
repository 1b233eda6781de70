//go:build purego || !amd64 || !gc

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// FMAPeak has no probe without assembly: it does nothing and returns 0.
func FMAPeak(isa.Family, int) float64 { return 0 }
