package cov

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv"
)

func mustBeSentinel(t *testing.T, what any, err error) {
	t.Helper()
	if !isSentinel(err) {
		t.Fatalf("%+v: %v is not one of the root sentinels", what, err)
	}
}

// FuzzCompute builds plans from arbitrary square geometry: every invalid
// one must be a sentinel error (never a panic), and every valid one must
// agree with the float64 oracle.
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
			mustBeSentinel(t, p, err)
			return
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

// FuzzComputeArgs fuzzes everything a caller passes: rectangular geometry
// with paddings, strides and dilations up to the int limit, the worker
// count (negative included), the slices' lengths and whether they share
// memory. Nothing may panic; every error must be a root sentinel; NewPlan
// must refuse negative workers; Compute must fail exactly when a length is
// wrong (ErrShape) or slices overlap (ErrOverlap); a nil error on finite
// input implies a finite mean and covariance with a non-negative
// diagonal; no call may leave goroutines behind.
func FuzzComputeArgs(f *testing.F) {
	f.Add(uint64(1), 2, 3, 7, 6, 3, 2, 1, 2, 1, 0, 2, 1, 1, 1, 1, 0, int8(0), int8(0), int8(0), uint8(0), false)
	f.Add(uint64(2), 1, 4, 3, 2, 2, 3, 1<<31, 1<<31, 1<<31, 1<<31, 1, 1, 1, 2, 2, 2, int8(0), int8(0), int8(0), uint8(0), true)
	f.Add(uint64(3), 1, 2, 3, 2, 2, 2, math.MaxInt-3, 1<<62, 1<<62-2, 1<<62-2, 1<<62, 3, 1, 1, 0, -1, int8(0), int8(0), int8(0), uint8(0), false)
	f.Add(uint64(4), 2, 4, 5, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1, 2, 2, 2, int8(0), int8(0), int8(0), uint8(3), false)
	f.Add(uint64(5), 1, 2, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 3, 1, int8(1), int8(0), int8(-1), uint8(0), false)
	f.Add(uint64(6), 1, 2, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 3, 1, int8(0), int8(0), int8(0), uint8(5), false)
	f.Fuzz(func(t *testing.T, seed uint64, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, groups, samp, block, workers int, dMean, dCov, dX int8, overlap uint8, contiguous bool) {
		g0 := runtime.NumGoroutine()
		defer func() {
			if g := runtime.NumGoroutine(); g > g0+4*max(runtime.GOMAXPROCS(0), runtime.NumCPU())+4 {
				t.Fatalf("%d goroutines after the call, %d before", g, g0)
			}
		}()
		p := Params{Batch: n, Channels: c, Height: h, Width: w, Groups: groups, Sampling: samp, Block: block, Eps: 1e-3,
			Workers:  workers % 5,
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
		if p.Workers < 0 {
			t.Fatalf("%+v: negative workers accepted", p)
		}
		if pl.SrcLen() > 1<<14 || pl.Rows()*pl.CovLen() > 1<<22 {
			return
		}
		lens := [3]int{max(0, pl.MeanLen()+int(dMean)), max(0, pl.CovLen()+int(dCov)), max(0, pl.SrcLen()+int(dX))}
		exact := lens == [3]int{pl.MeanLen(), pl.CovLen(), pl.SrcLen()}
		// overlap%4: 0 separate; 1 mean inside x; 2 cov inside x; 3 mean
		// inside cov (each where the lengths allow).
		buf := make([]float64, lens[0]+lens[1]+lens[2])
		mean, cv, x := buf[:lens[0]], buf[lens[0]:lens[0]+lens[1]], buf[lens[0]+lens[1]:]
		shared := false
		off := int(overlap / 4)
		switch overlap % 4 {
		case 1:
			if lens[0] > 0 && lens[2] >= lens[0] {
				o := off % (lens[2] - lens[0] + 1)
				mean, shared = x[o:o+lens[0]], true
			}
		case 2:
			if lens[1] > 0 && lens[2] >= lens[1] {
				o := off % (lens[2] - lens[1] + 1)
				cv, shared = x[o:o+lens[1]], true
			}
		case 3:
			if lens[0] > 0 && lens[1] >= lens[0] {
				o := off % (lens[1] - lens[0] + 1)
				mean, shared = cv[o:o+lens[0]], true
			}
		}
		rng := rand.New(rand.NewPCG(seed, 2))
		copy(x, randData(rng, len(x), max(1, h*w)))
		err = Compute(pl, mean, cv, x)
		switch {
		case !exact:
			if !errors.Is(err, deconv.ErrShape) {
				t.Fatalf("%+v: lengths %v: %v, want ErrShape", p, lens, err)
			}
		case shared:
			if !errors.Is(err, deconv.ErrOverlap) {
				t.Fatalf("%+v: overlap mode %d: %v, want ErrOverlap", p, overlap%4, err)
			}
		case err != nil:
			mustBeSentinel(t, p, err)
			if !errors.Is(err, deconv.ErrNonFinite) {
				t.Fatalf("%+v: %v", p, err)
			}
		default:
			F := pl.Features()
			for i, v := range append(mean, cv...) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%+v: output %d is %v with a nil error", p, i, v)
				}
			}
			for g := 0; g < pl.Groups(); g++ {
				for i := 0; i < F; i++ {
					if d := cv[g*F*F+i*F+i]; d < 0 {
						t.Fatalf("%+v: variance %d of matrix %d is %g", p, i, g, d)
					}
				}
			}
		}
	})
}
