package main

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/netdeconv/deconv"
)

// The fuzz targets drive the Go bodies of the exported functions with
// arbitrary parameters, lengths and nil buffers (what the wrappers pass
// for NULL with length 0): they must never panic, and every failure must
// be a status other than DECONV_E_INTERNAL.

// maxFuzzLen bounds the buffers a fuzz case allocates.
const maxFuzzLen = 1 << 16

// checkStatus fails the test when err maps to DECONV_E_INTERNAL.
func checkStatus(t *testing.T, what string, err error) {
	t.Helper()
	if st := statusOf(err); st == statusInternal || st < 0 {
		t.Fatalf("%s: status %d (%v)", what, st, err)
	}
}

// tooLarge reports whether positive sizes multiply to a plan that is valid
// but whose tables would take more memory than a fuzz case should: plans
// whose sizes overflow, or hold a non-positive one, fail before they
// allocate and are still tried.
func tooLarge(sizes ...int) bool {
	p := 1.0
	for _, v := range sizes {
		if v <= 0 {
			return false
		}
		p *= float64(v)
	}
	return p > 1<<22 && p < 1<<62
}

// lengthFor turns a fuzzed selector into a buffer length: the plan's own
// (most cases), nil, or an arbitrary wrong one.
func lengthFor(sel uint8, want int) (n int, null bool) {
	switch sel % 8 {
	case 0:
		return 0, true
	case 1:
		return want + 1, false
	case 2:
		return max(want-1, 0), false
	}
	return want, false
}

func buffer[T elem](sel uint8, want int, seed float64) []T {
	n, null := lengthFor(sel, want)
	if null || n > maxFuzzLen {
		return nil
	}
	b := make([]T, n)
	for i := range b {
		b[i] = T(math.Sin(seed + float64(i)*0.7))
	}
	return b
}

func FuzzIm2col(f *testing.F) {
	f.Add(2, 3, 5, 6, 3, 2, 2, 1, 1, 0, 1, 2, 1, false, 0, 0, uint8(3), uint8(3), false)
	f.Add(1, 2, 4, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2, true, 0, 0, uint8(3), uint8(0), true)
	f.Add(1, 1, 3, 3, 5, 5, 1, 1, 0, 0, 1, 1, 1, false, 1, 0, uint8(1), uint8(2), false)
	f.Add(-1, 1<<30, 1<<30, 1<<30, -2, 0, -1, 0, -5, 0, 0, 0, -1, false, 300, -1, uint8(3), uint8(3), true)
	f.Fuzz(func(t *testing.T, b, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, sampling int, flat bool, layout, workers int, dsel, ssel uint8, f64 bool) {
		p := im2colParams{Batch: b, Channels: c, Height: h, Width: w,
			Geometry: deconv.Geometry{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, DilationH: dh, DilationW: dw},
			Sampling: sampling, FlatSampling: flat, Layout: layout, Workers: workers % 4}
		if tooLarge(b, c, h, w) || tooLarge(c, kh, kw) || tooLarge(b, h, w, max(kh, kw, 1)) {
			return
		}
		pl, err := newIm2colPlan(p)
		checkStatus(t, "create", err)
		if err != nil {
			return
		}
		sz := im2colSizes(pl)
		if sz[0] > maxFuzzLen || sz[1] > maxFuzzLen {
			return
		}
		if f64 {
			checkStatus(t, "im2col", im2colRun(pl, buffer[float64](dsel, sz[1], 0), buffer[float64](ssel, sz[0], 1)))
			checkStatus(t, "col2im", col2imRun(pl, buffer[float64](ssel, sz[0], 0), buffer[float64](dsel, sz[1], 1)))
		} else {
			checkStatus(t, "im2col", im2colRun(pl, buffer[float32](dsel, sz[1], 0), buffer[float32](ssel, sz[0], 1)))
			checkStatus(t, "col2im", col2imRun(pl, buffer[float32](ssel, sz[0], 0), buffer[float32](dsel, sz[1], 1)))
		}
	})
}

