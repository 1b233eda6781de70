package fold

import (
	"fmt"
	"syscall"

	"github.com/netdeconv/deconv"
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
			t0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if err := c.Forward(dst, x, n, paperH, paperW); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-t0)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkGroupedTune: the grouped rows by the direct path, ConvAuto and
// Winograd.
func BenchmarkGroupedTune(b *testing.B) {
	const n = 8
	for _, r := range groupedRows {
		for _, alg := range []ConvAlgorithm{ConvDirect, ConvAuto, ConvWinograd} {
			g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups, Algorithm: alg,
				Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
			wt := make([]float32, g.WeightLen())
			for i := range wt {
				wt[i] = float32(i%7) - 3
			}
			c, err := NewConv2d(g, wt, nil)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, n*r.cin*r.h*r.h)
			dst := make([]float32, n*r.cout*r.h*r.h)
			b.Run(r.name+"/"+alg.String(), func(b *testing.B) {
				t0 := cpuTime()
				for i := 0; i < b.N; i++ {
					if err := c.Forward(dst, x, n, r.h, r.h); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-t0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}

// BenchmarkDenseTune: dense 3×3 layers at batch 8 by the direct path and
// Winograd, from 8×8 to 64×64.
func BenchmarkDenseTune(b *testing.B) {
	const n = 8
	for _, r := range []struct {
		name         string
		h, cin, cout int
	}{
		{"32_64-64", 32, 64, 64}, {"64_64-128", 64, 64, 128}, {"32_128-256", 32, 128, 256},
		{"16_256-512", 16, 256, 512}, {"16_32-32", 16, 32, 32}, {"8_64-64", 8, 64, 64},
	} {
		for _, alg := range []ConvAlgorithm{ConvDirect, ConvWinograd} {
			g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Algorithm: alg,
				Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
			wt := make([]float32, g.WeightLen())
			c, _ := NewConv2d(g, wt, nil)
			x := make([]float32, n*r.cin*r.h*r.h)
			dst := make([]float32, n*r.cout*r.h*r.h)
			b.Run(r.name+"/"+alg.String(), func(b *testing.B) {
				t0 := cpuTime()
				for i := 0; i < b.N; i++ {
					c.Forward(dst, x, n, r.h, r.h)
				}
				b.ReportMetric(float64(cpuTime()-t0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}

// BenchmarkTapsTune: the grouped rows with the taps path limited to 0
// (never), 8 and 64 input channels per group.
func BenchmarkTapsTune(b *testing.B) {
	const n = 8
	for _, r := range groupedRows {
		for _, lim := range []int{0, 8, 64} {
			g := ConvGeom{InChannels: r.cin, OutChannels: r.cout, Groups: r.groups,
				Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
			wt := make([]float32, g.WeightLen())
			c, _ := NewConv2d(g, wt, nil)
			x := make([]float32, n*r.cin*r.h*r.h)
			dst := make([]float32, n*r.cout*r.h*r.h)
			b.Run(fmt.Sprint(r.name, "/", lim), func(b *testing.B) {
				tapsMaxChannels = lim
				defer func() { tapsMaxChannels = 16 }()
				t0 := cpuTime()
				for i := 0; i < b.N; i++ {
					c.Forward(dst, x, n, r.h, r.h)
				}
				b.ReportMetric(float64(cpuTime()-t0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}
