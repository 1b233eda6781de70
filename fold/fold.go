package fold

import (
	"fmt"
	"github.com/netdeconv/deconv"

	"gonum.org/v1/gonum/mat"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/size"
)

// Blocking describes how each weight row's Features values split into
// whitening blocks of Block features (Block divides Features). Grouping
// is the one the statistics were computed with (deconv.Interleaved, the
// reference implementation's, or deconv.Contiguous): weights are blocked
// the same way as the data.
type Blocking struct {
	Features int
	Block    int
	Grouping deconv.Grouping
}

func (b Blocking) validate() error {
	if b.Features <= 0 || b.Block <= 0 || b.Features%b.Block != 0 {
		return fmt.Errorf("%w: block of %d features does not divide rows of %d", deconv.ErrParam, b.Block, b.Features)
	}
	return b.Grouping.Validate()
}

// Fold folds whitening into weights. For rows weight rows of bl.Features
// values in w, it writes
//
//	W'[r] = W[r] · D   (each block of the row, as a row vector, times D)
//	b'[r] = b[r] − Σ_blocks W'[r]_block · μ
//
// into wOut and biasOut. d holds q whitening matrices of Block×Block and
// mean q vectors of Block: the rows split into q equal consecutive groups
// (the groups of a grouped convolution), group i using D_i and μ_i; q = 1
// shares one D among all rows and blocks, as the reference's FastDeconv
// does without groups. bias may be nil (no bias: b' = −Σ W'·μ); wOut may
// be w and biasOut may be bias.
//
// The result is the layer that computes (X − μ)·D·W + b from raw inputs X,
// so that y = conv(x, W') + b' equals the convolution of the deconvolved
// input.
//
// Errors: deconv.ErrParam for an invalid Blocking, deconv.ErrShape for
// lengths that do not fit it, deconv.ErrOverflow for sizes that overflow
// int, deconv.ErrNonFinite for a NaN or infinity in w, bias, d or mean, or
// in a result (finite but huge values can overflow). On error wOut and
// biasOut are unchanged.
func Fold[T Float](wOut, biasOut, w, bias []T, rows int, bl Blocking, d, mean []T) error {
	q, err := checkFold(wOut, biasOut, w, bias, rows, bl, d, mean)
	if err != nil {
		return err
	}
	return foldWith(wOut, biasOut, w, bias, rows, bl, d, mean, q, -1, 0)
}

// Restore undoes Fold: from folded weights and bias it recovers W = W'·D⁻¹
// and b = b' + Σ W'·μ. D must be symmetric positive definite (an inverse
// square root of a covariance is); D⁻¹ is computed by Cholesky
// factorisation in float64. bias may be nil when only the weights are
// wanted.
//
// Errors: those of Fold, and deconv.ErrNotSymmetric or
// deconv.ErrNotPositiveDefinite for a D that is not symmetric positive
// definite. On error w and bias are unchanged.
func Restore[T Float](w, bias, wFolded, biasFolded []T, rows int, bl Blocking, d, mean []T) error {
	q, err := checkFold(w, bias, wFolded, biasFolded, rows, bl, d, mean)
	if err != nil {
		return err
	}
	if bias != nil && biasFolded == nil {
		return fmt.Errorf("%w: a bias to restore needs the folded bias", deconv.ErrShape)
	}
	F := bl.Block
	inv := make([]T, len(d))
	for i := 0; i < q; i++ {
		if err := spdInverse(inv[i*F*F:(i+1)*F*F], d[i*F*F:(i+1)*F*F], F); err != nil {
			return fmt.Errorf("D[%d]: %w", i, err)
		}
	}
	// b = b' + Σ W'·μ is computed from the folded weights, before they are
	// overwritten (w may alias wFolded), into a buffer that is copied out
	// once the weights succeeded too.
	var b *[]T
	if bias != nil {
		b = getScratch[T](rows)
		defer putScratch(b)
		blockDots(*b, biasFolded, wFolded, rows, bl, mean, q, 1)
		if err := checkFinite(*b, "restored bias"); err != nil {
			return err
		}
	}
	if err := foldWith(w, nil, wFolded, nil, rows, bl, inv, mean, q, 0, 0); err != nil {
		return err
	}
	if b != nil {
		copy(bias, *b)
	}
	return nil
}

func checkFold[T Float](wOut, biasOut, w, bias []T, rows int, bl Blocking, d, mean []T) (q int, err error) {
	if err := bl.validate(); err != nil {
		return 0, err
	}
	n, ok := size.Mul(rows, bl.Features)
	if rows > 0 && !ok {
		return 0, fmt.Errorf("%w: %d rows of %d features", deconv.ErrOverflow, rows, bl.Features)
	}
	if rows <= 0 || len(w) != n || len(wOut) != n {
		return 0, fmt.Errorf("%w: %d rows of %d features need %d weights (have %d in, %d out)", deconv.ErrShape, rows, bl.Features, n, len(w), len(wOut))
	}
	F := bl.Block
	FF, ok := size.Mul(F, F)
	if !ok {
		return 0, fmt.Errorf("%w: blocks of %d features: D would have %d² values", deconv.ErrOverflow, F, F)
	}
	if len(d) == 0 || len(d)%FF != 0 {
		return 0, fmt.Errorf("%w: D has %d values, not a whole number of %d×%d matrices", deconv.ErrShape, len(d), F, F)
	}
	q = len(d) / FF
	if rows%q != 0 || len(mean) != q*F {
		return 0, fmt.Errorf("%w: %d matrices D for %d rows with a mean of %d values", deconv.ErrShape, q, rows, len(mean))
	}
	if bias != nil && len(bias) != rows || biasOut != nil && len(biasOut) != rows {
		return 0, fmt.Errorf("%w: bias needs %d values", deconv.ErrShape, rows)
	}
	for _, in := range []struct {
		s    []T
		what string
	}{{w, "weight"}, {d, "D"}, {mean, "mean"}, {bias, "bias"}} {
		if err := checkFinite(in.s, in.what); err != nil {
			return 0, err
		}
	}
	return q, nil
}