func FuzzCov(f *testing.F) {
	f.Add(uint8(0), 2, 4, 6, 6, 3, 1, 1, 2, 2, 0, 1e-5, uint8(3), uint8(3), uint8(3), []byte{1, 2, 3})
	f.Add(uint8(1), 4, 6, 1, 1, 1, 1, 1, 0, 4, 0, 0.0, uint8(3), uint8(0), uint8(3), []byte{})
	f.Add(uint8(2), 2, 5, 4, 4, 1, 1, 1, 2, 2, 0, 1e-2, uint8(1), uint8(3), uint8(2), []byte{9})
	f.Add(uint8(0), 1, 4, 3, 3, 3, 1, 2, 1, 0, 1, math.NaN(), uint8(3), uint8(3), uint8(3), []byte{0xff})
	f.Fuzz(func(t *testing.T, kind uint8, b, c, h, w, k, s, groups, sampling, block, grouping int, eps float64, msel, csel, xsel uint8, ops []byte) {
		if tooLarge(b, c, h, w) || tooLarge(c, k, k) || tooLarge(c, block) {
			return
		}
		var pl *covPlan
		var err error
		switch kind % 3 {
		case 0:
			pl, err = newCovPlan(covParams{Batch: b, Channels: c, Height: h, Width: w,
				Geometry: deconv.Square(k, s, k/2, 1), Groups: groups, Sampling: sampling, Block: block, Grouping: grouping, Eps: eps, Workers: 2})
		case 1:
			pl, err = newCovLinearPlan(covLinearParams{Batch: b, Features: c, Block: block, Eps: eps})
		case 2:
			pl, err = newCovChannelPlan(covChannelParams{Batch: b, Channels: c, Height: h, Width: w, Block: block,
				Sampling: sampling, Uncentred: grouping%2 == 1, Eps: eps})
		}
		checkStatus(t, "create", err)
		if err != nil {
			return
		}
		sz := covSizes(pl)
		if sz[0] > maxFuzzLen || sz[2] > maxFuzzLen {
			return
		}
		mean, cv, x := buffer[float32](msel, sz[1], 0), buffer[float32](csel, sz[2], 0), buffer[float32](xsel, sz[0], 2)
		checkStatus(t, "compute", covCompute(pl, mean, cv, x))
		st, other := newCovStats(pl), newCovStats(pl)
		for i, op := range ops {
			var err error
			switch op % 8 {
			case 0:
				err = covStatsAccumulate(st, pl, x)
			case 1:
				err = covStatsAccumulate(other, pl, buffer[float64](xsel, sz[0], float64(i)))
			case 2:
				err = covStatsMerge(st, other)
			case 3:
				err = covStatsFinalize(st, mean, cv)
			case 4:
				sums := make([]float64, covStatsSumsLen(st))
				if err = covStatsExport(other, buffer[float64](op>>3, covStatsRefLen(st), 3), sums); err == nil {
					err = covStatsImport(st, nil, sums)
				}
			case 5:
				_, _, err = covStatsRest(st)
			case 6:
				err = covStatsReset(st)
			case 7:
				_, err = covStatsCount(st)
			}
			checkStatus(t, "stats", err)
		}
	})
}

func FuzzIsqrt(f *testing.F) {
	f.Add(3, 0, 5, 0, 0.0, 0.0, 0, uint8(3), false, []byte{1, 2, 3, 4})
	f.Add(4, 2, 30, 1, 1e-6, -1.0, 2, uint8(1), true, []byte{0xff, 0x7f})
	f.Add(2, 3, 0, 0, 0.0, 0.0, 1, uint8(0), false, []byte{})
	f.Add(0, 9, -1, 7, math.NaN(), math.Inf(1), -1, uint8(3), true, []byte{0})
	f.Fuzz(func(t *testing.T, n, method, iters, scaling int, tol, symTol float64, count int, tsel uint8, f64 bool, data []byte) {
		h, err := newIsqrt(n, isqrtConfig{Method: method, Iterations: iters % 64, Scaling: scaling, Tol: tol, SymmetryTol: symTol, Workers: 2})
		checkStatus(t, "create", err)
		if err != nil || n > 64 {
			return
		}
		// An SPD matrix from the data, or the raw data when it is short.
		a := make([]float64, n*n)
		for i := range a {
			if len(data) >= 8 && i < len(data)/8 {
				a[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
			} else if i%(n+1) == 0 {
				a[i] = 2 + float64(i%7)
			} else {
				a[i] = 0.1
			}
		}
		trace := buffer[float64](tsel, h.traceLen(), 0)
		if f64 {
			_, err = isqrtCompute(h, make([]float64, n*n), a, trace)
		} else {
			a32 := make([]float32, len(a))
			for i, v := range a {
				a32[i] = float32(v)
			}
			_, err = isqrtCompute(h, make([]float32, n*n), a32, trace)
		}
		checkStatus(t, "compute", err)
		count %= 4
		if count < 0 {
			return
		}
		batch := make([]float64, count*n*n)
		for i := range batch {
			batch[i] = a[i%(n*n)]
		}
		checkStatus(t, "batch", isqrtComputeBatch(h, count, make([]float64, len(batch)), batch))
	})
}

func FuzzBoundary(f *testing.F) {
	f.Add(uint64(0), uint64(4), "generic", 3, uint64(0))
	f.Add(uint64(1)<<50, uint64(8), "AVX512", -1, uint64(1)<<63)
	f.Fuzz(func(t *testing.T, n, size uint64, isa string, threads int, structSize uint64) {
		if _, err := sliceAt[float64](nil, n, "x"); (err == nil) != (n == 0) {
			t.Fatalf("sliceAt(nil, %d): %v", n, err)
		}
		if size > 0 {
			checkStatus(t, "fits", fits(n, n, size, "x"))
		}
		before := deconv.ISA()
		if err := setISA(isa); err != nil {
			checkStatus(t, "isa", err)
			if deconv.ISA() != before {
				t.Fatalf("a failed set_isa(%q) changed the ISA", isa)
			}
		}
		_ = deconv.SetISA(before)
		tail := make([]byte, maxStructTail)
		checkStatus(t, "struct", checkStructSize("p", structSize, 40, 48, func(n int) []byte { return tail[:n] }))
		_ = threads
	})
}
