package winograd

import (
	"testing"

	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
)

// BenchmarkOutput is stage 4 of one work item of the paper's layer (128
// output channels, 3 rows of 32 tiles of a 128×128 output, the items
// walking through a batch of 8 images, 64 MiB, as in a layer): Output's
// kernel against the Kronecker GEMM and Scatter it replaces, side by side
// (sub-benchmarks kernel, kernel-stream with non-temporal stores, and
// gemm+scatter).
func BenchmarkOutput(b *testing.B) {
	tl := F43
	const n, cout, oh, ow, rows = 8, 128, 128, 128, 3
	th, tw := Tiles(tl, oh, ow)
	ld := rows * tw
	rs := cout*ld + 16
	y := make([]float32, 36*rs)
	for i := range y {
		y[i] = float32(i%13) * 0.25
	}
	yt := make([]float32, OutputRows(tl)*rs)
	dst := make([]float32, n*cout*oh*ow)
	bias := make([]float32, cout)
	// Consecutive items write consecutive tile rows, as in a layer.
	items := n * th / rows
	bytes := int64(cout * rows * 4 * ow * 4)
	for _, stream := range []bool{false, true} {
		name := "kernel"
		if stream {
			name = "kernel-stream"
		}
		b.Run(name, func(b *testing.B) {
			fam := isa.Selected()
			if !HasOutputKernel[float32](fam, tl) {
				b.Skip("no output kernel on this family")
			}
			b.SetBytes(bytes)
			for i := 0; i < b.N; i++ {
				r0 := i % items * rows
				Output(fam, tl, dst, y, rs, ld, bias, cout, oh, ow, th, tw, r0, r0+rows, stream)
			}
		})
	}
	b.Run("gemm+scatter", func(b *testing.B) {
		b.SetBytes(bytes)
		for i := 0; i < b.N; i++ {
			r0 := i % items * rows
			if err := gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, OutputRows(tl), cout*ld, 36, 1, OutputMatrix[float32](tl), 36, y, rs, 0, yt, rs); err != nil {
				b.Fatal(err)
			}
			Scatter(tl, dst, yt, rs, ld, 1, bias, cout, oh, ow, th, tw, r0, r0+rows)
		}
	})
}
