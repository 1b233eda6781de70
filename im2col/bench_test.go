package im2col

import (
	"fmt"
	"github.com/netdeconv/deconv/internal/gather"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
)

// paperParams is the benchmark shape held side by side with PyTorch:
// F.unfold(x, 3, padding=1, stride=3) for x of 32×64×128×128.
var paperParams = Params{Batch: 32, Channels: 64, Height: 128, Width: 128, Layout: Unfold,
	Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1, StrideH: 3, StrideW: 3},
}

func benchIm2col(b *testing.B, p Params, fam isa.Family) {
	pl, err := newPlan(p, fam)
	if err != nil {
		b.Fatal(err)
	}
	src := make([]float32, pl.SrcLen())
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range src {
		src[i] = rng.Float32()
	}
	dst := make([]float32, pl.DstLen())
	// Bytes moved: the input read once and the output written once.
	b.SetBytes(int64(4 * (pl.SrcLen() + pl.DstLen())))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Im2col(pl, dst, src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPaperIm2col: float32 x 32×64×128×128, kernel 3, padding 1,
// stride 3, unfold layout, output preallocated, the selected kernel family.
func BenchmarkPaperIm2col(b *testing.B) { benchIm2col(b, paperParams, isa.Selected()) }

// BenchmarkIm2colFamily runs the paper shape on each family, and the rows
// layout, for comparing the kernel paths.
func BenchmarkIm2colFamily(b *testing.B) {
	for _, fam := range isa.Available() {
		for _, layout := range []Layout{Unfold, Rows} {
			p := paperParams
			p.Layout = layout
			b.Run(fam.String()+"/"+layout.String(), func(b *testing.B) { benchIm2col(b, p, fam) })
		}
	}
}

// BenchmarkIm2colSmall compares, on small planes in the Unfold layout
// (Table 3's small rows: batch 8, 3×3, padding 1), the offset-table path
// with the strided path it replaces, one family at a time: the evidence
// for maxTableOutputs.
func BenchmarkIm2colSmall(b *testing.B) {
	for _, s := range []struct{ side, channels, sampling int }{
		{8, 512, 3}, {16, 512, 3}, {32, 256, 3}, {64, 128, 3}, {28, 64, 1}, {64, 64, 3}, {40, 64, 1}, {64, 32, 1}, {128, 64, 3},
	} {
		p := Params{Batch: 8, Channels: s.channels, Height: s.side, Width: s.side, Sampling: s.sampling, Layout: Unfold,
			Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
		for _, fam := range isa.Available() {
			for _, path := range []string{"table", "strided"} {
				name := fmt.Sprintf("%dx%d_c%d_s%d/%v/%s", s.side, s.side, s.channels, s.sampling, fam, path)
				b.Run(name, func(b *testing.B) {
					pl, err := newPlan(p, fam)
					if err != nil {
						b.Fatal(err)
					}
					tab := pl.unfoldTab()
					if path == "strided" {
						tab = nil
					} else if tab == nil {
						tab = forceTable(pl)
					}
					pl.table = tab
					src := make([]float32, pl.SrcLen())
					dst := make([]float32, pl.DstLen())
					b.SetBytes(int64(4 * (pl.SrcLen() + pl.DstLen())))
					for range b.N {
						if err := Im2col(pl, dst, src); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// forceTable builds the offset table of a plan above the size rule.
func forceTable(pl *Plan) *gather.Table { return buildTable(pl) }
