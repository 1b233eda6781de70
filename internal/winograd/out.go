package winograd

import "github.com/netdeconv/deconv/internal/isa"

// Output runs the output side of a convolution in one pass where family
// fam has a kernel for it: for tile rows [row0, row1) it applies the
// output transform Y = Aᵀ·M·A to the products y (position k = a·α+b of
// output channel co's tile t at y[k·rs + co·ld + t], the tiles of the
// span numbered row by row), adds bias[co] (nil: none) and writes the
// m×m tiles into the NCHW output dst (cout channels of oh×ow), dropping
// the parts past the output's edge. It reports whether it did (ran); when
// it did not (another element type, family or tile), dst is untouched and
// the caller runs the transform as a GEMM with OutputMatrix and Scatter.
// When it ran, finite reports whether every output it wrote is finite
// (the kernel classifies them as it stores them), so the caller searches
// the output for the culprit only when one is not.
//
// stream asks for non-temporal stores, for an output much larger than
// the caches that is not read again soon: it is written without first
// being read in. They are used where the rows are 64-byte aligned.
//
// The kernel (AVX-512, float32, m = 4 and α = 6, any points) takes 16
// tiles per vector: it reads each product once, transforms rows then
// columns with Aᵀ's coefficients, and interleaves the column vectors of
// an output row into contiguous outputs, where the GEMM with Aᵀ⊗Aᵀ costs
// 3.6 times the multiply-adds and Scatter reads the transformed tiles
// again, element by element.
func Output[T Float](fam isa.Family, t *Tile, dst, y []T, rs, ld int, bias []T, cout, oh, ow, th, tw, row0, row1 int, stream bool) (ran, finite bool) {
	if !HasOutputKernel[T](fam, t) || row0 >= row1 || cout == 0 {
		return false, false
	}
	return true, outputKernel(t, dst, y, rs, ld, bias, cout, oh, ow, th, tw, row0, row1, stream)
}

// HasOutputKernel reports whether Output runs a kernel for element type
// T, family fam and tile t, so a caller can lay out its products for it.
func HasOutputKernel[T Float](fam isa.Family, t *Tile) bool {
	var z T
	if _, ok := any(z).(float32); !ok {
		return false
	}
	return t.M == 4 && t.Alpha == 6 && hasOutputKernel(fam)
}

// outputCoef returns Aᵀ (m×α, row-major) in float32, the coefficients
// the kernel broadcasts.
func outputCoef(t *Tile) (c [4 * 6]float32) {
	for i := 0; i < 4; i++ {
		for a := 0; a < 6; a++ {
			c[i*6+a] = float32(t.AT[i][a])
		}
	}
	return c
}

// outputMasks returns the lane masks of a tile row's last vector (the
// one after the full whole ones): the tiles it loads, then the outputs
// each of its four stores of an output row writes.
func outputMasks(tw, ow, full int) (mk [5]uint16) {
	mk[0] = laneMask(tw - 16*full)
	for q := 0; q < 4; q++ {
		mk[1+q] = laneMask(ow - 64*full - 16*q)
	}
	return mk
}

// laneMask is the mask of the first n of 16 lanes, n clamped to [0, 16].
func laneMask(n int) uint16 {
	n = max(0, min(16, n))
	return uint16(uint32(1)<<n - 1)
}
