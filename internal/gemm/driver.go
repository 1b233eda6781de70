package gemm

import (
	"sync"
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/race"
)

// triangle says which part of C a product writes.
type triangle uint8

const (
	whole triangle = iota // all of C (GEMM)
	upper                 // j ≥ i
	lower                 // j ≤ i
)

// minWorkPerThread is the number of multiply-adds below which another
// worker costs more (wake-up, redundant packing of the shared operand)
// than it saves: about 20 µs of one core.
const minWorkPerThread = 1 << 21

// maxPrivate bounds the elements of private C copies that splitting K may
// allocate per extra worker; beyond it the product is split over C instead.
const maxPrivate = 1 << 22

// part is one worker's share: rows [i0,i1) × columns [j0,j1) of C over
// depth [k0,k1). A private part accumulates into its workspace's buffer,
// which is added to C afterwards.
type part struct {
	i0, i1, j0, j1, k0, k1 int
	private                bool
}

// workspace holds one worker's packed buffers; it is reused across calls.
type workspace[T Float] struct {
	a, b, tile, priv []T
}

// grow returns (*buf)[:n], reallocating only when the buffer is too small.
func grow[T Float](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// call is one product in flight. Calls are pooled, together with their
// workspaces and the adapters the entry points need, so a product at a
// size seen before allocates nothing.
type call[T Float] struct {
	m, n, k     int
	alpha, beta T
	a, b        Packer[T]
	c           []T
	ldc         int
	tri         triangle
	mirror      bool // Full SYRK: the computed upper triangle is mirrored
	kern        *kernel[T]
	parts       []part
	ws          []*workspace[T]

	// Adapters for the entry points, kept here so that making them an
	// interface value does not allocate.
	da, db Dense[T]
	ta     transposed[T]
}

var callPools [2]sync.Pool

func poolIndex[T Float]() int {
	var z T
	if _, ok := any(z).(float32); ok {
		return 0
	}
	return 1
}

func getCall[T Float]() *call[T] {
	if c, ok := callPools[poolIndex[T]()].Get().(*call[T]); ok {
		return c
	}
	return new(call[T])
}

func putCall[T Float](c *call[T]) {
	// Drop references to caller memory so the pool does not keep it alive.
	c.a, c.b, c.c = nil, nil, nil
	c.da, c.db, c.ta = Dense[T]{}, Dense[T]{}, transposed[T]{}
	callPools[poolIndex[T]()].Put(c)
}

// run multiplies: C = α·A·B + β·C on the triangle tri, with A m×k and B
// k×n, using kernels of family fam and at most nthreads workers. The
// arguments are valid.
func (cl *call[T]) run(fam isa.Family, nthreads int) {
	cl.kern = kernelFor[T](fam)
	cl.a = withFamily(cl.a, &cl.da, fam)
	cl.b = withFamily(cl.b, &cl.db, fam)
	if cl.m == 0 || cl.n == 0 {
		return
	}
	if cl.k == 0 || cl.alpha == 0 {
		cl.scaleC()
	} else {
		cl.plan(nthreads)
		for len(cl.ws) < len(cl.parts) {
			cl.ws = append(cl.ws, new(workspace[T]))
		}
		parallel.Run(cl, len(cl.parts))
		cl.reduce()
	}
	if cl.mirror {
		for i := 1; i < cl.n; i++ {
			for j := 0; j < i; j++ {
				cl.c[i*cl.ldc+j] = cl.c[j*cl.ldc+i]
			}
		}
	}
}

// in reports whether element (i, j) of C belongs to the product.
func (cl *call[T]) in(i, j int) bool {
	switch cl.tri {
	case upper:
		return j >= i
	case lower:
		return j <= i
	}
	return true
}

// scaleC computes C = β·C where the product term vanishes (k = 0 or α = 0).
func (cl *call[T]) scaleC() {
	for i := 0; i < cl.m; i++ {
		row := cl.c[i*cl.ldc : i*cl.ldc+cl.n]
		for j := range row {
			if !cl.in(i, j) {
				continue
			}
			if cl.beta == 0 {
				row[j] = 0 // β = 0 overwrites, even NaN
			} else {
				row[j] *= cl.beta
			}
		}
	}
}

// plan splits the product into parts, one per worker.
func (cl *call[T]) plan(nthreads int) {
	m, n, k := cl.m, cl.n, cl.k
	kr := cl.kern
	work := float64(m) * float64(n) * float64(k)
	if cl.tri != whole {
		work /= 2
	}
	nw := min(nthreads, int(work/minWorkPerThread)+1)
	cl.parts = cl.parts[:0]
	switch {
	case nw <= 1:
		cl.parts = append(cl.parts, part{0, m, 0, n, 0, k, false})
	case k >= 4*max(m, n) && m*n <= maxPrivate:
		// K dwarfs M and N (a covariance): every worker takes a slice of
		// K over all of C, reading its own part of the operands once, with
		// perfect balance; the private sums are added at the end.
		nw = min(nw, k/kr.kc+1)
		for w := 0; w < nw; w++ {
			cl.parts = append(cl.parts, part{0, m, 0, n, k * w / nw, k * (w + 1) / nw, w > 0})
		}
	case n >= m || cl.tri != whole:
		// Split columns at NR boundaries, balancing the multiply-adds
		// (triangles weigh their columns unequally).
		nb := (n + kr.nr - 1) / kr.nr
		nw = min(nw, nb)
		total := 0.0
		for b := 0; b < nb; b++ {
			total += cl.colWeight(b * kr.nr)
		}
		j0, acc := 0, 0.0
		for b := 0; b < nb && len(cl.parts) < nw-1; b++ {
			acc += cl.colWeight(b * kr.nr)
			if acc >= total*float64(len(cl.parts)+1)/float64(nw) {
				j1 := (b + 1) * kr.nr
				cl.parts = append(cl.parts, part{0, m, j0, j1, 0, k, false})
				j0 = j1
			}
		}
		cl.parts = append(cl.parts, part{0, m, j0, n, 0, k, false})
	default:
		nb := (m + kr.mr - 1) / kr.mr
		nw = min(nw, nb)
		for w := 0; w < nw; w++ {
			cl.parts = append(cl.parts, part{nb * w / nw * kr.mr, min(m, nb*(w+1)/nw*kr.mr), 0, n, 0, k, false})
		}
	}
}

// colWeight is the number of rows of C computed in the NR-column block at j.
func (cl *call[T]) colWeight(j int) float64 {
	switch cl.tri {
	case upper:
		return float64(min(cl.m, j+cl.kern.nr))
	case lower:
		return float64(cl.m - j)
	}
	return float64(cl.m)
}

// runPart runs the loop nest over one part.
func (cl *call[T]) RunPart(idx int) {
	pt := cl.parts[idx]
	ws := cl.ws[idx]
	kr := cl.kern
	mr, nr := kr.mr, kr.nr
	fn := kr.fn
	alpha := cl.alpha

	// Element (i, j) of the destination is c[(i-ci)*ldc + j-cj].
	c, ldc, ci, cj, beta := cl.c, cl.ldc, 0, 0, cl.beta
	if pt.private {
		ldc = pt.j1 - pt.j0
		c = grow(&ws.priv, (pt.i1-pt.i0)*ldc)
		ci, cj, beta = pt.i0, pt.j0, 0
	}
	tile := grow(&ws.tile, mr*nr)
	direct := cl.inPlaceB()

	// Equal A blocks: a short last block would repack every B block for
	// a few rows.
	nblk := (pt.i1 - pt.i0 + kr.mc - 1) / kr.mc
	mcb := ((pt.i1-pt.i0+nblk-1)/nblk + mr - 1) / mr * mr
	kcb := depthBlock(pt.k1-pt.k0, kr.kc)
	for ic := pt.i0; ic < pt.i1; ic += mcb {
		mc := min(mcb, pt.i1-ic)
		if cl.tri == upper && ic >= pt.j1 {
			break
		}
		if cl.tri == lower && ic+mc-1 < pt.j0 {
			continue
		}
		for pc := pt.k0; pc < pt.k1; pc += kcb {
			kc := min(kcb, pt.k1-pc)
			// β applies on the first K block only; later blocks accumulate.
			bet, load := T(1), 1
			if pc == pt.k0 {
				bet, load = beta, 0
				if beta != 0 {
					load = 1
				}
			}
			pa := grow(&ws.a, (mc+mr-1)/mr*mr*kc)
			cl.a.PackRows(pa, ic, mc, pc, kc, mr)
			for jc := pt.j0; jc < pt.j1; jc += kr.nc {
				nc := min(kr.nc, pt.j1-jc)
				if cl.tri == upper && jc+nc-1 < ic {
					continue
				}
				if cl.tri == lower && jc > ic+mc-1 {
					break
				}
				// Full panels of an in-place B are read where they lie;
				// only a partial last panel is packed (zero-padded).
				nfull := 0
				if direct != nil {
					nfull = nc / nr * nr
				}
				pb := grow(&ws.b, (nc-nfull+nr-1)/nr*nr*kc)
				if nfull < nc {
					cl.b.PackCols(pb, pc, kc, jc+nfull, nc-nfull, nr)
				}
				for ir := 0; ir < mc; ir += mr {
					gi, mm := ic+ir, min(mr, mc-ir)
					ap := &pa[ir*kc]
					for jr := 0; jr < nc; jr += nr {
						gj, nn := jc+jr, min(nr, nc-jr)
						partial := false
						switch cl.tri {
						case upper:
							if gj+nn-1 < gi {
								continue
							}
							partial = gj < gi+mm-1 && !cl.mirror
						case lower:
							if gj > gi+mm-1 {
								continue
							}
							partial = gj+nn-1 > gi
						}
						var bp *T
						ldb := nr
						if jr < nfull {
							bp, ldb = &direct.data[pc*direct.stride+gj], direct.stride
						} else {
							bp = &pb[(jr-nfull)*kc]
						}
						off := (gi-ci)*ldc + gj - cj
						if mm == mr && nn == nr && !partial {
							if race.Enabled {
								raceKernel(kc, ap, mr, bp, ldb, nr, &c[off], ldc, load)
							}
							fn(kc, ap, bp, ldb, &c[off], ldc, alpha, bet, load)
							continue
						}
						// Edge or diagonal tile: compute it whole into the
						// tile buffer, then merge the elements that belong.
						if race.Enabled {
							raceKernel(kc, ap, mr, bp, ldb, nr, &tile[0], nr, 0)
						}
						fn(kc, ap, bp, ldb, &tile[0], nr, alpha, 0, 0)
						for i := 0; i < mm; i++ {
							row := c[off+i*ldc : off+i*ldc+nn]
							trow := tile[i*nr : i*nr+nn]
							for j := range row {
								if partial && !cl.in(gi+i, gj+j) {
									continue
								}
								if load != 0 {
									row[j] = trow[j] + bet*row[j]
								} else {
									row[j] = trow[j]
								}
							}
						}
					}
				}
			}
		}
	}
}

// depthBlocks returns into how many equal parts a depth of k is cut: a
// short last block, such as the 64 left of 576 by blocks of 256, costs a
// whole pass over C and a packing of both operands for little arithmetic.
// Up to four blocks of kc (the kernel's nominal depth), where one block
// more is a large share of the passes, the parts may be 5/4·kc deep
// (576 = 288 + 288), which an A panel still fits L1 at (AVX-512 float32:
// 320·12·4 = 15 KiB); deeper products keep blocks of at most kc, the depth
// their L2 blocking (kc×nc of B) was sized for. The general driver and
// UpperSum (per product) both cut their depth by this rule.
func depthBlocks(k, kc int) int {
	nb := max(1, (k+kc-1)/kc)
	if nb <= 4 {
		kmax := kc + kc/4
		nb = max(1, (k+kmax-1)/kmax)
	}
	return nb
}

// depthBlock returns the depth of the blocks that cut a depth of k into
// depthBlocks(k, kc) equal parts.
func depthBlock(k, kc int) int {
	nb := depthBlocks(k, kc)
	return (k + nb - 1) / nb
}

// raceKernel tells the race detector which memory a micro-kernel call
// reads and writes: the kernels are assembly, which it cannot see into.
// Only race builds call it.
func raceKernel[T Float](k int, a *T, mr int, b *T, ldb, nr int, c *T, ldc, load int) {
	if k > 0 {
		race.Read(unsafe.Pointer(a), k*mr*sizeOf[T]())
		race.Read(unsafe.Pointer(b), ((k-1)*ldb+nr)*sizeOf[T]())
	}
	for i := 0; i < mr; i++ {
		row := unsafe.Add(unsafe.Pointer(c), i*ldc*sizeOf[T]())
		if load != 0 {
			race.Read(row, nr*sizeOf[T]())
		}
		race.Write(row, nr*sizeOf[T]())
	}
}

func sizeOf[T Float]() int {
	var z T
	return int(unsafe.Sizeof(z))
}

// withFamily returns p, or, when p is a *Dense, the call's adapter slot
// holding a copy of it that packs with the copiers of family fam, so that
// a product asked of one family runs that family's code and no other. A
// *Shifted is set to fam itself (it serves one product at a time).
func withFamily[T Float](p Packer[T], slot *Dense[T], fam isa.Family) Packer[T] {
	if s, ok := p.(*Shifted[T]); ok {
		s.fam = fam
		return p
	}
	d, ok := p.(*Dense[T])
	if !ok {
		return p
	}
	if d != slot {
		*slot = *d
	}
	slot.fam = fam
	return slot
}

// reduce adds the private sums of K-split parts into C.
func (cl *call[T]) reduce() {
	for idx, pt := range cl.parts {
		if !pt.private {
			continue
		}
		w := pt.j1 - pt.j0
		priv := cl.ws[idx].priv
		for i := pt.i0; i < pt.i1; i++ {
			row := cl.c[i*cl.ldc+pt.j0 : i*cl.ldc+pt.j1]
			src := priv[(i-pt.i0)*w : (i-pt.i0)*w+w]
			for j := range row {
				if cl.tri == whole || cl.in(i, pt.j0+j) {
					row[j] += src[j]
				}
			}
		}
	}
}

// inPlaceB returns B when the micro-kernel can read its panels where they
// lie instead of packing them: a row-major dense operand whose rows are
// not a multiple of 1 KiB apart. (Rows a large power of two apart map to
// a few cache sets and evict each other, which is what packing avoids.)
// Reading in place halves the packing of a covariance, whose cost is of
// the order of its arithmetic when the result is small.
func (cl *call[T]) inPlaceB() *Dense[T] {
	d, ok := cl.b.(*Dense[T])
	if !ok || d.trans {
		return nil
	}
	var z T
	if d.stride*int(unsafe.Sizeof(z))%1024 == 0 {
		return nil
	}
	return d
}
