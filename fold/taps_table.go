package fold

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/taps"
)

// On small planes of one input channel per group (depthwise layers), the
// taps path's padded copy, a few short row copies and clears per plane,
// cost more than the convolution itself. There, the padded planes of
// several groups are built by one table gather (gather.Table: on AVX-512
// a few masked permutes per vector, every padding lane zeroed in the same
// pass), and the finiteness of the input and of the output is checked
// once for the run of planes.

// maxTapsTable bounds the padded plane (rows × columns) the table gathers,
// so that a table and its programs stay within about 140 KB. Measured on
// Table 3's depthwise rows at batch 8 (CPU time per call, AVX-512, both
// paths in one run): the table path took 0.5× the row copies' time at
// 16×16, 0.73× at 32×32 and 0.9× at 64×64 (a 66×66 padded plane).
const maxTapsTable = 8192

// testHookTapsTable, when set (by tests only), is called by every chunk
// of work that takes the table path.
var testHookTapsTable func()

// tapsTables caches the padded-plane tables of the last few input shapes.
type tapsTables struct {
	e    [2]tapsTableEntry
	next int
}

type tapsTableEntry struct {
	h, w int
	tab  *gather.Table
}

// lookup returns the table that pads a whole h×w plane into hp×wp (the
// input rows of band 0, which is the whole output when bands = 1), or nil
// when the layer, the kernel family or the shape does not take it: the
// table pays only with one input channel per group, one band, AVX-512
// (the generic loop is slower than row copies) and a small plane. It
// allocates only when the shape is new.
func (t *tapsTables) lookup(g ConvGeom, h, w, bands, hp, wp int) *gather.Table {
	if bands != 1 || g.InChannels != g.Groups || isa.Selected() != isa.AVX512 || hp*wp > maxTapsTable {
		return nil
	}
	return t.plane(g, h, w, hp, wp)
}

// plane returns the table that pads a whole h×w plane into hp×wp with
// the layer's padding, from the cache or built (and cached), or nil when
// the table cannot be built.
func (t *tapsTables) plane(g ConvGeom, h, w, hp, wp int) *gather.Table {
	for _, e := range t.e {
		if e.tab != nil && e.h == h && e.w == w {
			return e.tab
		}
	}
	idx := make([]int32, hp*wp)
	for py := range hp {
		for px := range wp {
			iy, ix := py-g.PadH, px-g.PadW
			idx[py*wp+px] = -1
			if iy >= 0 && iy < h && ix >= 0 && ix < w {
				idx[py*wp+px] = int32(iy*w + ix)
			}
		}
	}
	tab, err := gather.NewTable(idx, h*w)
	if err != nil {
		return nil // planes too large for the table: the row copies
	}
	t.e[t.next] = tapsTableEntry{h: h, w: w, tab: tab}
	t.next = (t.next + 1) % len(t.e)
	return tab
}

// itemsByTable computes work items [lo, hi), each one (image, group) of a
// layer with one input channel per group and one band: runs of groups of
// one image, whose input planes are consecutive, are checked and padded
// together, then convolved one group at a time.
func (r *tapsRun[T]) itemsByTable(lo, hi int) {
	g := r.geom
	planeLen := r.h * r.w
	plane := r.padTab.Len()
	var z T
	per := max(1, tapsChunkBytes/(plane*int(unsafe.Sizeof(z))))
	buf := getScratch[T](min(per, hi-lo) * plane)
	defer putScratch(buf)
	tp := getTaps[T]()
	defer putTaps(tp)
	cp := getCoTaps[T]()
	defer putCoTaps(cp)
	padPlanes := gather.TableFor[T](isa.Selected())
	if testHookTapsTable != nil {
		testHookTapsTable()
	}
	for item := lo; item < hi; {
		img, grp := item/g.Groups, item%g.Groups
		end := min(hi, item+per, (img+1)*g.Groups)
		k := end - item
		first := (img*g.InChannels + grp) * planeLen
		src := r.x[first : first+k*planeLen]
		if !r.finite(src) {
			r.fe.set(nonFinite(src, "input", first))
			return
		}
		pad := (*buf)[:k*plane]
		padPlanes(pad, src, r.padTab)
		if g.OutChannels == g.Groups {
			// One output channel per group: its taps, straight.
			L := r.oh * r.ow
			for j := range k {
				oc := grp + j
				var b T
				if r.bias != nil {
					b = r.bias[oc]
				}
				o := (img*g.OutChannels + oc) * L
				taps.Rows(r.dst[o:o+L], r.ow, pad[j*plane:(j+1)*plane], g.StrideH*r.wp, g.StrideW, r.oh, r.ow, &r.chTaps[oc], b)
			}
		} else {
			for j := range k {
				r.compute(pad[j*plane:(j+1)*plane], plane, img, grp+j, 0, r.oh, tp, cp, false)
			}
		}
		// The run's outputs, every row of every channel of its groups,
		// are consecutive: one check.
		coutg := g.OutChannels / g.Groups
		o0 := (img*g.OutChannels + grp*coutg) * r.oh * r.ow
		if out := r.dst[o0 : o0+k*coutg*r.oh*r.ow]; !r.finite(out) {
			r.fe.set(nonFinite(out, "output", o0))
			return
		}
		item = end
	}
}

// buildChannelTaps builds every output channel's taps over the padded
// planes of the table path once per call (weights and plane are fixed for
// the call), where the row path rebuilds them for each (image, group):
// eight times over at batch 8, and about as long as the convolution of a
// 16×16 plane. The storage is kept, so a steady state allocates nothing.
func (r *tapsRun[T]) buildChannelTaps() {
	oc := r.geom.OutChannels
	if cap(r.chStore) < oc {
		r.chStore = make([]taps.Taps[T], oc)
	}
	r.chTaps = r.chStore[:oc]
	plane := r.padTab.Len()
	for c := range r.chTaps {
		r.addTaps(&r.chTaps[c], c, plane)
	}
}
