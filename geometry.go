package deconv

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/size"
)

// Float is the element type of every kernel: float32 or float64.
type Float interface{ float32 | float64 }

// Geometry is the patch geometry of a 2-D convolution, per axis as
// torch.nn.Conv2d takes it: kernel, stride, zero padding and dilation.
// im2col, cov and fold all describe their windows with it.
//
// Stride and dilation left at zero mean 1; negative values are errors.
type Geometry struct {
	KernelH, KernelW     int // kernel size kh×kw (positive)
	StrideH, StrideW     int // convolution stride (0 means 1)
	PadH, PadW           int // zero padding on each side (≥ 0)
	DilationH, DilationW int // kernel dilation (0 means 1)
}

// Square returns the geometry of a k×k kernel with the same stride,
// padding and dilation along both axes.
func Square(kernel, stride, pad, dilation int) Geometry {
	return Geometry{KernelH: kernel, KernelW: kernel, StrideH: stride, StrideW: stride,
		PadH: pad, PadW: pad, DilationH: dilation, DilationW: dilation}
}

// Normalize validates g and returns it with the zero defaults filled in.
// A non-positive kernel is ErrShape; a negative stride, padding or
// dilation is ErrParam.
func (g Geometry) Normalize() (Geometry, error) {
	if g.KernelH <= 0 || g.KernelW <= 0 {
		return g, fmt.Errorf("%w: kernel %d×%d", ErrShape, g.KernelH, g.KernelW)
	}
	if g.StrideH < 0 || g.StrideW < 0 || g.PadH < 0 || g.PadW < 0 || g.DilationH < 0 || g.DilationW < 0 {
		return g, fmt.Errorf("%w: negative stride %d×%d, padding %d×%d or dilation %d×%d",
			ErrParam, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilationH, g.DilationW)
	}
	for _, f := range []*int{&g.StrideH, &g.StrideW, &g.DilationH, &g.DilationW} {
		if *f == 0 {
			*f = 1
		}
	}
	return g, nil
}

// IsSquare reports whether both axes have the same kernel, stride,
// padding and dilation.
func (g Geometry) IsSquare() bool {
	return g.KernelH == g.KernelW && g.StrideH == g.StrideW && g.PadH == g.PadW && g.DilationH == g.DilationW
}

// Taps returns KernelH·KernelW, the number of values one channel
// contributes to a patch.
func (g Geometry) Taps() int { return g.KernelH * g.KernelW }

// OutputSize returns the output height and width of the convolution on an
// h×w input (after Normalize's defaults), with every step overflow-checked.
func (g Geometry) OutputSize(h, w int) (oh, ow int, err error) {
	if g, err = g.Normalize(); err != nil {
		return 0, 0, err
	}
	if oh, err = OutputSize(h, g.KernelH, g.StrideH, g.PadH, g.DilationH); err != nil {
		return 0, 0, err
	}
	if ow, err = OutputSize(w, g.KernelW, g.StrideW, g.PadW, g.DilationW); err != nil {
		return 0, 0, err
	}
	return oh, ow, nil
}

// OutputSize returns the number of output positions of a convolution along
// one axis: ⌊(in + 2·pad − dilation·(kernel−1) − 1) / stride⌋ + 1. A kernel
// that spans more than the padded input is ErrShape; sizes whose
// arithmetic overflows int are ErrOverflow.
func OutputSize(in, kernel, stride, pad, dilation int) (int, error) {
	if in <= 0 || kernel <= 0 {
		return 0, fmt.Errorf("%w: input %d, kernel %d", ErrShape, in, kernel)
	}
	if stride <= 0 || dilation <= 0 || pad < 0 {
		return 0, fmt.Errorf("%w: stride %d, padding %d, dilation %d", ErrParam, stride, pad, dilation)
	}
	span, ok := size.MulAdd(dilation, kernel-1, 1)
	padded, ok2 := size.MulAdd(2, pad, in)
	if !ok || !ok2 {
		return 0, fmt.Errorf("%w: kernel span or padded input", ErrOverflow)
	}
	if span > padded {
		return 0, fmt.Errorf("%w: kernel spans %d, padded input is %d", ErrShape, span, padded)
	}
	return (padded-span)/stride + 1, nil
}

// Grouping says which features of the (channel, ki, kj) flattening of a
// patch form a block when the channels are split into blocks that share
// one covariance (and one deconvolution matrix).
type Grouping uint8

const (
	// Interleaved is the reference implementation's grouping: with G
	// blocks, feature f of the flattening goes to block f mod G at
	// position f div G. Buffers trained with the reference use it, so it
	// is the default.
	Interleaved Grouping = iota
	// Contiguous puts channels g·B … (g+1)·B−1 into block g, as a grouped
	// convolution does.
	Contiguous
)

// String names the grouping.
func (g Grouping) String() string {
	switch g {
	case Interleaved:
		return "interleaved"
	case Contiguous:
		return "contiguous"
	}
	return fmt.Sprintf("Grouping(%d)", uint8(g))
}

// Validate returns an ErrParam error for a value that is neither
// Interleaved nor Contiguous.
func (g Grouping) Validate() error {
	if g != Interleaved && g != Contiguous {
		return fmt.Errorf("%w: unknown grouping %v", ErrParam, g)
	}
	return nil
}
