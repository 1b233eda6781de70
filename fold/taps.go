package fold

import (
	"sync"
	"unsafe"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/taps"
)

// The taps path of Conv2d, for grouped layers (depthwise ones included):
// each output row is a sum of weight × shifted input row terms computed by
// internal/taps, vectorised over the output's columns, from a zero-padded
// copy of the group's input rows. Output channels go four at a time
// (AVX-512; two with AVX2), so each input vector loaded feeds four
// channels' accumulators and the kernel is bound by its multiply-adds.
// A GEMM per group would multiply matrices a few rows deep after an
// im2col whose cost, on small images, exceeds the products'; this path
// reads the input once per group and writes the output once.

// tapsMaxChannels is the largest number of input channels per group for
// which ConvAuto takes the taps path. Measured at batch 8 on the grouped
// rows of Table 3 (CPU time, both paths in one run, repeated): the taps
// path ran 2.5× faster than the direct one at 8 channels per group
// (256→512 in 32 groups, 32×32) and 6–8× at 1 (depthwise, channel
// multiplier 1 and 2); at 16 (512→512 in 32 groups, 16×16) the two tied
// within the noise of the measurement; at 64 (4 and 8 groups) the direct
// path was as fast or up to 1.4× faster, so those keep it.
var tapsMaxChannels = 16

// tapsChunkBytes bounds the padded input rows one pass of the
// multi-channel kernel reads (a chunk of input channels): they stay in the
// 32–48 KiB L1 cache while each block of output channels reads them.
const tapsChunkBytes = 16 << 10

// useTaps reports whether a call takes the taps path.
func (g ConvGeom) useTaps() bool {
	return g.Algorithm == ConvAuto && g.Groups > 1 && g.InChannels/g.Groups <= tapsMaxChannels
}

// tapsRun is the state one taps forward shares with its workers.
type tapsRun[T Float] struct {
	geom                 ConvGeom
	dst, x, weight, bias []T
	n, h, w, oh, ow      int
	rowsPer, bands, wp   int
	finite               gather.FiniteFunc[T]
	fe                   firstError
	padTab               *gather.Table // padded planes by table (taps_table.go); nil: by rows
	tables               tapsTables
	chTaps               []taps.Taps[T] // every output channel's taps, with padTab; else nil
	chStore              []taps.Taps[T] // chTaps' storage, kept across calls
	body                 func(lo, hi int)
}

var tapsPool32, tapsPool64, coPool32, coPool64 sync.Pool

func getCoTaps[T Float]() *taps.CoTaps[T] {
	pool := &coPool64
	var z T
	if _, ok := any(z).(float32); ok {
		pool = &coPool32
	}
	if p, ok := pool.Get().(*taps.CoTaps[T]); ok {
		return p
	}
	return new(taps.CoTaps[T])
}

func putCoTaps[T Float](p *taps.CoTaps[T]) {
	var z T
	if _, ok := any(z).(float32); ok {
		coPool32.Put(p)
		return
	}
	coPool64.Put(p)
}

func getTaps[T Float]() *taps.Taps[T] {
	pool := &tapsPool64
	var z T
	if _, ok := any(z).(float32); ok {
		pool = &tapsPool32
	}
	if p, ok := pool.Get().(*taps.Taps[T]); ok {
		return p
	}
	return new(taps.Taps[T])
}

func putTaps[T Float](p *taps.Taps[T]) {
	var z T
	if _, ok := any(z).(float32); ok {
		tapsPool32.Put(p)
		return
	}
	tapsPool64.Put(p)
}

// forwardTaps is forward's taps path, for validated shapes.
func (c *Conv2d[T]) forwardTaps(wk *convWork[T], dst, x []T, n, h, w, oh, ow int, weight, bias []T, workers int) error {
	g := c.geom
	r := &wk.taps
	workers = parallel.Workers(workers)
	r.geom, r.dst, r.x, r.weight, r.bias = g, dst, x, weight, bias
	r.n, r.h, r.w, r.oh, r.ow = n, h, w, oh, ow
	// Split the output rows only when there are too few (image, group)
	// pairs to keep every worker busy.
	r.bands = min(oh, max(1, (4*workers+n*g.Groups-1)/(n*g.Groups)))
	r.rowsPer = (oh + r.bands - 1) / r.bands
	r.bands = (oh + r.rowsPer - 1) / r.rowsPer
	r.wp = w + 2*g.PadW
	r.finite = gather.FiniteFor[T](isa.Selected())
	r.padTab = r.tables.lookup(g, h, w, r.bands, r.paddedRows(), r.wp)
	r.chTaps = nil
	if r.padTab != nil {
		r.buildChannelTaps()
	}
	r.fe.err = nil
	parallel.For(n*g.Groups*r.bands, workers, r.body)
	err := r.fe.err
	r.dst, r.x, r.weight, r.bias, r.fe.err = nil, nil, nil, nil, nil
	return err
}

