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
	n, null := lengthFor(sel, max(want, 0))
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
		// The backward with arbitrary (nil, short, long) gradients and dx.
		checkStatus(t, "backward", covBackward(pl, buffer[float32](xsel>>3, sz[0], 4), buffer[float32](msel>>3, sz[1], 5),
			buffer[float32](csel>>3, sz[2], 6), x, mean))
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
		grad := tsel&8 != 0
		h, err := newIsqrt(n, isqrtConfig{Method: method, Iterations: iters % 64, Scaling: scaling, Tol: tol, SymmetryTol: symTol, Workers: 2,
			Grad: grad})
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
		// Both element types' backward, whichever the forward was (the
		// other is a parameter error), with arbitrary lengths.
		checkStatus(t, "backward", isqrtBackward(h, buffer[float64](tsel>>4, n*n, 1), buffer[float64](tsel>>2, n*n, 2), false, 1))
		checkStatus(t, "backward", isqrtBackward(h, buffer[float32](tsel>>4, n*n, 1), buffer[float32](tsel>>2, n*n, 2), false, 1))
		count %= 4
		if count < 0 {
			return
		}
		batch := make([]float64, count*n*n)
		for i := range batch {
			batch[i] = a[i%(n*n)]
		}
		checkStatus(t, "batch", isqrtComputeBatch(h, count, make([]float64, len(batch)), batch))
		checkStatus(t, "backward batch", isqrtBackward(h, buffer[float64](tsel>>4, len(batch), 1), buffer[float64](tsel, len(batch), 3),
			true, count+int(tsel>>6)%2))
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

// FuzzLayers creates the layers and the folded convolution from arbitrary
// config fields and drives them with arbitrary shapes, names and buffers
// (nil, short, long).
func FuzzLayers(f *testing.F) {
	f.Add(uint8(0), 4, 3, 3, 1, 1, 2, 1, 0, 1e-5, 5, 0.1, uint8(3), uint8(3), 2, 5, 6, false, "running_mean")
	f.Add(uint8(1), 6, 4, 0, 0, 1, 3, 0, 0, 1e-5, 5, 0.1, uint8(3), uint8(1), 7, 1, 1, true, "weight")
	f.Add(uint8(2), 2, 5, 0, 0, 2, 2, 0, 0, 1e-2, 5, 0.1, uint8(2), uint8(3), 2, 4, 4, false, "running_var")
	f.Add(uint8(3), 4, 3, 3, 1, 1, 0, 2, 300, math.NaN(), -1, 2.0, uint8(0), uint8(3), 1, 3, 3, true, "bias")
	f.Add(uint8(4), 6, 4, 0, 0, 1, 0, 0, 1, 0.0, 0, 0.0, uint8(1), uint8(2), 3, 1, 1, false, "")
	f.Fuzz(func(t *testing.T, kind uint8, in, out, k, pad, sampling, block, groups, grouping int, eps float64, nIter int,
		momentum float64, wsel, xsel uint8, n, h, w int, f64 bool, name string) {
		if tooLarge(in, out, k, k) || tooLarge(n, in, h, w) || tooLarge(n, out, h, w) || tooLarge(in, k, k, block) || nIter > 50 || block > 64 {
			return
		}
		if in > maxFuzzLen || out > maxFuzzLen || k > 64 || max(n, h, w) > maxFuzzLen {
			return
		}
		geom := deconv.Square(k, 1, pad, 1)
		cg := max(groups, 1)
		wantW := max(out*max(in/cg, 1)*max(k, 1)*max(k, 1), 1)
		if f64 {
			l, err := createLayer[float64](kind, in, out, geom, groups, grouping, block, sampling, eps, nIter, momentum, wsel, wantW)
			checkStatus(t, "create", err)
			if err == nil && l != nil {
				exerciseLayer[float64](t, kind, l, in, out, n, h, w, xsel, name)
			}
			return
		}
		l, err := createLayer[float32](kind, in, out, geom, groups, grouping, block, sampling, eps, nIter, momentum, wsel, wantW)
		checkStatus(t, "create", err)
		if err == nil && l != nil {
			exerciseLayer[float32](t, kind, l, in, out, n, h, w, xsel, name)
		}
	})
}

