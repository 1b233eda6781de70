package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
)

// ConvAlgorithm chooses how Conv2d (and so every layer's forward and the
// folded models) computes a convolution. The zero value is ConvAuto.
type ConvAlgorithm uint8

const (
	// ConvAuto picks, per call, by the layer's shape and the input's size:
	// Winograd F(4×4, 3×3) for 3×3 kernels of stride 1 and dilation 1
	// with at least winogradMinChannels input and output channels per
	// group and an output of at least 8×8 pixels (smaller outputs waste
	// most of their 4×4 tiles on the edges); the direct path otherwise.
	// The thresholds were measured on the paper's layers (64→128 channels,
	// 16×16 to 128×128 images): Winograd ran 2–3× faster than the direct
	// path there, and lost below 16 channels per group, where its products
	// are too thin for the micro-kernels and the transforms dominate.
	ConvAuto ConvAlgorithm = iota
	// ConvDirect multiplies the weights by blocks of patches (im2col in
	// cache-sized pieces, then GEMM); it handles every geometry.
	ConvDirect
	// ConvWinograd forces Winograd's minimal filtering F(4×4, 3×3). Only
	// 3×3 kernels with stride 1 and dilation 1 (any padding, any groups)
	// have it; other geometries are deconv.ErrUnsupported at construction.
	ConvWinograd
)

// String returns the algorithm's name.
func (a ConvAlgorithm) String() string {
	switch a {
	case ConvAuto:
		return "auto"
	case ConvDirect:
		return "direct"
	case ConvWinograd:
		return "winograd"
	}
	return fmt.Sprintf("ConvAlgorithm(%d)", uint8(a))
}

// winogradMinChannels is the smallest number of input and of output
// channels per group for which ConvAuto takes the Winograd path.
const winogradMinChannels = 16

// winogradMinOutput is the smallest output side for which ConvAuto takes
// the Winograd path.
const winogradMinOutput = 8

// checkAlgorithm validates the Algorithm field of a normalised geometry.
func (g ConvGeom) checkAlgorithm() error {
	switch g.Algorithm {
	case ConvAuto, ConvDirect:
		return nil
	case ConvWinograd:
		if !g.winogradCapable() {
			return fmt.Errorf("%w: Winograd convolution needs a 3×3 kernel with stride 1 and dilation 1, not %d×%d, stride %d×%d, dilation %d×%d",
				deconv.ErrUnsupported, g.KernelH, g.KernelW, g.StrideH, g.StrideW, g.DilationH, g.DilationW)
		}
		return nil
	}
	return fmt.Errorf("%w: convolution algorithm %d", deconv.ErrParam, uint8(g.Algorithm))
}

// winogradCapable reports whether F(4×4, 3×3) computes this geometry.
func (g ConvGeom) winogradCapable() bool {
	return g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
}

// useWinograd decides the path of one call with an oh×ow output.
func (g ConvGeom) useWinograd(oh, ow int) bool {
	switch g.Algorithm {
	case ConvWinograd:
		return true
	case ConvDirect:
		return false
	}
	return g.winogradCapable() &&
		g.InChannels/g.Groups >= winogradMinChannels && g.OutChannels/g.Groups >= winogradMinChannels &&
		oh >= winogradMinOutput && ow >= winogradMinOutput
}
