package paper

import "fmt"

// Layer is one row of the paper's Table 3: an H×W input of Cin channels,
// a k×k convolution to Cout channels (padding k/2, stride 1) in Groups
// groups, the deconvolution's channel groups (one covariance per group of
// Cin/Groups channels; with one group, blocks of 64 channels share one
// covariance, as the reference's FastDeconv does) and the sampling stride
// S. The convolution of a grouped row is grouped as the reference's
// FastDeconv(groups=Groups) runs it: 512→512 in 512 groups is a depthwise
// convolution.
type Layer struct {
	H, W, Cin, Cout, Groups, K, Stride int
}

func (l Layer) String() string {
	return fmt.Sprintf("%d×%d %d→%d g%d k%d S%d", l.H, l.W, l.Cin, l.Cout, l.Groups, l.K, l.Stride)
}

// Seconds are the times of a row's components: Im2Col (the subsampled
// im2col matrix), Cov (the covariance), Inv (5 Newton–Schulz iterations)
// and Conv (the convolution).
type Seconds struct {
	Im2col, Cov, Inv, Conv float64
}

// Overhead is the deconvolution's cost relative to the convolution:
// (Cov + Inv) / Conv.
func (s Seconds) Overhead() float64 { return (s.Cov + s.Inv) / s.Conv }

// PaperBatch is the batch size of the paper's Table 3.
const PaperBatch = 128

// Row is a Table 3 row with the paper's own times (batch 128, the
// authors' CPU, seconds).
type Row struct {
	Layer
	Paper Seconds
}

// Table3 is the paper's Table 3 (Appendix A.6), all 22 rows as printed.
var Table3 = []Row{
	{Layer{256, 256, 3, 64, 1, 3, 3}, Seconds{0.069, 0.0079, 0.00025, 0.50}},
	{Layer{128, 128, 64, 128, 1, 3, 3}, Seconds{0.315, 0.3214, 0.02069, 0.67}},
	{Layer{64, 64, 128, 256, 2, 3, 3}, Seconds{0.045, 0.0445, 0.00076, 0.55}},
	{Layer{32, 32, 256, 512, 4, 3, 3}, Seconds{0.022, 0.0391, 0.00222, 0.48}},
	{Layer{16, 16, 512, 512, 8, 3, 3}, Seconds{0.011, 0.0444, 0.01155, 0.23}},
	{Layer{128, 128, 64, 128, 64, 3, 3}, Seconds{0.376, 0.0871, 0.00024, 0.66}},
	{Layer{64, 64, 128, 256, 128, 3, 3}, Seconds{0.042, 0.0412, 0.00082, 0.53}},
	{Layer{32, 32, 256, 512, 256, 3, 3}, Seconds{0.023, 0.0377, 0.00208, 0.47}},
	{Layer{16, 16, 512, 512, 512, 3, 3}, Seconds{0.011, 0.0437, 0.01194, 0.22}},
	{Layer{128, 128, 64, 128, 32, 3, 3}, Seconds{0.360, 0.0939, 0.00021, 0.67}},
	{Layer{64, 64, 128, 256, 32, 3, 3}, Seconds{0.044, 0.0425, 0.00076, 0.55}},
	{Layer{32, 32, 256, 512, 32, 3, 3}, Seconds{0.023, 0.0374, 0.00204, 0.46}},
	{Layer{16, 16, 512, 512, 32, 3, 3}, Seconds{0.011, 0.0421, 0.01180, 0.22}},
	{Layer{256, 256, 3, 64, 1, 3, 5}, Seconds{0.030, 0.0046, 0.00029, 0.49}},
	{Layer{128, 128, 64, 128, 1, 3, 5}, Seconds{0.153, 0.1284, 0.01901, 0.66}},
	{Layer{256, 256, 3, 64, 1, 7, 3}, Seconds{0.338, 0.1111, 0.00107, 0.69}},
	{Layer{256, 256, 3, 64, 1, 7, 5}, Seconds{0.180, 0.0408, 0.00107, 0.69}},
	{Layer{256, 256, 3, 64, 1, 7, 7}, Seconds{0.063, 0.0210, 0.00104, 0.70}},
	{Layer{256, 256, 3, 64, 1, 11, 3}, Seconds{0.681, 0.4810, 0.00479, 0.99}},
	{Layer{256, 256, 3, 64, 1, 11, 5}, Seconds{0.315, 0.1909, 0.00488, 1.00}},
	{Layer{256, 256, 3, 64, 1, 11, 7}, Seconds{0.199, 0.1022, 0.00494, 0.99}},
	{Layer{256, 256, 3, 64, 1, 11, 11}, Seconds{0.069, 0.0420, 0.00496, 1.00}},
}

// PaperLayer is the index in Table3 of the layer the other experiments
// use (128×128, 64→128, k 3, S 3: the layer of the README's benchmarks).
const PaperLayer = 1

// Work is a row's useful work per component, for the roofline: flops
// (a multiply-add counts 2) and compulsory memory traffic in bytes.
type Work struct {
	Im2colBytes          float64 // the im2col matrix written, and as much input read
	CovFlops, CovBytes   float64 // the upper triangle of XᵀX per group; input read, covariances written
	InvFlops, InvBytes   float64 // 3 full products per iteration (the reference's count); matrices in and out
	ConvFlops, ConvBytes float64 // 2·N·Cout·H·W·(Cin/Groups)·k²; input, output and weights
	Features, Matrices   int     // the covariances' size and count
}
