// Package winograd holds the arithmetic of Winograd's minimal filtering
// F(m×m, r×r) for 2-D cross-correlation (Lavin and Gray, 2016): the
// transform matrices built from interpolation points, the filter
// transform, and the input-tile gather and output-tile scatter of a
// convolution whose transforms and products run as GEMMs.
//
// A convolution by F(m×m, r×r) cuts the output into m×m tiles. Each tile
// needs an α×α input tile d (α = m+r−1) and computes
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// so the α² positions ξ of the transformed domain are independent: summed
// over input channels, each is a product U_ξ (out × in channels) · V_ξ
// (in channels × tiles), which is where the work goes. The transforms are
// linear maps of 36 (α²) values, applied here as small dense GEMMs with
// their Kronecker matrices (Bᵀ⊗Bᵀ and Aᵀ⊗Aᵀ), so that every stage runs on
// the GEMM engine's vectorised micro-kernels; the tiles are the
// innermost (contiguous) index of every buffer, which is the layout the
// micro-kernels read in place. Where it has a kernel (Output: float32,
// F(4×4, 3×3), AVX-512) the output side instead runs in one pass: Aᵀ·M·A
// separably on 16 tiles per vector, the bias, and stores straight into
// the NCHW output.
//
// For float32 6×6 tiles on AVX-512 the input side has kernels of its own
// (avo-generated, internal/_gen/winin): InputTransform applies Bᵀ·d·B
// separably, rows then columns (2·6·36 multiply-adds per tile against the
// Kronecker GEMM's 36·36), 16 tiles per vector; GatherInput fuses it with
// the gather for F(4×4, 3×3): it transforms the columns of the padded
// input rows once per tile row (neighbouring tiles share them), then
// deinterleaves each transformed row into its tiles in registers and
// finishes the rows, so the gathered tiles are never stored, and it
// checks the input it reads on the way.
//
// The package knows nothing of layers: package fold chooses the path,
// owns the workspaces and runs the stages in parallel.
package winograd
