package isqrt

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
)

// Float is the element type of the matrices: the library's deconv.Float.
type Float = deconv.Float

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
	// that, and it reports divergence as deconv.ErrDiverged.
	Uncoupled
	// Eigen is the exact inverse square root V·Λ^{-1/2}·Vᵀ from a
	// symmetric eigendecomposition in float64 (gonum's EigenSym), whatever
	// the element type. It ignores Iterations and Scaling; with Tol set
	// it checks the residual of its (rounded) result as the iterations
	// do. It fails with deconv.ErrNotPositiveDefinite when an eigenvalue
	// is not positive.
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

// MaxIterations bounds Options.Iterations. With Frobenius pre-scaling the
// smallest eigenvalue e of Ã is at least 1/(κ·√n), and the coupled
// iteration multiplies it by 9/4 per iteration until it nears 1, then
// converges quadratically: about log(κ·√n)/log(9/4) + 6 iterations reach
// the rounding floor, under 60 for κ = 10¹⁶ (the end of float64) and
// n = MaxN. 1000 leaves room for stability experiments that run an
// iteration far past convergence (hundreds of iterations), while bounding
// the work of one call to 3000 products; a larger count can only be a
// mistake.
const MaxIterations = 1000

// MaxN is the largest matrix size a Plan accepts: a Plan holds several
// n×n workspaces, some in float64, and 32768² float32 elements are
// already 4 GiB per matrix. A larger n is deconv.ErrOverflow.
const MaxN = 1 << 15

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
	// maximum when Tol is set. 0 means DefaultIterations; at most
	// MaxIterations.
	Iterations int

	// Scaling is the pre-scaling (ScaleFrobenius by default).
	Scaling Scaling

	// Tol, when positive, is the true residual ‖Z·Z·Ã − I‖_F to reach,
	// Ã = A/c the pre-scaled matrix and Z = √c·D the result before its
	// final scaling (so it is the paper's ‖D·D·A − I‖_F). The iteration
	// stops at the first iterate that meets it and fails with
	// deconv.ErrNotConverged when Iterations end without one. The
	// decision is taken on the result as it is returned: the residual is
	// computed in float64 from the iterate rounded to the element type, at
	// the cost of two float64 products each time it is evaluated (when
	// the iteration's own by-product residual, ‖Z·Y − I‖_F, which is not
	// the true residual in float32 for ill-conditioned matrices, falls
	// below Tol, and after the last iteration). A nil error with Tol set
	// therefore guarantees the tolerance, up to the rounding of that
	// float64 evaluation. It must be finite.
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

	// Grad makes the Plan keep what Plan.Backward and Plan.BackwardBatch
	// need to differentiate its last InvSqrt or InvSqrtBatch call (the
	// iterates, or for Eigen the decomposition), in memory the Plan owns
	// and reuses. Without it Backward is deconv.ErrParam.
	Grad bool

	// Workers bounds the goroutines one call uses: the products of a
	// single matrix, or the matrices of a batch, are split over at most
	// Workers goroutines (products, checks and residuals alike). 0 means
	// the process default, deconv.Threads(); a negative value is
	// deconv.ErrParam. (Method Eigen's decomposition is gonum's, whose own
	// products split themselves over GOMAXPROCS goroutines for large n.)
	Workers int
}

// Result describes one inverse square root computed by a Plan.
type Result struct {
	// Iterations is the number of iterations performed (0 for Eigen).
	Iterations int
	// Scale is the pre-scaling constant c: the iteration ran on A/c.
	Scale float64
	// Residual is the true residual ‖Z·Z·Ã − I‖_F of the returned
	// result (Z = √c·D, Ã = A/c), computed in float64 from the result as
	// rounded to the element type: the quantity Options.Tol bounds. It is
	// computed when Options.Tol or Options.Trace is set (it costs two
	// float64 products) and is NaN otherwise, and after an error that
	// leaves no checked result.
	Residual float64
	// Trace holds the true residual of every iterate when Options.Trace
	// is set: Trace[k] = ‖Z_k·Z_k·Ã − I‖_F, k = 0 … Iterations. The slice
	// belongs to the Plan and is overwritten by its next call.
	Trace []float64
}

// validate checks o and fills in defaults. Every field is checked: a
// value out of its range is deconv.ErrParam.
func (o Options) validate() (Options, error) {
	if o.Method > Eigen {
		return o, fmt.Errorf("%w: unknown method %v", deconv.ErrParam, o.Method)
	}
	if o.Scaling > ScaleSpectral {
		return o, fmt.Errorf("%w: unknown scaling %v", deconv.ErrParam, o.Scaling)
	}
	if o.Iterations < 0 || o.Iterations > MaxIterations {
		return o, fmt.Errorf("%w: iterations %d outside [0, %d]", deconv.ErrParam, o.Iterations, MaxIterations)
	}
	if o.Iterations == 0 {
		o.Iterations = DefaultIterations
	}
	if !(o.Tol >= 0) || math.IsInf(o.Tol, 0) {
		return o, fmt.Errorf("%w: tolerance %v (want a finite value ≥ 0)", deconv.ErrParam, o.Tol)
	}
	if math.IsNaN(o.SymmetryTol) {
		return o, fmt.Errorf("%w: symmetry tolerance %v", deconv.ErrParam, o.SymmetryTol)
	}
	if o.SymmetryTol == 0 {
		o.SymmetryTol = DefaultSymmetryTol
	}
	if o.Workers < 0 {
		return o, fmt.Errorf("%w: workers %d", deconv.ErrParam, o.Workers)
	}
	return o, nil
}
