// Package fold turns the statistics of network deconvolution into
// convolution and linear layers that cost nothing extra at inference.
//
// Deconvolution whitens a layer's input x with D = Cov^{-1/2} before the
// layer's weights w act on it. Because the layer is linear, the whitening
// can be folded into the weights instead of applied to the data (section
// 4.5.1 of the paper, "implicit deconvolution"):
//
//	y = (X − μ)·D·w + b = X·(D·w) + (b − μ·D·w)
//
// so a deconvolved layer is an ordinary layer with weights W' = W·D (per
// whitening block) and bias b' = b − Σ W'·μ.
//
// The package provides, from the bottom up:
//
//   - Fold and Restore: W' and b' from W, b, D and μ, in both groupings of
//     features into blocks (the reference implementation's interleaved one
//     and contiguous channel blocks), and the way back;
//   - Conv2d and Linear: fast forward passes (the convolution multiplies the
//     weights by cache-sized blocks of patches through the GEMM engine);
//   - the layers FastDeconv, Delinear and ChannelDeconv, mirroring the
//     reference modules' parameters, buffers and defaults.
//
// # Training
//
// Every forward has its backward: FoldBackward (to W, b, D and μ),
// Conv2d.Backward and Linear.Backward (dx, dW, db), and the layers'
// Backward, which differentiates the layer's last Forward. In training
// mode the gradient flows through the batch statistics as autograd of the
// reference does (paper, Appendix A.8): the convolution's backward with
// the folded weights, FoldBackward, the isqrt Plan's backward through the
// Newton–Schulz iterations, and cov.Backward into dx. In evaluation mode,
// or frozen, the running buffers are constants. The forward keeps what
// the backward needs in the layer's workspaces, so a training step at a
// fixed shape allocates nothing; an SGD or other update goes back through
// SetWeights.
//
// # Errors
//
// Every error carries one of the root package's sentinels (deconv.ErrShape,
// ErrParam, ErrOverflow, ErrNonFinite, ErrNotSymmetric,
// ErrNotPositiveDefinite, ErrBusy, ...); an error caused by cov, im2col or
// isqrt is wrapped with %w, so errors.Is finds the cause's sentinel too.
// Constructors validate every parameter and size before they allocate:
// out-of-range parameters (negative Workers, an unknown Grouping, a NaN
// eps or momentum, ...) are ErrParam, sizes that overflow int or a
// covariance side above MaxFeatures are ErrOverflow. Every slice must
// have exactly the length the call needs (ErrShape otherwise, naming both
// numbers), destinations first. Forward passes do not work in place: an
// output that overlaps the input is ErrOverlap.
//
// # Non-finite values
//
// No function returns a NaN or an infinity with a nil error. What is
// checked, and where:
//
//   - SetWeights (all layers) and SetRunningStats: the new values, before
//     anything changes (SetRunningStats also requires symmetric positive
//     definite matrices);
//   - Fold and Restore: their inputs, and their results (finite but huge
//     weights can overflow), before the outputs are written;
//   - Conv2d.Forward and FastDeconv.Forward: each image's input as the
//     workers read it, and each block of outputs right after it is
//     computed, while it is in cache (a pass over the output costing a
//     few percent of a small layer's time, well under 2% of the paper's);
//   - Linear, Delinear and ChannelDeconv Forward: the whole input before
//     anything else, and the output;
//   - training forwards: the batch statistics and D = Cov^{-1/2}, and the
//     new running buffers before they are stored; ChannelDeconv also its
//     remainder channels' scale 1/√(var + eps) (a constant channel with
//     eps = 0 has none).
//
// All are deconv.ErrNonFinite.
//
// # State on error
//
// A call that returns an error leaves its layer exactly as it was:
// weights, running buffers, freeze counter, num_batches_tracked and mode.
// A training forward computes statistics, D, the folded weights and the
// output first, and commits the running buffers and counters only when
// all of them succeeded. Outputs (dst) may be partly written.
//
// # Concurrency
//
// Conv2d and Linear, and so the folded models that FastDeconv.Folded and
// Delinear.Folded return, are safe for concurrent Forward calls from any
// number of goroutines: their weights are immutable between SetWeights
// calls (which publish new copies atomically) and each call takes its
// workspace from a pool, so a steady state allocates nothing.
//
// FastDeconv, Delinear and ChannelDeconv own workspaces and are not safe
// for concurrent use. Their methods that change the layer or use its
// workspaces claim it for the duration of the call and return
// deconv.ErrBusy when another such call is in progress, rather than race;
// their accessors (Weight, RunningMean, Counter, Training, ...) must not
// be called concurrently with those. Distinct layers may run
// concurrently.
//
// # Threads
//
// Each call uses up to its layer's Workers goroutines (0: the process
// default, deconv.SetThreads): the convolution's work items, the
// statistics (cov), the fold's products and the batched inverse square
// roots are all given that count, and so are the products inside each
// inverse square root (isqrt.Options.Workers).
package fold
