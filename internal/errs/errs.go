// Package errs defines the library's sentinel errors, so that internal
// packages (which the root package imports) can wrap them too. The root
// package deconv exports the same values under the same names; users test
// against those.
package errs

import "errors"

// The sentinels, documented where the root package exports them.
var (
	ErrShape               = errors.New("deconv: shape mismatch")
	ErrParam               = errors.New("deconv: invalid parameter")
	ErrOverflow            = errors.New("deconv: size too large")
	ErrNonFinite           = errors.New("deconv: non-finite value")
	ErrNotSymmetric        = errors.New("deconv: matrix is not symmetric")
	ErrNotPositiveDefinite = errors.New("deconv: matrix is not positive definite")
	ErrDiverged            = errors.New("deconv: iteration diverged")
	ErrNotConverged        = errors.New("deconv: iteration did not reach the tolerance")
	ErrEmpty               = errors.New("deconv: no samples accumulated")
	ErrBusy                = errors.New("deconv: object in use by another call")
	ErrOverlap             = errors.New("deconv: destination overlaps an input")
	ErrUnsupported         = errors.New("deconv: instruction-set family not supported")
)
