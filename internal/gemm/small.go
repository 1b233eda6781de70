package gemm

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// The small-matrix path. A product whose operands fit in L1 and L2 as they
// are (the Newton–Schulz iterates of a layer's covariance groups, 9×9 to
// about 150×150) gains nothing from cache blocking and loses most of its
// time to what the blocked path spends around the arithmetic: the parts
// and their dispatch, the packing of both operands, and the merge of edge
// tiles element by element. This path runs on the calling goroutine and
// moves as little as it can:
//
//   - A transposed A (op(A) = Aᵀ, the layout of a symmetric iterate the
//     caller asks for as such) is read where it lies: an A panel's MR
//     elements of step p are consecutive in memory, stride lda apart, which
//     the strided micro-kernels (stridedKernel) take as they are. A
//     row-major A is packed once, whole, into MR-row panels.
//   - A row-major B is read where it lies, NR-column panel by panel.
//   - A partial last panel (fewer than MR rows, or NR columns) is read in
//     place too when the slice's capacity covers the elements the kernel
//     reads past the operand's end (SmallSlack): the extra lanes only feed
//     rows or columns of the tile that are discarded. Otherwise it is
//     packed, zero-padded.
//   - Edge tiles of C are computed into a tile buffer and merged row by
//     row; full tiles are written by the kernel.

// smallMaxMN bounds the rows of C a product may have to take the small
// path, smallMaxN its columns and smallMaxK its depth: up to them the
// operands stay in L2 and one A panel (smallMaxK×MR) in L1, so blocking
// has nothing to save (a block row of a triangular product, 48 rows
// across a matrix of a few hundred, is such a product).
// BenchmarkSmallGemm compares the two paths side by side.
const (
	smallMaxMN = 128
	smallMaxN  = 256
	smallMaxK  = 256
)

// SmallSlack is how many elements past the last one an operand names the
// small-matrix path may read when the slice's capacity holds them (the
// widest tile of any kernel): callers that own their buffers allocate
// that much more capacity, and partial panels are then read in place
// instead of packed. The values read there only reach discarded lanes.
const SmallSlack = 32

// stridedKernel is a microKernel whose A panel's rows are lda elements
// apart, a[p*lda+i], instead of packed MR apart; lda = MR reads a packed
// panel.
type stridedKernel[T Float] func(k int, a *T, lda int, b *T, ldb int, c *T, ldc int, alpha, beta T, load int)

// stridedKernelFor returns the strided twin of kernelFor[T](f).fn.
func stridedKernelFor[T Float](f isa.Family) stridedKernel[T] {
	var z T
	switch any(z).(type) {
	case float32:
		return any(stridedKernelF32(f)).(stridedKernel[T])
	default:
		return any(stridedKernelF64(f)).(stridedKernel[T])
	}
}

// small reports whether the product of the call takes the small path: it
// fits the bounds above and would run on one goroutine anyway (its work
// is below what a second worker is worth, or only one is allowed).
func (cl *call[T]) small(nthreads int) bool {
	m, n, k := cl.m, cl.n, cl.k
	if m == 0 || n == 0 || k == 0 || cl.alpha == 0 {
		return false // β·C only: the general path's scaleC
	}
	if m > smallMaxMN || n > smallMaxN || k > smallMaxK {
		return false
	}
	return nthreads <= 1 || m*n*k < minWorkPerThread
}

// readable reports whether a kernel may read w consecutive elements from
// index off of data: they are within its capacity.
func readable[T Float](data []T, off, w int) bool {
	return off+w <= cap(data)
}

// maskedKernel is a stridedKernel that stores only the first rows rows of
// its tile, and of each the columns whose bit is set in mask (the low
// bits, one per column); B is read under the mask too. See the generator.
type maskedKernel[T Float] func(k int, a *T, lda int, b *T, ldb int, c *T, ldc int, alpha, beta T, load, rows int, mask uint32)

// maskedKernels returns family fam's masked kernels for T, 12 and 14 rows
// high and 32 columns wide, or nils when it has none (only AVX-512 float32
// has them).
func maskedKernels[T Float](fam isa.Family) (m12, m14 maskedKernel[T]) {
	var z T
	if _, ok := any(z).(float32); !ok {
		return nil, nil
	}
	a, b := maskedKernelsF32(fam)
	if a == nil {
		return nil, nil
	}
	return any(a).(maskedKernel[T]), any(b).(maskedKernel[T])
}

