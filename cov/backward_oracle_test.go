package cov

import (
	"github.com/netdeconv/deconv"
)

// The backward's float64 oracle: the data matrix of the reference
// implementation as input indices (−1 for a padding value), built with
// plain loops from the reference's description as the value oracles in
// reference_test.go are, and the gradient of each row computed with plain
// loops and scattered through those indices.

// oracleConvIndex is oracleConvRows with the index of each value instead
// of the value.
func oracleConvIndex(p Params) [][][]int {
	n, c, h, w := p.Batch, p.Channels, p.Height, p.Width
	kh, kw := p.KernelH, p.KernelW
	groups, s := or1(p.Groups), or1(p.Sampling)
	stepH, stepW := or1(p.StrideH)*s, or1(p.StrideW)*s
	dilH, dilW := or1(p.DilationH), or1(p.DilationW)
	b := BlockSize(c, p.Block, groups)
	at := func(in, ch, y, xx int) int {
		if y < 0 || y >= h || xx < 0 || xx >= w {
			return -1
		}
		return ((in*c+ch)*h+y)*w + xx
	}
	var full [][]int
	if kh == 1 && kw == 1 {
		pix := n * h * w
		for q := 0; q < pix; q += stepH * stepW {
			in, r := q/(h*w), q%(h*w)
			row := make([]int, c)
			for ch := range row {
				row[ch] = (in*c+ch)*h*w + r
			}
			full = append(full, row)
		}
	} else {
		oh := (h+2*p.PadH-dilH*(kh-1)-1)/stepH + 1
		ow := (w+2*p.PadW-dilW*(kw-1)-1)/stepW + 1
		for in := 0; in < n; in++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var row []int
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
		out := make([][][]int, groups)
		for _, row := range full {
			for g := range out {
				out[g] = append(out[g], row[g*F:(g+1)*F])
			}
		}
		return out
	}
	nb := c / b
	var rows [][]int
	for _, row := range full {
		for g := 0; g < nb; g++ {
			r := make([]int, F)
			for j := range r {
				if p.Grouping == deconv.Interleaved {
					r[j] = row[j*nb+g]
				} else {
					r[j] = row[g*F+j]
				}
			}
			rows = append(rows, r)
		}
	}
	return [][][]int{rows}
}

// oracleLinearIndex is oracleLinearRows with indices.
func oracleLinearIndex(p LinearParams) [][]int {
	blk := p.Block
	if blk == 0 {
		blk = DefaultLinearBlock
	}
	b := BlockSize(p.Features, blk, 1)
	var rows [][]int
	for i := 0; i+b <= p.Batch*p.Features; i += b {
		r := make([]int, b)
		for j := range r {
			r[j] = i + j
		}
		rows = append(rows, r)
	}
	return rows
}

// oracleChannelIndex is oracleChannelRows' block part with indices: the
// (C, N, H, W) permutation of the first c channels, viewed as Block rows
// of c/Block·N·H·W, every fs-th column kept.
func oracleChannelIndex(p ChannelParams) [][]int {
	n, c, h, w := p.Batch, p.Channels, p.Height, p.Width
	cc := c / p.Block * p.Block
	var perm []int
	for ch := 0; ch < cc; ch++ {
		for in := 0; in < n; in++ {
			for q := 0; q < h*w; q++ {
				perm = append(perm, (in*c+ch)*h*w+q)
			}
		}
	}
	s := or1(p.Sampling)
	fs := 1
	if h >= s && w >= s {
		fs = s * s
	}
	m := cc / p.Block * n * h * w
	var rows [][]int
	for j := 0; j < m; j += fs {
		r := make([]int, p.Block)
		for f := range r {
			r[f] = perm[f*m+j]
		}
		rows = append(rows, r)
	}
	return rows
}

// indexValues reads the rows' values from x (0 for padding).
func indexValues(rows [][]int, x []float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = make([]float64, len(r))
		for j, k := range r {
			if k >= 0 {
				out[i][j] = x[k]
			}
		}
	}
	return out
}

// oracleGrad returns ∂/∂x of ⟨dmean, μ⟩ + ⟨dcov, Cov⟩ (dmean and dcov
// Groups·F and Groups·F² values, nil for zero) for the matrices' rows of
// indices: for each row, dmean/n + (dcov + dcovᵀ)(x_r − μ)/n (x_r alone
// when uncentred), added to the input value it came from.
func oracleGrad(groups [][][]int, x, dmean, dcov []float64, uncentred bool) []float64 {
	grad := make([]float64, len(x))
	for g, idx := range groups {
		rows := indexValues(idx, x)
		F := len(rows[0])
		n := float64(len(rows))
		mu := make([]float64, F)
		for _, r := range rows {
			for j, v := range r {
				mu[j] += v / n
			}
		}
		for i, r := range rows {
			for a := 0; a < F; a++ {
				v := 0.0
				if dmean != nil {
					v = dmean[g*F+a] / n
				}
				if dcov != nil {
					for b := 0; b < F; b++ {
						d := r[b]
						if !uncentred {
							d -= mu[b]
						}
						v += (dcov[g*F*F+a*F+b] + dcov[g*F*F+b*F+a]) * d / n
					}
				}
				if k := idx[i][a]; k >= 0 {
					grad[k] += v
				}
			}
		}
	}
	return grad
}
