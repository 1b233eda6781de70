package winograd

import (
	"testing"

	"github.com/netdeconv/deconv/internal/gather"
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

// BenchmarkGatherInput runs stages 1 and 2 of one work item of the paper
// layer (64 channels of a 128×128 image, padding 1, three rows of 32
// tiles) three ways on one thread: Gather and the Kronecker GEMM, Gather
// and the separable kernel, and the fused GatherInput; the metric is
// nanoseconds per tile and channel.
func BenchmarkGatherInput(b *testing.B) {
	const c, h, w, th, tw, rows, ld, rs = 64, 128, 128, 32, 32, 3, 96, 6160
	nt := rows * tw
	x := make([]float32, c*h*w)
	for i := range x {
		x[i] = float32(i%13) - 6
	}
	buf1, buf2 := make([]float32, 36*rs), make([]float32, 36*rs)
	band := make([]float32, BandLen(F43, tw))
	fam := isa.Selected()
	strided := gather.Strided2DFor[float32](fam)
	kin := InputMatrix[float32](F43)
	per := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c*nt), "ns/tile")
	}
	b.Run("gather+kronecker", func(b *testing.B) {
		for b.Loop() {
			Gather(F43, buf1, rs, ld, x, c, h, w, 1, 1, th, tw, 0, rows, band, strided)
			if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, 36, c*ld, 36, 1, kin, 36, buf1, rs, 0, buf2, rs); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
	b.Run("gather+kernel", func(b *testing.B) {
		for b.Loop() {
			Gather(F43, buf1, rs, ld, x, c, h, w, 1, 1, th, tw, 0, rows, band, strided)
			if !InputTransform(fam, F43, buf2, buf1, rs, c, ld, nt) {
				b.Skip("no input-transform kernel for the selected family")
			}
		}
		per(b)
	})
	b.Run("fused", func(b *testing.B) {
		for b.Loop() {
			if done, _ := GatherInput(fam, F43, buf2, rs, ld, x, c, h, w, 1, 1, th, tw, 0, rows, band); !done {
				b.Skip("no fused kernel for the selected family")
			}
		}
		per(b)
	})
}
