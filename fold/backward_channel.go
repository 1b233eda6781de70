package fold

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/mem"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
)

// channelBack is ChannelDeconv's backward workspace and the state it
// shares with its workers (bodies bound once: no allocation per call).
type channelBack[T Float] struct {
	dd, dmean, dcov []T
	acc             []float64 // per slot: B×B of dD, B row sums of dy, and the rest's two sums
	slots           int
	dx, dy, x, dm   []T
	c, hw, whole    int
	cols, block     int
	mean2, scale    T
	stats           bool
	fe              firstError
	body            func(lo, hi int)
}

// Backward differentiates the layer's last Forward (on the same x), as
// FastDeconv.Backward does: given dy it writes dx, the gradient with
// respect to the input. In training mode the gradient flows through the
// batch statistics: y = D·(x − μ₁) on the whitened channels reaches x
// directly (Dᵀ·dy), through μ₁ and through D (the isqrt Plan's and the
// statistics plan's backward); the rest channels' (x − μ₂)/√(var + eps)
// through μ₂ and the unbiased variance of the sampled values. In
// evaluation mode the running buffers are constants. A nil dx computes
// nothing. Errors and state as FastDeconv.Backward's.
func (l *ChannelDeconv[T]) Backward(dx, dy, x []T, n, c, h, w int) error {
	if err := l.busy.acquire(); err != nil {
		return err
	}
	defer l.busy.release()
	s := &l.saved
	if err := checkSaved(s, [4]int{n, c, h, w}); err != nil {
		return err
	}
	total, ok := size.Mul(n, c, h, w)
	if !ok || len(x) != total || len(dy) != total {
		return fmt.Errorf("%w: input of %d values and output gradient of %d for %d×%d×%d×%d", deconv.ErrShape, len(x), len(dy), n, c, h, w)
	}
	if err := checkDest(dx, total, "input gradient"); err != nil {
		return err
	}
	if err := checkNoOverlap([][]T{dx}, [][]T{dy, x}); err != nil {
		return err
	}
	if dx == nil {
		return nil
	}
	if mem.Overlap(dy, x) {
		return fmt.Errorf("%w: the output gradient overlaps the input", deconv.ErrOverlap)
	}
	if err := checkFinite(x, "input"); err != nil {
		return err
	}
	if err := checkFinite(dy, "output gradient"); err != nil {
		return err
	}
	B := l.cfg.Block
	whole := c / B * B
	mean1, dm, mean2, variance := l.runningMean1, l.runningDeconv, l.runningMean2, l.runningVar
	if s.batch {
		mean1, dm, mean2, variance = l.mean1, l.dm, s.mean2, s.variance
	}
	var scale T
	if whole < c {
		scale = T(1 / math.Sqrt(float64(variance)+l.cfg.Eps))
	}
	r := &l.back
	if r.dd == nil {
		r.dd, r.dcov, r.dmean = make([]T, B*B), make([]T, B*B), make([]T, B)
		r.body = r.images
	}
	workers := parallel.Workers(l.cfg.Workers)
	r.slots = max(1, min(workers, n))
	per := B*B + B + 2
	if cap(r.acc) < r.slots*per {
		r.acc = make([]float64, r.slots*per)
	}
	r.acc = r.acc[:r.slots*per]
	clear(r.acc)
	r.dx, r.dy, r.x, r.dm = dx, dy, x, dm
	r.c, r.hw, r.whole, r.cols, r.block = c, h*w, whole, whole/B*h*w, B
	r.mean2, r.scale, r.stats = mean2, scale, s.batch
	r.fe.err = nil
	parallel.For(r.slots, r.slots, r.body)
	err := r.fe.err
	r.dx, r.dy, r.x, r.fe.err = nil, nil, nil, nil // keep no caller data alive
	if err != nil || !s.batch {
		if err == nil {
			err = checkFinite(dx, "input gradient")
		}
		return err
	}
	// Sum the slots: dD = Σ dY·Xᵀ − (Σ dY·1)·μ₁ᵀ, dμ₁ = −Dᵀ·(Σ dY·1).
	for k := 1; k < r.slots; k++ {
		for i, v := range r.acc[k*per : (k+1)*per] {
			r.acc[i] += v
		}
	}
	rowSum := r.acc[B*B : B*B+B]
	for i := 0; i < B; i++ {
		for j := 0; j < B; j++ {
			r.dd[i*B+j] = T(r.acc[i*B+j] - rowSum[i]*float64(mean1[j]))
		}
		acc := 0.0
		for k := 0; k < B; k++ {
			acc -= float64(dm[k*B+i]) * rowSum[k]
		}
		r.dmean[i] = T(acc)
	}
	if whole < c {
		l.restBackward(dx, x, n, c, h, w, whole, mean2, scale, r.acc[B*B+B], r.acc[B*B+B+1])
	}
	return statsBackward(l.isq, l.covPlan, dx, r.dcov, r.dd, r.dmean, x, mean1, 1)
}

