package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/winograd"
)

// ConvAlgorithm chooses how Conv2d (and so every layer's forward and the
// folded models) computes a convolution. The zero value is ConvAuto.
type ConvAlgorithm uint8

const (
	// ConvAuto picks, per call, by the layer's shape and the input's size:
	//
	//   - Winograd F(4×4, 3×3) for 3×3 kernels of stride 1 and dilation 1,
	//     one group, at least 16 input and output channels and an output of
	//     at least 32×32 pixels;
	//   - Winograd F(4×4, 3×3) for grouped float32 layers of the same
	//     kernels with at least 32 input and 32 output channels per group
	//     and an output of at least 32×32 pixels (of at least 64 output
	//     channels per group where the output is under 64 columns wide),
	//     or at least 128 input and output channels per group and an
	//     output of at least 16×16, where the fused kernels run (AVX-512);
	//   - the blocked path (ConvBlocked) for grouped float32 layers of
	//     column stride 1, 2 to 256 input and at least 4 output channels
	//     per group and outputs at least 16 columns wide, where the kernel
	//     runs (AVX-512);
	//   - the taps path (direct loops vectorised over the output's
	//     columns) for the other grouped layers of at most 16 input
	//     channels per group, depthwise ones included;
	//   - the direct path (im2col blocks and GEMM) otherwise.
	//
	// The rule was measured at batch 8 (CPU time, both paths in one run):
	// Winograd ran 1.3–1.7× faster than the direct path on dense layers of
	// 64→64 to 128→256 channels at 32×32 to 128×128, tied at 16×16
	// (256→512) and lost below (0.8× at 16×16 32→32, 0.65× at 8×8), where
	// edge tiles and per-item overheads dominate; on grouped layers see
	// winogradGroupMinChannels. The taps path ran 2.5–8× faster than the
	// direct path on the grouped rows of Table 3 with 1 to 8 channels per
	// group and tied at 16 (see tapsMaxChannels). The blocked path ran
	// 1.1–2.4× faster than the better of those on the grouped rows it
	// takes (see blockedMinChannels and blockedMaxChannels).
	ConvAuto ConvAlgorithm = iota
	// ConvDirect multiplies the weights by blocks of patches (im2col in
	// cache-sized pieces, then GEMM); it handles every geometry.
	ConvDirect
	// ConvWinograd forces Winograd's minimal filtering F(4×4, 3×3). Only
	// 3×3 kernels with stride 1 and dilation 1 (any padding, any groups)
	// have it; other geometries are deconv.ErrUnsupported at construction.
	ConvWinograd
	// ConvBlocked forces the blocked direct convolution: no im2col, a
	// zero-padded copy of each group's input rows and a kernel that keeps
	// a block of output channels × output rows in registers (float32 on
	// AVX-512; elsewhere its portable loop, correct but slow). Only
	// geometries of column stride 1 have it; others are
	// deconv.ErrUnsupported at construction.
	ConvBlocked
)

// String returns the algorithm's name.
func (a ConvAlgorithm) String() string {
	switch a {
	case ConvAuto:
		return "auto"
	case ConvDirect:
		return "direct"
	case ConvWinograd:
		return "winograd"
	case ConvBlocked:
		return "blocked"
	}
	return fmt.Sprintf("ConvAlgorithm(%d)", uint8(a))
}

// winogradMinChannels is the smallest number of input and of output
// channels for which ConvAuto takes the Winograd path.
const winogradMinChannels = 16

// winogradMinOutput is the smallest output side for which ConvAuto takes
// the Winograd path.
const winogradMinOutput = 32

// winogradGroupMinChannels is the fewest input and output channels per
// group, and winogradGroupNarrowMinOut the fewest output channels per
// group where the output is narrower than winogradGroupWide columns, for
// which ConvAuto takes the Winograd path of a grouped layer with an output
// of at least 32×32 (winogradMinOutput); on outputs of 16×16 to 32×32
// (winogradGroupSmallOutput) it takes it from winogradGroupSmallMinChannels
// input and output channels per group. Measured at batch 8 (CPU time per
// call, every path in one run, BenchmarkBlockedTune and
// BenchmarkWinogradGroupedRule, 2 workers, Intel Xeon with AVX-512), the
// Winograd path against the better of the blocked path (computed in
// strips) and the direct path: 1.6× on Table 3's row 04 (32×32, 256→512 in
// 4 groups, 64→128 per group: 29 against 46 ms) and 2.3× on row 03 (64×64,
// 128→256 in 2: 41 against 94 ms), 1.2–1.5× with 64→64 per group at 32×32
// (256→256 in 4 groups, 128→128 in 2), 1.8× with 128→128 at 32×32, 2.2×
// and 1.3× with 128 and 256 per group at 56×56, 1.3–1.5× with 32→32 and
// 32→64 per group at 64×64, 2× at 128×128, 1.05× with 32→64 at 32×32
// (256→512 in 8); it lost with 32→32 per group at 32×32 (0.8–0.85×:
// 256→256 in 8 groups, 512→512 in 16, 64→64 in 2) and with 16 or fewer
// per group (0.4× and worse). At 32×32 a tile row holds 8 tiles, half of
// the fused kernels' vectors of 16. At 16×16 it ran 1.25× faster with
// 128→128 per group (512→512 in 4 groups) and 1.3× with 256→256 (in 2),
// and lost with 64→64 (0.8×, Table 3's row 05, which keeps the blocked
// path) and fewer.
const (
	winogradGroupMinChannels      = 32
	winogradGroupWide             = 64
	winogradGroupNarrowMinOut     = 64
	winogradGroupSmallOutput      = 16
	winogradGroupSmallMinChannels = 128
)

