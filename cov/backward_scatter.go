package cov

// The backward's gather (the data-matrix rows of a panel, centred) and its
// adjoint, the scatter-add of the rows' gradients into dx. Both walk a
// panel in runs of samples that read one image row (a row of output
// windows, or pixels of one image plane) and fill or drain the run column
// by column, as the forward's gather does: each image row is then read or
// written front to back, where sample by sample every channel plane would
// be touched at the same offset, and planes a power of two apart fall
// into the same cache sets and evict each other.

// bwdGather writes samples s0 … s0+cnt−1 into the panel y, pl.width
// values each (so with G = 1 the sub blocks of a sample are consecutive
// rows of F: the panel is cnt·sub rows of the data matrix), column t less
// shift[t]; values in the padding count as zero.
func bwdGather[T Float](pl *Plan, y, x []T, s0, cnt int, shift []T) {
	width := pl.width
	if pl.kind == flatKind {
		bwdFlatRuns(pl, s0, cnt, func(i, base, seg int) {
			if seg == 1 {
				src := x[base:]
				for t, o := range pl.off {
					y[i*width+t] = src[o] - shift[t]
				}
				return
			}
			for t, o := range pl.off {
				bwdSubRun(y[i*width+t:], width, x[base+o:], pl.step, seg, shift[t])
			}
		})
		return
	}
	chw := pl.c * pl.h * pl.w
	bwdGridRuns(pl, s0, cnt, func(i, n, oy, ox0, seg int) {
		img := x[n*chw : (n+1)*chw]
		for t := 0; t < pl.width; t++ {
			s := shift[t]
			dst := y[i*width+t:]
			iy := oy*pl.stepH - pl.padH + pl.dy[t]
			if uint(iy) >= uint(pl.h) {
				bwdFillConst(dst, width, 0, seg, -s)
				continue
			}
			ix0, jlo, jhi := pl.bwdInRow(t, ox0, seg)
			bwdFillConst(dst, width, 0, jlo, -s)
			bwdFillConst(dst, width, jhi, seg, -s)
			if jhi > jlo {
				row := img[pl.coff[t]+iy*pl.w : pl.coff[t]+(iy+1)*pl.w]
				bwdSubRun(dst[jlo*width:], width, row[ix0+jlo*pl.stepW:], pl.stepW, jhi-jlo, s)
			}
		}
	})
}

// bwdScatter adds, for samples s0 … s0+cnt−1, g[i·width + t] + bias[t]
// to the input value column t of sample s0+i was gathered from (bias[t]
// alone when g is nil); columns read from the padding are dropped.
func bwdScatter[T Float](pl *Plan, dx, g []T, s0, cnt int, bias []T) {
	width := pl.width
	if pl.kind == flatKind {
		bwdFlatRuns(pl, s0, cnt, func(i, base, seg int) {
			if seg == 1 {
				dst := dx[base:]
				if g == nil {
					for t, o := range pl.off {
						dst[o] += bias[t]
					}
					return
				}
				for t, o := range pl.off {
					dst[o] += g[i*width+t] + bias[t]
				}
				return
			}
			for t, o := range pl.off {
				if g == nil {
					bwdAddConst(dx[base+o:], pl.step, seg, bias[t])
				} else {
					bwdAddRun(dx[base+o:], pl.step, g[i*width+t:], width, seg, bias[t])
				}
			}
		})
		return
	}
	chw := pl.c * pl.h * pl.w
	bwdGridRuns(pl, s0, cnt, func(i, n, oy, ox0, seg int) {
		img := dx[n*chw : (n+1)*chw]
		for t := 0; t < pl.width; t++ {
			iy := oy*pl.stepH - pl.padH + pl.dy[t]
			if uint(iy) >= uint(pl.h) {
				continue
			}
			ix0, jlo, jhi := pl.bwdInRow(t, ox0, seg)
			if jhi <= jlo {
				continue
			}
			row := img[pl.coff[t]+iy*pl.w : pl.coff[t]+(iy+1)*pl.w]
			dst := row[ix0+jlo*pl.stepW:]
			if g == nil {
				bwdAddConst(dst, pl.stepW, jhi-jlo, bias[t])
			} else {
				bwdAddRun(dst, pl.stepW, g[(i+jlo)*width+t:], width, jhi-jlo, bias[t])
			}
		}
	})
}

