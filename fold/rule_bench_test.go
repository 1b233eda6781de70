package fold

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/cputime"
	"math/rand/v2"
	"testing"
)

// The benchmarks behind ConvAuto's rule: each path on the same shapes in
// one process, reporting the process's CPU time per call (cpu-ms/op)
// beside the wall time, since the CPU time is what a loaded machine
// distorts least.

// BenchmarkWinoTune: the direct path (0) and Winograd with several work
// item budgets on the paper layer at batch 4.
func BenchmarkWinoTune(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 4
	wt := make([]float32, paperGeom.WeightLen())
	for i := range wt {
		wt[i] = rng.Float32() - 0.5
	}
	bias := make([]float32, paperGeom.OutChannels)
	x := paperInput()[:n*64*paperH*paperW]
	dst := make([]float32, n*128*paperH*paperW)
	for _, budget := range []int{0, 1 << 17, 1 << 18, 1 << 19, 1 << 20} {
		g := paperGeom
		g.Algorithm = ConvWinograd
		if budget == 0 {
			g.Algorithm = ConvDirect
		}
		c, _ := NewConv2d(g, wt, bias)
		b.Run(fmt.Sprint(budget), func(b *testing.B) {
			winoBudget = max(budget, 1<<16)
			defer func() { winoBudget = 1 << 19 }()
			benchConvCPU(b, c, dst, x, n, paperH, paperW)
		})
	}
}

// cpuTime returns the process's user and system CPU time.
var cpuTime = cputime.Process

// newBenchConv returns the float32 layer of g with the weights i%7−3 (no
// bias), as the tuning benchmarks run it, and zeroed output and input
// buffers for a batch of n h×w images.
func newBenchConv(b *testing.B, g ConvGeom, n, h, w int) (c *Conv2d[float32], dst, x []float32) {
	b.Helper()
	wt := make([]float32, g.WeightLen())
	for i := range wt {
		wt[i] = float32(i%7) - 3
	}
	c, err := NewConv2d(g, wt, nil)
	if err != nil {
		b.Fatal(err)
	}
	dst, x = benchBuffers(b, g, n, h, w)
	return c, dst, x
}

// benchBuffers returns zeroed output and input buffers of g for a batch
// of n h×w images.
func benchBuffers(b *testing.B, g ConvGeom, n, h, w int) (dst, x []float32) {
	b.Helper()
	oh, ow, err := g.OutputSize(h, w)
	if err != nil {
		b.Fatal(err)
	}
	return make([]float32, n*g.OutChannels*oh*ow), make([]float32, n*g.InChannels*h*w)
}

// benchConvCPU runs c's forward of the batch of n h×w images x into dst
// b.N times and reports the process's CPU time per call (cpu-ms/op)
// beside the wall time.
func benchConvCPU(b *testing.B, c *Conv2d[float32], dst, x []float32, n, h, w int) {
	b.Helper()
	t0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := c.Forward(dst, x, n, h, w); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-t0)/float64(b.N)/1e6, "cpu-ms/op")
}

// benchLayer is one 3×3, padding-1 layer of the tuning benchmarks: h×h
// images, cin → cout channels in groups (0 or 1: dense).
type benchLayer struct {
	name                 string
	h, cin, cout, groups int
}

// benchAlgorithms times each layer by each algorithm at batch n
// (<layer>/<algorithm>, CPU time per call beside the wall time).
func benchAlgorithms(b *testing.B, n int, layers []benchLayer, algs ...ConvAlgorithm) {
	for _, r := range layers {
		for _, alg := range algs {
			g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups, Algorithm: alg,
				Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
			c, dst, x := newBenchConv(b, g, n, r.h, r.h)
			b.Run(r.name+"/"+alg.String(), func(b *testing.B) {
				benchConvCPU(b, c, dst, x, n, r.h, r.h)
			})
		}
	}
}

// BenchmarkGroupedTune: the grouped rows by the direct path, ConvAuto and
// Winograd.
func BenchmarkGroupedTune(b *testing.B) {
	benchAlgorithms(b, 8, groupedRows, ConvDirect, ConvAuto, ConvWinograd)
}

// BenchmarkDenseTune: dense 3×3 layers at batch 8 by the direct path and
// Winograd, from 8×8 to 64×64.
func BenchmarkDenseTune(b *testing.B) {
	benchAlgorithms(b, 8, []benchLayer{
		{"32_64-64", 32, 64, 64, 1}, {"64_64-128", 64, 64, 128, 1}, {"32_128-256", 32, 128, 256, 1},
		{"16_256-512", 16, 256, 512, 1}, {"16_32-32", 16, 32, 32, 1}, {"8_64-64", 8, 64, 64, 1},
	}, ConvDirect, ConvWinograd)
}

