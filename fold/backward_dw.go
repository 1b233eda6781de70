package fold

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
)

// The weight gradient of a stride-1 convolution by shifted windows.
//
// dW = dy·patchesᵀ contracts over output positions, and both dy (NCHW)
// and the im2col patches hold positions contiguously, so whichever way
// the product is set up, its packing transposes a 576-feature operand
// (the paper layer's), element by element. Here a band of input rows is
// transposed once into pixel-major order (channels innermost, zero
// padding included, a ninth of the patches' size), and dy's band into
// position-major order. On the padded grid of Wp = OW + (KW−1)·DW
// columns every tap of the kernel is the band shifted by a constant
// number of pixels, so the patch matrix is a gemm.Shifted view: its row
// panels pack by short contiguous copies, and dy's transposed band is
// read by the micro-kernel in place. The grid's KW−1 extra columns per
// row are positions with a zero dy, which add nothing. Rows come out in
// tap-major order (tap·cg + c), permuted into the weights' order at the
// end.

// shiftedDW reports whether dW goes by shifted windows: stride 1 (the
// taps are shifts), and a grid at most a fifth wider than the output,
// so the zero columns cost little.
func shiftedDW(g ConvGeom, ow int) bool {
	return g.StrideH == 1 && g.StrideW == 1 && 5*(g.KernelW-1)*g.DilationW <= ow
}

// shiftedFor reports whether a backward with shape rule ok runs the
// shifted-window product on kernel family fam: only where the family
// transposes in registers, since with scalar transposes and copies the
// two layouts cost more than the im2col path saves (tests force it on
// every family through testForceShifted, to check its arithmetic there).
func shiftedFor(ok bool, fam isa.Family) bool {
	return ok && (gemm.RegisterTransposes(fam) || testForceShifted)
}

// testForceShifted, set by tests only, makes every family take the
// shifted-window product where the shape allows it.
var testForceShifted bool

// testHookShifted, when set (by tests only), is called once per backward
// that takes the shifted-window product.
var testHookShifted func()

// dwSlot is one worker slot's operands for the shifted product, kept so
// that a band's product allocates nothing.
type dwSlot[T Float] struct {
	a gemm.Shifted[T]
	b gemm.Dense[T]
}

// shiftedLayout returns the padded grid's width, the transposed dy's
// leading dimension (rows a multiple of 1 KiB apart would be packed
// rather than read in place, see gemm), and the sizes of the two band
// buffers for bands of r.rowsPer output rows.
func (r *convBackRun[T]) shiftedLayout() (wp, ldt, xnLen, dtLen int) {
	g := r.geom
	coutg, cg := g.OutChannels/g.Groups, g.InChannels/g.Groups
	wp = r.ow + (g.KernelW-1)*g.DilationW
	var z T
	ldt = coutg
	if esz := int(unsafe.Sizeof(z)); ldt*esz%1024 == 0 {
		ldt += 64 / esz
	}
	xnLen = (r.rowsPer + (g.KernelH-1)*g.DilationH) * wp * cg
	dtLen = ((r.rowsPer-1)*wp + r.ow) * ldt
	return wp, ldt, xnLen, dtLen
}

// setShifted prepares the run for shifted-window products: the taps'
// pixel offsets and one operand pair per slot.
func (r *convBackRun[T]) setShifted() {
	if testHookShifted != nil {
		testHookShifted()
	}
	g := r.geom
	wp, _, _, _ := r.shiftedLayout()
	kk := g.KernelH * g.KernelW
	if cap(r.offs) < kk {
		r.offs = make([]int, kk)
	}
	r.offs = r.offs[:kk]
	for ki := 0; ki < g.KernelH; ki++ {
		for kj := 0; kj < g.KernelW; kj++ {
			r.offs[ki*g.KernelW+kj] = ki*g.DilationH*wp + kj*g.DilationW
		}
	}
	for len(r.dwSlots) < r.slots {
		r.dwSlots = append(r.dwSlots, new(dwSlot[T]))
	}
}

// shiftedBand adds band [oh0, oh1) of image img, group grp into the
// slot's dWᵀ accumulator acc (tap-major rows, coutg columns), using xn
// and dt as the band's transposed input and dy.
func (r *convBackRun[T]) shiftedBand(sl *dwSlot[T], acc, xn, dt []T, img, grp, oh0, oh1 int) error {
	g := r.geom
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	wp, ldt, _, _ := r.shiftedLayout()
	rows := oh1 - oh0
	rin := rows + (g.KernelH-1)*g.DilationH
	// The input band: rows oh0−PadH … of the zero-padded image, pixel-major.
	hw := r.h * r.w
	src := r.x[(img*g.InChannels+grp*cg)*hw:][:cg*hw]
	for ry := 0; ry < rin; ry++ {
		d := xn[ry*wp*cg : (ry+1)*wp*cg]
		y := oh0 - g.PadH + ry
		if y < 0 || y >= r.h {
			clear(d)
			continue
		}
		clear(d[:g.PadW*cg])
		clear(d[(g.PadW+r.w)*cg:])
		gemm.TransposeCopy(r.fam, d[g.PadW*cg:(g.PadW+r.w)*cg], cg, src[y*r.w:], hw, cg, r.w)
	}
	// dy's band, position-major on the grid, zero in the grid's extra columns.
	L := r.oh * r.ow
	dyp := r.dy[(img*g.OutChannels+grp*coutg)*L:][:coutg*L]
	k := (rows-1)*wp + r.ow
	for ry := 0; ry < rows; ry++ {
		gemm.TransposeCopy(r.fam, dt[ry*wp*ldt:], ldt, dyp[(oh0+ry)*r.ow:], L, coutg, r.ow)
		if ry < rows-1 {
			clear(dt[(ry*wp+r.ow)*ldt : (ry+1)*wp*ldt])
		}
	}
	if err := sl.a.Set(xn[:rin*wp*cg], cg, r.offs, k); err != nil {
		return err
	}
	if err := sl.b.Reset(dt[:(k-1)*ldt+coutg], k, coutg, ldt, false); err != nil {
		return err
	}
	return gemm.Gemm(1, T(1), &sl.a, &sl.b, T(1), acc, coutg)
}

// unpermuteDW writes the summed tap-major dWᵀ of every group (rows
// tap·cg + c, coutg columns) as dW (coutg rows of features c·KK + tap).
func unpermuteDW[T Float](dw, sum []T, g ConvGeom) {
	coutg, cg := g.OutChannels/g.Groups, g.InChannels/g.Groups
	kk := g.KernelH * g.KernelW
	feats := cg * kk
	for grp := 0; grp < g.Groups; grp++ {
		off := grp * coutg * feats
		s, d := sum[off:off+coutg*feats], dw[off:off+coutg*feats]
		for tap := 0; tap < kk; tap++ {
			for c := 0; c < cg; c++ {
				row := s[(tap*cg+c)*coutg : (tap*cg+c+1)*coutg]
				for co, v := range row {
					d[co*feats+c*kk+tap] = v
				}
			}
		}
	}
}
