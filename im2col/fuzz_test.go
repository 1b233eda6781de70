package im2col

import (
	"github.com/netdeconv/deconv"
	"math"
	"testing"
)

// FuzzParams feeds arbitrary parameters to NewPlan, which must never panic;
// whenever it accepts them and the sizes are small, both transforms must
// run and agree with the naive reference.
func FuzzParams(f *testing.F) {
	f.Add(1, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, uint8(0))
	f.Add(2, 3, 7, 4, 1, 1, 2, 2, 0, 0, 1, 1, 3, true, uint8(0))
	f.Add(1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 9, false, uint8(1))
	f.Add(1, 1, 3, 3, 2, 2, 0, 0, 5, 5, 3, 3, 2, false, uint8(1))
	f.Add(math.MaxInt, math.MaxInt, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, false, uint8(0))
	f.Add(1, 1, 4, 4, 1, 1, math.MaxInt, math.MaxInt, math.MaxInt/2-8, 0, math.MaxInt, 1, math.MaxInt, false, uint8(0))
	f.Fuzz(func(t *testing.T, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, s int, flat bool, layout uint8) {
		p := Params{Batch: n, Channels: c, Height: h, Width: w,
			Sampling: s, FlatSampling: flat, Layout: Layout(layout % 3),
			Geometry: deconv.Geometry{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, DilationH: dh, DilationW: dw},
		}
		pl, err := NewPlan(p)
		if err != nil {
			return
		}
		if pl.DstLen() < 0 || pl.SrcLen() <= 0 || pl.DstLen() != pl.NumRows()*pl.Cols() {
			t.Fatalf("%+v: inconsistent sizes src %d dst %d rows %d cols %d", p, pl.SrcLen(), pl.DstLen(), pl.NumRows(), pl.Cols())
		}
		if pl.SrcLen() > 1<<14 || pl.DstLen() > 1<<16 {
			return
		}
		src := make([]float64, pl.SrcLen())
		for i := range src {
			src[i] = float64(i%7) - 3
		}
		want := refLayout(pl, refIm2col(pl.Params(), src))
		got := make([]float64, pl.DstLen())
		if err := Im2col(pl, got, src); err != nil {
			t.Fatal(err)
		}
		if j := firstDiff(got, want); j >= 0 || len(want) != len(got) {
			t.Fatalf("%+v: element %d differs", p, j)
		}
		back := make([]float64, pl.SrcLen())
		if err := Col2im(pl, back, got); err != nil {
			t.Fatal(err)
		}
	})
}
