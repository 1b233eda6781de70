package isqrt

import "github.com/netdeconv/deconv"

// Former names of the package's errors, kept only for the Figure 7
// reproduction, which still uses them and is moving to package bench;
// they go when it has moved. Every function of the package returns the
// library's sentinels, which these are.
var (
	// Deprecated: use deconv.ErrShape.
	ErrSize = deconv.ErrShape
	// Deprecated: use deconv.ErrParam.
	ErrOption = deconv.ErrParam
	// Deprecated: use deconv.ErrNonFinite.
	ErrNotFinite = deconv.ErrNonFinite
	// Deprecated: use deconv.ErrDiverged.
	ErrDiverged = deconv.ErrDiverged
)
