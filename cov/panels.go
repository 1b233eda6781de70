package cov

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
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

// panelBudget is the size in bytes the panels of one column block aim
// at: half of a 1 MiB L2, leaving room for the partial sums.
const panelBudget = 512 << 10

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

	// The block's columns cut into strips (for the block that starts at
	// column stripsFor): runs of columns that read neighbouring pixels of
	// one image row (one channel and tap row, consecutive taps) and land
	// in neighbouring lanes of one panel, each moved a window at a time
	// by one masked load and store of copyRows. Strips of one class (tap
	// row dy, first tap kj, lanes) share their windows' load masks:
	// masks[class·ow + j], recomputed for each run of windows. Each strip
	// adds its values into its own eight float64 sums (sums[8k …]),
	// folded into the columns' sums by foldStrips.
	strips    []gather.Strip
	classes   []stripClass
	masks     []uint16
	sums      []float64
	stripsFor int
	copyRows  gather.StripRowsFunc[T]
}

// stripClass is what decides a strip's load masks.
type stripClass struct{ dy, kj, lanes int }

// cutStrips cuts the columns colLo … colHi−1 into strips (see panelDst).
func cutStrips[T Float](pl *Plan, d *panelDst[T], colLo, colHi int) {
	d.strips, d.classes = d.strips[:0], d.classes[:0]
	for t := colLo; t < colHi; {
		n := 1
		for n < gather.MaxStripLanes && t+n < colHi {
			a, b := t+n-1, t+n
			if pl.coff[b] != pl.coff[a] || pl.dy[b] != pl.dy[a] || pl.dx[b] != pl.dx[a]+1 ||
				d.boff[b-colLo] != d.boff[a-colLo]+1 {
				break
			}
			n++
		}
		c := stripClass{pl.dy[t], d.kj[t-colLo], n}
		ci := 0
		for ci < len(d.classes) && d.classes[ci] != c {
			ci++
		}
		if ci == len(d.classes) {
			d.classes = append(d.classes, c)
		}
		d.strips = append(d.strips, gather.Strip{
			Src:   pl.coff[t] + (pl.dy[t]-pl.padH)*pl.w + pl.dx[t] - pl.padW,
			Dst:   d.boff[t-colLo],
			Col:   t,
			Lanes: n,
			Masks: ci * pl.ow,
		})
		t += n
	}
	d.masks = d.masks[:len(d.classes)*pl.ow]
	d.sums = d.sums[:8*len(d.strips)]
	clear(d.sums)
	d.stripsFor = colLo
}

// foldStrips adds the strips' sums into the columns' sums and clears them.
func foldStrips[T Float](d *panelDst[T], sum []float64) {
	for k, st := range d.strips {
		for u := 0; u < st.Lanes; u++ {
			sum[st.Col+u] += d.sums[8*k+u]
		}
	}
	clear(d.sums)
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
	F, G, width := pl.feats, pl.groups, pl.width
	ps := &ws.ps
	ps.InitFamily(r.fam)
	K := r.perPanel * pl.sub
	bw, nm := r.blockCols, r.blockMats
	bLen := ps.Len(F, K)
	d := newPanelDst(pl, ws, r.fam, K, bw, nm)
	part := grow(&ws.part, nm*F*F)
	sum := grow(&ws.sum64, width)
	clear(sum)
	var s64 []float64
	if r.direct {
		ws.s64 = ws.s64[:0]
	} else if r.exclusive {
		s64 = r.tot.s64
		ws.s64 = ws.s64[:0]
	} else {
		s64 = grow(&ws.s64, G*F*F)
		clear(s64)
	}
	addWiden := gather.AddWidenFor[T](r.fam)
	units := r.blocks * r.chunks
	for {
		u := int(r.next.Add(1)) - 1
		if u >= units {
			if d.stripsFor >= 0 {
				foldStrips(&d, sum)
			}
			return nil
		}
		b, ci := u/r.chunks, u%r.chunks
		colLo := b * bw
		colHi := min(width, colLo+bw)
		g0, ng := 0, 1
		if G > 1 {
			g0, ng = colLo/F, (colHi-colLo)/F
		}
		s0, s1 := chunkSamples(ci, r.chunks, r.nPanels, r.perPanel, pl.samples)
		var beta T // the chunk's first panel overwrites the partials
		for p0 := s0; p0 < s1; p0 += r.perPanel {
			cnt := min(r.perPanel, s1-p0)
			if pl.kind == gridKind && d.stripsFor != colLo {
				if d.stripsFor >= 0 {
					foldStrips(&d, sum)
				}
				cutStrips(pl, &d, colLo, colHi)
			}
			fillPanels(pl, r.x, p0, cnt, &d, colLo, colHi, r.shift, sum)
			// The partials' lower triangles are never read (flushPartials
			// and finalRun.direct read the upper ones), so the diagonal
			// tiles go straight to them.
			for m := 0; m < ng; m++ {
				if err := ps.UpperScratch(F, cnt*pl.sub, K, 1, d.pb[m*bLen:], beta, part[m*F*F:(m+1)*F*F], F); err != nil {
					return err
				}
			}
			beta = 1
		}
		if r.direct {
			if d.stripsFor >= 0 {
				foldStrips(&d, sum) // the block's column sums, complete
			}
			if err := r.fin.direct(pl, part[:ng*F*F], sum, grow(&ws.ybar, F), colLo, g0, ng, r.shift); err != nil {
				return err
			}
			continue
		}
		if err := flushPartials(part[:ng*F*F], s64[g0*F*F:(g0+ng)*F*F], F, g0, s0, s1, r.exclusive, addWiden); err != nil {
			return err
		}
	}
}