// maskedNR is the width of the masked kernels' tiles.
const maskedNR = 32

// maskedMR returns the tile height, 12 or 14, that cuts m rows into the
// fewest padded rows (12 on a tie: its panels are the packed kernel's).
func maskedMR(m int) int {
	if (m+13)/14*14 < (m+11)/12*12 {
		return 14
	}
	return 12
}

// runSmall computes C = α·A·B + β·C for the dense operands cl.da and cl.db
// with the kernels of family fam, on the calling goroutine; the call must
// pass small.
func (cl *call[T]) runSmall(fam isa.Family) {
	if m12, m14 := maskedKernels[T](fam); m12 != nil {
		fn := m12
		if maskedMR(cl.m) == 14 {
			fn = m14
		}
		cl.runSmallMasked(fam, fn, maskedMR(cl.m))
		return
	}
	kr := kernelFor[T](fam)
	fn := stridedKernelFor[T](fam)
	mr, nr := kr.mr, kr.nr
	m, n, k := cl.m, cl.n, cl.k
	alpha, beta := cl.alpha, cl.beta
	c, ldc := cl.c, cl.ldc
	if len(cl.ws) == 0 {
		cl.ws = append(cl.ws, new(workspace[T]))
	}
	ws := cl.ws[0]
	a, b := &cl.da, &cl.db
	a.fam, b.fam = fam, fam

	// A: in place when transposed (the last panel if its reads fit the
	// capacity), else packed.
	var pa []T
	inA := 0 // A panels [0, inA) rows are read in place
	if a.trans {
		inA = m / mr * mr
		if inA < m && readable(a.data, (k-1)*a.stride+inA, mr) {
			inA = m
		}
	}
	if inA < m {
		pa = grow(&ws.a, (m-inA+mr-1)/mr*mr*k)
		a.PackRows(pa, inA, m-inA, 0, k, mr)
	}
	// B: in place when row-major, likewise.
	var pb []T
	inB := 0
	if !b.trans {
		inB = n / nr * nr
		if inB < n && readable(b.data, (k-1)*b.stride+inB, nr) {
			inB = n
		}
	}
	if inB < n {
		pb = grow(&ws.b, (n-inB+nr-1)/nr*nr*k)
		b.PackCols(pb, 0, k, inB, n-inB, nr)
	}
	tile := grow(&ws.tile, mr*nr)
	load := 0
	if beta != 0 {
		load = 1
	}
	for i0 := 0; i0 < m; i0 += mr {
		mm := min(mr, m-i0)
		var ap *T
		lda := mr
		if i0 < inA {
			ap, lda = &a.data[i0], a.stride
		} else {
			ap = &pa[(i0-inA)*k]
		}
		for j0 := 0; j0 < n; j0 += nr {
			nn := min(nr, n-j0)
			var bp *T
			ldb := nr
			if j0 < inB {
				bp, ldb = &b.data[j0], b.stride
			} else {
				bp = &pb[(j0-inB)*k]
			}
			off := i0*ldc + j0
			if mm == mr && nn == nr {
				if race.Enabled {
					raceStrided(k, ap, lda, mr, bp, ldb, nr, &c[off], ldc, load)
				}
				fn(k, ap, lda, bp, ldb, &c[off], ldc, alpha, beta, load)
				continue
			}
			// Edge tile: whole into the tile buffer, then merged by rows.
			if race.Enabled {
				raceStrided(k, ap, lda, mr, bp, ldb, nr, &tile[0], nr, 0)
			}
			fn(k, ap, lda, bp, ldb, &tile[0], nr, alpha, 0, 0)
			for i := 0; i < mm; i++ {
				row := c[off+i*ldc : off+i*ldc+nn]
				trow := tile[i*nr : i*nr+nn]
				if load == 0 {
					copy(row, trow)
					continue
				}
				for j, v := range trow {
					row[j] = v + beta*row[j]
				}
			}
		}
	}
}

