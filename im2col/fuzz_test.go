package im2col

import (
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv"
)

// fuzzSlices returns the output and input slices of one fuzzed call: of
// the lengths the plan needs plus the deltas (when that stays ≥ 0), either
// separate or, when overlap is odd, cut from one buffer so that they share
// overlap/2 % … elements.
func fuzzSlices(outN, inN int, dOut, dIn int8, overlap uint8) (out, in []float64, exact, shared bool) {
	outN2, inN2 := max(0, outN+int(dOut)), max(0, inN+int(dIn))
	exact = outN2 == outN && inN2 == inN
	if overlap%2 == 0 || outN2 == 0 || inN2 == 0 {
		out, in = make([]float64, outN2), make([]float64, inN2)
	} else {
		// in starts inside out: they share at least one element.
		off := int(overlap/2) % outN2
		buf := make([]float64, max(outN2, off+inN2))
		out, in = buf[:outN2], buf[off:off+inN2]
		shared = true
	}
	for i := range in {
		in[i] = float64(i%7) - 3
	}
	return out, in, exact, shared
}

// goroutineSlack bounds the goroutines a call may leave behind: the
// worker pool's limit and a few of the runtime's own.
func goroutineSlack() int { return 4*max(runtime.GOMAXPROCS(0), runtime.NumCPU()) + 4 }

// FuzzParams feeds arbitrary parameters and slices to NewPlan and the
// transforms. Nothing may panic; every error must be one of the root
// sentinels; NewPlan must refuse negative workers; a call must fail
// exactly when its slices have the wrong lengths (ErrShape) or share
// memory (ErrOverlap); a successful Im2col of finite input must be finite
// and match the naive reference; no call may leave goroutines behind.
func FuzzParams(f *testing.F) {
	f.Add(1, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, false, uint8(0), int8(0), int8(0), uint8(0))
	f.Add(2, 3, 7, 4, 1, 1, 2, 2, 0, 0, 1, 1, 3, 2, true, uint8(0), int8(0), int8(0), uint8(0))
	f.Add(1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 9, 1, false, uint8(1), int8(1), int8(0), uint8(0))
	f.Add(1, 1, 3, 3, 2, 2, 0, 0, 5, 5, 3, 3, 2, -1, false, uint8(1), int8(0), int8(-1), uint8(0))
	f.Add(2, 2, 4, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1, 2, false, uint8(1), int8(0), int8(0), uint8(1))
	f.Add(1, 2, 3, 2, 2, 3, 1<<31, 1<<31, 1<<31, 1<<31, 1, 1, 1, 0, false, uint8(0), int8(0), int8(0), uint8(0))
	f.Add(1, 2, 3, 2, 2, 2, 1<<62, math.MaxInt-3, 1<<62-2, 1<<62-2, 1<<31, 1<<62, 1, 0, false, uint8(1), int8(0), int8(0), uint8(0))
	f.Add(math.MaxInt, math.MaxInt, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, false, uint8(0), int8(0), int8(0), uint8(0))
	f.Add(1, 1, 4, 4, 1, 1, math.MaxInt, math.MaxInt, math.MaxInt/2-8, 0, math.MaxInt, 1, math.MaxInt, 0, false, uint8(0), int8(0), int8(0), uint8(0))
	f.Fuzz(func(t *testing.T, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, s, workers int, flat bool, layout uint8, dOut, dIn int8, overlap uint8) {
		g0 := runtime.NumGoroutine()
		defer func() {
			if g := runtime.NumGoroutine(); g > g0+goroutineSlack() {
				t.Fatalf("%d goroutines after the call, %d before", g, g0)
			}
		}()
		p := Params{Batch: n, Channels: c, Height: h, Width: w, Workers: workers % 5,
			Sampling: s, FlatSampling: flat, Layout: Layout(layout % 3),
			Geometry: deconv.Geometry{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, DilationH: dh, DilationW: dw},
		}
		pl, err := NewPlan(p)
		if err != nil {
			mustBeSentinel(t, p, err)
			return
		}
		if p.Workers < 0 {
			t.Fatalf("%+v: negative workers accepted", p)
		}
		if pl.DstLen() < 0 || pl.SrcLen() <= 0 || pl.DstLen() != pl.NumRows()*pl.Cols() {
			t.Fatalf("%+v: inconsistent sizes src %d dst %d rows %d cols %d", p, pl.SrcLen(), pl.DstLen(), pl.NumRows(), pl.Cols())
		}
		if pl.SrcLen() > 1<<14 || pl.DstLen() > 1<<16 {
			return
		}
		out, in, exact, shared := fuzzSlices(pl.DstLen(), pl.SrcLen(), dOut, dIn, overlap)
		err = Im2col(pl, out, in)
		checkCallErr(t, p, "Im2col", err, exact, shared)
		if err == nil {
			for i, v := range out {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%+v: output %d is %v for finite input", p, i, v)
				}
			}
			want := refLayout(pl, refIm2col(pl.Params(), in))
			if j := firstDiff(out, want); j >= 0 {
				t.Fatalf("%+v: element %d differs", p, j)
			}
		}
		img, cols, exact, shared := fuzzSlices(pl.SrcLen(), pl.DstLen(), dIn, dOut, overlap)
		err = Col2im(pl, img, cols)
		checkCallErr(t, p, "Col2im", err, exact, shared)
		if err == nil {
			for i, v := range img {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%+v: Col2im output %d is %v for finite input", p, i, v)
				}
			}
		}
		if !flat && pl.OutH() > 0 {
			oh1 := 1 + int(overlap)%pl.OutH()
			ld := oh1 * pl.OutW()
			blk, src, _, shared := fuzzSlices((pl.Cols()-1)*ld+ld, pl.SrcLen(), 0, dIn, overlap)
			err := UnfoldBlock(pl, blk, ld, src, 0, 0, oh1)
			checkCallErr(t, p, "UnfoldBlock", err, len(src) == pl.SrcLen(), shared)
		}
	})
}

func mustBeSentinel(t *testing.T, p Params, err error) {
	t.Helper()
	for _, e := range deconv.Errors() {
		if errors.Is(err, e) {
			return
		}
	}
	t.Fatalf("%+v: %v is not one of the root sentinels", p, err)
}

// checkCallErr: a transform fails exactly when its slices have the wrong
// lengths (ErrShape) or, with the right lengths, share memory
// (ErrOverlap).
func checkCallErr(t *testing.T, p Params, name string, err error, exact, shared bool) {
	t.Helper()
	switch {
	case !exact:
		if !errors.Is(err, deconv.ErrShape) {
			t.Fatalf("%+v: %s with wrong lengths: %v, want ErrShape", p, name, err)
		}
	case shared:
		if !errors.Is(err, deconv.ErrOverlap) {
			t.Fatalf("%+v: %s with shared memory: %v, want ErrOverlap", p, name, err)
		}
	case err != nil:
		t.Fatalf("%+v: %s: %v", p, name, err)
	}
}
