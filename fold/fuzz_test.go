package fold

import (
	"math"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/cov"
	"github.com/netdeconv/deconv/internal/parallel"
)

// The fuzz targets build layers from arbitrary configurations and shapes
// and assert, for construction and every forward pass: no panic, no
// goroutine left behind (beyond the shared worker pool), no allocation
// beyond a multiple of the layer's computed buffer sizes, finite outputs
// or an error, and an unchanged layer after an error.

// poison writes a NaN, an infinity or a huge finite value into x at
// position pos (mod its length), as kind selects; kind 0 leaves x clean.
func poison(x []float32, pos uint16, kind uint8) {
	if len(x) == 0 {
		return
	}
	switch kind % 5 {
	case 1:
		x[int(pos)%len(x)] = float32(math.NaN())
	case 2:
		x[int(pos)%len(x)] = float32(math.Inf(1))
	case 3:
		x[int(pos)%len(x)] = 3e38
	case 4:
		for i := range x {
			x[i] *= 1e30
		}
	}
}

// guarded runs f and checks the goroutines it left and the bytes it
// allocated (at most limit).
func guarded(t *testing.T, what string, limit uint64, f func()) {
	t.Helper()
	g0, p0 := runtime.NumGoroutine(), parallel.PoolSize()
	bytes := allocated(f)
	// The worker pool starts its goroutines on demand and keeps them.
	if grown := runtime.NumGoroutine() - g0 - (parallel.PoolSize() - p0); grown > 2 {
		t.Errorf("%s: %d goroutines left behind", what, grown)
	}
	if bytes > limit {
		t.Errorf("%s: allocated %d bytes, more than the bound %d", what, bytes, limit)
	}
}

// allocBound is the allocation a call may make for buffers of the given
// numbers of values: a generous multiple (workspaces, plans, scratch in
// float64) plus a constant for the plans' tables and the error messages.
func allocBound(values ...int) uint64 {
	s := 0
	for _, v := range values {
		s += v
	}
	return 1<<20 + 96*uint64(s)
}