// runSmallMasked is runSmall with a masked kernel fn of mr rows: every
// tile, full or not, is stored by the kernel straight into C, and B is read
// in place whenever it is row-major (its loads are masked).
func (cl *call[T]) runSmallMasked(fam isa.Family, fn maskedKernel[T], mr int) {
	const nr = maskedNR
	m, n, k := cl.m, cl.n, cl.k
	alpha, beta := cl.alpha, cl.beta
	c, ldc := cl.c, cl.ldc
	if len(cl.ws) == 0 {
		cl.ws = append(cl.ws, new(workspace[T]))
	}
	ws := cl.ws[0]
	a, b := &cl.da, &cl.db
	a.fam, b.fam = fam, fam

	// A: in place when transposed, the last panel too if its reads (all mr
	// rows of it) fit the capacity; else packed.
	var pa []T
	inA := 0
	if a.trans {
		inA = m / mr * mr
		if inA < m && readable(a.data, (k-1)*a.stride+inA, mr) {
			inA = m
		}
	}
	if inA < m {
		pa = grow(&ws.a, (m-inA+mr-1)/mr*mr*k)
		a.PackRows(pa, inA, m-inA, 0, k, mr)
	}
	// B: in place when row-major (the masked loads read only its
	// columns), else packed into nr-column panels.
	var pb []T
	if b.trans {
		pb = grow(&ws.b, (n+nr-1)/nr*nr*k)
		b.PackCols(pb, 0, k, 0, n, nr)
	}
	load := 0
	if beta != 0 {
		load = 1
	}
	for i0 := 0; i0 < m; i0 += mr {
		mm := min(mr, m-i0)
		var ap *T
		lda := mr
		if i0 < inA {
			ap, lda = &a.data[i0], a.stride
		} else {
			ap = &pa[(i0-inA)*k]
		}
		for j0 := 0; j0 < n; j0 += nr {
			nn := min(nr, n-j0)
			var bp *T
			ldb := nr
			if pb == nil {
				bp, ldb = &b.data[j0], b.stride
			} else {
				bp = &pb[j0*k]
			}
			off := i0*ldc + j0
			if race.Enabled {
				raceMasked(k, ap, lda, mr, bp, ldb, nn, &c[off], ldc, mm, load)
			}
			fn(k, ap, lda, bp, ldb, &c[off], ldc, alpha, beta, load, mm, uint32(uint64(1)<<nn-1))
		}
	}
}

// raceMasked tells the race detector what a masked kernel call reads (mr
// rows of the A panel, nn columns of B) and reads and writes (mm×nn of C).
func raceMasked[T Float](k int, a *T, lda, mr int, b *T, ldb, nn int, c *T, ldc, mm, load int) {
	if k > 0 {
		race.Read(unsafe.Pointer(a), ((k-1)*lda+mr)*sizeOf[T]())
		race.Read(unsafe.Pointer(b), ((k-1)*ldb+nn)*sizeOf[T]())
	}
	for i := 0; i < mm; i++ {
		row := unsafe.Add(unsafe.Pointer(c), i*ldc*sizeOf[T]())
		if load != 0 {
			race.Read(row, nn*sizeOf[T]())
		}
		race.Write(row, nn*sizeOf[T]())
	}
}

// raceStrided is raceKernel for a strided A panel: it tells the race
// detector what a strided micro-kernel call reads and writes.
func raceStrided[T Float](k int, a *T, lda, mr int, b *T, ldb, nr int, c *T, ldc, load int) {
	if k > 0 {
		race.Read(unsafe.Pointer(a), ((k-1)*lda+mr)*sizeOf[T]())
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

// kernGenericS is the portable strided micro-kernel: the microKernel
// contract with A's panel rows lda apart (kernGeneric is the packed case,
// lda = genericMR).
func kernGenericS[T Float](k int, a *T, lda int, b *T, ldb int, c *T, ldc int, alpha, beta T, load int) {
	var c00, c01, c02, c03 T
	var c10, c11, c12, c13 T
	var c20, c21, c22, c23 T
	var c30, c31, c32, c33 T
	if k > 0 {
		pa := unsafe.Slice(a, (k-1)*lda+genericMR)
		pb := unsafe.Slice(b, (k-1)*ldb+genericNR)
		for p := 0; p < k; p++ {
			av := pa[p*lda : p*lda+genericMR : p*lda+genericMR]
			bv := pb[p*ldb : p*ldb+genericNR : p*ldb+genericNR]
			a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
			b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
	}
	cs := unsafe.Slice(c, 3*ldc+genericNR)
	rows := [genericMR][genericNR]T{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := range rows {
		row := cs[i*ldc : i*ldc+genericNR : i*ldc+genericNR]
		for j, v := range rows[i] {
			if load != 0 {
				row[j] = alpha*v + beta*row[j]
			} else {
				row[j] = alpha * v
			}
		}
	}
}
