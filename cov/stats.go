package cov

import (
	"fmt"
	"github.com/netdeconv/deconv"
	"math"
	"sync"
)

// Stats is a mergeable accumulator of partial statistics: for each of a
// plan's covariance matrices, the sample count n, the mean μ and the
// centred cross-product sums M2 = Σ (x−μ)(x−μ)ᵀ, all in float64 (and,
// for a ChannelDeconv plan, the same three for its scalar rest).
//
// Partials from different batches, goroutines or machines combine exactly
// (in exact arithmetic) with Merge, the pairwise update of Chan, Golub and
// LeVeque; Finalize turns the result into μ and Cov = M2/n + eps·I. The
// centred form keeps merging accurate: no large raw moments are ever
// subtracted.
//
// A Stats is not safe for concurrent mutation; give each goroutine its own
// and merge them.
type Stats struct {
	groups, feats int
	eps           float64
	uncentred     bool
	hasRest       bool
	m             moments
	tmp           moments // one batch, reused by Accumulate
}

// NewStats returns an empty accumulator for the plan's statistics.
func NewStats(pl *Plan) *Stats {
	s := &Stats{groups: pl.groups, feats: pl.feats, eps: pl.eps, uncentred: pl.uncentred, hasRest: pl.rest > 0}
	s.m.mean = make([]float64, pl.groups*pl.feats)
	s.m.m2 = make([]float64, pl.groups*pl.feats*pl.feats)
	return s
}

// Reset empties the accumulator, keeping its buffers.
func (s *Stats) Reset() {
	s.m.n, s.m.restN, s.m.restMean, s.m.restM2 = 0, 0, 0, 0
	clear(s.m.mean)
	clear(s.m.m2)
}

// Count returns the number of samples accumulated into each covariance.
func (s *Stats) Count() float64 { return s.m.n }

// Accumulate adds the statistics of one input batch x (pl.SrcLen() values,
// NCHW, or Batch×Features for a linear plan) to s, which must come from a
// plan of the same shape. It returns deconv.ErrShape for a wrong input length,
// deconv.ErrShape for an accumulator of another shape, deconv.ErrNonFinite when a
// value the statistics read is NaN or ±Inf (s is then unchanged).
func Accumulate[T Float](pl *Plan, s *Stats, x []T) error {
	if s == nil || s.groups != pl.groups || s.feats != pl.feats || s.hasRest != (pl.rest > 0) {
		return fmt.Errorf("%w: accumulator does not match the plan (%d×%d features)", deconv.ErrShape, pl.groups, pl.feats)
	}
	if err := batchMoments(pl, x, &s.tmp); err != nil {
		return err
	}
	s.m.merge(&s.tmp, s.feats)
	return nil
}

// Merge adds the partial statistics of o to s (o is unchanged): with
// counts na and nb, δ = μb − μa and n = na + nb,
//
//	μ  = μa + δ·nb/n
//	M2 = M2a + M2b + δδᵀ·na·nb/n
//
// The update is commutative, and associative up to rounding, so partials
// can be merged in any tree (a reduction over goroutines or machines).
// It returns deconv.ErrShape when the two come from plans of other shapes.
func (s *Stats) Merge(o *Stats) error {
	if o == nil || s.groups != o.groups || s.feats != o.feats || s.hasRest != o.hasRest {
		return fmt.Errorf("%w: merging %d×%d features into %d×%d", deconv.ErrShape, o.groupsOr0(), o.featsOr0(), s.groups, s.feats)
	}
	s.m.merge(&o.m, s.feats)
	return nil
}

func (s *Stats) groupsOr0() int {
	if s == nil {
		return 0
	}
	return s.groups
}

func (s *Stats) featsOr0() int {
	if s == nil {
		return 0
	}
	return s.feats
}