func finiteAll(y []float32) bool {
	for _, v := range y {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// FuzzFastDeconv covers rectangular kernels, strides, paddings and
// dilations, groups, blocks, both groupings, freezing and poisoned inputs.
func FuzzFastDeconv(f *testing.F) {
	f.Add(4, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2, 3, 5, 2, 7, 7, true, uint8(0), 1e-5, uint16(0), uint8(0), false)
	f.Add(3, 3, 1, 1, 2, 2, 0, 0, 1, 1, 3, 1, 1, 1, 1, 4, 4, false, uint8(1), 0.1, uint16(5), uint8(1), true)
	f.Add(2, 4, 2, 2, 1, 1, 3, 3, 2, 2, 2, 64, 3, 2, 3, 1, 9, true, uint8(1), 0.0, uint16(3), uint8(4), false)
	f.Add(4, 2, 1, 3, 1, 2, 0, 1, 2, 1, 1, 2, 2, 3, 2, 9, 10, true, uint8(0), 1e-3, uint16(97), uint8(2), false)
	f.Add(6, 4, 3, 2, 2, 1, 1, 0, 1, 2, 2, 0, 1, 4, 1, 10, 12, false, uint8(1), 1e-2, uint16(0), uint8(3), true)
	f.Add(5, 2, 1, 1, 2, 3, 0, 0, 1, 1, 1, 5, 1, 2, 3, 8, 9, true, uint8(0), 1e-2, uint16(1), uint8(1), false)
	f.Add(1<<30, 1<<30, 1<<20, 1, 1, 1, 0, 0, 1, 1, 1, 64, 3, 5, 1, 1, 1, true, uint8(0), 1e-5, uint16(0), uint8(0), false)
	f.Add(64, 1, 64, 64, 1, 1, 0, 0, 1, 1, 1, 64, 3, 5, 1, 1, 1, true, uint8(0), 1e-5, uint16(0), uint8(0), false)
	f.Fuzz(func(t *testing.T, in, out, kh, kw, sh, sw, ph, pw, dh, dw, groups, block, sampling, iters, n, h, w int,
		bias bool, grouping uint8, eps float64, pos uint16, kind uint8, freeze bool) {
		cfg := NewFastDeconvConfig(in, out, 1)
		cfg.Geometry = deconv.Geometry{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, DilationH: dh, DilationW: dw}
		cfg.Groups = groups
		cfg.Block, cfg.SamplingStride, cfg.NIter, cfg.Bias, cfg.Eps = block, sampling, iters, bias, eps
		cfg.Grouping = deconv.Grouping(grouping % 3)
		cfg.Freeze, cfg.FreezeIter = freeze, 2
		wlen, ok := mulSmall(out, in, kh, kw)
		if !ok || wlen > 1<<12 || in <= 0 || groups <= 0 || iters > 20 {
			// Only the configuration is checked: it must fail or build
			// without allocating beyond the buffers of a small layer.
			guarded(t, "NewFastDeconv", allocBound(3*MaxFeatures), func() {
				if l, err := NewFastDeconv[float32](cfg, nil, nil); err == nil {
					// Accepted only when nothing needs weights of that size.
					t.Errorf("%+v: accepted without weights: F = %d", cfg, l.NumFeatures())
				}
			})
			return
		}
		wlen /= groups
		wt := make([]float32, wlen)
		for i := range wt {
			wt[i] = float32(i%5)*0.1 - 0.15
		}
		var b []float32
		if bias {
			b = make([]float32, max(out, 0))
		}
		var l *FastDeconv[float32]
		var err error
		// The layer's buffers: weights, and per covariance matrix the
		// running, batch and scratch F² values (F = KernelH·KernelW·B).
		F := kh * kw * cov.BlockSize(in, block, groups)
		nF2 := 0
		if F <= MaxFeatures {
			nF2 = groups * F * F
		}
		guarded(t, "NewFastDeconv", allocBound(5*wlen, 4*nF2, 4*groups*F), func() { l, err = NewFastDeconv(cfg, wt, b) })
		if err != nil {
			return
		}
		F = l.NumFeatures()
		xlen, ok := mulSmall(n, in, h, w)
		if !ok || xlen > 1<<14 || n <= 0 || F > 256 {
			return
		}
		oh, ow, err := l.OutputSize(h, w)
		if err != nil {
			return
		}
		x := make([]float32, xlen)
		for i := range x {
			x[i] = float32(i%13)*0.2 + float32(i%7)*0.03
		}
		poison(x, pos, kind)
		y := make([]float32, n*out*oh*ow)
		g := l.conv.Geom()
		limit := allocBound(8*max(g.Groups, 1)*F*F, 4*wlen, 2*xlen, 2*len(y), g.Features()*(blockPositions+32))
		for step := 0; step < 3; step++ {
			if step == 2 {
				_ = l.Train(false)
			}
			before := fastDeconvState(l)
			var err error
			guarded(t, "FastDeconv.Forward", limit, func() { err = l.Forward(y, x, n, h, w) })
			if err != nil {
				if after := fastDeconvState(l); after != before {
					t.Fatalf("%+v: the failed forward (%v) changed the layer", cfg, err)
				}
				continue
			}
			if !finiteAll(y) {
				t.Fatalf("%+v: non-finite output with a nil error", cfg)
			}
		}
		if c, err := l.Folded(); err == nil && finiteAll(x) {
			if err := c.Forward(y, x, n, h, w); err == nil && !finiteAll(y) {
				t.Fatalf("%+v: folded conv gave a non-finite output with a nil error", cfg)
			}
		}
	})
}

// FuzzDelinear covers blocks, batches, eps, momentum and poisoned inputs.
func FuzzDelinear(f *testing.F) {
	f.Add(8, 3, 4, 5, 3, 1e-5, 0.1, true, uint16(0), uint8(0))
	f.Add(12, 2, 0, 1, 1, 0.0, 1.0, false, uint16(7), uint8(1))
	f.Add(6, 6, 4, 3, 5, 1e-2, 0.5, true, uint16(2), uint8(4))
	f.Add(1<<20, 1, 1<<20, 1, 5, 1e-5, 0.1, true, uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, in, out, block, batch, iters int, eps, momentum float64, bias bool, pos uint16, kind uint8) {
		cfg := NewDelinearConfig(in, out)
		cfg.Block, cfg.NIter, cfg.Eps, cfg.Momentum, cfg.Bias = block, iters, eps, momentum, bias
		wlen, ok := mulSmall(in, out)
		if !ok || wlen > 1<<12 || iters > 20 {
			guarded(t, "NewDelinear", allocBound(3*MaxFeatures), func() { _, _ = NewDelinear[float32](cfg, nil, nil) })
			return
		}
		wt := make([]float32, wlen)
		for i := range wt {
			wt[i] = float32(i%7)*0.1 - 0.3
		}
		var b []float32
		if bias {
			b = make([]float32, out)
		}
		var l *Delinear[float32]
		var err error
		guarded(t, "NewDelinear", allocBound(5*wlen, 6*in), func() { l, err = NewDelinear(cfg, wt, b) })
		if err != nil {
			return
		}
		xlen, ok := mulSmall(batch, in)
		if !ok || xlen > 1<<14 {
			return
		}
		x := make([]float32, xlen)
		for i := range x {
			x[i] = float32(i%11)*0.3 + float32(i%3)*0.1
		}
		poison(x, pos, kind)
		y := make([]float32, batch*out)
		B := l.Config().Block
		limit := allocBound(8*B*B, 4*wlen, 2*xlen, 2*len(y))
		for step := 0; step < 3; step++ {
			if step == 2 {
				_ = l.Train(false)
			}
			before := delinearState(l)
			var err error
			guarded(t, "Delinear.Forward", limit, func() { err = l.Forward(y, x, batch) })
			if err != nil {
				if delinearState(l) != before {
					t.Fatalf("%+v: the failed forward (%v) changed the layer", cfg, err)
				}
				continue
			}
			if !finiteAll(y) {
				t.Fatalf("%+v: non-finite output with a nil error", cfg)
			}
		}
	})
}

// FuzzChannelDeconv covers blocks, remainder channels, sampling, the
// uncentred mode, eps (0 included) and poisoned inputs.
func FuzzChannelDeconv(f *testing.F) {
	f.Add(2, 5, 2, 6, 6, 3, 5, 1e-2, 0.1, false, uint16(0), uint8(0))
	f.Add(3, 3, 1, 1, 1, 1, 2, 0.0, 1.0, true, uint16(1), uint8(1))
	f.Add(2, 5, 2, 4, 4, 2, 3, 0.0, 0.1, false, uint16(3), uint8(4))
	f.Add(1<<32, 5, 2, 4, 4, 2, 3, 1e-2, 0.1, false, uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, block, c, n, h, w, sampling, iters int, eps, momentum float64, uncentred bool, pos uint16, kind uint8) {
		cfg := NewChannelDeconvConfig(block)
		cfg.SamplingStride, cfg.NIter, cfg.Eps, cfg.Momentum, cfg.Uncentred = sampling, iters, eps, momentum, uncentred
		if block > 64 || iters > 20 {
			guarded(t, "NewChannelDeconv", allocBound(3*MaxFeatures), func() {
				if block > MaxFeatures {
					if _, err := NewChannelDeconv[float32](cfg); err == nil {
						t.Errorf("block %d above MaxFeatures accepted", block)
					}
				}
			})
			return
		}
		var l *ChannelDeconv[float32]
		var err error
		guarded(t, "NewChannelDeconv", allocBound(8*max(block, 0)*max(block, 0)), func() { l, err = NewChannelDeconv[float32](cfg) })
		if err != nil {
			return
		}
		xlen, ok := mulSmall(n, c, h, w)
		if !ok || xlen > 1<<14 {
			return
		}
		x := make([]float32, xlen)
		for i := range x {
			x[i] = float32(i%13)*0.2 + float32(i%5)*0.07
		}
		poison(x, pos, kind)
		y := make([]float32, xlen)
		limit := allocBound(8*block*block, 2*xlen)
		for step := 0; step < 3; step++ {
			if step == 2 {
				_ = l.Train(false)
			}
			before := channelDeconvState(l)
			var err error
			guarded(t, "ChannelDeconv.Forward", limit, func() { err = l.Forward(y, x, n, c, h, w) })
			if err != nil {
				if channelDeconvState(l) != before {
					t.Fatalf("%+v: the failed forward (%v) changed the layer", cfg, err)
				}
				continue
			}
			if !finiteAll(y) {
				t.Fatalf("%+v: non-finite output with a nil error", cfg)
			}
		}
	})
}

// mulSmall multiplies positive sizes, reporting false for any non-positive
// factor or a product above 2³⁰.
func mulSmall(fs ...int) (int, bool) {
	p := 1
	for _, f := range fs {
		if f <= 0 || f > 1<<30 || p > (1<<30)/f {
			return 0, false
		}
		p *= f
	}
	return p, true
}
