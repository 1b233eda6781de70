package deconv

import "github.com/netdeconv/deconv/internal/errs"

// The library's one error vocabulary. Every package returns these values,
// wrapped with the numbers that explain the failure, so that
// errors.Is(err, deconv.ErrShape) answers the same question whichever
// package failed; an error that passes through a layer keeps the sentinel
// of its cause. Each maps to one status of the C ABI.
var (
	// ErrShape: a size, length or count does not fit the plan (a slice of
	// the wrong length, a kernel larger than the padded input, statistics
	// of a different shape).
	ErrShape = errs.ErrShape
	// ErrParam: a parameter or option is out of its range (a negative
	// stride, an unknown grouping, a momentum above 1, ...).
	ErrParam = errs.ErrParam
	// ErrOverflow: a size overflows int or exceeds a documented limit of
	// the package, so its buffers cannot exist.
	ErrOverflow = errs.ErrOverflow
	// ErrNonFinite: an input holds a NaN or an infinity, or a result would.
	ErrNonFinite = errs.ErrNonFinite
	// ErrNotSymmetric: a matrix that must be symmetric is not.
	ErrNotSymmetric = errs.ErrNotSymmetric
	// ErrNotPositiveDefinite: a matrix that must be positive definite is not.
	ErrNotPositiveDefinite = errs.ErrNotPositiveDefinite
	// ErrDiverged: an iteration's residual grew without bound.
	ErrDiverged = errs.ErrDiverged
	// ErrNotConverged: an iteration did not reach the requested tolerance.
	ErrNotConverged = errs.ErrNotConverged
	// ErrEmpty: statistics were asked of an accumulator with no samples.
	ErrEmpty = errs.ErrEmpty
	// ErrBusy: an object that is not safe for concurrent use was called
	// while another call on it was in progress.
	ErrBusy = errs.ErrBusy
	// ErrOverlap: a destination overlaps an input where the operation
	// cannot work in place.
	ErrOverlap = errs.ErrOverlap
	// ErrUnsupported: the requested instruction-set family cannot run on
	// this CPU or build (or DECONV_ISA asked for one).
	ErrUnsupported = errs.ErrUnsupported
)

// Errors lists every sentinel in the order of the C ABI's status codes
// (ErrShape is status 1). Bindings use it to map errors to statuses.
func Errors() []error {
	return []error{ErrShape, ErrParam, ErrOverflow, ErrNonFinite, ErrNotSymmetric, ErrNotPositiveDefinite,
		ErrDiverged, ErrNotConverged, ErrEmpty, ErrBusy, ErrOverlap, ErrUnsupported}
}
