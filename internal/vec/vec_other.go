//go:build !amd64 || !gc || purego

package vec

import "github.com/netdeconv/deconv/internal/isa"

// Builds without assembly have the portable loops only.

func sumSquaresF32(isa.Family, []float32, bool) (float64, bool) { return 0, false }

func scaleSplitF32(isa.Family, []float32, []float32, []float32, float64) (float64, bool) {
	return 0, false
}

func scaleFiniteF32(isa.Family, []float32, []float32, float64) (bool, bool) { return false, false }

func pairCheckF32(isa.Family, []float32, []float64, []float32, []float32, []float64, float64, float64, float64) (float64, float64, bool) {
	return 0, 0, false
}
