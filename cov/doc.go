// Package cov computes the statistics network deconvolution whitens
// with: the mean μ and covariance Cov = (1/n)·Σ (x−μ)(x−μ)ᵀ + eps·I of
// the k·k·B features of a layer's input, subsampled and grouped into
// channel blocks (lines 1–7 of Algorithm 1 of Ye et al., Network
// Deconvolution, ICLR 2020, and its section 4.5.2).
//
// # What is computed
//
// A Plan fixes the layer: NewPlan for a convolution (kernel, stride,
// padding, dilation, groups, sampling stride S, block size B with the
// reference implementation's rule, see BlockSize), NewLinearPlan for a
// fully-connected layer (rows cut into contiguous chunks of B),
// NewChannelPlan for explicit channel whitening (with its uncentred-moment
// quirk behind ChannelParams.Uncentred). Compute turns one batch into μ and
// Cov; Stats accumulates and merges partial statistics.
//
// With Groups = 1 the C/B channel blocks of every window are extra samples
// of one shared covariance, in the reference's interleaved grouping (or
// contiguous blocks); with Groups > 1 each group has its own.
//
// # How: im2col fused with the SYRK
//
// The im2col matrix is never built. Each worker gathers a panel of about
// 256 rows of it straight from the NCHW image into a buffer that stays in
// the core's L2 cache, multiplies the panel into a partial XᵀX with the
// library's SYRK engine (upper triangle only), and moves on; panels are
// gathered image row by image row, so the image is read front to back.
// The arithmetic is the SYRK's; the gathering and the bookkeeping are a
// small fraction of it.
//
// # Numerics
//
// Forming E[xxᵀ] − μμᵀ in float32 over 10⁵ rows loses most digits when
// the mean is large next to the spread (the products are rounded at the
// scale of μ², the result lives at the scale of σ²). This package instead
//
//  1. shifts the data by s, an estimate of μ from 512 windows spread over
//     the batch (y = x − s, one rounding, in the input's precision);
//  2. accumulates Σ yyᵀ per panel in the input's precision with the
//     SYRK, and adds the partial into float64 sums every 4096 rows; the
//     column sums Σ y go to float64 every 64 values;
//  3. corrects exactly in float64: μ = s + ȳ, Σ(x−μ)(x−μ)ᵀ = Σ yyᵀ − n·ȳȳᵀ,
//     where ȳ = μ − s is small, so the subtraction cancels little.
//
// Error bound: with u the unit roundoff of the input type (2⁻²⁴ for
// float32), m ≤ 4096 the rows of one partial and d = μ − s, every entry
// of the computed n·Cov differs from the exact one by at most about
//
//	(m + 2)·u · Σ |yᵢ||yⱼ|  ≤  (m + 2)·u · n·√((σᵢ² + dᵢ²)(σⱼ² + dⱼ²))
//
// plus float64 rounding; it depends on the partial length m and on d/σ
// (about 1/√512 from the estimate), not on the number of rows n. Rounding
// errors of a dot product are in practice near √m·u, not m·u: on 236 672
// rows whose feature means are up to 7σ the relative Frobenius error
// measured against a float64 oracle is about 4·10⁻⁸, where the float32
// formula E[xxᵀ] − μμᵀ gives about 5·10⁻⁵. float64 input follows the same
// path in float64.
//
// A NaN or ±Inf among the values the statistics read (or a finite value
// whose square overflows the input type) makes a diagonal entry
// non-finite; it is reported as deconv.ErrNonFinite rather than returned in μ
// and Cov. Values that no kept window reads cannot affect the result and
// are not inspected.
//
// # What each function checks
//
// The library's one rule for slices holds here: every slice argument has
// exactly the length the plan needs (Plan.SrcLen, MeanLen, CovLen,
// Stats.SumsLen, RefLen); any other length is deconv.ErrShape, naming
// both numbers. No aliasing is supported: a destination that shares
// memory with an input or with another destination is deconv.ErrOverlap.
//
//   - NewPlan, NewLinearPlan, NewChannelPlan validate every parameter
//     (deconv.ErrShape for sizes, deconv.ErrParam for a negative stride,
//     padding, dilation, sampling, block or Workers, an unknown grouping,
//     a negative or infinite eps) and check, before allocating anything,
//     every size with overflow-checked arithmetic against the documented
//     limits: at most MaxInputLen (2³¹−1) input values, MaxWindow (2²⁴)
//     values per window, MaxCovLen (2³¹−1) covariance values
//     (deconv.ErrOverflow).
//   - Compute and Accumulate check the lengths, the overlap (Compute) and
//     the finiteness of the input: a NaN or ±Inf among the values the
//     statistics read is deconv.ErrNonFinite (see Numerics), and
//     Accumulate then leaves the accumulator unchanged.
//   - Finalize checks lengths and overlap, returns deconv.ErrEmpty for an
//     empty accumulator and deconv.ErrNonFinite for a value that does not
//     fit the output type; it never returns a negative variance or a
//     non-finite value with a nil error.
//   - Merge returns deconv.ErrShape for statistics of another shape and
//     then changes neither.
//   - Sums checks lengths and overlap; SetSums checks lengths and that the
//     sums describe possible data (finite, whole counts ≥ 0, variance sums
//     not below n·(μ−r)²), and a failed SetSums changes nothing.
//
// Workers = 0 means the process default, deconv.SetThreads; each call
// uses at most that many goroutines, including inside the SYRK.
//
// # Data-parallel training
//
// Stats holds, per covariance, the count, the mean and the centred sums
// M2 = Σ (x−μ)(x−μ)ᵀ in float64. Partials of different batches,
// goroutines or machines combine with Stats.Merge, the pairwise update of
// Chan, Golub and LeVeque, which is exact in exact arithmetic and needs no
// common reference point: use it where partials are gathered or reduced
// with a custom operator (a tree or ring of Merge calls).
//
// An all-reduce that only sums (as used by synchronized batch
// normalization) needs plain sums instead: Stats.Sums writes
// [n, Σ(x−r), Σ(x−r)(x−r)ᵀ] about a reference point r that every replica
// shares (the running mean is the natural one); the SUM all-reduce adds
// the vectors of all replicas; Stats.SetSums turns the total back into
// statistics and Finalize gives every replica the same μ and Cov. With r
// near μ the sums stay of the size of M2 and lose nothing; r = 0 (raw
// moments) is accurate only for data centred near zero.
//
// # Gradient
//
// Backward is the adjoint of Compute for training: from the gradients of
// a loss with respect to μ and Cov it adds the gradient with respect to
// the input, dmean/n + (dCov + dCovᵀ)(x_r − μ)/n per data-matrix row,
// scattered back to the input values the row was gathered from (the
// adjoint of the gather, as im2col.Col2im is of im2col.Im2col). Like
// Compute it streams panels of rows (gather, one GEMM, scatter) and never
// builds the data matrix; its workers own disjoint parts of the input
// gradient, so no two write one value.
package cov
