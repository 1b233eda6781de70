package im2col

import (
	"math/rand/v2"

	"github.com/netdeconv/deconv"
)

// refIm2col is the naive definition, one row per kept position, written
// from the formulas alone: no spans, no tiles, no strided kernels.
func refIm2col(p Params, src []float64) (rowsOut [][]float64) {
	st := func(v int) int {
		if v == 0 {
			return 1
		}
		return v
	}
	sh, sw := st(p.StrideH)*st(p.Sampling), st(p.StrideW)*st(p.Sampling)
	dh, dw := st(p.DilationH), st(p.DilationW)
	at := func(n, c, h, w int) float64 {
		if h < 0 || h >= p.Height || w < 0 || w >= p.Width {
			return 0
		}
		return src[((n*p.Channels+c)*p.Height+h)*p.Width+w]
	}
	if p.FlatSampling {
		step := sh * sh
		for q := 0; q < p.Batch*p.Height*p.Width; q += step {
			n, pix := q/(p.Height*p.Width), q%(p.Height*p.Width)
			row := make([]float64, p.Channels)
			for c := range row {
				row[c] = at(n, c, pix/p.Width, pix%p.Width)
			}
			rowsOut = append(rowsOut, row)
		}
		return rowsOut
	}
	outH := (p.Height+2*p.PadH-dh*(p.KernelH-1)-1)/sh + 1
	outW := (p.Width+2*p.PadW-dw*(p.KernelW-1)-1)/sw + 1
	for n := 0; n < p.Batch; n++ {
		for oh := 0; oh < outH; oh++ {
			for ow := 0; ow < outW; ow++ {
				var row []float64
				for c := 0; c < p.Channels; c++ {
					for ki := 0; ki < p.KernelH; ki++ {
						for kj := 0; kj < p.KernelW; kj++ {
							row = append(row, at(n, c, oh*sh+ki*dh-p.PadH, ow*sw+kj*dw-p.PadW))
						}
					}
				}
				rowsOut = append(rowsOut, row)
			}
		}
	}
	return rowsOut
}

// refLayout lays the reference rows out as the plan's layout.
func refLayout(pl *Plan, rowsOut [][]float64) []float64 {
	out := make([]float64, 0, pl.DstLen())
	if pl.Params().Layout == Rows {
		for _, r := range rowsOut {
			out = append(out, r...)
		}
		return out
	}
	L := pl.Positions()
	for n := 0; n < pl.Params().Batch; n++ {
		for col := 0; col < pl.Cols(); col++ {
			for l := 0; l < L; l++ {
				out = append(out, rowsOut[n*L+l][col])
			}
		}
	}
	return out
}

// randomParams draws a shape that stresses edges: tiny and 1×1 images,
// kernels as large as the padded input, large padding, dilation 2–3,
// sampling strides larger than the output.
func randomParams(rng *rand.Rand) Params {
	for {
		p := Params{
			Batch:    1 + rng.IntN(3),
			Channels: 1 + rng.IntN(5),
			Height:   1 + rng.IntN(12),
			Width:    1 + rng.IntN(12),
			Sampling: rng.IntN(5),
			Layout:   Layout(rng.IntN(2)),
			Workers:  rng.IntN(4),
			Geometry: deconv.Geometry{KernelH: 1 + rng.IntN(4), KernelW: 1 + rng.IntN(4), StrideH: rng.IntN(4), StrideW: rng.IntN(4), PadH: rng.IntN(4), PadW: rng.IntN(4), DilationH: rng.IntN(4), DilationW: rng.IntN(4)},
		}
		if rng.IntN(8) == 0 {
			p.Height, p.Width = 1, 1
		}
		if rng.IntN(6) == 0 { // kernel exactly as large as the padded input
			p.DilationH, p.DilationW = 1, 1
			p.KernelH, p.KernelW = p.Height+2*p.PadH, p.Width+2*p.PadW
		}
		if rng.IntN(6) == 0 {
			p.Channels = 20 + rng.IntN(300) // several channel tiles per row
		}
		if rng.IntN(10) == 0 {
			p.Height, p.Width = 40+rng.IntN(60), 40+rng.IntN(60)
		}
		if rng.IntN(6) == 0 {
			p.KernelH, p.KernelW, p.FlatSampling, p.Layout = 1, 1, true, Rows
			p.StrideW = p.StrideH
		}
		if _, err := NewPlan(p); err == nil {
			return p
		}
	}
}

func randomSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}
