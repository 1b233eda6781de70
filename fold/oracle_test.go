package fold

import (
	"math"

	"github.com/netdeconv/deconv"
)

// The float64 oracle of the layers, written from the reference's semantics
// with naive loops only.

// oracleRows returns the statistics rows of a FastDeconv input: the
// im2col rows (windows every S·StrideH rows and S·StrideW columns; for a
// 1×1 kernel the flat NHWC rule, every (S·StrideH)·(S·StrideW)-th pixel),
// as full rows of C·KernelH·KernelW features (channel slowest).
func oracleRows(cfg FastDeconvConfig, x []float64, n, h, w int) [][]float64 {
	C, kh, kw := cfg.InChannels, cfg.KernelH, cfg.KernelW
	stepH := cfg.SamplingStride * max(cfg.StrideH, 1)
	stepW := cfg.SamplingStride * max(cfg.StrideW, 1)
	dilH, dilW := max(cfg.DilationH, 1), max(cfg.DilationW, 1)
	var rows [][]float64
	if kh == 1 && kw == 1 {
		for q := 0; q < n*h*w; q += stepH * stepW {
			img, pix := q/(h*w), q%(h*w)
			row := make([]float64, C)
			for c := range row {
				row[c] = x[(img*C+c)*h*w+pix]
			}
			rows = append(rows, row)
		}
		return rows
	}
	ph, pw := cfg.PadH, cfg.PadW
	oh := (h+2*ph-dilH*(kh-1)-1)/stepH + 1
	ow := (w+2*pw-dilW*(kw-1)-1)/stepW + 1
	for img := 0; img < n; img++ {
		for a := 0; a < oh; a++ {
			for b := 0; b < ow; b++ {
				row := make([]float64, 0, C*kh*kw)
				for c := 0; c < C; c++ {
					for ki := 0; ki < kh; ki++ {
						for kj := 0; kj < kw; kj++ {
							y, xx := a*stepH+ki*dilH-ph, b*stepW+kj*dilW-pw
							v := 0.0
							if y >= 0 && y < h && xx >= 0 && xx < w {
								v = x[((img*C+c)*h+y)*w+xx]
							}
							row = append(row, v)
						}
					}
				}
				rows = append(rows, row)
			}
		}
	}
	return rows
}

// oracleStats splits full rows into the samples of each covariance and
// returns the means and covariances (+eps·I) per group.
func oracleStats(rows [][]float64, groups, F, G int, layout deconv.Grouping, eps float64) (means, covs [][]float64) {
	samples := make([][][]float64, groups)
	for _, r := range rows {
		if groups > 1 {
			for g := 0; g < groups; g++ {
				samples[g] = append(samples[g], r[g*F:(g+1)*F])
			}
			continue
		}
		for b := 0; b < G; b++ {
			s := make([]float64, F)
			for p := range s {
				if layout == deconv.Interleaved {
					s[p] = r[p*G+b]
				} else {
					s[p] = r[b*F+p]
				}
			}
			samples[0] = append(samples[0], s)
		}
	}
	for _, ss := range samples {
		mu := make([]float64, F)
		for _, s := range ss {
			for i, v := range s {
				mu[i] += v / float64(len(ss))
			}
		}
		c := make([]float64, F*F)
		for _, s := range ss {
			for i := 0; i < F; i++ {
				for j := 0; j < F; j++ {
					c[i*F+j] += (s[i] - mu[i]) * (s[j] - mu[j]) / float64(len(ss))
				}
			}
		}
		for i := 0; i < F; i++ {
			c[i*F+i] += eps
		}
		means, covs = append(means, mu), append(covs, c)
	}
	return means, covs
}

func matmul(a, b []float64, n int) []float64 {
	c := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			for j := 0; j < n; j++ {
				c[i*n+j] += a[i*n+k] * b[k*n+j]
			}
		}
	}
	return c
}

// oracleNS is the reference's coupled Newton–Schulz iteration.
func oracleNS(a []float64, n, iters int) []float64 {
	norm := 0.0
	for _, v := range a {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	y := make([]float64, n*n)
	z := make([]float64, n*n)
	for i := range a {
		y[i] = a[i] / norm
	}
	for i := 0; i < n; i++ {
		z[i*n+i] = 1
	}
	for it := 0; it < iters; it++ {
		zy := matmul(z, y, n)
		t := make([]float64, n*n)
		for i := range t {
			t[i] = -0.5 * zy[i]
		}
		for i := 0; i < n; i++ {
			t[i*n+i] += 1.5
		}
		y, z = matmul(y, t, n), matmul(t, z, n)
	}
	for i := range z {
		z[i] /= math.Sqrt(norm)
	}
	return z
}

// oracleFold folds with naive loops: W'[r] block·D, b' = b − Σ W'·μ.
func oracleFold(w, bias []float64, rows int, bl Blocking, ds, means [][]float64) (wf, bf []float64) {
	F, G := bl.Block, bl.Features/bl.Block
	per := rows / len(ds)
	wf, bf = make([]float64, len(w)), make([]float64, rows)
	for r := 0; r < rows; r++ {
		d, mu := ds[r/per], means[r/per]
		if bias != nil {
			bf[r] = bias[r]
		}
		for f := 0; f < bl.Features; f++ {
			g, p := blockIndex(bl, f)
			s := 0.0
			for f2 := 0; f2 < bl.Features; f2++ {
				if g2, k := blockIndex(bl, f2); g2 == g {
					s += w[r*bl.Features+f2] * d[k*F+p]
				}
			}
			wf[r*bl.Features+f] = s
			bf[r] -= s * mu[p]
		}
		_ = G
	}
	return wf, bf
}
