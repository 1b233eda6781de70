package paper

// Every call into the kernel packages (im2col, cov, isqrt, fold and the
// root package's settings) is in this file, so that an API change there
// touches the report in one place.

import (
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/fold"
	"github.com/netdeconv/deconv/im2col"
	"github.com/netdeconv/deconv/isqrt"
)

// SetThreads sets the goroutines every kernel call uses (0: one per core).
func SetThreads(n int) error { return deconv.SetThreads(n) }

// Threads returns the goroutines a kernel call uses.
func Threads() int { return deconv.Threads() }

// ISA names the kernel family in use.
func ISA() string { return deconv.ISA() }

// NSIterations is the Newton–Schulz iteration count of Table 3 (the
// paper fixes it to 5).
const NSIterations = 5

// LayerBench holds the data and plans of one Table 3 row at one batch
// size; its methods run one component each.
type LayerBench struct {
	L     Layer
	Batch int

	x        []float32
	ipl      *im2col.Plan
	cols     []float32
	cpl      *cov.Plan
	mean, cv []float32
	inv      *isqrt.Plan[float32]
	d        []float32
	conv     *fold.Conv2d[float32]
	y        []float32
	work     Work
}

// NewLayerBench allocates the row's input (uniform values in [0, 1) plus
// a random offset per channel), the im2col buffer, the statistics and the
// convolution's weights and output. Inv runs iters Newton–Schulz
// iterations (0 means NSIterations, the paper's 5).
func NewLayerBench(l Layer, batch, iters int) (*LayerBench, error) {
	if iters == 0 {
		iters = NSIterations
	}
	b := &LayerBench{L: l, Batch: batch}
	pad := l.K / 2
	hw := l.H * l.W
	rng := rand.New(rand.NewPCG(uint64(l.H*1000+l.Cin), uint64(l.K*100+l.Groups)))
	b.x = make([]float32, batch*l.Cin*hw)
	for i := 0; i < len(b.x); i += hw {
		off := float32(rng.Float64() - 0.5)
		for j := i; j < i+hw; j++ {
			b.x[j] = off + rng.Float32()
		}
	}
	var err error
	b.ipl, err = im2col.NewPlan(im2col.Params{
		Batch: batch, Channels: l.Cin, Height: l.H, Width: l.W, Sampling: l.Stride, Layout: im2col.Unfold,
		Geometry: deconv.Geometry{KernelH: l.K, KernelW: l.K, PadH: pad, PadW: pad},
	})
	if err != nil {
		return nil, fmt.Errorf("%v: im2col: %w", l, err)
	}
	b.cols = make([]float32, b.ipl.DstLen())
	p := cov.Params{
		Batch: batch, Channels: l.Cin, Height: l.H, Width: l.W, Sampling: l.Stride, Eps: 1e-5,
		Geometry: deconv.Geometry{KernelH: l.K, KernelW: l.K, PadH: pad, PadW: pad},
	}
	if l.Groups > 1 {
		p.Groups = l.Groups
	} else {
		p.Block = cov.DefaultBlock
	}
	if b.cpl, err = cov.NewPlan(p); err != nil {
		return nil, fmt.Errorf("%v: cov: %w", l, err)
	}
	b.mean, b.cv = make([]float32, b.cpl.MeanLen()), make([]float32, b.cpl.CovLen())
	f := b.cpl.Features()
	if b.inv, err = isqrt.NewPlan[float32](f, isqrt.Options{Iterations: iters}); err != nil {
		return nil, fmt.Errorf("%v: isqrt: %w", l, err)
	}
	b.d = make([]float32, len(b.cv))
	g := fold.ConvGeom{InChannels: l.Cin, OutChannels: l.Cout, Groups: l.Groups, Geometry: deconv.Geometry{KernelH: l.K, KernelW: l.K, PadH: pad, PadW: pad}}
	wt := make([]float32, g.WeightLen())
	for i := range wt {
		wt[i] = (rng.Float32() - 0.5) * 0.1
	}
	if b.conv, err = fold.NewConv2d(g, wt, make([]float32, l.Cout)); err != nil {
		return nil, fmt.Errorf("%v: conv: %w", l, err)
	}
	oh, ow, err := g.OutputSize(l.H, l.W)
	if err != nil {
		return nil, fmt.Errorf("%v: conv: %w", l, err)
	}
	b.y = make([]float32, batch*l.Cout*oh*ow)

	in := 4 * float64(len(b.x))
	out := 4 * float64(len(b.cols))
	rows, groups := float64(b.cpl.Rows()), float64(b.cpl.Groups())
	ff := float64(f)
	b.work = Work{
		Im2colBytes: out + min(in, out),
		CovFlops:    groups * rows * ff * (ff + 1),
		CovBytes:    in + 4*float64(len(b.cv)),
		InvFlops:    groups * float64(iters) * 3 * 2 * ff * ff * ff,
		InvBytes:    2 * 4 * float64(len(b.cv)),
		ConvFlops:   2 * float64(batch*l.Cout*oh*ow) * float64(g.Features()),
		ConvBytes:   in + 4*float64(len(b.y)+len(wt)),
		Features:    f,
		Matrices:    b.cpl.Groups(),
	}
	return b, nil
}

// Im2col writes the subsampled im2col matrix in the unfold layout, as the
// reference's F.unfold(x, k, padding=k/2, stride=S) does.
func (b *LayerBench) Im2col() error { return im2col.Im2col(b.ipl, b.cols, b.x) }

