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
// ErrDiverged. Eigen computes A^{-1/2} exactly from a
// float64 eigendecomposition, as a reference.
//
// # Speed: symmetry
//
// The default method, Coupled, computes the same iterates with about 40%
// of the reference's multiply-adds. Y, Z and T are polynomials in Ã, hence
// symmetric, and the first iteration (Z₀ = I) needs a single symmetric
// rank-n product, Ã². Products whose exact result is symmetric are
// computed on their upper triangle only, as GEMMs on block rows, and
// mirrored (below 193 rows they are computed in full and mirrored: the
// triangle would not pay). Each element of the upper triangle is then the
// very dot product of the full product, with the same rounding; the lower
// triangle takes the mirrored values. So every product stays within the
// classical bound |fl(AB) − AB| ≤ γ_n·|A|·|B|, elementwise, and Y and Z are
// exactly symmetric (and so is D).
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
// # Failures
//
// Input must be finite, symmetric up to Options.SymmetryTol (rounding of
// an unsymmetric covariance product passes), with a positive diagonal and
// no 2×2 principal minor clearly negative; otherwise the call returns
// ErrNotFinite, ErrNotSymmetric or ErrNotPositiveDefinite and leaves the
// output untouched. Other indefinite matrices are not detected up front:
// the coupled iteration treats a tiny negative eigenvalue as a tiny
// positive one that has not converged, as the reference does, and a
// larger one makes the residual grow, which is reported as ErrDiverged.
// Both iterations watch their residual at no cost (it is the distance of
// Z·Y, or X²·Ã, to I): growth beyond 10× the smallest value seen, above
// the rounding floor, or a non-finite value stops the iteration with
// ErrDiverged, and the output then holds the iterate with the smallest
// residual. With Options.Tol, not reaching it is ErrNotConverged.
//
// # Performance
//
// A Plan holds the workspaces for one size, so repeated calls allocate
// nothing. The products run on the library's GEMM engine. For one large
// matrix, the triangular products are split by block rows over a team of
// long-lived goroutines, each block row a single-threaded GEMM, so that no
// goroutine waits on another inside a product and no operand is packed
// twice; the O(n²) passes between them (mirroring, residual) are split
// the same way. A batch is spread over goroutines whole matrices at a
// time. BenchmarkPaperNS5 times the paper's case: 5 iterations on a
// 576×576 float32 covariance (3×3 kernels, blocks of 64 channels).
package isqrt
