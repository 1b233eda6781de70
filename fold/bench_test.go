package fold

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
)

// The paper benchmarks' layer: x 32×64×128×128, conv 64→128, kernel 3,
// padding 1, stride 1, bias on.
var paperGeom = ConvGeom{InChannels: 64, OutChannels: 128, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}

const paperN, paperH, paperW = 32, 128, 128

func paperInput() []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, paperN*64*paperH*paperW)
	for i := range x {
		x[i] = rng.Float32() + float32(i/(paperH*paperW)%64)*0.01
	}
	return x
}

// paperLayer returns the FastDeconv of the paper benchmarks (block 64,
// sampling stride 3, 5 iterations) with random weights.
func paperLayer(b *testing.B) *FastDeconv[float32] {
	rng := rand.New(rand.NewPCG(3, 4))
	wt := make([]float32, paperGeom.WeightLen())
	for i := range wt {
		wt[i] = (rng.Float32() - 0.5) * 0.1
	}
	bias := make([]float32, paperGeom.OutChannels)
	for i := range bias {
		bias[i] = rng.Float32() - 0.5
	}
	cfg := NewFastDeconvConfig(64, 128, 3)
	cfg.PadH, cfg.PadW = 1, 1
	l, err := NewFastDeconv(cfg, wt, bias)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func reportConvRate(b *testing.B) {
	b.ReportMetric(2*float64(paperN*128*paperH*paperW*576)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkPaperFastDeconvTrain is one training-mode forward of the paper
// layer: statistics (fused im2col and covariance), 5 coupled Newton–Schulz
// iterations, the fold and the convolution. GFLOP/s counts the
// convolution's work only.
func BenchmarkPaperFastDeconvTrain(b *testing.B) {
	l := paperLayer(b)
	x := paperInput()
	dst := make([]float32, paperN*128*paperH*paperW)
	if err := l.Forward(dst, x, paperN, paperH, paperW); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Forward(dst, x, paperN, paperH, paperW); err != nil {
			b.Fatal(err)
		}
	}
	reportConvRate(b)
}

// BenchmarkPaperFastDeconvEval is one forward of the folded layer: a plain
// convolution with W' and b'.
func BenchmarkPaperFastDeconvEval(b *testing.B) {
	l := paperLayer(b)
	x := paperInput()
	dst := make([]float32, paperN*128*paperH*paperW)
	if err := l.Forward(dst, x, paperN, paperH, paperW); err != nil { // running statistics from one batch
		b.Fatal(err)
	}
	c, err := l.Folded()
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Forward(dst, x, paperN, paperH, paperW); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Forward(dst, x, paperN, paperH, paperW); err != nil {
			b.Fatal(err)
		}
	}
	reportConvRate(b)
}

func BenchmarkConv2dPaper(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	wt := make([]float32, paperGeom.WeightLen())
	for i := range wt {
		wt[i] = rng.Float32() - 0.5
	}
	bias := make([]float32, paperGeom.OutChannels)
	c, err := NewConv2d(paperGeom, wt, bias)
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput()
	dst := make([]float32, paperN*128*paperH*paperW)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Forward(dst, x, paperN, paperH, paperW); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(paperN*128*paperH*paperW*576)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkPaperFastDeconvTrainStep is one training step of the paper
// layer: the training forward (statistics, Newton–Schulz, fold,
// convolution) and the backward with every gradient (dx through the
// convolution, the mean and D; dW; db), for the loss ⟨y, g⟩ with a fixed
// g. GFLOP/s counts the three convolutions' work only (the forward's
// and the backward's two).
func BenchmarkPaperFastDeconvTrainStep(b *testing.B) {
	l := paperLayer(b)
	x := paperInput()
	dst := make([]float32, paperN*128*paperH*paperW)
	g := make([]float32, len(dst))
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range g {
		g[i] = rng.Float32() - 0.5
	}
	dx, dw, db := make([]float32, len(x)), make([]float32, paperGeom.WeightLen()), make([]float32, 128)
	step := func() {
		if err := l.Forward(dst, x, paperN, paperH, paperW); err != nil {
			b.Fatal(err)
		}
		if err := l.Backward(dx, dw, db, g, x, paperN, paperH, paperW); err != nil {
			b.Fatal(err)
		}
	}
	step()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(3*2*float64(paperN*128*paperH*paperW*576)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2dBackwardPaper is the convolution's backward alone (dx,
// dW and db) on the paper layer.
func BenchmarkConv2dBackwardPaper(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	wt := make([]float32, paperGeom.WeightLen())
	for i := range wt {
		wt[i] = rng.Float32() - 0.5
	}
	c, err := NewConv2d(paperGeom, wt, make([]float32, 128))
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput()
	dy := make([]float32, paperN*128*paperH*paperW)
	for i := range dy {
		dy[i] = rng.Float32() - 0.5
	}
	dx, dw, db := make([]float32, len(x)), make([]float32, len(wt)), make([]float32, 128)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Backward(dx, dw, db, dy, x, paperN, paperH, paperW); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(4*float64(paperN*128*paperH*paperW*576)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2dBackwardDWPaper is the paper layer's weight and bias
// gradients alone (dx not asked for), the share of the training step
// that the convolution's backward spends beside dx.
func BenchmarkConv2dBackwardDWPaper(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	wt := make([]float32, paperGeom.WeightLen())
	for i := range wt {
		wt[i] = rng.Float32() - 0.5
	}
	c, err := NewConv2d(paperGeom, wt, make([]float32, 128))
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput()
	dy := make([]float32, paperN*128*paperH*paperW)
	for i := range dy {
		dy[i] = rng.Float32() - 0.5
	}
	dw, db := make([]float32, len(wt)), make([]float32, 128)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Backward(nil, dw, db, dy, x, paperN, paperH, paperW); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(paperN*128*paperH*paperW*576)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2dPaperAlgorithms runs the paper layer's convolution by
// each path, side by side in one process.
func BenchmarkConv2dPaperAlgorithms(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	wt := make([]float32, paperGeom.WeightLen())
	for i := range wt {
		wt[i] = rng.Float32() - 0.5
	}
	bias := make([]float32, paperGeom.OutChannels)
	x := paperInput()
	dst := make([]float32, paperN*128*paperH*paperW)
	for _, alg := range []ConvAlgorithm{ConvDirect, ConvWinograd} {
		g := paperGeom
		g.Algorithm = alg
		c, err := NewConv2d(g, wt, bias)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := c.Forward(dst, x, paperN, paperH, paperW); err != nil {
					b.Fatal(err)
				}
			}
			reportConvRate(b)
		})
	}
}

// groupedRows are the grouped convolutions of the paper's Table 3 shapes
// (3×3, padding 1, batch 8), as bench/compare.py names them.
var groupedRows = []benchLayer{
	{"32x32_256-512_g4", 32, 256, 512, 4},
	{"16x16_512-512_g8", 16, 512, 512, 8},
	{"32x32_256-512_g32", 32, 256, 512, 32},
	{"16x16_512-512_g32", 16, 512, 512, 32},
	{"16x16_512-512_g512", 16, 512, 512, 512},
	{"32x32_256-512_g256", 32, 256, 512, 256},
	{"64x64_128-256_g128", 64, 128, 256, 128},
}

// BenchmarkGroupedConv is one forward of each grouped row at batch 8
// (ConvAuto's path).
func BenchmarkGroupedConv(b *testing.B) {
	const n = 8
	for _, r := range groupedRows {
		g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups,
			Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
		rng := rand.New(rand.NewPCG(uint64(r.h), uint64(r.groups)))
		wt := make([]float32, g.WeightLen())
		for i := range wt {
			wt[i] = rng.Float32() - 0.5
		}
		bias := make([]float32, r.cout)
		c, err := NewConv2d(g, wt, bias)
		if err != nil {
			b.Fatal(err)
		}
		x := make([]float32, n*r.cin*r.h*r.h)
		for i := range x {
			x[i] = rng.Float32()
		}
		dst := make([]float32, n*r.cout*r.h*r.h)
		b.Run(r.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := c.Forward(dst, x, n, r.h, r.h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConv2dFirstLayer is the direct path on the first layer of
// Table 3's 256×256 rows (3→64 channels, 7×7 and 11×11 kernels, padding
// k/2), at batch 2.
func BenchmarkConv2dFirstLayer(b *testing.B) {
	const n, h, w, cout = 2, 256, 256, 64
	for _, k := range []int{7, 11} {
		g := ConvGeom{InChannels: 3, OutChannels: cout, Geometry: deconv.Geometry{KernelH: k, KernelW: k, PadH: k / 2, PadW: k / 2}}
		rng := rand.New(rand.NewPCG(5, 6))
		wt := make([]float32, g.WeightLen())
		for i := range wt {
			wt[i] = rng.Float32() - 0.5
		}
		x := make([]float32, n*3*h*w)
		for i := range x {
			x[i] = rng.Float32()
		}
		c, err := NewConv2d(g, wt, make([]float32, cout))
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]float32, n*cout*h*w)
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			for b.Loop() {
				if err := c.Forward(dst, x, n, h, w); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(n*cout*h*w*g.Features())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}

}
