package cov

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/mem"
)

// Backward differentiates Compute: given dmean and dcov, the gradients of
// a scalar loss with respect to the mean and covariance Compute returned
// for the input x (mean is that forward's mean), it adds the gradient with
// respect to x into dx (SrcLen values). Either of dmean and dcov may be
// nil (a zero gradient).
//
// Each row x_r of the data matrix (n = Rows() rows per covariance: a kept
// window, or one block of it, in the plan's grouping) receives
//
//	∂loss/∂x_r = dmean/n + (dcov + dcovᵀ)·(x_r − μ)/n
//
// ((dcov + dcovᵀ)·x_r/n with ChannelParams.Uncentred, whose covariance is
// the uncentred second moment), which is then added back to the input
// values the row was gathered from: the adjoint of the gather, so values
// read by several overlapping windows sum their rows' gradients, padding
// receives nothing and values no kept window reads (and a ChannelDeconv
// plan's rest channels, which Compute does not return statistics of)
// receive zero. The eps·I Compute adds has no gradient.
//
// As Compute, Backward never builds the data matrix: each worker gathers
// a panel of rows, centred, multiplies it by (dcov + dcovᵀ)/n with one
// GEMM and scatters the product into dx; workers own disjoint parts of dx.
// At a fixed shape it allocates nothing after its first call.
//
// Every slice must have exactly the length the plan needs (dx and x
// SrcLen, mean and dmean MeanLen, dcov CovLen; deconv.ErrShape), and dx
// must not share memory with any other argument (deconv.ErrOverlap).
// A NaN or ±Inf in dmean, dcov or mean, or a dcov whose symmetrised,
// scaled value overflows T, is deconv.ErrNonFinite. On any error dx is
// unchanged. x is taken as the forward's, whose finiteness Compute
// already checked: it is not inspected again (a NaN in it would reach dx).
func Backward[T Float](pl *Plan, dx, dmean, dcov, x, mean []T) error {
	if pl == nil {
		return fmt.Errorf("%w: nil plan", deconv.ErrParam)
	}
	if err := isa.Err(); err != nil {
		return err
	}
	if len(dx) != pl.srcLen || len(x) != pl.srcLen {
		return fmt.Errorf("%w: dx has %d values and x %d, the plan needs %d", deconv.ErrShape, len(dx), len(x), pl.srcLen)
	}
	if len(mean) != pl.MeanLen() || (dmean != nil && len(dmean) != pl.MeanLen()) {
		return fmt.Errorf("%w: mean has %d values and dmean %d, the plan needs %d", deconv.ErrShape, len(mean), len(dmean), pl.MeanLen())
	}
	if dcov != nil && len(dcov) != pl.CovLen() {
		return fmt.Errorf("%w: dcov has %d values, the plan needs %d", deconv.ErrShape, len(dcov), pl.CovLen())
	}
	if mem.Overlap(dx, x) || mem.Overlap(dx, mean) || mem.Overlap(dx, dmean) || mem.Overlap(dx, dcov) {
		return fmt.Errorf("%w: dx shares memory with x, mean, dmean or dcov", deconv.ErrOverlap)
	}
	for _, s := range [...]struct {
		name string
		v    []T
	}{{"dmean", dmean}, {"dcov", dcov}, {"mean", mean}} {
		if i := bwdFirstNonFinite(s.v); i >= 0 {
			return fmt.Errorf("%w: %s[%d] is %v", deconv.ErrNonFinite, s.name, i, s.v[i])
		}
	}
	if dmean == nil && dcov == nil {
		return nil
	}

	r := getBwdRun[T]()
	defer func() {
		r.pl, r.dx, r.x = nil, nil, nil // keep no caller data alive in the pool
		putBwdRun(r)
	}()
	if err := r.setup(pl, dmean, dcov, mean); err != nil {
		return err
	}
	r.dx, r.x = dx, x
	return r.execute()
}

// bwdFirstNonFinite returns the index of the first NaN or ±Inf in v, or −1.
func bwdFirstNonFinite[T Float](v []T) int {
	for i, e := range v {
		if f := float64(e); math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}

// setup derives the per-call constants: M = (dcov + dcovᵀ)/n per matrix
// (in float64, then rounded once to T), and per gathered column t the
// value subtracted before the product (μ, or 0 when uncentred) and the
// constant added after it (dmean/n). It also chooses the work units.
func (r *bwdRun[T]) setup(pl *Plan, dmean, dcov, mean []T) error {
	G, F, width := pl.groups, pl.feats, pl.width
	n := float64(pl.Rows())
	r.pl = pl
	r.m = nil
	if dcov != nil {
		m := grow(&r.mBuf, G*F*F)
		for g := 0; g < G; g++ {
			d, o := dcov[g*F*F:(g+1)*F*F], m[g*F*F:(g+1)*F*F]
			for i := 0; i < F; i++ {
				for j := i; j < F; j++ {
					v := T((float64(d[i*F+j]) + float64(d[j*F+i])) / n)
					if f := float64(v); math.IsInf(f, 0) {
						return fmt.Errorf("%w: (dcov + dcovᵀ)/n overflows %T at (%d, %d) of matrix %d", deconv.ErrNonFinite, v, i, j, g)
					}
					o[i*F+j], o[j*F+i] = v, v
				}
			}
		}
		r.m = m
	}
	shift, bias := grow(&r.shift, width), grow(&r.bias, width)

	gf := G * F
	for t := range width {
		// Column t is feature t mod F of a block sharing one covariance
		// (G = 1), or feature t of the groups laid side by side (G > 1).
		k := t % gf
		shift[t] = 0
		if !pl.uncentred {
			shift[t] = mean[k]
		}
		bias[t] = 0
		if dmean != nil {
			bias[t] = T(float64(dmean[k]) / n)
		}
	}
	r.chooseUnits()
	return nil
}