// newPanelDst lays out the panels of one worker (in ws's buffers) for
// column blocks of bw columns holding nm matrices, panels K rows deep: the
// destination offset of every block column and, for grid windows, the
// tables of the strip kernel. ws.ps must be set to family fam.
func newPanelDst[T Float](pl *Plan, ws *workspace[T], fam isa.Family, K, bw, nm int) panelDst[T] {
	F, G := pl.feats, pl.groups
	ps := &ws.ps
	nr := ps.NR()
	bLen := ps.Len(F, K)
	// Rows of the panels: one per (sample, block) of a shared covariance,
	// one per sample with groups, whose matrix m has its panels at m·bLen.
	d := panelDst[T]{
		pb:   grow(&ws.y, nm*bLen),
		boff: grow(&ws.off, bw),
		rsB:  pl.sub * nr,

		stripsFor: -1,
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
		// At most one strip and one class per column: appends never
		// reallocate.
		d.strips, d.classes, d.stripsFor = grow(&ws.strips, bw)[:0], grow(&ws.classes, bw)[:0], -1
		d.masks = grow(&ws.masks, bw*pl.ow)
		d.sums = grow(&ws.stripSums, 8*bw)
		d.copyRows = gather.StripRowsFor[T](fam)
	}
	return d
}

// flushPartials adds the upper triangles of the float32 (or float64)
// partials of matrices g0, g0+1, … into their float64 sums (or, with
// store, stores them: the sums' only contribution), checking the
// diagonal: a NaN or ±Inf read from the data makes its square, hence the
// diagonal, non-finite (so does a finite value whose square overflows T).
func flushPartials[T Float](part []T, s64 []float64, F, g0, s0, s1 int, store bool, add gather.AddWidenFunc[T]) error {
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
			add(sr, pr)
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
// the image) minus shift[t]. The whole run goes to the strip kernel at
// once: each window's load mask says which taps of a strip read inside
// the image.
func gatherRowPanels[T Float](pl *Plan, d *panelDst[T], i, seg int, img []T, oy, ox0, colLo, colHi int, shift []T, sum []float64) {
	for ci, c := range d.classes {
		m := d.masks[ci*pl.ow : ci*pl.ow+seg]
		if uint(oy*pl.stepH-pl.padH+c.dy) >= uint(pl.h) {
			clear(m) // the tap row lies outside the image
			continue
		}
		for j := range m {
			var b uint16
			for u := 0; u < c.lanes; u++ {
				if kj := c.kj + u; d.jlo[kj] <= j && j < d.jhi[kj] {
					b |= 1 << u
				}
			}
			m[j] = b
		}
	}
	d.copyRows(d.pb[i*d.rsB:], d.rsB, img, oy*pl.stepH*pl.w+ox0*pl.stepW, pl.stepW, seg, d.strips, d.masks, shift, d.sums)
}
