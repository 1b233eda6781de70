package cov

import (
	"math"

	"github.com/netdeconv/deconv"
)

// The float64 oracle: the data matrix of the reference implementation,
// materialized row by row exactly as its description reads, then two-pass
// mean and covariance.

// oracleRows returns the rows of the conv plan's data matrix for each
// covariance matrix (one list when blocks share a covariance).
func oracleConvRows(p Params, x []float64) [][][]float64 {
	n, c, h, w := p.Batch, p.Channels, p.Height, p.Width
	kh, kw := p.KernelH, p.KernelW
	groups, s := or1(p.Groups), or1(p.Sampling)
	stepH, stepW := or1(p.StrideH)*s, or1(p.StrideW)*s
	dilH, dilW := or1(p.DilationH), or1(p.DilationW)
	b := BlockSize(c, p.Block, groups)
	at := func(in, ch, y, xx int) float64 {
		if y < 0 || y >= h || xx < 0 || xx >= w {
			return 0
		}
		return x[((in*c+ch)*h+y)*w+xx]
	}
	// Unblocked rows of C·kh·kw values, channel slowest.
	var full [][]float64
	if kh == 1 && kw == 1 {
		pix := n * h * w
		fs := stepH * stepW
		for q := 0; q < pix; q += fs {
			in, r := q/(h*w), q%(h*w)
			row := make([]float64, c)
			for ch := range row {
				row[ch] = x[(in*c+ch)*h*w+r]
			}
			full = append(full, row)
		}
	} else {
		oh := (h+2*p.PadH-dilH*(kh-1)-1)/stepH + 1
		ow := (w+2*p.PadW-dilW*(kw-1)-1)/stepW + 1
		for in := 0; in < n; in++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					row := make([]float64, 0, c*kh*kw)
					for ch := 0; ch < c; ch++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								row = append(row, at(in, ch, oy*stepH+ki*dilH-p.PadH, ox*stepW+kj*dilW-p.PadW))
							}
						}
					}
					full = append(full, row)
				}
			}
		}
	}
	F := kh * kw * b
	if groups > 1 {
		out := make([][][]float64, groups)
		for _, row := range full {
			for g := range out {
				out[g] = append(out[g], row[g*F:(g+1)*F])
			}
		}
		return out
	}
	nb := c / b
	var rows [][]float64
	for _, row := range full {
		for g := 0; g < nb; g++ {
			r := make([]float64, F)
			for j := range r {
				if p.Grouping == deconv.Interleaved {
					r[j] = row[j*nb+g] // view F × C/B, transposed
				} else {
					r[j] = row[g*F+j]
				}
			}
			rows = append(rows, r)
		}
	}
	return [][][]float64{rows}
}

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// oracleLinearRows is input.view(-1, B).
func oracleLinearRows(p LinearParams, x []float64) [][]float64 {
	blk := p.Block
	if blk == 0 {
		blk = DefaultLinearBlock
	}
	b := BlockSize(p.Features, blk, 1)
	var rows [][]float64
	for i := 0; i+b <= len(x); i += b {
		rows = append(rows, x[i:i+b])
	}
	return rows
}

// oracleChannelRows returns the sampled columns of the block × M view
// (as rows of Block values) and the sampled rest values (each image's
// rest channels flattened and sampled on their own, as the reference
// does).
func oracleChannelRows(p ChannelParams, x []float64) (rows [][]float64, rest []float64) {
	n, c, h, w := p.Batch, p.Channels, p.Height, p.Width
	cc := c / p.Block * p.Block
	// permute to (C, N, H, W), flatten
	perm := make([]float64, 0, len(x))
	for ch := 0; ch < c; ch++ {
		for in := 0; in < n; in++ {
			perm = append(perm, x[(in*c+ch)*h*w:(in*c+ch+1)*h*w]...)
		}
	}
	s := or1(p.Sampling)
	fs := 1
	if h >= s && w >= s {
		fs = s * s
	}
	m := cc / p.Block * n * h * w
	for j := 0; j < m; j += fs {
		r := make([]float64, p.Block)
		for f := range r {
			r[f] = perm[f*m+j]
		}
		rows = append(rows, r)
	}
	// The rest is sampled image by image: x[:, c:].view(N, −1)[:, ::S²].
	for in := 0; in < n; in++ {
		tail := x[(in*c+cc)*h*w : (in+1)*c*h*w]
		for j := 0; j < len(tail); j += fs {
			rest = append(rest, tail[j])
		}
	}
	return rows, rest
}

// oracleMoments returns the two-pass mean and Σ(x−μ)(x−μ)ᵀ/n (+ eps·I,
// + μμᵀ when uncentred).
func oracleMoments(rows [][]float64, eps float64, uncentred bool) (mean, cov []float64) {
	F := len(rows[0])
	mean = make([]float64, F)
	for _, r := range rows {
		for j, v := range r {
			mean[j] += v
		}
	}
	n := float64(len(rows))
	for j := range mean {
		mean[j] /= n
	}
	cov = make([]float64, F*F)
	d := make([]float64, F)
	for _, r := range rows {
		for j, v := range r {
			d[j] = v
			if !uncentred {
				d[j] -= mean[j]
			}
		}
		for i := 0; i < F; i++ {
			for j := 0; j < F; j++ {
				cov[i*F+j] += d[i] * d[j]
			}
		}
	}
	for i := range cov {
		cov[i] /= n
	}
	for i := 0; i < F; i++ {
		cov[i*F+i] += eps
	}
	return mean, cov
}

// relFrob returns ‖got − want‖_F / ‖want‖_F.
func relFrob[T Float](got []T, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}