// checkAlgorithm validates the Algorithm field of a normalised geometry.
func (g ConvGeom) checkAlgorithm() error {
	switch g.Algorithm {
	case ConvAuto, ConvDirect:
		return nil
	case ConvWinograd:
		if !g.winogradCapable() {
			return fmt.Errorf("%w: Winograd convolution needs a 3×3 kernel with stride 1 and dilation 1, not %d×%d, stride %d×%d, dilation %d×%d",
				deconv.ErrUnsupported, g.KernelH, g.KernelW, g.StrideH, g.StrideW, g.DilationH, g.DilationW)
		}
		return nil
	case ConvBlocked:
		if !g.blockedCapable() {
			return fmt.Errorf("%w: the blocked convolution needs column stride 1, not %d", deconv.ErrUnsupported, g.StrideW)
		}
		return nil
	}
	return fmt.Errorf("%w: convolution algorithm %d", deconv.ErrParam, uint8(g.Algorithm))
}

// winogradCapable reports whether F(4×4, 3×3) computes this geometry.
func (g ConvGeom) winogradCapable() bool {
	return g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
}

// useWinograd decides the path of one call with an oh×ow output.
func (g ConvGeom) useWinograd(oh, ow int) bool {
	switch g.Algorithm {
	case ConvWinograd:
		return true
	case ConvDirect, ConvBlocked:
		return false
	}
	return g.winogradCapable() && g.Groups == 1 &&
		g.InChannels >= winogradMinChannels && g.OutChannels >= winogradMinChannels &&
		oh >= winogradMinOutput && ow >= winogradMinOutput
}

// useWinogradGrouped reports whether ConvAuto takes the Winograd path for
// a grouped call of element type T with an oh×ow output: only where the
// fused input and output kernels run (float32, AVX-512), whose work items
// cover one group's channels (see winoRun.items); elsewhere the other
// paths were not measured against it.
func useWinogradGrouped[T Float](g ConvGeom, oh, ow int) bool {
	if g.Algorithm != ConvAuto || g.Groups < 2 || !g.winogradCapable() ||
		!winograd.HasGatherInput[T](isa.Selected(), winograd.F43) || !winograd.HasOutputKernel[T](isa.Selected(), winograd.F43) {
		return false
	}
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	if oh >= winogradMinOutput && ow >= winogradMinOutput {
		return cg >= winogradGroupMinChannels && coutg >= winogradGroupMinChannels &&
			(ow >= winogradGroupWide || coutg >= winogradGroupNarrowMinOut)
	}
	return oh >= winogradGroupSmallOutput && ow >= winogradGroupSmallOutput &&
		cg >= winogradGroupSmallMinChannels && coutg >= winogradGroupSmallMinChannels
}

// winogradAt reports whether a call of element type T with an oh×ow
// output takes the Winograd path: forced, by the rule for one group, or
// by the rule for grouped layers.
func winogradAt[T Float](g ConvGeom, oh, ow int) bool {
	return g.useWinograd(oh, ow) || useWinogradGrouped[T](g, oh, ow)
}

// convPath is one of the paths a forward convolution takes.
type convPath uint8

const (
	pathDirect convPath = iota
	pathWinograd
	pathBlocked
	pathTaps
)

// pathAt returns the path of a call of element type T with an oh×ow
// output: the first of the Winograd, blocked and taps paths whose rule
// (or Algorithm) takes it, else the direct path.
func pathAt[T Float](g ConvGeom, oh, ow int) convPath {
	switch {
	case winogradAt[T](g, oh, ow):
		return pathWinograd
	case useBlocked[T](g, oh, ow):
		return pathBlocked
	case g.useTaps():
		return pathTaps
	}
	return pathDirect
}
