package fold

import (
	"fmt"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gemm"
)

// BenchmarkWinogradProducts is stage 3 of one work item of the paper's
// layer (64 → 128 channels, 96 tiles, 36 positions), side by side in one
// process: the products with the tiles innermost, as the path runs them,
// with the filters' rows filterStride apart (filter-stride) or 512 bytes
// apart (stride-512), and the transposed orientation, tiles × channels
// (tiles-outer), which the path ran before the output kernel. The
// CPU time per call (cpu-us/op) is what a loaded machine distorts least.
func BenchmarkWinogradProducts(b *testing.B) {
	const cg, coutg, nt = 64, 128, 96
	ld := padStride[float32](nt)
	rsIn := padStride[float32](cg * ld)
	ldu := filterStride[float32](coutg)
	rsOut := padStride[float32](coutg * ld)
	v := make([]float32, 36*rsIn)
	u := make([]float32, 36*cg*ldu+gemm.SmallSlack)
	m := make([]float32, 36*rsOut)
	for i := range v {
		v[i] = float32(i%7) * 0.1
	}
	for i := range u {
		u[i] = float32(i%5) * 0.1
	}
	run := func(b *testing.B, f func(xi int) error) {
		t0 := cpuTime()
		for i := 0; i < b.N; i++ {
			for xi := 0; xi < 36; xi++ {
				if err := f(xi); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(cpuTime()-t0)/float64(b.N)/1e3, "cpu-us/op")
	}
	for _, s := range []struct {
		name string
		ldu  int
	}{{"filter-stride", ldu}, {"stride-512", 128}} {
		b.Run(s.name, func(b *testing.B) {
			run(b, func(xi int) error {
				return gemm.GemmDense(1, gemm.Trans, gemm.NoTrans, coutg, nt, cg, 1, u[xi*cg*s.ldu:], s.ldu, v[xi*rsIn:], ld, 0, m[xi*rsOut:], ld)
			})
		})
	}
	b.Run("tiles-outer", func(b *testing.B) {
		ldm := padStride[float32](coutg)
		run(b, func(xi int) error {
			return gemm.GemmDense(1, gemm.Trans, gemm.NoTrans, nt, coutg, cg, 1, v[xi*rsIn:], ld, u[xi*cg*ldu:], ldu, 0, m[xi*nt*ldm:], ldm)
		})
	})
}

// BenchmarkWinogradGroupedRule: grouped layers around the bounds of
// useWinogradGrouped (winogradGroupMinChannels, winogradGroupWide,
// winogradGroupNarrowMinOut) by ConvAuto, the direct, the blocked and the
// Winograd path, at batch 8 (CPU time per call). Table 3's grouped rows
// are in BenchmarkBlockedTune.
func BenchmarkWinogradGroupedRule(b *testing.B) {
	benchAlgorithms(b, 8, []benchLayer{
		{"32x32_256-256_g4", 32, 256, 256, 4}, {"32x32_128-128_g2", 32, 128, 128, 2},
		{"32x32_512-512_g16", 32, 512, 512, 16}, {"32x32_256-512_g8", 32, 256, 512, 8},
		{"32x32_64-64_g2", 32, 64, 64, 2}, {"64x64_128-128_g4", 64, 128, 128, 4},
		{"64x64_64-64_g2", 64, 64, 64, 2}, {"64x64_128-256_g4", 64, 128, 256, 4},
		{"128x128_64-128_g2", 128, 64, 128, 2},
	}, ConvAuto, ConvDirect, ConvBlocked, ConvWinograd)
}

// BenchmarkWinogradGroupedBudget: the Winograd path of grouped layers
// (Table 3's rows 04 and 03, and 32→32 channels per group at 64×64) with
// several budgets of a work item's buffers (winoGroupBudget), at batch 8
// (CPU time per call).
func BenchmarkWinogradGroupedBudget(b *testing.B) {
	const n = 8
	for _, r := range []struct {
		name                 string
		h, cin, cout, groups int
	}{
		{"32x32_256-512_g4", 32, 256, 512, 4}, {"64x64_128-256_g2", 64, 128, 256, 2}, {"64x64_128-128_g4", 64, 128, 128, 4},
	} {
		g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups, Algorithm: ConvWinograd,
			Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
		c, dst, x := newBenchConv(b, g, n, r.h, r.h)
		for _, budget := range []int{1 << 18, 3 << 17, 1 << 19, 1 << 20, 1 << 21} {
			b.Run(fmt.Sprint(r.name, "/", budget), func(b *testing.B) {
				prev := winoGroupBudget
				winoGroupBudget = budget
				defer func() { winoGroupBudget = prev }()
				benchConvCPU(b, c, dst, x, n, r.h, r.h)
			})
		}
	}
}
