package cov

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/im2col"
)

// TestBackwardHugeGeometryAgreesWithCol2im: for paddings, strides and
// dilations around 2³¹ and 2⁶² on tiny images, Backward's gradient is
// im2col.Col2im of the rows' gradients dmean/n + (dcov + dcovᵀ)(x_r − μ)/n
// computed from im2col's rows: the backward is the adjoint of the same
// gather, and no offset arithmetic wraps.
func TestBackwardHugeGeometryAgreesWithCol2im(t *testing.T) {
	done := 0
	for _, big := range []int{1<<31 - 1, 1 << 31, 1<<32 + 3, 1<<62 - 1, 1 << 62, math.MaxInt / 2, math.MaxInt} {
		for _, g := range []deconv.Geometry{
			{KernelH: 2, KernelW: 3, PadH: big, PadW: big, StrideH: big, StrideW: big},
			{KernelH: 2, KernelW: 2, PadH: big / 2, PadW: 1, DilationH: big, StrideH: big},
			{KernelH: 3, KernelW: 2, PadH: big / 3, PadW: big / 4, DilationH: big / 3, DilationW: big / 4, StrideH: big / 2, StrideW: big / 3},
			{KernelH: 2, KernelW: 2, PadH: 1, PadW: big/2 - 3, StrideW: big / 2, DilationW: 3},
			{KernelH: 2, KernelW: 2, PadW: 1<<62 - 2, StrideW: math.MaxInt - big%1000},
			{KernelH: 2, KernelW: 3, PadH: 1<<62 - 2, StrideH: math.MaxInt - big%1000, PadW: 1<<62 - 3, StrideW: 1 << 62},
			{KernelH: 3, KernelW: 1, PadH: big / 2, DilationH: big / 4}, // overlapping windows, huge extent
		} {
			p := Params{Batch: 2, Channels: 2, Height: 3, Width: 2, Block: 2, Workers: 2, Geometry: g}
			pl, err := NewPlan(p)
			if err != nil {
				continue // TestHugeGeometryAgreesWithIm2col checks the refusals
			}
			ipl, err := im2col.NewPlan(im2col.Params{Batch: 2, Channels: 2, Height: 3, Width: 2, Geometry: g})
			if err != nil {
				t.Fatalf("%+v: im2col refuses what cov accepts: %v", g, err)
			}
			if ipl.DstLen() > 1<<16 {
				continue
			}
			done++
			x := make([]float64, pl.SrcLen())
			for i := range x {
				x[i] = float64(i%5) + 0.25*float64(i)
			}
			mean, c := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
			if err := Compute(pl, mean, c, x); err != nil {
				t.Fatalf("%+v: %v", g, err)
			}
			F := pl.Features()
			dmean, dcov := make([]float64, F), make([]float64, F*F)
			for i := range dmean {
				dmean[i] = float64(i%3) - 0.5
			}
			for i := range dcov {
				dcov[i] = float64(i%7) - 3
			}
			rows := make([]float64, ipl.DstLen())
			if err := im2col.Im2col(ipl, rows, x); err != nil {
				t.Fatal(err)
			}
			n := float64(ipl.NumRows())
			grows := make([]float64, len(rows))
			for r := 0; r < ipl.NumRows(); r++ {
				for a := 0; a < F; a++ {
					v := dmean[a] / n
					for b := 0; b < F; b++ {
						v += (dcov[a*F+b] + dcov[b*F+a]) * (rows[r*F+b] - mean[b]) / n
					}
					grows[r*F+a] = v
				}
			}
			want := make([]float64, pl.SrcLen())
			if err := im2col.Col2im(ipl, want, grows); err != nil {
				t.Fatal(err)
			}
			dx := make([]float64, pl.SrcLen())
			if err := Backward(pl, dx, dmean, dcov, x, mean); err != nil {
				t.Fatalf("%+v: %v", g, err)
			}
			if e := gradErr(dx, want); !(e <= 1e-12) {
				t.Fatalf("%+v: gradient differs from Col2im of the rows' gradients: relative error %g", g, e)
			}
		}
	}
	if done < 10 {
		t.Errorf("only %d geometries were checked", done)
	}
}

// FuzzBackward builds plans from arbitrary rectangular geometry; every
// valid one's gradient, in float64 and float32, must agree with the
// oracle's (see checkBackward).
func FuzzBackward(f *testing.F) {
	f.Add(uint64(1), 2, 4, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, false)
	f.Add(uint64(2), 1, 6, 5, 5, 1, 1, 2, 2, 0, 0, 1, 1, 3, 3, 4, 2, true)
	f.Add(uint64(3), 1, 4, 3, 9, 3, 1, 1, 2, 2, 0, 2, 1, 4, 1, 1, 3, false)
	f.Add(uint64(4), 3, 2, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, false)
	f.Fuzz(func(t *testing.T, seed uint64, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, groups, samp, block, workers int, contiguous bool) {
		p := Params{Batch: n, Channels: c, Height: h, Width: w, Groups: groups, Sampling: samp, Block: block, Workers: workers % 5,
			Geometry: deconv.Geometry{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, DilationH: dh, DilationW: dw},
		}
		if contiguous {
			p.Grouping = deconv.Contiguous
		}
		pl, err := NewPlan(p)
		if err != nil {
			mustBeSentinel(t, p, err)
			return
		}
		if pl.SrcLen() > 1<<12 || pl.Rows()*pl.CovLen() > 1<<20 {
			return // keep each case fast
		}
		checkBackward(t, bwdCase{name: "fuzz", pl: pl, idx: oracleConvIndex(p), hw: h * w,
			values: func(x []float64) [][][]float64 { return oracleConvRows(p, x) }}, rand.New(rand.NewPCG(seed, 2)))
	})
}
