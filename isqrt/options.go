package isqrt

import (
	"errors"
	"fmt"
	"math"
)

// Float is the element type of the matrices.
type Float interface{ float32 | float64 }

// Method selects how the inverse square root is computed.
type Method uint8

const (
	// Coupled is the coupled Newton–Schulz iteration computed fast: the
	// same iterates as CoupledReference in exact arithmetic, with every
	// product computed on one triangle only (see the package
	// documentation for what that does to rounding), the first
	// iteration's products with Z₀ = I skipped, and the last iteration's
	// unused update of Y skipped. This is the default.
	Coupled Method = iota
	// CoupledReference is the coupled iteration exactly as the reference
	// implementation computes it: three full products per iteration,
	// T = ½(3I − Z·Y), Y ← Y·T, Z ← T·Z, on the input as given.
	CoupledReference
	// Uncoupled is the plain Newton–Schulz iteration for A^{-1/2}
	// (Higham, Functions of Matrices, eq. 7.12 with p = 2, X₀ = I on the
	// pre-scaled matrix): X ← ½·X·(3I − X·X·Ã). In exact arithmetic it
	// produces the same iterates as the coupled one, but it is unstable:
	// rounding errors grow once it has converged. It exists to show
	// that, and it reports divergence as ErrDiverged.
	Uncoupled
	// Eigen is the exact inverse square root V·Λ^{-1/2}·Vᵀ from a
	// symmetric eigendecomposition in float64 (gonum's EigenSym), whatever
	// the element type. It ignores Iterations, Scaling and Tol; it fails
	// with ErrNotPositiveDefinite when an eigenvalue is not positive.
	Eigen
)

