// Package isqrt computes inverse square roots D = A^{-1/2} of symmetric
// positive definite matrices, the whitening matrices of network
// deconvolution (Ye et al., ICLR 2020, section 4.5.3 and Appendix A.3),
// in float32 and float64, one matrix or a batch of many at a time.
//
// # Methods
//
// The coupled Newton–Schulz iteration (Higham, Functions of Matrices,
// eq. 6.35, after Denman and Beavers) is what the network uses:
//
//	Ã = A/c,  Y₀ = Ã,  Z₀ = I
//	T = ½(3I − Z_k·Y_k),  Y_{k+1} = Y_k·T,  Z_{k+1} = T·Z_k
//	D = Z_K/√c
//
// with c = ‖A‖_F by default, as the reference implementation computes it
// (CoupledReference reproduces it product for product). In exact
// arithmetic Y_k = Ã·Z_k, Z_k → Ã^{-1/2}, and every eigenvalue e of
// Z_k²·Ã follows e ← e·(3 − e)²/4, so the residual ‖Z_k²·Ã − I‖_F falls
// monotonically: slowly (e ← 9e/4) for eigenvalues far below c, then
// quadratically. The iteration is stable: it can run for thousands of
// iterations. The uncoupled iteration X ← ½·X·(3I − X²·Ã) (Higham
// eq. 7.12) has the same iterates in exact arithmetic but amplifies
// rounding errors, by up to about κ/2 per iteration for a condition number
// κ as its eigenvalues converge, so that it blows up around convergence or
// even before; it is provided to show that (the paper's Figure 7, which
// the report in bench/ reproduces), and reports its divergence as
// deconv.ErrDiverged. Eigen computes A^{-1/2} exactly from a
// float64 eigendecomposition, as a reference.
//
// # Speed: symmetry
//
// The default method, Coupled, computes the same iterates with about 40%
// of the reference's multiply-adds. Y, Z and T are polynomials in Ã, hence
// symmetric, and the first iteration (Z₀ = I) needs a single symmetric
// rank-n product, Ã². Products whose exact result is symmetric are
// computed on their upper triangle only and mirrored (below 97 rows they
// are computed in full and mirrored: the triangle would not pay). Each
// element of the upper triangle is then the very dot product of the full
// product, with the same rounding; the lower triangle takes the mirrored
// values. So every product stays within the classical bound
// |fl(AB) − AB| ≤ γ_n·|A|·|B|, elementwise, and Y and Z are exactly
// symmetric (and so is D).
//
// Mirroring does change how errors propagate, though. The antisymmetric
// part of a computed Z·Y is the commutator of rounding errors that the
// coupled iteration tolerates, which is what keeps it stable; mirroring
// turns it into a symmetric error that later iterations amplify, by a
// factor growing with the condition number, so that an iteration
// mirroring Z·Y at every step ends up diverging like the uncoupled one.
// The fast iteration therefore mirrors Z·Y only in its first four
// iterations, where the factor is bounded (the iterates grow at most 1.5×
// per iteration, so their spread is small) and the results agree with the
// reference formulation to within its rounding, and computes Z·Y in full
// after that; Y·T and T·Z are mirrored throughout, which the tests show to
// be stable. With the default 5 iterations that is 12 half products where
// the reference spends 15 full ones. Its residual floor over hundreds of
// iterations is within a small factor (2 to 3 in float32) of the
// reference formulation's.
//
// # Checks, errors and limits
//
// Every error is one of the library's sentinels (package deconv), wrapped
// with the numbers that explain it; test with errors.Is.
//
// NewPlan checks the size and the options, before allocating anything: n
// in [1, MaxN] (deconv.ErrShape below, deconv.ErrOverflow above),
// Iterations in [0, MaxIterations], a known Method and Scaling, a finite
// Tol ≥ 0, a SymmetryTol that is not NaN and Workers ≥ 0
// (deconv.ErrParam).
//
// InvSqrt and InvSqrtBatch check, in this order, before writing anything:
//
//   - lengths: dst and a hold exactly n·n elements (count·n·n for a batch;
//     a negative count is deconv.ErrShape, one whose count·n·n overflows
//     deconv.ErrOverflow); anything else is deconv.ErrShape, naming both
//     numbers;
//   - overlap: dst may be a itself (the same slice: the result replaces
//     the input), but a dst that shares memory with a otherwise is
//     deconv.ErrOverlap. When dst is not a, a is never modified;
//   - finiteness: a NaN or an infinity in a, or a Frobenius norm beyond
//     the largest float64, is deconv.ErrNonFinite. The norm is computed
//     with a power-of-two rescaling when the sum of squares would under-
//     or overflow, so that scale alone (1e-200·I, 1e300·I in float64) is
//     never refused;
//   - symmetry: |a_ij − a_ji| ≤ Options.SymmetryTol·√(a_ii·a_jj)
//     (DefaultSymmetryTol, 10⁻³, when 0; a negative value skips the
//     check), else deconv.ErrNotSymmetric. The bound is relative to the
//     elements' own scale, which is how far rounding moves the entries of
//     a covariance accumulated by an unsymmetric product. Coupled,
//     Uncoupled and Eigen use the symmetric part (A + Aᵀ)/2;
//     CoupledReference uses a as given;
//   - positive definiteness: a positive diagonal and no 2×2 principal
//     minor clearly negative (cheap, in the same pass), then a float64
//     Cholesky factorization of Ã = S/c whose every pivot must exceed
//     4(n+1)·2⁻⁵³·max_i Ã_ii; else deconv.ErrNotPositiveDefinite. This
//     holds whatever the method and the number of iterations, and also
//     rejects a semidefinite matrix (a zero eigenvalue), which rounding
//     might leave with a tiny positive pivot. Every matrix whose smallest
//     eigenvalue exceeds that threshold passes. The factorization costs
//     n³/3 float64 multiply-adds (see chol.go for its share of
//     BenchmarkPaperNS5). For 97 to 192 rows it runs beside the
//     iteration (see Performance), but its verdict is still the call's
//     error, before anything is written.
//
// Then the iteration runs. It watches its own residual at no cost (the
// distance of Z·Y, or X²·Ã, to I): growth beyond 10× the smallest value
// seen, above the rounding floor, or a non-finite value stops it with
// deconv.ErrDiverged, and dst then holds the iterate with the smallest
// residual. A result that is not finite is never returned with a nil
// error: the final scaling checks it and reports deconv.ErrDiverged (dst
// then holds the best finite iterate seen, or NaN).
//
// With Options.Tol, the decision that the tolerance is met is taken on
// the true residual ‖Z·Z·Ã − I‖_F of the result as it is returned,
// computed in float64, not on the iteration's by-product ‖Z·Y − I‖_F,
// which in float32 can be orders of magnitude smaller for ill-conditioned
// matrices (Y drifts away from Ã·Z). A nil error with Tol set guarantees
// the tolerance; not reaching it within Iterations is
// deconv.ErrNotConverged, with the residual reached (dst holds the last
// iterate). In float32 that residual cannot fall much below u·κ·√n, u =
// 2⁻²⁴ and κ the condition number of A (about 0.1 for κ = 10⁵ and
// n = 27). Result.Residual reports that true residual when Tol or Trace
// is set.
//
// Options.Workers bounds the goroutines of a call, for every product and
// pass (0: deconv.Threads()); nothing in the package uses GOMAXPROCS or
// the GEMM engine's own setting, except that the Eigen method's
// decomposition is gonum's.
//
// # Gradients
//
// For training, a Plan built with Options.Grad keeps what the backward
// needs of its last InvSqrt or InvSqrtBatch call, in memory it owns and
// reuses (for the iterations: every iteration's Y_k, Z_k and T_k, the
// final Z_K, the input and the scale, per matrix; for Eigen the
// eigendecomposition): after a forward call that succeeded, Backward(da,
// dd) (or BackwardBatch with the forward's count) turns dd = ∂loss/∂D into
// da = ∂loss/∂A, and may be called again on the same forward. A failed
// forward leaves nothing to differentiate (deconv.ErrParam). Typical use:
//
//	p, _ := isqrt.NewPlan[float32](n, isqrt.Options{Grad: true})
//	_, err := p.InvSqrt(d, cov)    // forward, keeps the iterates
//	...                            // dd = ∂loss/∂D from the layers above
//	err = p.Backward(dcov, dd)     // dcov = ∂loss/∂cov
//
// What is differentiated is the computation the forward performed, the
// iterations it ran (Result.Iterations, so with Tol the ones performed;
// the stopping decision has no derivative) and the pre-scaling c
// included: D = Z_K/√c, Ã = S/c, c = ‖A‖_F of A as given.
//
//   - CoupledReference: reverse-mode differentiation of its recipe,
//     product by product (six products per iteration, fewer in the first
//     and the last), on A as given: the same numbers, up to rounding, as
//     PyTorch's autograd of the reference.
//   - Coupled: the forward works on S = (A + Aᵀ)/2 with symmetric
//     iterates, so its gradient is the symmetric part of the reference's
//     on S (plus the norm's term c̄·A/c). It is computed as the Fréchet
//     derivative of the iteration along sym(D̄), which equals the reverse
//     mode gradient exactly (the derivative of a matrix polynomial at a
//     symmetric matrix is self-adjoint) and keeps every tangent
//     symmetric, so each product is a half product: about half the work
//     of the reverse recursion.
//   - Uncoupled: reverse mode through X ← ½·X·(3I − X·X·Ã), then the
//     symmetric part.
//   - Eigen: D = S^{-1/2} exactly (c cancels), differentiated with the
//     Daleckii–Krein formula in the kept eigenbasis (four float64
//     products) rather than through a Lyapunov equation, which would need
//     the same decomposition or an iterative solver.
//   - ScaleSpectral: when the spectral bound is the scale, its gradient is
//     that of the bound as computed: the power steps on |S| and their
//     Collatz–Wielandt ratios differentiated at the maxima and signs the
//     forward took (the derivative wherever it exists, one one-sided value
//     at a tie or a zero element).
//
// The tests check every method, scaling and iteration count against
// central finite differences in float64, CoupledReference against an
// independent plain-loop reverse mode, and float32 against float64.
// BenchmarkPaperIsqrtBackward times the paper's case.
//
// # Performance
//
// A Plan holds the workspaces for one size, so repeated calls allocate
// nothing. The products run on the library's GEMM engine. For one matrix
// of 97 to 192 rows, the triangular products are split into block rows of
// 48, each a single-threaded product. With the Coupled method they all run
// on one goroutine: at these sizes, handing its some 25 operations of 10
// to 60 µs to other goroutines cost more than it saved (beside.go). Given
// a second goroutine, such a Coupled call runs its positive-definiteness
// check there, beside the iteration, and awaits the verdict before writing
// dst, so a bad input gets the same error and leaves dst untouched; the
// results are those of one goroutine, bit for bit. CoupledReference and
// Uncoupled deal the block rows over the team of long-lived goroutines
// described below. For a larger matrix the triangular products run on the
// engine's gemm.UpperSum (the backward's from 97 rows on): the rows of the
// triangle are split between the goroutines by equal work, each goroutine
// packs its own rows of A, one depth block at a time, all read B where it
// lies, and each mirrors its own rows in the same pass; the backward's
// sums of two products (dZ·Y + Z·dY and the like) are one product of twice
// the depth, so C is stored once per depth block for both. The other O(n²)
// passes (residual, first iteration, final scaling) are split by rows over
// a team of long-lived goroutines. A batch is spread over goroutines whole
// matrices at a time; the matrices of a last, partial round, when large,
// then run one at a time on all of them (batch.go). BenchmarkPaperNS5
// times the paper's case: 5 iterations on a 576×576 float32 covariance
// (3×3 kernels, blocks of 64 channels).
//
// Small matrices (a layer's groups, 9×9 to about 150×150) cost mostly
// what surrounds their arithmetic, so their path does without it: their
// products take the engine's small-matrix path on the calling goroutine,
// and since every iterate the iteration mirrors is exactly symmetric, the
// left operand of a product is handed over as its own transpose, which
// that path reads in place (symprod.go); the buffers carry a little spare
// capacity so that partial panels are read in place too. The Cholesky
// check and the O(n²) passes run as plain loops. BenchmarkInvSqrtSmall
// and BenchmarkInvSqrtBatch time the sizes and batches of the paper's
// Table 3 (bench/isqrt_compare.py sets them beside PyTorch's recipe).
package isqrt