// Cov computes the mean and covariance(s) from the input, im2col fused.
func (b *LayerBench) Cov() error { return cov.Compute(b.cpl, b.mean, b.cv, b.x) }

// Inv computes D = Cov^{-1/2} of every group's covariance by coupled
// Newton–Schulz iterations. Cov must have run once.
func (b *LayerBench) Inv() error {
	_, err := b.inv.InvSqrtBatch(b.d, b.cv, b.cpl.Groups())
	return err
}

// Conv runs the layer's plain convolution, grouped as the row is (the
// reference's FastDeconv convolves with groups = its groups).
func (b *LayerBench) Conv() error { return b.conv.Forward(b.y, b.x, b.Batch, b.L.H, b.L.W) }

// Work returns the row's useful work per component.
func (b *LayerBench) Work() Work { return b.work }

// ScalingBatches are the batches at which the scaling runs (the report's
// and BenchmarkScaling's) time TrainForward with every worker: the cost
// should grow in proportion to the batch. The worker sweep runs at the
// first.
var ScalingBatches = []int{8, 16, 32}

// TrainForward returns one training-mode forward of the paper's layer
// (FastDeconv 64→128, 3×3, padding 1, on batch×64×side×side, block 64,
// sampling stride 3, 5 iterations; the paper's side is 128) as a function
// to time, and the convolution's flops.
func TrainForward(batch, side int) (func() error, float64, error) {
	const cin, cout = 64, 128
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := fold.NewFastDeconvConfig(cin, cout, 3)
	cfg.PadH, cfg.PadW = 1, 1
	wt := make([]float32, cout*cin*9)
	for i := range wt {
		wt[i] = (rng.Float32() - 0.5) * 0.1
	}
	l, err := fold.NewFastDeconv(cfg, wt, make([]float32, cout))
	if err != nil {
		return nil, 0, err
	}
	x := make([]float32, batch*cin*side*side)
	for i := range x {
		x[i] = rng.Float32() + float32(i/(side*side)%cin)*0.01
	}
	y := make([]float32, batch*cout*side*side)
	return func() error { return l.Forward(y, x, batch, side, side) },
		2 * float64(batch*cout*side*side*cin*9), nil
}

// PatchCovariance returns the mean and the covariance (no eps) of the k×k
// windows of the images' three colour channels, pooled over every window
// position lying inside an image, with the features ordered (channel,
// row, column), channel slowest, as im2col orders a convolution's; values
// in [0, 1], float64. The library's fused covariance computes it, each
// image on its own, merged by the Chan–Golub–LeVeque update.
func PatchCovariance(imgs []image.Image, k int) (mean, covar []float64, err error) {
	if len(imgs) == 0 {
		return nil, nil, fmt.Errorf("%w: no image", ErrImage)
	}
	var total *cov.Stats
	var pl *cov.Plan
	for _, img := range imgs {
		x, w, h := Planes(img)
		if w < k || h < k {
			return nil, nil, fmt.Errorf("%w: image %d×%d is smaller than a %d×%d window", ErrImage, w, h, k, k)
		}
		if pl, err = cov.NewPlan(cov.Params{
			Batch: 1, Channels: 3, Height: h, Width: w, Block: 3,
			Geometry: deconv.Geometry{KernelH: k, KernelW: k},
		}); err != nil {
			return nil, nil, err
		}
		s := cov.NewStats(pl)
		if err := cov.Accumulate(pl, s, x); err != nil {
			return nil, nil, err
		}
		if total == nil {
			total = s
		} else if err := total.Merge(s); err != nil {
			return nil, nil, err
		}
	}
	mean, covar = make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
	if err := cov.Finalize(total, mean, covar); err != nil {
		return nil, nil, err
	}
	return mean, covar, nil
}

// libraryCoupled returns the residual ‖Z_k·Z_k·Ã − I‖_F of every iterate
// k = 0 … iters of the library's fast coupled iteration (isqrt.Coupled,
// Frobenius pre-scaling) on the n×n matrix a, in precision T.
func libraryCoupled[T isqrt.Float](a []float64, n, iters int) ([]float64, error) {
	p, err := isqrt.NewPlan[T](n, isqrt.Options{Method: isqrt.Coupled, Iterations: iters, Trace: true})
	if err != nil {
		return nil, err
	}
	at := make([]T, len(a))
	for i, v := range a {
		at[i] = T(v)
	}
	res, err := p.InvSqrt(make([]T, len(a)), at)
	if err != nil {
		return nil, err
	}
	return append([]float64(nil), res.Trace...), nil
}

// invSqrt64 returns (a)^{-1/2} of the symmetric positive definite n×n
// matrix a by the library's coupled Newton–Schulz iteration in float64,
// iterated until its residual ‖D·D·A − I‖_F is at most 1e-8 (at most 100
// iterations; the float64 rounding floor of a 675×675 matrix is about
// 1e-10), and the iterations it took.
func invSqrt64(a []float64, n int) ([]float64, int, error) {
	p, err := isqrt.NewPlan[float64](n, isqrt.Options{Method: isqrt.Coupled, Iterations: 100, Tol: 1e-8})
	if err != nil {
		return nil, 0, err
	}
	d := make([]float64, n*n)
	res, err := p.InvSqrt(d, a)
	if err != nil {
		return nil, 0, err
	}
	return d, res.Iterations, nil
}
