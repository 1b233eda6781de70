package cov

import (
	"errors"
	"github.com/netdeconv/deconv"
	"math/rand/v2"
	"testing"
)

// FuzzCompute builds plans from arbitrary geometry: every invalid one must
// be an error (never a panic), and every valid one must agree with the
// float64 oracle.
func FuzzCompute(f *testing.F) {
	f.Add(uint64(1), 2, 4, 7, 6, 3, 3, 1, 1, 1, 1, 2, 2, false)
	f.Add(uint64(2), 1, 6, 5, 5, 1, 1, 2, 0, 1, 3, 3, 4, true)
	f.Add(uint64(3), 1, 4, 3, 9, 3, 1, 1, 2, 2, 4, 1, 1, false)
	f.Fuzz(func(t *testing.T, seed uint64, n, c, h, w, kh, kw, stride, pad, dil, groups, samp, block int, contiguous bool) {
		p := Params{Batch: n, Channels: c, Height: h, Width: w, Groups: groups, Sampling: samp, Block: block, Eps: 1e-3,
			Geometry: deconv.Geometry{KernelH: kh, KernelW: kw, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad, DilationH: dil, DilationW: dil},
		}
		if contiguous {
			p.Grouping = deconv.Contiguous
		}
		pl, err := NewPlan(p)
		if err != nil {
			for _, e := range []error{deconv.ErrShape, deconv.ErrParam, deconv.ErrShape, deconv.ErrOverflow, deconv.ErrParam} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("%+v: unexpected error %v", p, err)
		}
		if pl.SrcLen() > 1<<14 || pl.Rows()*pl.CovLen() > 1<<22 {
			return // keep each case fast
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		x := randData(rng, pl.SrcLen(), h*w)
		var wm, wc [][]float64
		for _, r := range oracleConvRows(p, x) {
			m, c := oracleMoments(r, p.Eps, false)
			wm, wc = append(wm, m), append(wc, c)
		}
		checkAgainst(t, "fuzz", pl, x, wm, wc)
	})
}
