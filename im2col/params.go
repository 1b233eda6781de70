package im2col

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/netdeconv/deconv"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
)

// Layout is the shape in which patches are written.
type Layout uint8

const (
	// Rows writes one row per kept output position: (Batch·Positions) rows
	// of Cols() values, the column index running over (channel, ki, kj)
	// with the channel slowest. This is the data matrix X of the paper that
	// covariance and GEMM consume.
	Rows Layout = iota
	// Unfold writes Batch × Cols() × Positions(), the layout of PyTorch's
	// torch.nn.functional.unfold.
	Unfold
)

// String names the layout.
func (l Layout) String() string {
	switch l {
	case Rows:
		return "rows"
	case Unfold:
		return "unfold"
	}
	return fmt.Sprintf("Layout(%d)", uint8(l))
}

// Params describes one im2col transform: the NCHW input, the convolution
// geometry, which output positions are kept, and the output layout.
//
// Stride, Dilation and Sampling fields left at zero mean 1; negative values
// are errors. Sizes must be positive; padding non-negative.
type Params struct {
	Batch, Channels, Height, Width int // input x is Batch×Channels×Height×Width

	// Geometry is the convolution's kernel, stride, padding and dilation
	// per axis (zero stride and dilation mean 1).
	deconv.Geometry

	// Sampling is the paper's subsampling stride S: only every S-th output
	// position along each spatial axis is kept. It combines with the
	// convolution stride as the reference implementation does: positions
	// are taken every StrideH·S input rows and StrideW·S input columns,
	// starting at the first. 0 means 1 (keep every position).
	Sampling int

	// FlatSampling selects the reference implementation's rule for 1×1
	// kernels: the input is read as N·H·W rows of C channels (NHWC order)
	// and every (Stride·Sampling)²-th row of that flat order is kept, not a
	// 2-D grid. Padding is ignored, as the reference ignores it. It needs a
	// 1×1 kernel, equal strides along both axes, and the Rows layout.
	FlatSampling bool

	Layout Layout // Rows (default) or Unfold

	// Workers bounds the goroutines one call uses: 0 means the process
	// default (deconv.SetThreads, itself one per core unless set); a count
	// above the cores is clamped to them; a negative count is
	// deconv.ErrParam.
	Workers int
}

// OutputSize returns the number of output positions of a convolution along
// one axis: ⌊(in + 2·pad − dilation·(kernel−1) − 1) / stride⌋ + 1. It is
// deconv.OutputSize, kept here beside the transforms that use it.
func OutputSize(in, kernel, stride, pad, dilation int) (int, error) {
	return deconv.OutputSize(in, kernel, stride, pad, dilation)
}

// Plan is a validated Params with every derived size computed once. A Plan
// is immutable and safe for concurrent use by any number of goroutines.
type Plan struct {
	p Params

	stepH, stepW int // input rows/columns between kept positions
	outH, outW   int // kept positions along each axis (grid sampling)
	positions    int // kept positions per image (grid), or total rows (flat)
	cols         int // Channels·KernelH·KernelW
	srcLen       int
	dstLen       int

	family isa.Family

	// Chosen once here so that a transform allocates nothing.
	colSpans, rowSpans []span
	// The offset table of small Unfold planes (nil otherwise), built on
	// the first transform that needs it: plans made only for UnfoldBlock
	// (the convolution's) never pay for one.
	tableOnce sync.Once
	table     *gather.Table
	// The offset table of UnfoldBlock's whole-image blocks, for the last
	// leading dimension asked (see blockTab).
	blockTable atomic.Pointer[blockTable]
	k32        kernels[float32]
	k64        kernels[float64]
}

// NewPlan validates p and computes the plan's sizes. Every failure is one
// of the package's Err* values, wrapped with the offending numbers.
func NewPlan(p Params) (*Plan, error) {
	return newPlan(p, isa.Selected())
}

