package paper

import (
	"flag"
	"fmt"
	"runtime"
	"testing"
)

// table3BatchDefault is the batch of BenchmarkTable3: the batch at which
// the components are compared with PyTorch's (bench/compare.py table3).
const table3BatchDefault = 8

// table3Batch overrides the batch of BenchmarkTable3, so that the test
// of its names can run every row in moments.
var table3Batch = flag.Int("table3.batch", table3BatchDefault, "batch of BenchmarkTable3")

// table3Shrink divides the rows' height and width (down to 8) in
// BenchmarkTable3, for the same test: 1 (the default) keeps the paper's.
var table3Shrink = flag.Int("table3.shrink", 1, "divisor of BenchmarkTable3's heights and widths (tests only)")

// table3Components are the sub-benchmarks of one row, in order, with the
// LayerBench method each times.
var table3Components = []struct {
	name string
	run  func(*LayerBench) error
}{
	{"im2col", (*LayerBench).Im2col},
	{"cov", (*LayerBench).Cov},
	{"inv", (*LayerBench).Inv},
	{"conv", (*LayerBench).Conv},
}

// BenchmarkTable3 times every row of the paper's Table 3 at batch 8, one
// sub-benchmark per component: row=NN/im2col (F.unfold's matrix),
// row=NN/cov (mean and covariances, im2col fused), row=NN/inv (5 coupled
// Newton–Schulz iterations, batched over the groups) and row=NN/conv (the
// convolution, grouped as the row is), NN the row's number from 01. Only
// one row's data exist at a time: a row's setup runs when its name
// matches -bench, outside the timer, and is garbage once the row is done.
func BenchmarkTable3(b *testing.B) {
	for i, row := range Table3 {
		b.Run(fmt.Sprintf("row=%02d", i+1), func(b *testing.B) {
			l := row.Layer
			if *table3Shrink > 1 {
				l.H, l.W = max(l.H / *table3Shrink, 8), max(l.W / *table3Shrink, 8)
			}
			lb, err := NewLayerBench(l, *table3Batch, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer runtime.GC() // the next row allocates its own
			for _, c := range table3Components {
				b.Run(c.name, func(b *testing.B) {
					// Inv needs a covariance; the other components
					// get a warm cache from the same call.
					if err := lb.Cov(); err != nil {
						b.Fatal(err)
					}
					if err := c.run(lb); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						if err := c.run(lb); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// scalingWorkers are BenchmarkScaling's worker counts at the smallest
// of ScalingBatches.
var scalingWorkers = []int{1, 2}

// BenchmarkScaling times one training-mode forward of the paper's layer
// (TrainForward, 128×128) at batch 8 with 1 and 2 workers
// (workers=W/batch=8), and at batches 8, 16 and 32 with every core
// (workers=0/batch=N): parallel efficiency is time(1)/(2·time(2)), and the
// cost should grow in proportion to the batch.
func BenchmarkScaling(b *testing.B) {
	defer SetThreads(0)
	run := func(workers, batch int) {
		b.Run(fmt.Sprintf("workers=%d/batch=%d", workers, batch), func(b *testing.B) {
			if err := SetThreads(workers); err != nil {
				b.Fatal(err)
			}
			f, flops, err := TrainForward(batch, 128)
			if err != nil {
				b.Fatal(err)
			}
			defer runtime.GC()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "convGFLOP/s")
		})
	}
	for _, w := range scalingWorkers {
		run(w, ScalingBatches[0])
	}
	for _, n := range ScalingBatches {
		run(0, n)
	}
}
