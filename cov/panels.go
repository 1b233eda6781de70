package cov

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gather"
)

// The panel path: each worker gathers the shifted samples of a panel
// straight into the packed layout the micro-kernels read (gemm.Panels):
// every value read from the image is stored once, in the same pass, into
// the one panel layout whose lanes the kernels read as both operands, so
// nothing is packed afterwards. It multiplies each panel into float32 (or float64)
// partials, flushed into float64 sums every flushRows rows as on the
// dense path.
//
// The gathered columns are cut into column blocks: with one shared
// covariance the block is the whole window (every column feeds the one
// matrix); with groups it is as many whole groups as keep the block's
// panels near panelBudget bytes, so that the panels a worker writes are
// still in L2 when the micro-kernel reads them, whatever the number of
// groups. The work units are (column block, chunk of samples) pairs.

// panelBudget is the size in bytes the panels of one column block aim at: half of a 1 MiB L2, leaving room for the partial sums.
const panelBudget = 512 << 10

// prefetchCols is how many columns ahead of the gather fillPanels asks
// for the image row a column reads (a few rows, as a column of a 3×3
// window reads the row of the two before it).
const prefetchCols = 8

// panelDst says where the gathered value of column l (of its block) and
// sample r of the panel goes: pb[boff[l] + r·rsB].
type panelDst[T Float] struct {
	pb   []T
	boff []int
	rsB  int

	// Grid windows: the horizontal tap of each column of the block, and,
	// per tap, the windows of the current run that read inside the image
	// (jlo … jhi−1), so that a run costs kw divisions, not one per column.
	kj       []int
	jlo, jhi []int
}

// blockLayout decides the column blocks of the panel path: the columns
// per block and the matrices (groups) per block, for panels of perMat
// bytes per matrix.
func blockLayout(pl *Plan, perMat int) (cols, mats int) {
	if pl.groups == 1 {
		return pl.width, 1
	}
	mats = max(1, min(pl.groups, panelBudget/perMat))
	return mats * pl.feats, mats
}

// workPanels is one worker's loop on the panel path: it claims units
// (column block, chunk) until none is left. Partials go to ws.s64 (upper
// triangles), or, when every unit holds all the samples of its block,
// straight into the run's totals, which no other unit touches.
func workPanels[T Float](r *batchRun[T], ws *workspace[T]) error {
	pl := r.pl
	F, G, width, sub := pl.feats, pl.groups, pl.width, pl.sub
	ps := &ws.ps
	ps.InitFamily(r.fam)
	K := r.perPanel * sub
	bw, nm := r.blockCols, r.blockMats
	nr := ps.NR()
	bLen := ps.Len(F, K)
	// Rows of the panels: one per (sample, block) of a shared covariance,
	// one per sample with groups, whose matrix m has its panels at m·bLen.
	d := panelDst[T]{
		pb:   grow(&ws.y, nm*bLen),
		boff: grow(&ws.off, bw),
		rsB:  sub * nr,
	}
	for l := 0; l < bw; l++ {
		m, bi, f := 0, l/F, l%F
		if G > 1 {
			m, bi = l/F, 0
		}
		d.boff[l] = m*bLen + f/nr*K*nr + bi*nr + f%nr
	}
	if pl.kind == gridKind {
		// Blocks hold whole groups (or the whole window), so a column's
		// tap is the same in every block: tabled once, by block column.
		d.kj = grow(&ws.kj, bw)
		for l := range d.kj {
			d.kj[l] = pl.dx[l] / pl.dilW
		}
		d.jlo, d.jhi = grow(&ws.jlo, pl.kw), grow(&ws.jhi, pl.kw)
	}
	part := grow(&ws.part, nm*F*F)
	sum := grow(&ws.sum64, width)
	clear(sum)
	var s64 []float64
	if r.exclusive {
		s64 = r.tot.s64
		ws.s64 = ws.s64[:0]
	} else {
		s64 = grow(&ws.s64, G*F*F)
		clear(s64)
	}
	units := r.blocks * r.chunks
	for {
		u := int(r.next.Add(1)) - 1
		if u >= units {
			return nil
		}
		b, ci := u/r.chunks, u%r.chunks
		colLo := b * bw
		colHi := min(width, colLo+bw)
		g0, ng := 0, 1
		if G > 1 {
			g0, ng = colLo/F, (colHi-colLo)/F
		}
		s0 := ci * r.perChunk * r.perPanel
		s1 := min(pl.samples, s0+r.perChunk*r.perPanel)
		var beta T // the chunk's first panel overwrites the partials
		for p0 := s0; p0 < s1; p0 += r.perPanel {
			cnt := min(r.perPanel, s1-p0)
			fillPanels(pl, r.x, p0, cnt, &d, colLo, colHi, r.shift, sum)
			for m := 0; m < ng; m++ {
				if err := ps.Upper(F, cnt*sub, K, 1, d.pb[m*bLen:], beta, part[m*F*F:(m+1)*F*F], F); err != nil {
					return err
				}
			}
			beta = 1
		}
		if err := flushPartials(part[:ng*F*F], s64[g0*F*F:(g0+ng)*F*F], F, g0, s0, s1, r.exclusive); err != nil {
			return err
		}
	}
}