// foldWith computes wOut = W·D per block and, when biasOut is not nil,
// biasOut = bias + sign·Σ W'·μ (bias nil counts as zero), with products
// on at most workers goroutines (0: the process default). The results are
// built in scratch buffers and checked for NaN and infinities before
// wOut and biasOut are written, so on error both are unchanged.
func foldWith[T Float](wOut, biasOut, w, bias []T, rows int, bl Blocking, d, mean []T, q int, sign T, workers int) error {
	F, G := bl.Block, bl.Features/bl.Block
	per := rows / q // rows per D
	m := getScratch[T](per * bl.Features)
	defer putScratch(m)
	mp := getScratch[T](per * bl.Features)
	defer putScratch(mp)
	res := getScratch[T](rows * bl.Features)
	defer putScratch(res)
	var bres *[]T
	if biasOut != nil {
		bres = getScratch[T](rows)
		defer putScratch(bres)
	}
	threads := parallel.Workers(workers)
	for i := 0; i < q; i++ {
		wi := w[i*per*bl.Features : (i+1)*per*bl.Features]
		oi := (*res)[i*per*bl.Features : (i+1)*per*bl.Features]
		// M: one row per (weight row, block), F columns.
		src := wi
		if bl.Grouping == deconv.Interleaved && G > 1 {
			for r := 0; r < per; r++ {
				gather.Transpose((*m)[r*bl.Features:], F, wi[r*bl.Features:], G, F, G)
			}
			src = *m
		}
		if err := gemm.GemmDense(threads, gemm.NoTrans, gemm.NoTrans, per*G, F, F, 1, src, F, d[i*F*F:], F, 0, *mp, F); err != nil {
			return err
		}
		if biasOut != nil {
			for r := 0; r < per; r++ {
				acc := 0.0
				if bias != nil {
					acc = float64(bias[i*per+r])
				}
				row := (*mp)[r*bl.Features : (r+1)*bl.Features]
				mu := mean[i*F : (i+1)*F]
				for g := 0; g < G; g++ {
					for p, v := range row[g*F : (g+1)*F] {
						acc += float64(sign) * float64(v) * float64(mu[p])
					}
				}
				(*bres)[i*per+r] = T(acc)
			}
		}
		if bl.Grouping == deconv.Interleaved && G > 1 {
			for r := 0; r < per; r++ {
				gather.Transpose(oi[r*bl.Features:], G, (*mp)[r*bl.Features:], F, G, F)
			}
		} else {
			copy(oi, *mp)
		}
	}
	if err := checkFinite(*res, "folded weight"); err != nil {
		return err
	}
	if biasOut != nil {
		if err := checkFinite(*bres, "folded bias"); err != nil {
			return err
		}
		copy(biasOut, *bres)
	}
	copy(wOut, *res)
	return nil
}

// blockDots sets out[r] = base[r] + sign·Σ_blocks W[r]_block·μ, W given in
// its stored (layout) order.
func blockDots[T Float](out, base, w []T, rows int, bl Blocking, mean []T, q int, sign T) {
	F, G := bl.Block, bl.Features/bl.Block
	per := rows / q
	for r := 0; r < rows; r++ {
		mu := mean[(r/per)*F : (r/per+1)*F]
		row := w[r*bl.Features : (r+1)*bl.Features]
		acc := float64(base[r])
		for f, v := range row {
			var p int
			if bl.Grouping == deconv.Interleaved {
				p = f / G
			} else {
				p = f % F
			}
			acc += float64(sign) * float64(v) * float64(mu[p])
		}
		out[r] = T(acc)
	}
}

// spdInverse writes the inverse of the symmetric positive definite n×n
// matrix a into dst, through a float64 Cholesky factorisation.
func spdInverse[T Float](dst, a []T, n int) error {
	var ch mat.Cholesky
	if err := cholesky(&ch, a, n); err != nil {
		return err
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return fmt.Errorf("%w: %w", deconv.ErrNotPositiveDefinite, err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dst[i*n+j] = T(inv.At(i, j))
		}
	}
	return nil
}

// checkSPD returns deconv.ErrNotSymmetric or deconv.ErrNotPositiveDefinite
// when the n×n matrix a is not symmetric positive definite (up to the
// rounding of float32 storage).
func checkSPD[T Float](a []T, n int) error {
	var ch mat.Cholesky
	return cholesky(&ch, a, n)
}

// cholesky factorises the symmetric part of the n×n matrix a in float64,
// after checking that a is symmetric to a relative 1e-4.
func cholesky[T Float](ch *mat.Cholesky, a []T, n int) error {
	s := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v, u := float64(a[i*n+j]), float64(a[j*n+i])
			if d := v - u; d*d > 1e-8*(v*v+u*u)+1e-300 {
				return fmt.Errorf("%w: element (%d,%d) = %g but (%d,%d) = %g", deconv.ErrNotSymmetric, i, j, v, j, i, u)
			}
			s.SetSym(i, j, (v+u)/2)
		}
	}
	if !ch.Factorize(s) {
		return fmt.Errorf("%w: Cholesky factorisation failed", deconv.ErrNotPositiveDefinite)
	}
	return nil
}
