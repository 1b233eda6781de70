package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/parallel"
)

// FoldBackward differentiates Fold: given dwOut and dbiasOut, the
// gradients of a loss with respect to W' and b', it writes the gradients
// with respect to W (dw), b (dbias), D (dd) and μ (dmean). Destinations
// that are nil are not computed.
//
// rows, bl, w, d and mean are Fold's arguments (d holds q matrices, mean
// q vectors). Since b' = b − Σ W'·μ, the loss reaches W' through b' too:
// the total gradient of a block of W' is G = dW'_block − db'[r]·μ, and
//
//	dW_block = G·Dᵀ,  dD_i = Σ W_blockᵀ·G,  dμ_i = −Σ db'[r]·(W_block·D),  db = db'
//
// (sums over the rows of group i and their blocks). dbiasOut may be nil
// (a zero gradient, as for a layer whose folded bias feeds nothing).
//
// Errors: deconv.ErrParam, ErrShape, ErrOverflow and ErrNonFinite as for
// Fold (dwOut and dbiasOut are checked like w and bias), deconv.ErrShape
// for a destination of the wrong length, deconv.ErrOverlap for a
// destination that shares memory with another or with an input. On error
// no destination is written.
func FoldBackward[T Float](dw, dbias, dd, dmean, dwOut, dbiasOut, w []T, rows int, bl Blocking, d, mean []T) error {
	q, err := checkFold(dwOut, nil, w, dbiasOut, rows, bl, d, mean)
	if err != nil {
		return err
	}
	if err := checkFinite(dwOut, "weight gradient"); err != nil {
		return err
	}
	for _, c := range []struct {
		s    []T
		n    int
		what string
	}{{dw, len(w), "weight gradient destination"}, {dbias, rows, "bias gradient destination"},
		{dd, len(d), "D gradient destination"}, {dmean, len(mean), "mean gradient destination"}} {
		if err := checkDest(c.s, c.n, c.what); err != nil {
			return err
		}
	}
	if err := checkNoOverlap([][]T{dw, dbias, dd, dmean}, [][]T{dwOut, dbiasOut, w, d, mean}); err != nil {
		return err
	}
	foldBackward(dw, dbias, dd, dmean, dwOut, dbiasOut, w, rows, bl, d, mean, q, 0)
	return nil
}

// foldBackward is FoldBackward for validated arguments, with products on
// at most workers goroutines (0: the process default).
func foldBackward[T Float](dw, dbias, dd, dmean, dwOut, dbiasOut, w []T, rows int, bl Blocking, d, mean []T, q, workers int) {
	F, G := bl.Block, bl.Features/bl.Block
	per := rows / q
	n := per * bl.Features // values of one group's rows
	inter := bl.Grouping == deconv.Interleaved && G > 1
	threads := parallel.Workers(workers)
	m := getScratch[T](n) // W in block order: per·G rows of F
	defer putScratch(m)
	g := getScratch[T](n) // the total gradient of W' in block order
	defer putScratch(g)
	o := getScratch[T](n)
	defer putScratch(o)
	s := getScratch[T](F)
	defer putScratch(s)
	if dbias != nil {
		if dbiasOut != nil {
			copy(dbias, dbiasOut)
		} else {
			clear(dbias)
		}
	}
	for i := 0; i < q; i++ {
		wi, gi := w[i*n:(i+1)*n], dwOut[i*n:(i+1)*n]
		di, mu := d[i*F*F:(i+1)*F*F], mean[i*F:(i+1)*F]
		toBlocks(*m, wi, per, bl, inter)
		toBlocks(*g, gi, per, bl, inter)
		if dbiasOut != nil {
			for r := 0; r < per; r++ {
				b := dbiasOut[i*per+r]
				if b == 0 {
					continue
				}
				row := (*g)[r*bl.Features : (r+1)*bl.Features]
				for blk := 0; blk < G; blk++ {
					for p, v := range mu {
						row[blk*F+p] -= b * v
					}
				}
			}
		}
		if dw != nil {
			// Errors are impossible: the shapes were validated.
			_ = gemm.GemmDense(threads, gemm.NoTrans, gemm.Trans, per*G, F, F, 1, *g, F, di, F, 0, *o, F)
			fromBlocks(dw[i*n:(i+1)*n], *o, per, bl, inter)
		}
		if dd != nil {
			_ = gemm.GemmDense(threads, gemm.Trans, gemm.NoTrans, F, F, per*G, 1, *m, F, *g, F, 0, dd[i*F*F:(i+1)*F*F], F)
		}
		if dmean != nil {
			// dμ = −(Σ_r db'[r] Σ_blocks W_block)·D.
			acc := *s
			clear(acc)
			if dbiasOut != nil {
				for r := 0; r < per; r++ {
					b := dbiasOut[i*per+r]
					row := (*m)[r*bl.Features : (r+1)*bl.Features]
					for blk := 0; blk < G; blk++ {
						for p := range acc {
							acc[p] += b * row[blk*F+p]
						}
					}
				}
			}
			out := dmean[i*F : (i+1)*F]
			_ = gemm.GemmDense(1, gemm.NoTrans, gemm.NoTrans, 1, F, F, -1, acc, F, di, F, 0, out, F)
		}
	}
}

// toBlocks copies per weight rows of bl.Features values into dst with each
// row's blocks of F consecutive (the order in which they multiply D).
func toBlocks[T Float](dst, src []T, per int, bl Blocking, inter bool) {
	if !inter {
		copy(dst, src[:per*bl.Features])
		return
	}
	F, G := bl.Block, bl.Features/bl.Block
	for r := 0; r < per; r++ {
		gather.Transpose(dst[r*bl.Features:], F, src[r*bl.Features:], G, F, G)
	}
}

// fromBlocks undoes toBlocks.
func fromBlocks[T Float](dst, src []T, per int, bl Blocking, inter bool) {
	if !inter {
		copy(dst, src[:per*bl.Features])
		return
	}
	F, G := bl.Block, bl.Features/bl.Block
	for r := 0; r < per; r++ {
		gather.Transpose(dst[r*bl.Features:], G, src[r*bl.Features:], F, G, F)
	}
}

// errBadGrad is a helper for the error of a gradient that is not finite.
func errBadGrad(what string) error {
	return fmt.Errorf("%w: %s gradient", deconv.ErrNonFinite, what)
}