// merge is Chan, Golub and LeVeque's pairwise update of a by b.
func (a *moments) merge(b *moments, F int) {
	if b.n > 0 {
		if a.n == 0 {
			a.n = b.n
			copy(a.mean, b.mean)
			copy(a.m2, b.m2)
		} else {
			n := a.n + b.n
			w := a.n * b.n / n
			fb := b.n / n
			G := len(a.mean) / F
			d := make([]float64, F)
			for g := 0; g < G; g++ {
				ma, mb := a.mean[g*F:(g+1)*F], b.mean[g*F:(g+1)*F]
				for j := range d {
					d[j] = mb[j] - ma[j]
					ma[j] += d[j] * fb
				}
				ca, cb := a.m2[g*F*F:(g+1)*F*F], b.m2[g*F*F:(g+1)*F*F]
				for i := 0; i < F; i++ {
					wi := w * d[i]
					ra, rb := ca[i*F:(i+1)*F], cb[i*F:(i+1)*F]
					for j := range ra {
						ra[j] += rb[j] + wi*d[j]
					}
				}
			}
			a.n = n
		}
	}
	if b.restN > 0 {
		if a.restN == 0 {
			a.restN, a.restMean, a.restM2 = b.restN, b.restMean, b.restM2
		} else {
			n := a.restN + b.restN
			d := b.restMean - a.restMean
			a.restMean += d * b.restN / n
			a.restM2 += b.restM2 + d*d*a.restN*b.restN/n
			a.restN = n
		}
	}
}

// Finalize writes the mean (Groups()·Features() values, matrix after
// matrix) and the covariances (Groups() row-major Features()² matrices)
//
//	Cov = M2/n + eps·I     (+ μμᵀ with ChannelParams.Uncentred)
//
// It returns deconv.ErrShape for wrong lengths and deconv.ErrEmpty when nothing was
// accumulated.
func Finalize[T Float](s *Stats, mean, cov []T) error {
	G, F := s.groups, s.feats
	if len(mean) != G*F || len(cov) != G*F*F {
		return fmt.Errorf("%w: mean has %d values and cov %d, the plan needs %d and %d", deconv.ErrShape, len(mean), len(cov), G*F, G*F*F)
	}
	if s.m.n == 0 {
		return deconv.ErrEmpty
	}
	inv := 1 / s.m.n
	for g := 0; g < G; g++ {
		mu := s.m.mean[g*F : (g+1)*F]
		c, out := s.m.m2[g*F*F:(g+1)*F*F], cov[g*F*F:(g+1)*F*F]
		for i := 0; i < F; i++ {
			mean[g*F+i] = T(mu[i])
			for j := 0; j < F; j++ {
				v := c[i*F+j] * inv
				if s.uncentred {
					v += mu[i] * mu[j]
				}
				if i == j {
					v += s.eps
				}
				out[i*F+j] = T(v)
			}
		}
	}
	return nil
}

// Rest returns a ChannelDeconv plan's statistics of the channels beyond
// the last whole block: their mean and unbiased variance (divided by
// n − 1, as the reference does; 0 for a single value), and ok = false when
// the plan has no such channels or nothing was accumulated.
func (s *Stats) Rest() (mean, variance float64, ok bool) {
	if !s.hasRest || s.m.restN == 0 {
		return 0, 0, false
	}
	if s.m.restN > 1 {
		variance = s.m.restM2 / (s.m.restN - 1)
	}
	return s.m.restMean, variance, true
}

// SumsLen returns the length of the vector Sums writes and SetSums reads.
func (s *Stats) SumsLen() int {
	n := 1 + s.groups*s.feats + s.groups*s.feats*s.feats
	if s.hasRest {
		n += 3
	}
	return n
}

// RefLen returns the length of the reference point Sums and SetSums take:
// one value per mean entry, and one more for a ChannelDeconv rest.
func (s *Stats) RefLen() int {
	if s.hasRest {
		return s.groups*s.feats + 1
	}
	return s.groups * s.feats
}

// Sums writes the statistics as plain sums about a reference point r:
//
//	[ n,  Σ (x−r)  (Groups·F),  Σ (x−r)(x−r)ᵀ  (Groups·F²),  rest: n, Σ (x−r), Σ (x−r)² ]
//
// Sums of disjoint data add, so the vectors of all replicas can be
// combined by an ordinary SUM all-reduce (as synchronized batch norm
// does) and turned back into statistics by SetSums with the same r:
//
//	st := cov.NewStats(pl)
//	cov.Accumulate(pl, st, localBatch)
//	buf := make([]float64, st.SumsLen())
//	st.Sums(ref, buf)
//	allReduceSum(buf)             // the communication library's SUM all-reduce
//	st.SetSums(ref, buf)
//	cov.Finalize(st, mean, c)     // the same μ and Cov on every replica
//
// r must be identical on every replica and should be near the data's
// mean, since SetSums subtracts n·(μ−r)(μ−r)ᵀ: the running mean, which
// synchronized replicas share, is the natural choice. nil means zero
// (raw moments: accurate only for data centred near zero). Without an
// all-reduce, or with one that takes a custom operator, merge the Stats
// themselves with Merge instead; it needs no reference point.
func (s *Stats) Sums(ref, dst []float64) error {
	if err := s.checkSums(ref, dst); err != nil {
		return err
	}
	G, F := s.groups, s.feats
	n := s.m.n
	dst[0] = n
	d := make([]float64, G*F)
	for i := range d {
		d[i] = s.m.mean[i] - refAt(ref, i)
		dst[1+i] = n * d[i]
	}
	c := dst[1+G*F : 1+G*F+G*F*F]
	for g := 0; g < G; g++ {
		dg := d[g*F : (g+1)*F]
		for i := 0; i < F; i++ {
			for j := 0; j < F; j++ {
				k := g*F*F + i*F + j
				c[k] = s.m.m2[k] + n*dg[i]*dg[j]
			}
		}
	}
	if s.hasRest {
		r := refAt(ref, G*F)
		t := dst[1+G*F+G*F*F:]
		dr := s.m.restMean - r
		t[0], t[1], t[2] = s.m.restN, s.m.restN*dr, s.m.restM2+s.m.restN*dr*dr
	}
	return nil
}

