// Package im2col rearranges the patches of an NCHW image batch into a
// matrix, so that a convolution becomes a matrix product, and back
// (col2im, the adjoint, for gradients).
//
// A Plan, built once from Params and validated with named errors, fixes
// the geometry: kernel kh×kw, stride, zero padding, dilation, and the
// paper's sampling stride S, which keeps only every S-th output position
// along each axis (windows every stride·S input pixels, as the reference
// implementation of network deconvolution takes them). Two layouts:
//
//	Rows    (N·L) × (C·kh·kw)   one row per kept position, features with the
//	                            channel slowest: the data matrix X of the paper
//	Unfold  N × (C·kh·kw) × L   torch.nn.functional.unfold's layout
//
// For 1×1 kernels the reference's statistics use a different rule, every
// (stride·S)²-th pixel of the flat N·H·W order; Params.FlatSampling selects
// it. UnfoldBlock writes the patches of a range of output rows of one
// image, for consumers that tile their work (the convolution in package
// fold multiplies cache-sized blocks of patches).
//
// The transforms are memory-bound. They write every output element once,
// with no branch per element: zeros for the padding, strided gathers
// (AVX2/AVX-512 permutes on amd64) for real pixels, and, for whole items
// that fit in cache, a staging buffer streamed out with non-temporal
// stores. In the Unfold layout, planes of up to 65536 outputs per image
// and channel with AVX-512 (1024 otherwise) go instead through one table
// of source offsets shared by every channel: on AVX-512 a few masked
// loads and permutes per output vector. Work is split over Params.Workers goroutines by image and
// channel (0 means the process default, deconv.SetThreads). A Plan is
// immutable and safe for concurrent use, and a transform at a fixed shape
// allocates nothing.
//
// # What each function checks
//
// NewPlan validates every parameter (deconv.ErrShape for sizes and a
// kernel larger than the padded input, deconv.ErrParam for negative
// strides, paddings, dilations, sampling or Workers and unknown options)
// and computes every size with overflow-checked arithmetic
// (deconv.ErrOverflow); it allocates nothing in proportion to a parameter.
//
// The library's one rule for slices holds: Im2col and Col2im take slices
// of exactly the lengths the plan needs (SrcLen, DstLen), any other length
// being deconv.ErrShape naming both numbers. UnfoldBlock's source is held
// to SrcLen too; its destination is a strided block, which must hold at
// least (Cols()−1)·ld + (oh1−oh0)·OutW() elements. No aliasing is
// supported: a destination that shares memory with its input is
// deconv.ErrOverlap, for every transform.
//
// The values are not inspected: im2col does not check finiteness, and
// NaNs and infinities are moved like any other value (package cov and the
// layers in fold check the data they read).
package im2col