func createLayer[T elem](kind uint8, in, out int, geom deconv.Geometry, groups, grouping, block, sampling int, eps float64, nIter int,
	momentum float64, wsel uint8, wantW int) (*layerHandle, error) {
	switch kind % 5 {
	case 0:
		return newFastDeconv(fastDeconvParams{InChannels: in, OutChannels: out, Geometry: geom, Groups: groups, Bias: wsel%2 == 1,
			Eps: eps, NIter: nIter, Momentum: momentum, Block: block, SamplingStride: sampling, FreezeIter: 100, Grouping: grouping, Workers: 2},
			buffer[T](wsel, wantW, 0), buffer[T](wsel>>2, out, 1))
	case 1:
		return newDelinear(delinearParams{InFeatures: in, OutFeatures: out, Bias: wsel%2 == 1, Eps: eps, NIter: nIter,
			Momentum: momentum, Block: block, Workers: 2}, buffer[T](wsel, in*out, 0), buffer[T](wsel>>2, out, 1))
	case 2:
		return newChannelDeconv[T](channelDeconvParams{Block: block, Eps: eps, NIter: nIter, Momentum: momentum,
			SamplingStride: sampling, Uncentred: grouping%2 == 1, Workers: 2})
	case 3:
		_, err := newConv(convParams{InChannels: in, OutChannels: out, Geometry: geom, Groups: groups, Workers: grouping % 3},
			buffer[T](wsel, wantW, 0), buffer[T](wsel>>2, out, 1))
		return nil, err
	default:
		_, err := newLinear(linearParams{InFeatures: in, OutFeatures: out, Workers: grouping % 3},
			buffer[T](wsel, in*out, 0), buffer[T](wsel>>2, out, 1))
		return nil, err
	}
}

func exerciseLayer[T elem](t *testing.T, kind uint8, l *layerHandle, in, out, n, h, w int, xsel uint8, name string) {
	n0, h0, w0 := max(n, 0), max(h, 0), max(w, 0)
	inLen, outLen := n0*in*h0*w0, n0*out*h0*w0
	if kind%5 == 1 {
		inLen, outLen = n0*in, n0*out
	} else if kind%5 == 2 {
		outLen = inLen
	}
	x, dst := buffer[T](xsel, inLen, 2), buffer[T](xsel>>3, outLen, 0)
	for step := 0; step < 3; step++ {
		switch kind % 5 {
		case 0:
			checkStatus(t, "forward", fastDeconvForward(l, dst, x, n, h, w))
			wl, _ := layerLen(l, "weight")
			bl, _ := layerLen(l, "bias")
			dx, dw, db := buffer[T](xsel>>5, inLen, 4), buffer[T](xsel>>6, wl, 5), buffer[T](xsel>>7, bl, 6)
			checkStatus(t, "backward", fastDeconvBackward(l, dx, dw, db, dst, x, n, h, w))
			if step == 1 {
				c, err := fastDeconvFolded(l)
				checkStatus(t, "folded", err)
				if err == nil {
					checkStatus(t, "conv forward", convForward(c, dst, x, n, h, w))
					checkStatus(t, "conv backward", convBackward(c, dx, dw, db, dst, x, n, h, w))
				}
			}
		case 1:
			checkStatus(t, "forward", delinearForward(l, dst, x, n))
			dx, dw, db := buffer[T](xsel>>5, inLen, 4), buffer[T](xsel>>6, in*out, 5), buffer[T](xsel>>7, out, 6)
			checkStatus(t, "backward", delinearBackward(l, dx, dw, db, dst, x, n))
			if step == 1 {
				f, err := delinearFolded(l)
				checkStatus(t, "folded", err)
				if err == nil {
					checkStatus(t, "linear forward", linearForward(f, dst, x, n))
					checkStatus(t, "linear backward", linearBackward(f, dx, dw, db, dst, x, n))
				}
			}
		case 2:
			checkStatus(t, "forward", channelDeconvForward(l, dst, x, n, in, h, w))
			checkStatus(t, "backward", channelDeconvBackward(l, buffer[T](xsel>>5, inLen, 4), dst, x, n, in, h, w))
		}
		checkStatus(t, "training", layerSetInt(l, "training", int64(step%2)))
	}
	size, err := layerLen(l, name)
	checkStatus(t, "len", err)
	if err == nil && size <= maxFuzzLen {
		buf := buffer[T](xsel>>1, size, 3)
		checkStatus(t, "get", layerGet(l, name, buf))
		checkStatus(t, "set", layerSet(l, name, buf))
	}
	v, err := layerGetInt(l, name)
	checkStatus(t, "get_int", err)
	checkStatus(t, "set_int", layerSetInt(l, name, v-1))
}