func newPlan(p Params, family isa.Family) (*Plan, error) {
	if err := isa.Err(); err != nil {
		return nil, err
	}
	if p.Batch <= 0 || p.Channels <= 0 || p.Height <= 0 || p.Width <= 0 {
		return nil, fmt.Errorf("%w: batch=%d channels=%d height=%d width=%d",
			deconv.ErrShape, p.Batch, p.Channels, p.Height, p.Width)
	}
	var err error
	if p.Geometry, err = p.Geometry.Normalize(); err != nil {
		return nil, err
	}
	if p.Sampling < 0 || p.Workers < 0 {
		return nil, fmt.Errorf("%w: sampling=%d workers=%d", deconv.ErrParam, p.Sampling, p.Workers)
	}
	if p.Layout != Rows && p.Layout != Unfold {
		return nil, fmt.Errorf("%w: unknown layout %v", deconv.ErrParam, p.Layout)
	}
	if p.Sampling == 0 {
		p.Sampling = 1
	}
	pl := &Plan{p: p, family: family, k32: newKernels[float32](family), k64: newKernels[float64](family)}
	var ok bool
	if pl.stepH, ok = size.Mul(p.StrideH, p.Sampling); !ok {
		return nil, fmt.Errorf("%w: stride·sampling", deconv.ErrOverflow)
	}
	if pl.stepW, ok = size.Mul(p.StrideW, p.Sampling); !ok {
		return nil, fmt.Errorf("%w: stride·sampling", deconv.ErrOverflow)
	}
	if pl.srcLen, ok = size.Mul(p.Batch, p.Channels, p.Height, p.Width); !ok {
		return nil, fmt.Errorf("%w: input %d×%d×%d×%d", deconv.ErrOverflow, p.Batch, p.Channels, p.Height, p.Width)
	}
	if pl.cols, ok = size.Mul(p.Channels, p.KernelH, p.KernelW); !ok {
		return nil, fmt.Errorf("%w: channels·kernel", deconv.ErrOverflow)
	}
	if p.FlatSampling {
		if p.KernelH != 1 || p.KernelW != 1 || p.StrideH != p.StrideW || p.Layout != Rows {
			return nil, fmt.Errorf("%w: FlatSampling needs a 1×1 kernel, equal strides and the Rows layout (kernel %d×%d, stride %d×%d, layout %v)",
				deconv.ErrParam, p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.Layout)
		}
		pixels, _ := size.Mul(p.Batch, p.Height, p.Width) // ≤ srcLen
		step, ok := size.Mul(pl.stepH, pl.stepH)
		if !ok || step > pixels {
			step = pixels // keeps only the first pixel, as any larger step would
		}
		pl.positions = (pixels-1)/step + 1
		pl.stepH, pl.stepW = step, step
		pl.outH, pl.outW = 1, pl.positions
		pl.dstLen, _ = size.Mul(pl.positions, p.Channels) // ≤ srcLen
		return pl, nil
	}
	if pl.outH, err = OutputSize(p.Height, p.KernelH, pl.stepH, p.PadH, p.DilationH); err != nil {
		return nil, err
	}
	if pl.outW, err = OutputSize(p.Width, p.KernelW, pl.stepW, p.PadW, p.DilationW); err != nil {
		return nil, err
	}
	if pl.positions, ok = size.Mul(pl.outH, pl.outW); !ok {
		return nil, fmt.Errorf("%w: output positions", deconv.ErrOverflow)
	}
	if pl.dstLen, ok = size.Mul(p.Batch, pl.positions, pl.cols); !ok {
		return nil, fmt.Errorf("%w: output %d×%d×%d", deconv.ErrOverflow, p.Batch, pl.positions, pl.cols)
	}
	pl.colSpans = axisSpans(p.Width, p.KernelW, p.DilationW, p.PadW, pl.stepW, pl.outW)
	pl.rowSpans = axisSpans(p.Height, p.KernelH, p.DilationH, p.PadH, pl.stepH, pl.outH)
	return pl, nil
}

// Params returns the plan's parameters with defaults filled in.
func (pl *Plan) Params() Params { return pl.p }

// OutH returns the number of kept output positions along the height (1 with
// FlatSampling).
func (pl *Plan) OutH() int { return pl.outH }

// OutW returns the number of kept output positions along the width (the
// number of kept rows with FlatSampling).
func (pl *Plan) OutW() int { return pl.outW }

// Positions returns the number of kept positions per image, OutH·OutW; with
// FlatSampling it is the total number of rows for the whole batch.
func (pl *Plan) Positions() int { return pl.positions }

// Cols returns the number of features per position, Channels·KernelH·KernelW.
func (pl *Plan) Cols() int { return pl.cols }

// NumRows returns the number of rows of the Rows layout: Batch·Positions, or
// Positions with FlatSampling.
func (pl *Plan) NumRows() int {
	if pl.p.FlatSampling {
		return pl.positions
	}
	return pl.p.Batch * pl.positions
}

// SrcLen returns the length of the NCHW input, Batch·Channels·Height·Width.
func (pl *Plan) SrcLen() int { return pl.srcLen }

// DstLen returns the length of the im2col output, NumRows()·Cols().
func (pl *Plan) DstLen() int { return pl.dstLen }

// workers is the goroutine count of one call.
func (pl *Plan) workers() int { return parallel.Workers(pl.p.Workers) }
