package cov

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/size"
)

// Float is the set of element types the statistics are computed from.
type Float = deconv.Float

// DefaultBlock is the reference implementation's block size for
// convolutions (Params.Block = 0 selects it).
const DefaultBlock = 64

// DefaultLinearBlock is the reference implementation's block size for
// fully-connected layers (LinearParams.Block = 0 selects it).
const DefaultLinearBlock = 512

// BlockSize applies the reference implementation's block rule for a layer
// with the given input channels (or features): a block larger than the
// channels becomes the channel count; one that does not divide them becomes
// gcd(block, channels); with groups > 1 the block is channels/groups
// whatever was asked. block ≤ 0 selects DefaultBlock. The arguments must be
// positive apart from block; BlockSize returns 0 otherwise.
func BlockSize(channels, block, groups int) int {
	if channels <= 0 || groups <= 0 {
		return 0
	}
	if groups > 1 {
		if channels%groups != 0 {
			return 0
		}
		return channels / groups
	}
	if block <= 0 {
		block = DefaultBlock
	}
	switch {
	case block > channels:
		return channels
	case channels%block != 0:
		return gcd(block, channels)
	}
	return block
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Limits of a plan, checked by the constructors before they allocate
// anything; a plan beyond one is deconv.ErrOverflow.
const (
	// MaxInputLen is the most values one input batch may hold
	// (Batch·Channels·Height·Width, or Batch·Features): 2³¹−1, 8 GiB of
	// float32, far beyond one layer's input.
	MaxInputLen = 1<<31 - 1
	// MaxWindow is the most values one kept window gathers:
	// Channels·KernelH·KernelW for a convolution, Features for a linear
	// layer, Block for channel whitening. The plan keeps tables of that
	// length.
	MaxWindow = 1 << 24
	// MaxCovLen is the most values the covariances may hold,
	// Groups·Features², so Features ≤ 46340 with one group.
	MaxCovLen = 1<<31 - 1
)

// Params describes the statistics that deconvolve the input of one
// convolution (the paper's Algorithm 1, lines 1–7): the NCHW batch, the
// geometry of the convolution it feeds, the sampling stride, the block
// size and eps.
//
// Stride, Dilation, Groups and Sampling left at zero mean 1; negative
// values are errors.
type Params struct {
	Batch, Channels, Height, Width int // input x is Batch×Channels×Height×Width

	// Geometry is the convolution's kernel, stride, padding and dilation
	// per axis (zero stride and dilation mean 1).
	deconv.Geometry

	Groups int // convolution groups: one covariance per group when > 1

	// Sampling is the paper's subsampling stride S. As in the reference,
	// windows are taken every StrideH·S input rows and StrideW·S input
	// columns. For a 1×1 kernel the reference's flat rule applies instead:
	// the batch is read as N·H·W pixels of C channels (NHWC order) and
	// every (StrideH·S)·(StrideW·S)-th pixel of that order is kept (the
	// reference's (stride·S)²); padding is then ignored.
	Sampling int

	// Block is the requested block size B, adjusted by BlockSize (0 means
	// DefaultBlock). With Groups = 1 the C/B blocks are extra samples of
	// one shared k²B × k²B covariance; with Groups > 1, B = C/Groups and
	// each group has its own covariance over its own channels.
	Block int

	// Grouping selects which features form a block when Groups = 1 and
	// B < C: deconv.Interleaved (the reference's, default) or
	// deconv.Contiguous. Groups > 1 always groups channels contiguously,
	// as a grouped convolution does.
	Grouping deconv.Grouping

	Eps float64 // added to the diagonal of each covariance (≥ 0)

	// Workers bounds the goroutines one call uses: 0 means the process
	// default (deconv.SetThreads, itself one per core unless set); a count
	// above the cores is clamped to them; a negative count is
	// deconv.ErrParam.
	Workers int
}

// LinearParams describes the statistics of a fully-connected layer's
// input (the reference's Delinear): each row of Features values is cut into
// contiguous chunks of Block, which are the samples of one Block × Block
// covariance.
type LinearParams struct {
	Batch, Features int // input is Batch×Features, row-major

	// Block is the requested chunk length: larger than Features means
	// Features, not dividing Features means gcd(Block, Features), 0 means
	// DefaultLinearBlock.
	Block int

	Eps     float64 // added to the diagonal (≥ 0)
	Workers int     // goroutines per call, as Params.Workers
}

// ChannelParams describes the statistics of the reference's ChannelDeconv
// (explicit channel whitening). With c = ⌊C/Block⌋·Block, the first c
// channels are permuted to (c, N, H, W) and viewed as Block rows: feature
// r holds channels r·c/Block … (r+1)·c/Block − 1 (with all their pixels)
// one after another. When Height and Width are both at least Sampling,
// every Sampling²-th sample of that order is kept. The remaining C − c
// channels get one scalar mean and unbiased variance (Stats.Rest) from
// their values in (channel, N, H, W) order, sampled by the same rule.
type ChannelParams struct {
	Batch, Channels, Height, Width int // a 2-D input N×C has Height = Width = 1

	Block    int // features of the whitened part, 1 ≤ Block ≤ Channels
	Sampling int // sampling stride (0 means 1); the reference default is 3

	// Uncentred reproduces the reference's quirk: its covariance is the
	// second moment of the sampled data taken before centring, E[xxᵀ]
	// (+ eps·I), while the mean is still subtracted from the data. Off
	// (the default), the covariance is centred like every other plan's.
	Uncentred bool

	Eps     float64 // added to the diagonal (≥ 0); the reference default is 1e-2
	Workers int     // goroutines per call, as Params.Workers
}

// kind tells how samples are decoded.
type kind uint8

const (
	gridKind kind = iota // k×k windows on a 2-D grid of positions
	flatKind             // flat index into (chunk, N, H·W) order
)

// Plan is a validated description of one layer's statistics with every
// derived size and offset table computed once. A Plan is immutable and safe
// for concurrent use by any number of goroutines.
type Plan struct {
	kind kind

	n, c, h, w   int // input dimensions (linear: n×features×1×1)
	kh, kw       int
	step         int // flat: flat index between kept samples
	stepH, stepW int // grid: input rows and columns between kept windows
	padH, padW   int
	dilH, dilW   int
	oh, ow       int // grid: kept windows per axis
	flatNHW      int // flat: samples per chunk channel (N·H·W)
	block        int // B
	feats        int // F = kh·kw·B
	groups       int // covariance matrices (conv Groups; 1 when shared)
	sub          int // rows per sample in a shared covariance (C/B), 1 with groups > 1
	width        int // values gathered per sample: sub·F or groups·F
	samples      int // kept samples per batch (not counting sub)
	srcLen       int
	eps          float64
	uncentred    bool
	workers      int
	restC0, rest int // ChannelDeconv: first channel and count of the rest
	restStep     int

	// Per gathered column t (sample layout: sub or group blocks of F):
	// for flat samples the offset from the sample's base in the image
	// (below srcLen), and for grid windows the tap's displacement from the
	// window's origin (a dilation may be anything whose span fits the
	// padded input) and the channel offset. All are int: no table entry
	// can wrap, whatever the geometry.
	off    []int
	dy, dx []int
	coff   []int
}

// NewPlan validates p and builds the plan of a convolution's input
// statistics. Every failure is one of the package's Err* values, wrapped
// with the offending numbers.
func NewPlan(p Params) (*Plan, error) {
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
	if p.Groups < 0 || p.Sampling < 0 || p.Block < 0 || p.Workers < 0 || !(p.Eps >= 0) || math.IsInf(p.Eps, 0) {
		return nil, fmt.Errorf("%w: groups=%d sampling=%d block=%d workers=%d eps=%g",
			deconv.ErrParam, p.Groups, p.Sampling, p.Block, p.Workers, p.Eps)
	}
	if err := p.Grouping.Validate(); err != nil {
		return nil, err
	}
	for _, f := range []*int{&p.Groups, &p.Sampling} {
		if *f == 0 {
			*f = 1
		}
	}
	if p.Channels%p.Groups != 0 {
		return nil, fmt.Errorf("%w: %d channels in %d groups", deconv.ErrParam, p.Channels, p.Groups)
	}
	src, ok := size.Mul(p.Batch, p.Channels, p.Height, p.Width)
	if !ok || src > MaxInputLen {
		return nil, fmt.Errorf("%w: input %d×%d×%d×%d is over MaxInputLen = 2³¹−1 values", deconv.ErrOverflow, p.Batch, p.Channels, p.Height, p.Width)
	}
	stepH, ok := size.Mul(p.StrideH, p.Sampling)
	stepW, ok2 := size.Mul(p.StrideW, p.Sampling)
	if !ok || !ok2 {
		return nil, fmt.Errorf("%w: stride·sampling", deconv.ErrOverflow)
	}
	b := BlockSize(p.Channels, p.Block, p.Groups)
	pl := &Plan{
		n: p.Batch, c: p.Channels, h: p.Height, w: p.Width, kh: p.KernelH, kw: p.KernelW,
		padH: p.PadH, padW: p.PadW, dilH: p.DilationH, dilW: p.DilationW, block: b, eps: p.Eps, workers: p.Workers, srcLen: src,
	}
	if window, ok := size.Mul(p.KernelH, p.KernelW, p.Channels); !ok || window > MaxWindow {
		return nil, fmt.Errorf("%w: a %d×%d window of %d channels is over MaxWindow = %d values", deconv.ErrOverflow, p.KernelH, p.KernelW, p.Channels, MaxWindow)
	}
	pl.feats = p.KernelH * p.KernelW * b
	if p.Groups > 1 {
		pl.groups, pl.sub = p.Groups, 1
	} else {
		pl.groups, pl.sub = 1, p.Channels/b
	}
	if err := checkCov(pl.groups, pl.feats); err != nil {
		return nil, err
	}
	interleaved := p.Groups == 1 && p.Grouping == deconv.Interleaved
	if p.KernelH == 1 && p.KernelW == 1 {
		// The reference's k = 1 rule: flat NHWC pixel order, every
		// step²-th pixel, padding ignored.
		pixels := p.Batch * p.Height * p.Width
		st, ok := size.Mul(stepH, stepW)
		if !ok || st > pixels {
			st = pixels
		}
		pl.kind, pl.step, pl.flatNHW = flatKind, st, pixels
		pl.samples = (pixels-1)/st + 1
		pl.buildTables(interleaved, func(c int) int { return c * p.Height * p.Width })
		return pl, nil
	}
	if pl.oh, err = deconv.OutputSize(p.Height, p.KernelH, stepH, p.PadH, p.DilationH); err != nil {
		return nil, err
	}
	if pl.ow, err = deconv.OutputSize(p.Width, p.KernelW, stepW, p.PadW, p.DilationW); err != nil {
		return nil, err
	}
	if pl.samples, ok = size.Mul(p.Batch, pl.oh, pl.ow); !ok {
		return nil, fmt.Errorf("%w: samples", deconv.ErrOverflow)
	}
	pl.kind, pl.stepH, pl.stepW = gridKind, stepH, stepW
	pl.buildTables(interleaved, nil)
	return pl, nil
}

// NewLinearPlan validates p and builds the plan of a fully-connected
// layer's input statistics (the reference's Delinear).
func NewLinearPlan(p LinearParams) (*Plan, error) {
	if err := isa.Err(); err != nil {
		return nil, err
	}
	if p.Batch <= 0 || p.Features <= 0 {
		return nil, fmt.Errorf("%w: batch=%d features=%d", deconv.ErrShape, p.Batch, p.Features)
	}
	if p.Block < 0 || p.Workers < 0 || !(p.Eps >= 0) || math.IsInf(p.Eps, 0) {
		return nil, fmt.Errorf("%w: block=%d workers=%d eps=%g", deconv.ErrParam, p.Block, p.Workers, p.Eps)
	}
	src, ok := size.Mul(p.Batch, p.Features)
	if !ok || src > MaxInputLen {
		return nil, fmt.Errorf("%w: input %d×%d is over MaxInputLen = 2³¹−1 values", deconv.ErrOverflow, p.Batch, p.Features)
	}
	if p.Features > MaxWindow {
		return nil, fmt.Errorf("%w: %d features are over MaxWindow = %d", deconv.ErrOverflow, p.Features, MaxWindow)
	}
	blk := p.Block
	if blk == 0 {
		blk = DefaultLinearBlock
	}
	b := BlockSize(p.Features, blk, 1)
	if err := checkCov(1, b); err != nil {
		return nil, err
	}
	// A row of the input is one sample of Features/B contiguous chunks:
	// a 1×1 "convolution" of Features channels on a 1×1 image, grouped
	// contiguously, every row kept.
	pl := &Plan{
		kind: flatKind, n: p.Batch, c: p.Features, h: 1, w: 1, kh: 1, kw: 1, dilH: 1, dilW: 1,
		step: 1, flatNHW: p.Batch, block: b, feats: b, groups: 1, sub: p.Features / b,
		samples: p.Batch, srcLen: src, eps: p.Eps, workers: p.Workers,
	}
	pl.buildTables(false, func(c int) int { return c })
	return pl, nil
}

// NewChannelPlan validates p and builds the plan of the reference's
// ChannelDeconv statistics.
func NewChannelPlan(p ChannelParams) (*Plan, error) {
	if err := isa.Err(); err != nil {
		return nil, err
	}
	if p.Batch <= 0 || p.Channels <= 0 || p.Height <= 0 || p.Width <= 0 || p.Block <= 0 {
		return nil, fmt.Errorf("%w: batch=%d channels=%d height=%d width=%d block=%d", deconv.ErrShape, p.Batch, p.Channels, p.Height, p.Width, p.Block)
	}
	if p.Sampling < 0 || p.Workers < 0 || !(p.Eps >= 0) || math.IsInf(p.Eps, 0) {
		return nil, fmt.Errorf("%w: sampling=%d workers=%d eps=%g", deconv.ErrParam, p.Sampling, p.Workers, p.Eps)
	}
	if p.Block > p.Channels {
		return nil, fmt.Errorf("%w: block %d > %d channels", deconv.ErrParam, p.Block, p.Channels)
	}
	src, ok := size.Mul(p.Batch, p.Channels, p.Height, p.Width)
	if !ok || src > MaxInputLen {
		return nil, fmt.Errorf("%w: input %d×%d×%d×%d is over MaxInputLen = 2³¹−1 values", deconv.ErrOverflow, p.Batch, p.Channels, p.Height, p.Width)
	}
	if p.Block > MaxWindow {
		return nil, fmt.Errorf("%w: block %d is over MaxWindow = %d", deconv.ErrOverflow, p.Block, MaxWindow)
	}
	if err := checkCov(1, p.Block); err != nil {
		return nil, err
	}
	s := max(p.Sampling, 1)
	st := 1
	if p.Height >= s && p.Width >= s {
		st = s * s
	}
	hw := p.Height * p.Width
	cb := p.Channels / p.Block // channels per feature
	nhw := p.Batch * hw
	pl := &Plan{
		kind: flatKind, n: p.Batch, c: p.Channels, h: p.Height, w: p.Width, kh: 1, kw: 1, dilH: 1, dilW: 1,
		step: st, flatNHW: nhw, block: p.Block, feats: p.Block, groups: 1, sub: 1,
		samples: (cb*nhw-1)/st + 1, srcLen: src, eps: p.Eps, uncentred: p.Uncentred, workers: p.Workers,
	}
	if rest := p.Channels - cb*p.Block; rest > 0 {
		pl.restC0, pl.rest, pl.restStep = cb*p.Block, rest, st
	}
	pl.buildTables(false, func(r int) int { return r * cb * hw })
	return pl, nil
}

// checkCov checks that groups covariances of F features fit MaxCovLen.
func checkCov(groups, feats int) error {
	if n, ok := size.Mul(groups, feats, feats); !ok || n > MaxCovLen {
		return fmt.Errorf("%w: %d covariances of %d features are over MaxCovLen = 2³¹−1 values", deconv.ErrOverflow, groups, feats)
	}
	return nil
}

// buildTables fills the per-column offset tables. Column t of a gathered
// sample is block t / F (a shared block or a group) at position t mod F.
// For flat samples chanOff(c) is the image offset of channel c from the
// sample's base; grid windows (chanOff nil) use the tap tables instead.
func (pl *Plan) buildTables(interleaved bool, chanOff func(c int) int) {
	nb := pl.sub * pl.groups // blocks per sample
	pl.width = nb * pl.feats
	if chanOff != nil {
		pl.off = make([]int, pl.width)
	} else {
		pl.dy, pl.dx, pl.coff = make([]int, pl.width), make([]int, pl.width), make([]int, pl.width)
	}
	kk := pl.kh * pl.kw
	for t := 0; t < pl.width; t++ {
		g, j := t/pl.feats, t%pl.feats
		f := g*pl.feats + j // contiguous: the unblocked feature
		if interleaved {
			f = j*nb + g
		}
		c, ki, kj := f/kk, f%kk/pl.kw, f%pl.kw
		if chanOff != nil {
			pl.off[t] = chanOff(c)
			continue
		}
		// ki·dil ≤ the kernel's span, which NewPlan checked fits the
		// padded input; c·h·w < srcLen.
		pl.dy[t], pl.dx[t] = ki*pl.dilH, kj*pl.dilW
		pl.coff[t] = c * pl.h * pl.w
	}
}

// Features returns F, the side of each covariance: KernelH·KernelW·B.
func (pl *Plan) Features() int { return pl.feats }

// Block returns the block size B after the reference's rule.
func (pl *Plan) Block() int { return pl.block }

// Groups returns the number of covariance matrices: the convolution's
// groups, or 1 when all blocks share one covariance.
func (pl *Plan) Groups() int { return pl.groups }

// Rows returns the samples one batch contributes to each covariance:
// kept windows times blocks per window when blocks share a covariance.
func (pl *Plan) Rows() int { return pl.samples * pl.sub }

// SrcLen returns the number of values of one input batch.
func (pl *Plan) SrcLen() int { return pl.srcLen }

// MeanLen returns the length of the mean: Groups()·Features().
func (pl *Plan) MeanLen() int { return pl.groups * pl.feats }

// CovLen returns the length of the covariances: Groups()·Features()².
func (pl *Plan) CovLen() int { return pl.groups * pl.feats * pl.feats }
