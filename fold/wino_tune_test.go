package fold

import (
	"fmt"
	"syscall"
	"math/rand/v2"
	"testing"
)

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

func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