// restBackward adds into dx the rest channels' gradient through their
// batch mean μ₂ and unbiased variance v, computed over the values the
// forward sampled (every step-th of each image's rest values), given
// sdy = Σ dy and sdyx = Σ dy·(x − μ₂) over all rest values:
// dμ₂ = −scale·sdy, dv = −½·scale³·sdyx, and each sampled x_j receives
// dμ₂/N + dv·2(x_j − μ₂)/(N − 1).
func (l *ChannelDeconv[T]) restBackward(dx, x []T, n, c, h, w, whole int, mean2, scale T, sdy, sdyx float64) {
	step := 1
	if s := max(l.cfg.SamplingStride, 1); h >= s && w >= s {
		step = s * s
	}
	hw := h * w
	per := (c - whole) * hw
	cnt := float64(n * ((per-1)/step + 1))
	sc := float64(scale)
	dmu := -sc * sdy
	dv := -0.5 * sc * sc * sc * sdyx
	a, b := dmu/cnt, 2*dv/(cnt-1)
	m := float64(mean2)
	for img := 0; img < n; img++ {
		off := img*c*hw + whole*hw
		for j := 0; j < per; j += step {
			dx[off+j] += T(a + b*(float64(x[off+j])-m))
		}
	}
}

// images runs slots [lo, hi): each slot takes its share of the images,
// writes dx = Dᵀ·dY on the whitened channels and dy·scale on the rest,
// and in training accumulates dY·Xᵀ, the row sums of dY and the rest's
// sums into its own accumulators.
func (r *channelBack[T]) images(lo, hi int) {
	B, c, hw, cols := r.block, r.c, r.hw, r.cols
	per := B*B + B + 2
	n := len(r.x) / (c * hw)
	var prod *[]T
	if r.stats {
		prod = getScratch[T](B * B)
		defer putScratch(prod)
	}
	for s := lo; s < hi; s++ {
		acc := r.acc[s*per : (s+1)*per]
		for img := s * n / r.slots; img < (s+1)*n/r.slots; img++ {
			dY := r.dy[img*c*hw : img*c*hw+r.whole*hw]
			X := r.x[img*c*hw : img*c*hw+r.whole*hw]
			if err := gemm.GemmDense(1, gemm.Trans, gemm.NoTrans, B, cols, B, 1, r.dm, B, dY, cols, 0, r.dx[img*c*hw:], cols); err != nil {
				r.fe.set(err)
				return
			}
			rest := r.dy[img*c*hw+r.whole*hw : (img+1)*c*hw]
			xr := r.x[img*c*hw+r.whole*hw : (img+1)*c*hw]
			dxr := r.dx[img*c*hw+r.whole*hw : (img+1)*c*hw]
			for i, v := range rest {
				dxr[i] = v * r.scale
			}
			if !r.stats {
				continue
			}
			if err := gemm.GemmDense(1, gemm.NoTrans, gemm.Trans, B, B, cols, 1, dY, cols, X, cols, 0, *prod, B); err != nil {
				r.fe.set(err)
				return
			}
			for i, v := range *prod {
				acc[i] += float64(v)
			}
			for k := 0; k < B; k++ {
				sum := 0.0
				for _, v := range dY[k*cols : (k+1)*cols] {
					sum += float64(v)
				}
				acc[B*B+k] += sum
			}
			m := float64(r.mean2)
			for i, v := range rest {
				acc[B*B+B] += float64(v)
				acc[B*B+B+1] += float64(v) * (float64(xr[i]) - m)
			}
		}
	}
}