// bwdInRow returns, for column t of seg consecutive windows of one output row
// starting at column ox0, the input column ix0 the first window's tap
// reads and the windows jlo … jhi−1 whose tap lies inside the image row
// (the others read padding).
func (pl *Plan) bwdInRow(t, ox0, seg int) (ix0, jlo, jhi int) {
	step := pl.stepW
	ix0 = ox0*step - pl.padW + pl.dx[t]
	if ix0 < 0 {
		jlo = min(seg, (-ix0-1)/step+1) // ⌈−ix0/step⌉ without overflow
	}
	jhi = jlo
	if ix0 < pl.w {
		jhi = max(jlo, min(seg, (pl.w-1-ix0)/step+1))
	}
	return ix0, jlo, jhi
}

// bwdGridRuns calls run for each run of grid samples s0 … s0+cnt−1 that
// lie on one output row: run(i, n, oy, ox0, seg) covers samples
// s0+i … s0+i+seg−1, windows ox0 … ox0+seg−1 of output row oy of image n.
func bwdGridRuns(pl *Plan, s0, cnt int, run func(i, n, oy, ox0, seg int)) {
	l := pl.oh * pl.ow
	n, r := s0/l, s0%l
	oy, ox := r/pl.ow, r%pl.ow
	for i := 0; i < cnt; {
		seg := min(cnt-i, pl.ow-ox)
		run(i, n, oy, ox, seg)
		i += seg
		if ox += seg; ox == pl.ow {
			ox = 0
			if oy++; oy == pl.oh {
				oy = 0
				n++
			}
		}
	}
}

// bwdFlatRuns calls run for each run of flat samples s0 … s0+cnt−1 that
// lie in one image plane: run(i, base, seg) covers samples
// s0+i … s0+i+seg−1, whose column t reads x[base + off[t] + j·step].
func bwdFlatRuns(pl *Plan, s0, cnt int, run func(i, base, seg int)) {
	hw := pl.h * pl.w
	chw := pl.c * hw
	for i := 0; i < cnt; {
		p := (s0 + i) * pl.step
		cc, r := p/pl.flatNHW, p%pl.flatNHW
		q := r % hw
		seg := 1
		if pl.step < hw {
			seg = min(cnt-i, (hw-1-q)/pl.step+1)
		}
		run(i, cc*hw+r/hw*chw+q, seg)
		i += seg
	}
}

// bwdSubRun sets dst[j·ld] = src[j·step] − s for j < cnt.
func bwdSubRun[T Float](dst []T, ld int, src []T, step, cnt int, s T) {
	if cnt <= 0 {
		return
	}
	_ = dst[(cnt-1)*ld]
	_ = src[(cnt-1)*step]
	if ld == 1 {
		dst = dst[:cnt]
		k := 0
		for j := range dst {
			dst[j] = src[k] - s
			k += step
		}
		return
	}
	for j := 0; j < cnt; j++ {
		dst[j*ld] = src[j*step] - s
	}
}

// bwdAddRun adds src[j·ld] + b to dst[j·step] for j < cnt.
func bwdAddRun[T Float](dst []T, step int, src []T, ld, cnt int, b T) {
	if cnt <= 0 {
		return
	}
	_ = dst[(cnt-1)*step]
	_ = src[(cnt-1)*ld]
	if ld == 1 {
		k := 0
		for _, v := range src[:cnt] {
			dst[k] += v + b
			k += step
		}
		return
	}
	for j := 0; j < cnt; j++ {
		dst[j*step] += src[j*ld] + b
	}
}

// bwdAddConst adds b to dst[j·step] for j < cnt.
func bwdAddConst[T Float](dst []T, step, cnt int, b T) {
	_ = dst[(cnt-1)*step]
	for j := 0; j < cnt; j++ {
		dst[j*step] += b
	}
}

// bwdFillConst sets dst[j·ld] = v for lo ≤ j < hi.
func bwdFillConst[T Float](dst []T, ld, lo, hi int, v T) {
	for j := lo; j < hi; j++ {
		dst[j*ld] = v
	}
}