// String names the method.
func (m Method) String() string {
	switch m {
	case Coupled:
		return "coupled"
	case CoupledReference:
		return "coupled-reference"
	case Uncoupled:
		return "uncoupled"
	case Eigen:
		return "eigen"
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// Scaling selects the constant c by which the matrix is divided before
// the iteration; the result is then multiplied by 1/√c.
type Scaling uint8

const (
	// ScaleFrobenius divides by the Frobenius norm ‖A‖_F, as the
	// reference does. It bounds the largest eigenvalue of A/c by 1, so the
	// iteration converges for every SPD matrix, but it shrinks every
	// eigenvalue by up to √n more than needed, which slows convergence
	// of the small ones.
	ScaleFrobenius Scaling = iota
	// ScaleSpectral divides by a tighter upper bound on the largest
	// eigenvalue: the smaller of ‖A‖_F and the Collatz–Wielandt bound
	// max_i (|A|·v)_i / v_i, where v > 0 comes from a few power steps on
	// |A| from the all-ones vector. Since λ_max(A) ≤ ρ(|A|) ≤ that
	// bound for any positive v, it is an upper bound, never an estimate,
	// so convergence is still guaranteed; for covariances it is usually
	// within a few percent of λ_max and up to √n smaller than ‖A‖_F, so
	// fewer iterations reach a given residual. The iterates then differ
	// from the reference's (a different polynomial in A).
	ScaleSpectral
)

// String names the scaling.
func (s Scaling) String() string {
	switch s {
	case ScaleFrobenius:
		return "frobenius"
	case ScaleSpectral:
		return "spectral"
	}
	return fmt.Sprintf("Scaling(%d)", uint8(s))
}

// DefaultIterations is the iteration count of the reference layer, and
// the value Options.Iterations = 0 stands for. The paper uses 15 for the
// first layer of a network.
const DefaultIterations = 5

// DefaultSymmetryTol is the asymmetry the input may have when
// Options.SymmetryTol is 0: |a_ij − a_ji| ≤ tol·√(a_ii·a_jj). It admits the
// rounding of a covariance accumulated in float32 by an unsymmetric
// product, and rejects a matrix that was never meant to be symmetric.
const DefaultSymmetryTol = 1e-3

// Options configure a Plan. The zero value is the reference's behaviour:
// the fast coupled iteration, 5 iterations, Frobenius pre-scaling.
type Options struct {
	// Method is the algorithm (Coupled by default).
	Method Method

	// Iterations is the number of Newton–Schulz iterations, or the
	// maximum when Tol is set. 0 means DefaultIterations.
	Iterations int

	// Scaling is the pre-scaling (ScaleFrobenius by default).
	Scaling Scaling

	// Tol, when positive, stops the iteration as soon as the residual
	// ‖Z·Y − I‖_F of the coupled iteration (‖X·X·Ã − I‖_F of the uncoupled
	// one) of the current iterate is at most Tol, and makes the call fail
	// with ErrNotConverged when Iterations are done without reaching it.
	// The residual is a by-product of the iteration; with Tol set, the
	// coupled iteration also computes the final iterate's residual, which
	// costs two more products. Tol is relative to the pre-scaled matrix
	// Ã = A/c, whose identity residual is the paper's ‖D·D·A − I‖_F.
	Tol float64

	// Trace records, for every iterate Z_k (k = 0 … iterations done),
	// the true residual ‖Z_k·Z_k·Ã − I‖_F computed in float64 from the
	// iterate, in Result.Trace. It costs two float64 products per
	// iteration and is meant for diagnostics, not for the hot path.
	Trace bool

	// SymmetryTol bounds the accepted asymmetry of the input (see
	// DefaultSymmetryTol, which 0 stands for); a negative value skips the
	// check. Coupled and Uncoupled use the symmetric part (A + Aᵀ)/2 of
	// the input; CoupledReference uses it as given.
	SymmetryTol float64

	// Workers bounds the goroutines a batched call spreads its matrices
	// over; 0 means GOMAXPROCS. The products of a single matrix use as
	// many goroutines as the GEMM engine is set to.
	Workers int
}

// Result describes one inverse square root computed by a Plan.
type Result struct {
	// Iterations is the number of iterations performed (0 for Eigen).
	Iterations int
	// Scale is the pre-scaling constant c: the iteration ran on A/c.
	Scale float64
	// Residual is the last residual the iteration computed as a
	// by-product: ‖Z·Y − I‖_F of the coupled iteration's iterate before
	// the final one (of the final one when Tol is set), ‖X·X·Ã − I‖_F of
	// the uncoupled iteration's final iterate; NaN for Eigen.
	Residual float64
	// Trace holds the true residual of every iterate when Options.Trace
	// is set: Trace[k] = ‖Z_k·Z_k·Ã − I‖_F, k = 0 … Iterations. The slice
	// belongs to the Plan and is overwritten by its next call.
	Trace []float64
}

// Errors returned by the package; test with errors.Is.
var (
	// ErrSize: a matrix size or count that is not positive, or too large.
	ErrSize = errors.New("isqrt: invalid matrix size or count")
	// ErrLength: a slice shorter than the plan's matrices.
	ErrLength = errors.New("isqrt: slice too short for the plan")
	// ErrOption: an option out of its range.
	ErrOption = errors.New("isqrt: invalid option")
	// ErrNotFinite: a NaN or infinite element, or a norm that overflows.
	ErrNotFinite = errors.New("isqrt: input has a NaN or infinite element")
	// ErrNotSymmetric: a_ij and a_ji differ by more than SymmetryTol allows.
	ErrNotSymmetric = errors.New("isqrt: input is not symmetric")
	// ErrNotPositiveDefinite: a diagonal element that is not positive, a
	// 2×2 principal minor that is negative, or (Eigen) an eigenvalue that
	// is not positive.
	ErrNotPositiveDefinite = errors.New("isqrt: input is not positive definite")
	// ErrDiverged: the residual grew or became non-finite.
	ErrDiverged = errors.New("isqrt: iteration diverged")
	// ErrNotConverged: Options.Tol was not reached in Options.Iterations.
	ErrNotConverged = errors.New("isqrt: iteration did not reach the tolerance")
)

// validate checks o and fills in defaults.
func (o Options) validate() (Options, error) {
	if o.Method > Eigen {
		return o, fmt.Errorf("%w: unknown method %v", ErrOption, o.Method)
	}
	if o.Scaling > ScaleSpectral {
		return o, fmt.Errorf("%w: unknown scaling %v", ErrOption, o.Scaling)
	}
	if o.Iterations < 0 {
		return o, fmt.Errorf("%w: iterations %d", ErrOption, o.Iterations)
	}
	if o.Iterations == 0 {
		o.Iterations = DefaultIterations
	}
	if o.Tol < 0 || math.IsNaN(o.Tol) || math.IsNaN(o.SymmetryTol) {
		return o, fmt.Errorf("%w: tolerance %v, symmetry tolerance %v", ErrOption, o.Tol, o.SymmetryTol)
	}
	if o.SymmetryTol == 0 {
		o.SymmetryTol = DefaultSymmetryTol
	}
	if o.Workers < 0 {
		o.Workers = 0
	}
	return o, nil
}