// FuzzFold folds and restores with arbitrary blockings, row counts and
// buffer lengths, in place or not.
func FuzzFold(f *testing.F) {
	f.Add(4, 6, 3, 0, uint8(3), uint8(3), uint8(3), false, true)
	f.Add(2, 4, 4, 1, uint8(0), uint8(3), uint8(1), true, false)
	f.Add(-1, 0, 0, 300, uint8(2), uint8(2), uint8(2), false, false)
	f.Fuzz(func(t *testing.T, rows, features, block, grouping int, wsel, bsel, dsel uint8, inPlace, f64 bool) {
		if tooLarge(rows, features) || tooLarge(block, block) || rows > maxFuzzLen || features > maxFuzzLen || block > 256 {
			return
		}
		bp := blockingParams{Features: features, Block: block, Grouping: grouping}
		q := 1 + int(dsel>>4)%2
		w := buffer[float64](wsel, max(rows, 0)*max(features, 0), 0)
		bias := buffer[float64](bsel, max(rows, 0), 1)
		d := buffer[float64](dsel, q*max(block, 0)*max(block, 0), 2)
		for i := 0; i < max(block, 0) && d != nil; i++ {
			for j := 0; j < q && (j*block+i)*block+i < len(d); j++ {
				d[(j*block+i)*block+i] += float64(block) + 1 // diagonally dominant
			}
		}
		mean := buffer[float64](dsel>>1, q*max(block, 0), 3)
		wOut, bOut := make([]float64, len(w)), make([]float64, len(bias))
		if inPlace {
			wOut, bOut = w, bias
		}
		if f64 {
			checkStatus(t, "fold", foldRun(wOut, bOut, w, bias, rows, bp, d, mean))
			// The backward, with the folded outputs as the incoming
			// gradients and arbitrary destinations (nil: not computed).
			checkStatus(t, "fold backward", foldBackwardRun(buffer[float64](wsel>>3, len(w), 4), buffer[float64](bsel>>3, len(bias), 5),
				buffer[float64](dsel>>3, len(d), 6), buffer[float64](dsel>>5, len(mean), 7), wOut, bOut,
				w, rows, bp, d, mean))
			checkStatus(t, "restore", restoreRun(wOut, bOut, wOut, bOut, rows, bp, d, mean))
			return
		}
		c := func(v []float64) []float32 {
			if v == nil {
				return nil
			}
			r := make([]float32, len(v))
			for i, x := range v {
				r[i] = float32(x)
			}
			return r
		}
		w32, b32 := c(w), c(bias)
		checkStatus(t, "fold", foldRun(w32, b32, w32, b32, rows, bp, c(d), c(mean)))
		checkStatus(t, "restore", restoreRun(w32, b32, w32, b32, rows, bp, c(d), c(mean)))
	})
}
