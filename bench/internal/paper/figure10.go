package paper

import (
	"image"
	"math"
	"sync"
)

// NearZero is the bound, in standard deviations, under which Figure 10
// counts a value as near zero.
const NearZero = 0.1

// Figure10Data is the paper's Figure 10 as numbers: the distribution of
// the pixel values before deconvolution (each channel centred and scaled
// to unit variance) and after (each channel's deconvolved values, D's
// centre row applied to every Size×Size window of the centred image,
// scaled to unit variance), over the window positions inside the images.
type Figure10Data struct {
	Before, After []float64 // standardised values, channels pooled

	KurtosisBefore, KurtosisAfter float64 // excess kurtosis m₄/m₂² − 3
	NearZeroBefore, NearZeroAfter float64 // fraction of |value| < NearZero

	// Histograms over [−HistRange, HistRange] in len(DensityBefore)
	// bins of equal width: probability densities (values outside the
	// range are not counted, so a density integrates to at most 1).
	HistRange                   float64
	DensityBefore, DensityAfter []float64
}

// Figure10 deconvolves imgs with Figure 2's matrix and returns the
// statistics before and after.
func Figure10(imgs []image.Image, f2 *Figure2Data) *Figure10Data {
	k := f2.Size
	h := k / 2
	f := 3 * k * k
	var before, after [3][]float64
	for _, img := range imgs {
		x, w, hh := Planes(img)
		ow, oh := w-k+1, hh-k+1
		if ow <= 0 || oh <= 0 {
			continue
		}
		var b, a [3][]float64
		for c := range b {
			b[c] = make([]float64, ow*oh)
			a[c] = make([]float64, ow*oh)
		}
		// Rows of output positions are independent: split them over
		// goroutines.
		nw := max(1, min(Threads(), oh))
		var wg sync.WaitGroup
		for t := 0; t < nw; t++ {
			wg.Add(1)
			go func(y0, y1 int) {
				defer wg.Done()
				patch := make([]float64, f)
				for y := y0; y < y1; y++ {
					for xx := 0; xx < ow; xx++ {
						for c := 0; c < 3; c++ {
							for ki := 0; ki < k; ki++ {
								src := x[c*w*hh+(y+ki)*w+xx:][:k]
								dst := patch[(c*k+ki)*k:][:k]
								mu := f2.Mean[(c*k+ki)*k:][:k]
								for kj := range dst {
									dst[kj] = src[kj] - mu[kj]
								}
							}
						}
						for c := 0; c < 3; c++ {
							ctr := (c*k+h)*k + h
							row := f2.D[ctr*f:][:f]
							s := 0.0
							for i, v := range row {
								s += v * patch[i]
							}
							a[c][y*ow+xx] = s
							b[c][y*ow+xx] = patch[ctr]
						}
					}
				}
			}(t*oh/nw, (t+1)*oh/nw)
		}
		wg.Wait()
		for c := 0; c < 3; c++ {
			before[c] = append(before[c], b[c]...)
			after[c] = append(after[c], a[c]...)
		}
	}
	d := &Figure10Data{HistRange: 6}
	for c := 0; c < 3; c++ {
		d.Before = append(d.Before, standardise(before[c])...)
		d.After = append(d.After, standardise(after[c])...)
	}
	d.KurtosisBefore, d.NearZeroBefore = kurtosis(d.Before), nearZero(d.Before)
	d.KurtosisAfter, d.NearZeroAfter = kurtosis(d.After), nearZero(d.After)
	const bins = 121
	d.DensityBefore = density(d.Before, d.HistRange, bins)
	d.DensityAfter = density(d.After, d.HistRange, bins)
	return d
}

// standardise returns (v − mean)/std.
func standardise(v []float64) []float64 {
	m, s := 0.0, 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	s = math.Sqrt(s / float64(len(v)))
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = (x - m) / s
	}
	return out
}

// kurtosis returns the excess kurtosis of v.
func kurtosis(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	m2, m4 := 0.0, 0.0
	for _, x := range v {
		d := (x - m) * (x - m)
		m2 += d
		m4 += d * d
	}
	m2 /= float64(len(v))
	m4 /= float64(len(v))
	return m4/(m2*m2) - 3
}

func nearZero(v []float64) float64 {
	n := 0
	for _, x := range v {
		if math.Abs(x) < NearZero {
			n++
		}
	}
	return float64(n) / float64(len(v))
}

// density returns the histogram of v over [−r, r] in bins bins, as a
// probability density.
func density(v []float64, r float64, bins int) []float64 {
	out := make([]float64, bins)
	width := 2 * r / float64(bins)
	for _, x := range v {
		i := int(math.Floor((x + r) / width))
		if i >= 0 && i < bins {
			out[i]++
		}
	}
	for i := range out {
		out[i] /= float64(len(v)) * width
	}
	return out
}

// BinCentre returns the centre of histogram bin i of d's densities.
func (d *Figure10Data) BinCentre(i int) float64 {
	width := 2 * d.HistRange / float64(len(d.DensityBefore))
	return -d.HistRange + (float64(i)+0.5)*width
}