// BenchmarkTapsTune: the grouped rows with the taps path limited to 0
// (never), 8 and 64 input channels per group.
func BenchmarkTapsTune(b *testing.B) {
	const n = 8
	for _, r := range groupedRows {
		for _, lim := range []int{0, 8, 64} {
			g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups,
				Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
			c, err := NewConv2d(g, make([]float32, g.WeightLen()), nil)
			if err != nil {
				b.Fatal(err)
			}
			dst, x := benchBuffers(b, g, n, r.h, r.h)
			b.Run(fmt.Sprint(r.name, "/", lim), func(b *testing.B) {
				tapsMaxChannels = lim
				defer func() { tapsMaxChannels = 16 }()
				benchConvCPU(b, c, dst, x, n, r.h, r.h)
			})
		}
	}
}

// BenchmarkBlockedTune: the grouped rows of Table 3 (and a few more
// channels per group and sizes) by the direct path, by ConvAuto
// without the blocked path (auto-unblocked: the Winograd path where its
// rules take it, which for grouped layers with the fused kernels, float32
// on AVX-512, is from 32 channels per group (useWinogradGrouped); else
// the taps path up to 16 channels per group, and the direct path above)
// and by the blocked path (with its rule's blocks of output channels,
// with blocks of 4 only: blocked-4x6, and of 8 wherever 8 remain:
// blocked-8x3, and without strips of rows: blocked-unstriped), by the
// Winograd path and by ConvAuto, for the blocked and the Winograd parts of
// ConvAuto's rule, blockedWideMaxChannels and blockedStripRows.
func BenchmarkBlockedTune(b *testing.B) {
	const n = 8
	type row = benchLayer
	rows := append(append([]row(nil), groupedRows...),
		row{"64x64_128-256_g32", 64, 128, 256, 32}, row{"32x32_256-256_g8", 32, 256, 256, 8},
		row{"128x128_64-128_g32", 128, 64, 128, 32}, row{"32x32_256-256_g64", 32, 256, 256, 64},
		row{"64x64_128-256_g2", 64, 128, 256, 2}, row{"16x16_256-512_g1", 16, 256, 512, 1},
		row{"32x32_64-64_g1", 32, 64, 64, 1}, row{"16x16_32-32_g1", 16, 32, 32, 1}, row{"8x8_64-64_g1", 8, 64, 64, 1},
		// Near and past the rule's upper bound (blockedMaxChannels) and
		// large planes (blockedStripRows).
		row{"56x56_512-512_g2", 56, 512, 512, 2}, row{"32x32_256-256_g2", 32, 256, 256, 2},
		row{"16x16_512-512_g4", 16, 512, 512, 4}, row{"256x256_32-64_g8", 256, 32, 64, 8},
		row{"56x56_256-256_g2", 56, 256, 256, 2}, row{"16x16_512-512_g2", 16, 512, 512, 2})
	for _, r := range rows {
		for _, path := range []string{"auto", "direct", "auto-unblocked", "blocked", "blocked-4x6", "blocked-8x3", "blocked-unstriped", "winograd"} {
			g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups,
				Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
			switch path {
			case "direct":
				g.Algorithm = ConvDirect
			case "blocked", "blocked-4x6", "blocked-8x3", "blocked-unstriped":
				g.Algorithm = ConvBlocked
			case "winograd":
				g.Algorithm = ConvWinograd
			}
			c, dst, x := newBenchConv(b, g, n, r.h, r.h)
			b.Run(r.name+"/"+path, func(b *testing.B) {
				setBlockedTuning(b, func(p *blockedTuning) {
					switch path {
					case "auto-unblocked":
						p.minChannels = 1 << 30
					case "blocked-4x6":
						p.wideMaxChannels = 0
					case "blocked-8x3":
						p.wideMaxChannels = math.MaxInt
					case "blocked-unstriped":
						p.stripRows = 0
					}
				})
				benchConvCPU(b, c, dst, x, n, r.h, r.h)
			})
		}
	}
}

// BenchmarkBlockedChunk: the blocked path on one worker with the input
// channels of a pass bounded by several byte budgets (0: no bound), on
// the grouped rows of 64 and 16 channels per group, with blocks of 4 and
// of 8 output channels, over whole planes (blockedChunkBytes, here
// whatever the input's size) and in strips of rows (blockedStripBytes,
// where an item has the rows for two strips).
func BenchmarkBlockedChunk(b *testing.B) {
	const n = 8
	for _, r := range groupedRows[:4] {
		g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups, Algorithm: ConvBlocked,
			Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
		c, dst, x := newBenchConv(b, g, n, r.h, r.h)
		c.Workers = 1
		for _, blk := range []struct {
			name string
			max  int
		}{{"4x6", 0}, {"8x3", math.MaxInt}} {
			for _, strip := range []int{0, blockedStripRows} {
				for _, budget := range []int{8 << 10, 16 << 10, 24 << 10, 0} {
					b.Run(fmt.Sprint(r.name, "/", blk.name, "/strips", strip, "/", budget), func(b *testing.B) {
						setBlockedTuning(b, func(p *blockedTuning) {
							p.chunkBytes, p.chunkAbove, p.wideMaxChannels = budget, 0, blk.max
							p.stripRows, p.stripBytes = strip, budget
							if budget == 0 {
								p.chunkBytes, p.stripBytes = 1<<40, 1<<40
							}
						})
						benchConvCPU(b, c, dst, x, n, r.h, r.h)
					})
				}
			}
		}
	}
}
