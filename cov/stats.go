package cov

import (
	"fmt"
	"math"
	"sync"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/mem"
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
	if err := batchMoments(pl, x, &s.tmp, nil); err != nil {
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
// It returns deconv.ErrShape when the two come from plans of other shapes,
// and then changes neither.
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
// mean and cov must have exactly those lengths (deconv.ErrShape) and must
// not overlap (deconv.ErrOverlap). It returns deconv.ErrEmpty when nothing
// was accumulated, and deconv.ErrNonFinite when a value does not fit T
// (float32 overflows past 3.4·10³⁸); mean and cov are then unspecified. A
// variance (diagonal of M2) that rounding left a hair below zero is
// written as 0 (+ eps): Finalize never returns a negative variance or a
// non-finite value with a nil error.
func Finalize[T Float](s *Stats, mean, cov []T) error {
	G, F := s.groups, s.feats
	if len(mean) != G*F || len(cov) != G*F*F {
		return fmt.Errorf("%w: mean has %d values and cov %d, the plan needs %d and %d", deconv.ErrShape, len(mean), len(cov), G*F, G*F*F)
	}
	if mem.Overlap(mean, cov) {
		return fmt.Errorf("%w: mean and cov share memory", deconv.ErrOverlap)
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
			if !finite(float64(mean[g*F+i])) {
				return fmt.Errorf("%w: mean %d of matrix %d is %g", deconv.ErrNonFinite, i, g, mu[i])
			}
			row, orow := c[i*F:(i+1)*F], out[i*F:(i+1)*F]
			// v − v is 0 for finite v and NaN otherwise: one test per
			// row instead of a branch per element.
			var bad T
			if s.uncentred {
				for j, v := range row {
					o := T(v*inv + mu[i]*mu[j])
					orow[j] = o
					bad += o - o
				}
			} else {
				for j, v := range row {
					o := T(v * inv)
					orow[j] = o
					bad += o - o
				}
			}
			v := row[i] * inv
			if v < 0 {
				v = 0 // rounding: a variance is never negative
			}
			if s.uncentred {
				v += mu[i] * mu[i]
			}
			orow[i] = T(v + s.eps)
			bad += orow[i] - orow[i]
			if bad != 0 {
				for j := range orow {
					if !finite(float64(orow[j])) {
						return fmt.Errorf("%w: covariance (%d, %d) of matrix %d is %g", deconv.ErrNonFinite, i, j, g, row[j]*inv)
					}
				}
			}
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

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
//	st.Sums(buf, ref)
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
//
// dst must have exactly SumsLen() values and ref exactly RefLen() (or be
// nil), and they must not overlap (deconv.ErrOverlap).
func (s *Stats) Sums(dst, ref []float64) error {
	if err := s.checkSums(ref, dst); err != nil {
		return err
	}
	if mem.Overlap(ref, dst) {
		return fmt.Errorf("%w: sums vector and reference point share memory", deconv.ErrOverlap)
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
//
// The sums must describe possible data: every value and ref finite
// (deconv.ErrNonFinite otherwise); each count a whole number ≥ 0, and all
// sums of a zero count zero; and each variance sum Σ(x−r)² − n·(μ−r)²
// (the diagonal of M2) ≥ 0 up to rounding, which is then taken as 0
// (deconv.ErrParam otherwise). A failed SetSums changes nothing.
func (s *Stats) SetSums(ref, src []float64) error {
	if err := s.checkSums(ref, src); err != nil {
		return err
	}
	for i, v := range src {
		if !finite(v) {
			return fmt.Errorf("%w: sums value %d is %g", deconv.ErrNonFinite, i, v)
		}
	}
	for i, v := range ref {
		if !finite(v) {
			return fmt.Errorf("%w: reference value %d is %g", deconv.ErrNonFinite, i, v)
		}
	}
	G, F := s.groups, s.feats
	sums, m2 := src[1:1+G*F], src[1+G*F:1+G*F+G*F*F]
	if err := checkSumsValues(src[0], sums, m2, G, F, "the sums"); err != nil {
		return err
	}
	var rest []float64
	if s.hasRest {
		rest = src[1+G*F+G*F*F:]
		if err := checkSumsValues(rest[0], rest[1:2], rest[2:3], 1, 1, "the rest's sums"); err != nil {
			return err
		}
	}

	// Valid: replace.
	n := src[0]
	s.m.n = n
	for i, v := range sums {
		s.m.mean[i] = 0
		if n > 0 {
			s.m.mean[i] = refAt(ref, i) + v/n
		}
	}
	for g := 0; g < G; g++ {
		for i := 0; i < F; i++ {
			di := meanShift(n, sums[g*F+i])
			for j := 0; j < F; j++ {
				k := g*F*F + i*F + j
				v := m2[k] - n*di*meanShift(n, sums[g*F+j])
				if i == j && v < 0 {
					v = 0 // within rounding, as checked
				}
				s.m.m2[k] = v
			}
		}
	}
	s.m.restN, s.m.restMean, s.m.restM2 = 0, 0, 0
	if rest != nil && rest[0] > 0 {
		dr := rest[1] / rest[0]
		s.m.restN = rest[0]
		s.m.restMean = refAt(ref, G*F) + dr
		s.m.restM2 = max(0, rest[2]-rest[0]*dr*dr)
	}
	return nil
}

// meanShift returns Σ(x−r)/n, the mean's offset from the reference (0 for
// no samples).
func meanShift(n, sum float64) float64 {
	if n == 0 {
		return 0
	}
	return sum / n
}

// checkSumsValues validates one count with its G·F first and G·F²
// second sums (finiteness already checked).
func checkSumsValues(n float64, sums, m2 []float64, G, F int, what string) error {
	if n < 0 || n != math.Trunc(n) {
		return fmt.Errorf("%w: count %g in %s is not a whole number ≥ 0", deconv.ErrParam, n, what)
	}
	if n == 0 {
		for _, vs := range [][]float64{sums, m2} {
			for i, v := range vs {
				if v != 0 {
					return fmt.Errorf("%w: count 0 with a non-zero sum (%g at %d) in %s", deconv.ErrParam, v, i, what)
				}
			}
		}
		return nil
	}
	// Σ(x−r)² ≥ n·(μ−r)² for any data (Cauchy–Schwarz); the check allows
	// the rounding of the two terms and of the sums themselves.
	const tol = 1e-10
	for g := 0; g < G; g++ {
		for i := 0; i < F; i++ {
			d := sums[g*F+i] / n
			sq, nd := m2[g*F*F+i*F+i], n*d*d
			if sq-nd < -tol*(math.Abs(sq)+nd) || math.IsInf(nd, 0) {
				return fmt.Errorf("%w: variance sum %g − %g of feature %d, matrix %d, in %s is negative", deconv.ErrParam, sq, nd, i, g, what)
			}
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
//
// Each slice must have exactly the length the plan needs
// (deconv.ErrShape), and no two may overlap (deconv.ErrOverlap: mean and
// cov are written while x is read, so no aliasing is supported). A
// non-finite value among those the statistics read is
// deconv.ErrNonFinite.
func Compute[T Float](pl *Plan, mean, cov, x []T) error {
	if len(mean) != pl.MeanLen() || len(cov) != pl.CovLen() {
		return fmt.Errorf("%w: mean has %d values and cov %d, the plan needs %d and %d", deconv.ErrShape, len(mean), len(cov), pl.MeanLen(), pl.CovLen())
	}
	if len(x) != pl.srcLen {
		return fmt.Errorf("%w: input has %d values, the plan needs %d", deconv.ErrShape, len(x), pl.srcLen)
	}
	if mem.Overlap(mean, x) || mem.Overlap(cov, x) || mem.Overlap(mean, cov) {
		return fmt.Errorf("%w: mean, cov and the input must be distinct memory", deconv.ErrOverlap)
	}
	if pl.rest == 0 && !pl.uncentred {
		// The direct path: the sums become μ and Cov in one pass.
		out := finalOut[T]{mean: mean, cov: cov, eps: pl.eps}
		return batchMoments(pl, x, nil, &out)
	}
	s, _ := computeStats.Get().(*Stats)
	if s == nil {
		s = new(Stats)
	}
	defer computeStats.Put(s)
	s.groups, s.feats, s.eps, s.uncentred, s.hasRest = pl.groups, pl.feats, pl.eps, pl.uncentred, pl.rest > 0
	if err := batchMoments(pl, x, &s.m, nil); err != nil {
		return err
	}
	return Finalize(s, mean, cov)
}

// computeStats pools Compute's accumulators, whose Groups·F² float64
// sums would otherwise be allocated and zeroed on every call.
var computeStats sync.Pool
