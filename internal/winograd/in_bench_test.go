package winograd

import (
	"testing"

	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
)

// BenchmarkInputTransform transforms one work item of the paper layer's
// Winograd path (64 channels of 96 tiles, the span fold gives a 128×128
// image) by the separable kernel and by the Kronecker GEMM it replaces,
// on one thread; the metric is nanoseconds per tile and channel.
func BenchmarkInputTransform(b *testing.B) {
	const c, nt, ld, rs = 64, 96, 96, 6160
	src := make([]float32, 36*rs)
	for i := range src {
		src[i] = float32(i%13) - 6
	}
	dst := make([]float32, len(src))
	per := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c*nt), "ns/tile")
	}
	b.Run("kernel", func(b *testing.B) {
		if !InputTransform(isa.Selected(), F43, dst, src, rs, c, ld, nt) {
			b.Skip("no input-transform kernel for the selected family")
		}
		b.SetBytes(2 * 36 * c * nt * 4)
		for b.Loop() {
			InputTransform(isa.Selected(), F43, dst, src, rs, c, ld, nt)
		}
		per(b)
	})
	b.Run("kronecker", func(b *testing.B) {
		b.SetBytes(2 * 36 * c * nt * 4)
		kin := InputMatrix[float32](F43)
		for b.Loop() {
			if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, 36, c*ld, 36, 1, kin, 36, src, rs, 0, dst, rs); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
}
