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
// Concurrency: a layer value owns workspaces and is not safe for concurrent
// calls; distinct layers may run concurrently. Each forward call uses up to
// the layer's Workers goroutines (0: GOMAXPROCS).
package fold