// items computes work items [lo, hi): (image, group, band of output rows).
func (r *tapsRun[T]) items(lo, hi int) {
	if r.padTab != nil {
		r.itemsByTable(lo, hi)
		return
	}
	g := r.geom
	cg := g.InChannels / g.Groups
	hp := r.paddedRows()
	plane := hp * r.wp
	buf := getScratch[T](cg * plane)
	defer putScratch(buf)
	tp := getTaps[T]()
	defer putTaps(tp)
	cp := getCoTaps[T]()
	defer putCoTaps(cp)
	pad := *buf
	for item := lo; item < hi; item++ {
		img, rest := item/(g.Groups*r.bands), item%(g.Groups*r.bands)
		grp, band := rest/r.bands, rest%r.bands
		oy0, oy1 := band*r.rowsPer, min((band+1)*r.rowsPer, r.oh)
		src := r.x[(img*g.InChannels+grp*cg)*r.h*r.w:][:cg*r.h*r.w]
		if band == 0 && !r.finite(src) {
			r.fe.set(nonFinite(src, "input", (img*g.InChannels+grp*cg)*r.h*r.w))
			return
		}
		// The padded copy of input rows iy0 … iy0+hp−1 (zeros outside).
		iy0 := oy0*g.StrideH - g.PadH
		for ci := 0; ci < cg; ci++ {
			for py := 0; py < hp; py++ {
				row := pad[ci*plane+py*r.wp : ci*plane+(py+1)*r.wp]
				iy := iy0 + py
				if iy < 0 || iy >= r.h {
					clear(row)
					continue
				}
				clear(row[:g.PadW])
				copy(row[g.PadW:g.PadW+r.w], src[(ci*r.h+iy)*r.w:(ci*r.h+iy+1)*r.w])
				clear(row[g.PadW+r.w:])
			}
		}
		if !r.compute(pad, plane, img, grp, oy0, oy1, tp, cp, true) {
			return
		}
	}
}

// addTaps sets tp to output channel oc's taps over padded planes of
// plane elements per input channel.
func (r *tapsRun[T]) addTaps(tp *taps.Taps[T], oc, plane int) {
	g := r.geom
	cg, kh, kw := g.InChannels/g.Groups, g.KernelH, g.KernelW
	tp.Reset()
	wt := r.weight[oc*cg*kh*kw : (oc+1)*cg*kh*kw]
	for ci := 0; ci < cg; ci++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				tp.Add(ci*plane+ki*g.DilationH*r.wp+kj*g.DilationW, wt[(ci*kh+ki)*kw+kj])
			}
		}
	}
}

// paddedRows is the number of padded input rows one band reads:
// (rowsPer−1)·StrideH + the kernel's reach.
func (r *tapsRun[T]) paddedRows() int {
	g := r.geom
	return (r.rowsPer-1)*g.StrideH + (g.KernelH-1)*g.DilationH + 1
}

// compute writes the output rows [oy0, oy1) of group grp of image img
// from pad, the group's padded input rows (plane elements per input
// channel), and with check set checks them (unset, the caller checks). It
// reports false when it recorded an error.
func (r *tapsRun[T]) compute(pad []T, plane, img, grp, oy0, oy1 int, tp *taps.Taps[T], cp *taps.CoTaps[T], check bool) bool {
	g := r.geom
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	kh, kw := g.KernelH, g.KernelW
	nco := taps.CoBlock()
	var wbuf [8]T // one tap's weights for a block of channels
	var b0 T
	L := r.oh * r.ow
	co := 0
	// Blocks of nco output channels share each input load (stride-1
	// columns only: the kernels read contiguous vectors). The kernel
	// accumulates, so the input channels go in chunks whose padded
	// rows stay in L1 while every block of output channels reads them.
	if nblk := coutg / max(nco, 1); nco > 0 && g.StrideW == 1 && nblk > 0 {
		base := (img*g.OutChannels+grp*coutg)*L + oy0*r.ow
		rowsLen := (oy1 - oy0) * r.ow
		for c := 0; c < nblk*nco; c++ {
			var b T
			if r.bias != nil {
				b = r.bias[grp*coutg+c]
			}
			fill(r.dst[base+c*L:base+c*L+rowsLen], b)
		}
		chunk := max(1, min(cg, tapsChunkBytes/(plane*int(unsafe.Sizeof(b0)))))
		for c0 := 0; c0 < cg; c0 += chunk {
			c1 := min(c0+chunk, cg)
			for blk := 0; blk < nblk; blk++ {
				oc := grp*coutg + blk*nco
				cp.Reset(nco)
				for ci := c0; ci < c1; ci++ {
					for ki := 0; ki < kh; ki++ {
						for kj := 0; kj < kw; kj++ {
							for c := 0; c < nco; c++ {
								wbuf[c] = r.weight[(((oc+c)*cg+ci)*kh+ki)*kw+kj]
							}
							cp.Add(ci*plane+ki*g.DilationH*r.wp+kj*g.DilationW, wbuf[:nco])
						}
					}
				}
				taps.RowsCo(r.dst[base+blk*nco*L:], r.ow, L, pad, g.StrideH*r.wp, oy1-oy0, r.ow, cp)
			}
		}
		for c := 0; check && c < nblk*nco; c++ {
			if out := r.dst[base+c*L : base+c*L+rowsLen]; !r.finite(out) {
				r.fe.set(nonFinite(out, "output", base+c*L))
				return false
			}
		}
		co = nblk * nco
	}
	for ; co < coutg; co++ {
		oc := grp*coutg + co
		tp := tp
		if r.chTaps != nil {
			tp = &r.chTaps[oc] // built once for the call (taps_table.go)
		} else {
			r.addTaps(tp, oc, plane)
		}
		var b T
		if r.bias != nil {
			b = r.bias[oc]
		}
		out := r.dst[(img*g.OutChannels+oc)*L+oy0*r.ow : (img*g.OutChannels+oc)*L+oy1*r.ow]
		taps.Rows(out, r.ow, pad, g.StrideH*r.wp, g.StrideW, oy1-oy0, r.ow, tp, b)
		if check && !r.finite(out) {
			r.fe.set(nonFinite(out, "output", (img*g.OutChannels+oc)*L+oy0*r.ow))
			return false
		}
	}
	return true
}