// SetSums replaces the statistics by those the sums in src (laid out as
// Sums writes them, about the reference point ref) describe.
func (s *Stats) SetSums(ref, src []float64) error {
	if err := s.checkSums(ref, src); err != nil {
		return err
	}
	G, F := s.groups, s.feats
	n := src[0]
	if !(n >= 0) || math.IsInf(n, 0) {
		return fmt.Errorf("%w: count %g", deconv.ErrNonFinite, n)
	}
	for _, v := range src {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: in the sums", deconv.ErrNonFinite)
		}
	}
	s.m.n = n
	d := make([]float64, G*F)
	if n > 0 {
		for i := range d {
			d[i] = src[1+i] / n
			s.m.mean[i] = refAt(ref, i) + d[i]
		}
	} else {
		clear(s.m.mean)
	}
	c := src[1+G*F : 1+G*F+G*F*F]
	for g := 0; g < G; g++ {
		dg := d[g*F : (g+1)*F]
		for i := 0; i < F; i++ {
			for j := 0; j < F; j++ {
				k := g*F*F + i*F + j
				s.m.m2[k] = c[k] - n*dg[i]*dg[j]
			}
		}
	}
	if s.hasRest {
		t := src[1+G*F+G*F*F:]
		s.m.restN, s.m.restMean, s.m.restM2 = t[0], 0, 0
		if t[0] > 0 {
			dr := t[1] / t[0]
			s.m.restMean = refAt(ref, G*F) + dr
			s.m.restM2 = t[2] - t[0]*dr*dr
		}
	}
	return nil
}

func (s *Stats) checkSums(ref, v []float64) error {
	if len(v) != s.SumsLen() {
		return fmt.Errorf("%w: sums vector has %d values, want %d", deconv.ErrShape, len(v), s.SumsLen())
	}
	if ref != nil && len(ref) != s.RefLen() {
		return fmt.Errorf("%w: reference point has %d values, want %d", deconv.ErrShape, len(ref), s.RefLen())
	}
	return nil
}

func refAt(ref []float64, i int) float64 {
	if ref == nil {
		return 0
	}
	return ref[i]
}

// Compute is the one-batch entry point: it writes the mean of x's samples
// (pl.MeanLen() values) and their covariances plus eps·I (pl.CovLen()
// values), as NewStats, Accumulate and Finalize would, without keeping an
// accumulator. Destinations come first, as everywhere in the library.
func Compute[T Float](pl *Plan, mean, cov, x []T) error {
	if len(mean) != pl.MeanLen() || len(cov) != pl.CovLen() {
		return fmt.Errorf("%w: mean has %d values and cov %d, the plan needs %d and %d", deconv.ErrShape, len(mean), len(cov), pl.MeanLen(), pl.CovLen())
	}
	s, _ := computeStats.Get().(*Stats)
	if s == nil {
		s = new(Stats)
	}
	defer computeStats.Put(s)
	s.groups, s.feats, s.eps, s.uncentred, s.hasRest = pl.groups, pl.feats, pl.eps, pl.uncentred, pl.rest > 0
	if err := batchMoments(pl, x, &s.m); err != nil {
		return err
	}
	return Finalize(s, mean, cov)
}

// computeStats pools Compute's accumulators, whose Groups·F² float64
// sums would otherwise be allocated and zeroed on every call.
var computeStats sync.Pool
