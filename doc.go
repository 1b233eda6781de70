// Package deconv holds what every package of the library shares: the one
// error vocabulary (ErrShape, ErrParam, ...), the patch Geometry and the
// feature Grouping, the Float constraint, and the process-wide settings
// (SetThreads, SetISA) that the C ABI and the Python binding export.
//
// The kernels live in the sub-packages: im2col (patches), cov (the fused,
// subsampled, block-grouped covariance), isqrt (Newton–Schulz inverse
// square roots) and fold (folding, convolution and the deconvolution
// layers). See doc/ARCHITECTURE.md for how one layer's forward pass runs
// through them.
package deconv
