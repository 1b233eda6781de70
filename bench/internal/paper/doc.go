// Package paper reproduces the experiments of Ye et al., "Network
// Deconvolution" (ICLR 2020), that the report program (bench/cmd/report)
// shows: Table 3 of Appendix A.6 (the per-layer cost of the deconvolution
// against the convolution), Figure 2 (the deconvolution kernels of a
// photograph), Figure 7 of Appendix A.3 (coupled against uncoupled
// Newton–Schulz iterations) and Figure 10 (pixel statistics before and
// after deconvolution).
//
// The photograph is embedded (DefaultImage, a CC0 photograph from
// scikit-image; see assets/README.md); LoadImages reads others. Every call
// into the kernel packages (im2col, cov, isqrt, fold) is in layers.go.
package paper
