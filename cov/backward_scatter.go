package cov

// The backward's gather (the data-matrix rows of a panel, centred) and its
// adjoint, the scatter-add of the rows' gradients into dx. Both walk a
// panel in runs of samples that read one image row (a row of output
// windows, or pixels of one image plane) and fill or drain the run column
// by column, for the reason fill gives: each image row is then read or
// written front to back, and channel planes a power of two apart do not
// evict each other from the caches.

// bwdGather writes samples s0 … s0+cnt−1 into y (pl.width values each),
// column t less shift[t]; values in the padding count as zero.
func bwdGather[T Float](pl *Plan, y, x []T, s0, cnt int, shift []T) {
	width := pl.width
	if pl.kind == flatKind {
		forFlatRuns(pl, s0, cnt, func(i, base, seg int) {
			if seg == 1 {
				row, src := y[i*width:(i+1)*width], x[base:]
				for t, o := range pl.off {
					row[t] = src[o] - shift[t]
				}
				return
			}
			for t, o := range pl.off {
				subRun(y[i*width+t:], width, x[base+o:], pl.step, seg, shift[t])
			}
		})
		return
	}
	chw := pl.c * pl.h * pl.w
	forGridRuns(pl, s0, cnt, func(i, n, oy, ox0, seg int) {
		img, dst := x[n*chw:(n+1)*chw], y[i*width:]
		for t := 0; t < width; t++ {
			s := shift[t]
			iy := oy*pl.stepH - pl.padH + pl.dy[t]
			if uint(iy) >= uint(pl.h) {
				for j := 0; j < seg; j++ {
					dst[j*width+t] = -s
				}
				continue
			}
			ix0, jlo, jhi := pl.inRow(t, ox0, seg)
			for j := 0; j < jlo; j++ {
				dst[j*width+t] = -s
			}
			for j := jhi; j < seg; j++ {
				dst[j*width+t] = -s
			}
			if jhi > jlo {
				row := img[pl.coff[t]+iy*pl.w : pl.coff[t]+(iy+1)*pl.w]
				subRun(dst[jlo*width+t:], width, row[ix0+jlo*pl.stepW:], pl.stepW, jhi-jlo, s)
			}
		}
	})
}

// bwdScatter adds, for samples s0 … s0+cnt−1, g[i·width + t] + bias[t] to
// the input value column t of sample s0+i was gathered from (bias[t] alone
// when g is nil); columns read from the padding are dropped.
func bwdScatter[T Float](pl *Plan, dx []T, s0, cnt int, g, bias []T) {
	width := pl.width
	if pl.kind == flatKind {
		forFlatRuns(pl, s0, cnt, func(i, base, seg int) {
			if seg == 1 {
				dst := dx[base:]
				if g == nil {
					for t, o := range pl.off {
						dst[o] += bias[t]
					}
					return
				}
				row := g[i*width : (i+1)*width]
				for t, o := range pl.off {
					dst[o] += row[t] + bias[t]
				}
				return
			}
			for t, o := range pl.off {
				if g == nil {
					addConst(dx[base+o:], pl.step, seg, bias[t])
				} else {
					addRun(dx[base+o:], pl.step, g[i*width+t:], width, seg, bias[t])
				}
			}
		})
		return
	}
	chw := pl.c * pl.h * pl.w
	forGridRuns(pl, s0, cnt, func(i, n, oy, ox0, seg int) {
		img := dx[n*chw : (n+1)*chw]
		for t := 0; t < width; t++ {
			iy := oy*pl.stepH - pl.padH + pl.dy[t]
			if uint(iy) >= uint(pl.h) {
				continue
			}
			ix0, jlo, jhi := pl.inRow(t, ox0, seg)
			if jhi <= jlo {
				continue
			}
			row := img[pl.coff[t]+iy*pl.w : pl.coff[t]+(iy+1)*pl.w]
			dst := row[ix0+jlo*pl.stepW:]
			if g == nil {
				addConst(dst, pl.stepW, jhi-jlo, bias[t])
			} else {
				addRun(dst, pl.stepW, g[(i+jlo)*width+t:], width, jhi-jlo, bias[t])
			}
		}
	})
}

// inRow returns, for column t of seg consecutive windows of one output row
// starting at column ox0, the input column ix0 the first window's tap
// reads and the windows jlo … jhi−1 whose tap lies inside the image row
// (the others read padding).
func (pl *Plan) inRow(t, ox0, seg int) (ix0, jlo, jhi int) {
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

// forGridRuns calls run for each run of grid samples s0 … s0+cnt−1 that
// lie on one output row: run(i, n, oy, ox0, seg) covers samples
// s0+i … s0+i+seg−1, windows ox0 … ox0+seg−1 of output row oy of image n.
func forGridRuns(pl *Plan, s0, cnt int, run func(i, n, oy, ox0, seg int)) {
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

// forFlatRuns calls run for each run of flat samples s0 … s0+cnt−1 that
// lie in one image plane: run(i, base, seg) covers samples
// s0+i … s0+i+seg−1, whose column t reads x[base + off[t] + j·step].
func forFlatRuns(pl *Plan, s0, cnt int, run func(i, base, seg int)) {
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

// subRun sets dst[j·ld] = src[j·step] − s for j < cnt.
func subRun[T Float](dst []T, ld int, src []T, step, cnt int, s T) {
	_ = dst[(cnt-1)*ld]
	_ = src[(cnt-1)*step]
	for j := 0; j < cnt; j++ {
		dst[j*ld] = src[j*step] - s
	}
}

// addRun adds src[j·ld] + b to dst[j·step] for j < cnt.
func addRun[T Float](dst []T, step int, src []T, ld, cnt int, b T) {
	_ = dst[(cnt-1)*step]
	_ = src[(cnt-1)*ld]
	for j := 0; j < cnt; j++ {
		dst[j*step] += src[j*ld] + b
	}
}

// addConst adds b to dst[j·step] for j < cnt.
func addConst[T Float](dst []T, step, cnt int, b T) {
	_ = dst[(cnt-1)*step]
	for j := 0; j < cnt; j++ {
		dst[j*step] += b
	}
}
