package cov

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/cputime"
)

// groupedRows are the grouped layers of the paper's Table 3 (3×3 kernel,
// padding 1, sampling stride 3): height = width, input channels, groups.
var groupedRows = []struct{ hw, c, groups int }{
	{64, 128, 2}, {32, 256, 4}, {16, 512, 8},
	{128, 64, 64}, {64, 128, 128}, {32, 256, 256}, {16, 512, 512},
	{128, 64, 32}, {64, 128, 32}, {32, 256, 32}, {16, 512, 32},
}

// BenchmarkCovGrouped: float32 statistics of the grouped Table 3 layers at
// batch 8 (the comparison bench/compare.py runs against PyTorch's recipe,
// unfold and baddbmm over the groups).
func BenchmarkCovGrouped(b *testing.B) {
	const batch = 8
	for _, r := range groupedRows {
		b.Run(fmt.Sprintf("%dx%d_c%d_g%d", r.hw, r.hw, r.c, r.groups), func(b *testing.B) {
			pl, err := NewPlan(Params{
				Batch: batch, Channels: r.c, Height: r.hw, Width: r.hw, Sampling: 3, Groups: r.groups, Eps: 1e-5,
				Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1},
			})
			if err != nil {
				b.Fatal(err)
			}
			hw := r.hw * r.hw
			rng := rand.New(rand.NewPCG(uint64(r.c), uint64(r.groups)))
			x := make([]float32, batch*r.c*hw)
			for i := 0; i < len(x); i += hw {
				off := float32(rng.Float64() - 0.5)
				for j := i; j < i+hw; j++ {
					x[j] = off + rng.Float32()
				}
			}
			mean, c := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
			testForceDense = os.Getenv("COV_DENSE") != ""
			defer func() { testForceDense = false }()
			t0 := cputime.Process()
			for b.Loop() {
				if err := Compute(pl, mean, c, x); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, t0)
		})
	}
}