// flushPartials adds the upper triangles of the float32 (or float64)
// partials of matrices g0, g0+1, … into their float64 sums (or, with
// store, stores them: the sums' only contribution), checking the
// diagonal: a NaN or ±Inf read from the data makes its square, hence the
// diagonal, non-finite (so does a finite value whose square overflows T).
func flushPartials[T Float](part []T, s64 []float64, F, g0, s0, s1 int, store bool) error {
	for m := 0; m < len(part)/(F*F); m++ {
		p, s := part[m*F*F:(m+1)*F*F], s64[m*F*F:(m+1)*F*F]
		for i := 0; i < F; i++ {
			d := float64(p[i*F+i])
			if math.IsNaN(d) || math.IsInf(d, 0) {
				return fmt.Errorf("%w (or a square overflows %T): feature %d of matrix %d, samples %d…%d", deconv.ErrNonFinite, p[0], i, g0+m, s0, s1-1)
			}
			pr, sr := p[i*F+i:(i+1)*F], s[i*F+i:(i+1)*F]
			if store {
				for j, v := range pr {
					sr[j] = float64(v)
				}
				continue
			}
			for j, v := range pr {
				sr[j] += float64(v)
			}
		}
	}
	return nil
}

// fillPanels gathers columns colLo … colHi−1 of samples s0 … s0+cnt−1
// into the panel d (shifted) and adds them into sum. It walks the samples
// as fill does: runs of windows that read one image row, column by column.
func fillPanels[T Float](pl *Plan, x []T, s0, cnt int, d *panelDst[T], colLo, colHi int, shift []T, sum []float64) {
	chw := pl.c * pl.h * pl.w
	if pl.kind == flatKind {
		hw := pl.h * pl.w
		for i := 0; i < cnt; {
			p := (s0 + i) * pl.step
			cc, r := p/pl.flatNHW, p%pl.flatNHW
			q := r % hw
			base := cc*hw + r/hw*chw + q
			seg := 1
			if pl.step < hw {
				seg = min(cnt-i, (hw-1-q)/pl.step+1)
			}
			for t := colLo; t < colHi; t++ {
				ob := d.boff[t-colLo] + i*d.rsB
				if seg == 1 {
					v := x[base+pl.off[t]] - shift[t]
					d.pb[ob] = v
					sum[t] += float64(v)
					continue
				}
				sum[t] += stridedRun(d.pb[ob:], d.rsB, x[base+pl.off[t]:], pl.step, seg, shift[t])
			}
			i += seg
		}
		return
	}
	l := pl.oh * pl.ow
	n, r := s0/l, s0%l
	oy, ox := r/pl.ow, r%pl.ow
	for i := 0; i < cnt; {
		seg := min(cnt-i, pl.ow-ox)
		for kj := range d.jlo {
			// Windows jlo … jhi−1 of the run read inside the row at tap kj;
			// the others read padding.
			ix0 := ox*pl.stepW - pl.padW + kj*pl.dilW
			jlo := 0
			if ix0 < 0 {
				jlo = min(seg, (-ix0-1)/pl.stepW+1) // ⌈−ix0/step⌉ without overflow
			}
			jhi := jlo
			if ix0 < pl.w {
				jhi = max(jlo, min(seg, (pl.w-1-ix0)/pl.stepW+1))
			}
			d.jlo[kj], d.jhi[kj] = jlo, jhi
		}
		gatherRowPanels(pl, d, i, seg, x[n*chw:(n+1)*chw], oy, ox, colLo, colHi, shift, sum)
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

// gatherRowPanels is gatherRow writing samples i … i+seg−1 of the panel
// d: column t of window j is img[channel][iy][ix0 + j·step] (zero outside
// the image) minus shift[t].
func gatherRowPanels[T Float](pl *Plan, d *panelDst[T], i, seg int, img []T, oy, ox0, colLo, colHi int, shift []T, sum []float64) {
	step, rs := pl.stepW, d.rsB
	for t := colLo; t < colHi; t++ {
		s := shift[t]
		dst := d.pb[d.boff[t-colLo]+i*rs:]
		iy := oy*pl.stepH - pl.padH + pl.dy[t]
		if uint(iy) >= uint(pl.h) {
			for j := 0; j < seg; j++ {
				dst[j*rs] = -s
			}
			sum[t] -= float64(s) * float64(seg)
			continue
		}
		row := img[pl.coff[t]+iy*pl.w : pl.coff[t]+(iy+1)*pl.w]
		ix0 := ox0*step - pl.padW + pl.dx[t]
		if pf := t + prefetchCols; pf < colHi && (pl.coff[pf] != pl.coff[pf-1] || pl.dy[pf] != pl.dy[pf-1]) {
			// Column pf starts reading another image row: ask for it a
			// few columns ahead. The rows of one window run lie in as
			// many channel planes, too far apart and too short for the
			// hardware prefetcher to follow.
			if py := oy*pl.stepH - pl.padH + pl.dy[pf]; uint(py) < uint(pl.h) {
				gather.Prefetch(img[pl.coff[pf]+py*pl.w : pl.coff[pf]+(py+1)*pl.w])
			}
		}
		kj := d.kj[t-colLo]
		jlo, jhi := d.jlo[kj], d.jhi[kj]
		for j := 0; j < jlo; j++ {
			dst[j*rs] = -s
		}
		for j := jhi; j < seg; j++ {
			dst[j*rs] = -s
		}
		sum[t] -= float64(s) * float64(seg-(jhi-jlo))
		if jhi > jlo {
			sum[t] += stridedRun(dst[jlo*rs:], rs, row[ix0+jlo*step:], step, jhi-jlo, s)
		}
	}
}
