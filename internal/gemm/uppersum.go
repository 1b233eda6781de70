package gemm

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/race"
	"github.com/netdeconv/deconv/internal/size"
)

// UpperSum computes sums of n×n products whose result is symmetric in
// exact arithmetic (polynomials in one symmetric matrix, such as the
// iterates of Newton–Schulz and their tangents):
//
//	C = α·(A₁·B₁ + A₂·B₂)   or   C = α·A₁·B₁
//
// on the upper triangle only, optionally mirrored into the lower one. The
// two products are one product of depth 2n, [A₁ | A₂]·[B₁; B₂], so C is
// stored once per depth block instead of once per product, and the
// depth-2n sums are accumulated in the micro-kernel's registers.
//
// What it saves over a block-row split of the triangle into general
// products (each block row its own product, packing its own copy of the
// operands): B is read where it lies, by all the workers (packed once per
// call, shared, only when its rows are a multiple of 1 KiB apart); each
// worker packs its own rows of A once per depth block, just before it
// multiplies them, so the packed block is still in L2 when it is read;
// and the rows are split between the workers by equal numbers of tiles,
// not of rows. The mirroring is done by each worker on its own rows, in
// the same parallel pass.
//
// An UpperSum belongs to one caller at a time: it holds the packed
// operands and per-worker buffers, grown on first use and reused, so calls
// at a size seen before allocate nothing. The zero value is ready to use.
type UpperSum[T Float] struct {
	kern  *kernel[T]
	n, nw int
	alpha T
	a, b  [2][]T  // the operands of each product
	symA  [2]bool // A₁, A₂ are symmetric as stored
	c     []T     // the result, n×n
	mir   bool    // mirror the upper triangle into the lower one
	dep   []int   // depth blocks: the start of each in the depth of [A₁ | A₂], then that depth
	inB   bool    // B's full column panels are read in place
	bp    []T     // B packed, when not in place: per depth block, column panels of kc×nr
	ws    []upperWS[T]
	cut   []int // row panels [cut[w], cut[w+1]) are worker w's
	fam   isa.Family
}

// upperWS is one worker's buffers: its rows of A packed for one depth
// block, the partial last column panel of an in-place B for that block,
// and the scratch tile of the edge tiles and of the diagonal tiles not
// computed in C (see compute).
type upperWS[T Float] struct {
	a, b, tile []T
}

// SumFlags describe the operands of an UpperSum call and what it writes.
type SumFlags uint8

const (
	// SymA1 says that A₁ is exactly symmetric as stored: its row panels
	// are then copied from its columns, which are contiguous, instead of
	// gathered from its rows. The multiply-adds and their order are the
	// same, so the result is the same to the bit.
	SymA1 SumFlags = 1 << iota
	// SymA2 says the same of A₂.
	SymA2
	// Mirror asks for the upper triangle to be copied into the lower one,
	// so that C is exactly symmetric; without it the lower triangle is not
	// touched.
	Mirror
)

// upperPackGroup is the number of A panels packed together from a
// symmetric operand: a destination line is then completed while it is in
// L1, and each call of the chunk copier moves enough chunks to pay for
// itself (one panel at a time cost 3.5 times as much, all of a worker's
// panels at once 1.7 times).
const upperPackGroup = 8

// Upper computes the upper triangle (j ≥ i) of C = α·A₁·B₁, or of
// C = α·(A₁·B₁ + A₂·B₂) when a2 and b2 are not nil, for n×n row-major
// matrices, on at most parallel.Workers(workers) goroutines (the family is
// internal/isa.Selected). flags say which A is symmetric as stored and
// whether to mirror the result (see SumFlags). C is overwritten (never
// read) and must not overlap the operands.
//
// Each element of the triangle is the dot product of the full product (or
// the sum of the two, accumulated as one dot product of length 2n), so it
// is within the usual bound γ_2n·(|A₁|·|B₁| + |A₂|·|B₂|) elementwise. It
// returns errs.ErrParam for a negative n or a2 without b2 (or the
// reverse), errs.ErrOverflow when n·n overflows, errs.ErrShape for a slice
// shorter than n·n, and isa.Err() when the requested instruction set
// cannot be honoured. A failed call writes nothing.
func (u *UpperSum[T]) Upper(workers, n int, alpha T, a1, b1, a2, b2 []T, c []T, flags SumFlags) error {
	return u.upper(isa.Selected(), workers, n, alpha, a1, b1, a2, b2, c, flags)
}

// upper is Upper with the kernel family given (tests run every family in
// one process).
func (u *UpperSum[T]) upper(fam isa.Family, workers, n int, alpha T, a1, b1, a2, b2 []T, c []T, flags SumFlags) error {
	mirror := flags&Mirror != 0
	if err := isa.Err(); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("%w: gemm: negative dimension n=%d", errs.ErrParam, n)
	}
	if (a2 == nil) != (b2 == nil) {
		return fmt.Errorf("%w: gemm: a second product needs both operands", errs.ErrParam)
	}
	ops := 1
	if a2 != nil {
		ops = 2
	}
	nn, ok := size.Mul(n, n)
	if !ok {
		return fmt.Errorf("%w: gemm: %d×%d matrices", errs.ErrOverflow, n, n)
	}
	for i, x := range [5][]T{a1, b1, a2, b2, c} {
		if (i < 2 || i == 4 || ops == 2) && len(x) < nn {
			name := [5]string{"A1", "B1", "A2", "B2", "C"}[i]
			return fmt.Errorf("%w: gemm: %s has %d elements, an %d×%d matrix needs %d", errs.ErrShape, name, len(x), n, n, n*n)
		}
	}
	if n == 0 {
		return nil
	}
	if alpha == 0 {
		// The product term vanishes: C = 0 (never NaN from the operands).
		for i := 0; i < n; i++ {
			lo := i
			if mirror {
				lo = 0
			}
			clear(c[i*n+lo : i*n+n])
		}
		return nil
	}
	u.kern, u.fam, u.n, u.alpha = kernelFor[T](fam), fam, n, alpha
	u.a, u.b, u.c = [2][]T{a1, a2}, [2][]T{b1, b2}, c
	u.symA, u.mir = [2]bool{flags&SymA1 != 0, flags&SymA2 != 0}, mirror
	// Rows a multiple of 1 KiB apart map to a few cache sets and evict
	// each other (see inPlaceB): then B is packed.
	u.inB = n*sizeOf[T]()%1024 != 0
	u.plan(parallel.Workers(workers), ops)
	if u.nw == 1 {
		if !u.inB {
			u.packB(0)
		}
		u.RunPart(0)
	} else {
		if !u.inB {
			parallel.Run(packBParts[T]{u}, u.nw)
		}
		parallel.Run(u, u.nw)
	}
	u.a, u.b, u.c = [2][]T{}, [2][]T{}, nil
	return nil
}

// plan sets the depth blocks, the worker count, the workers' rows and the
// buffers.
func (u *UpperSum[T]) plan(threads, ops int) {
	kr, n := u.kern, u.n
	// Each product's depth n is cut into equal blocks by the driver's rule
	// (depthBlocks: an A panel stays in L1; the tile of C is stored once
	// per block), never straddling two products.
	nk := depthBlocks(n, kr.kc)
	u.dep = u.dep[:0]
	for s := 0; s < ops; s++ {
		for d := 0; d < nk; d++ {
			u.dep = append(u.dep, s*n+d*n/nk)
		}
	}
	u.dep = append(u.dep, ops*n)
	kc := (n + nk - 1) / nk       // the deepest block
	np := (n + kr.mr - 1) / kr.mr // row panels
	nq := (n + kr.nr - 1) / kr.nr // column panels
	// The cost of row panel t in tiles: the column panels from the one
	// holding its first row to the last, plus one for packing the panel
	// (a panel of mr rows over the whole depth is copied in about the time
	// one tile of mr×nr is multiplied over it), so that the goroutine with
	// the lower rows, which has more of them for its share of the tiles,
	// does not finish last.
	tiles := func(t int) int { return nq - t*kr.mr/kr.nr + 1 }
	total := 0
	for t := 0; t < np; t++ {
		total += tiles(t)
	}
	work := float64(total) * float64(kr.mr*kr.nr) * float64(ops*n)
	nw := min(threads, np, int(work/minWorkPerThread)+1)
	// Each cut aims at an equal share of the work the previous cut left
	// (not at a fixed fraction of the total, so that a cut placed early
	// does not make the next part overshoot) and goes before or after the
	// panel that crosses it, whichever is nearer: panels are 2–20 tiles,
	// and always cutting after the crossing one gave the first of 2
	// workers 52% of the work at n = 576 (and it runs a few % slower per
	// tile, reading more of B): 1.04 against 0.92 ms alone, about 6% of
	// the call's time on 2 workers.
	u.cut = append(u.cut[:0], 0)
	acc, base := 0, 0 // the work before panel t, and before the last cut
	for t := 0; t < np && len(u.cut) < nw; t++ {
		k, w := len(u.cut), tiles(t)
		left := nw - k + 1 // parts still to cut, this one included
		if (acc+w-base)*left >= total-base {
			short, over := total-base-(acc-base)*left, (acc+w-base)*left-(total-base)
			if short < over && t > u.cut[k-1] {
				u.cut, base = append(u.cut, t), acc
			} else {
				u.cut, base = append(u.cut, t+1), acc+w
			}
		}
		acc += w
	}
	u.cut = append(u.cut, np)
	u.nw = len(u.cut) - 1
	for len(u.ws) < u.nw {
		u.ws = append(u.ws, upperWS[T]{})
	}
	if !u.inB {
		grow(&u.bp, ops*n*nq*kr.nr)
	}
	for w := 0; w < u.nw; w++ {
		ws := &u.ws[w]
		grow(&ws.a, kc*(u.cut[w+1]-u.cut[w])*kr.mr)
		grow(&ws.b, kc*kr.nr)
		grow(&ws.tile, kr.mr*kr.nr)
	}
}

// packBParts runs the packing of B on the workers (parallel.Parts).
type packBParts[T Float] struct{ u *UpperSum[T] }

// RunPart packs worker i's share of B.
func (pp packBParts[T]) RunPart(i int) { pp.u.packB(i) }

// RunPart runs worker i's rows (parallel.Parts): each depth block's A
// panels packed, then multiplied, then the rows mirrored.
func (u *UpperSum[T]) RunPart(i int) {
	if u.cut[i] == u.cut[i+1] {
		return
	}
	for d := 0; d+1 < len(u.dep); d++ {
		u.packA(i, d)
		u.compute(i, d)
	}
	if u.mir {
		u.mirror(i)
	}
}

// packB packs worker i's share of the column panels of B, every depth
// block, for a B that is not read in place.
func (u *UpperSum[T]) packB(i int) {
	kr, n := u.kern, u.n
	nq := (n + kr.nr - 1) / kr.nr
	q0, q1 := nq*i/u.nw, nq*(i+1)/u.nw
	if q0 == q1 {
		return
	}
	for d := 0; d+1 < len(u.dep); d++ {
		p0, kc := u.dep[d], u.dep[d+1]-u.dep[d]
		s := p0 / n
		// Block d: nq panels of kc×nr.
		dst := u.bp[p0*nq*kr.nr+q0*kc*kr.nr : p0*nq*kr.nr+q1*kc*kr.nr]
		packContig(dst, u.b[s], n, p0-s*n, kc, q0*kr.nr, min(n, q1*kr.nr)-q0*kr.nr, kr.nr, u.fam)
	}
}

// packA packs worker i's row panels of A = [A₁ | A₂] for depth block d,
// and, for an in-place B, the partial last column panel of that block.
func (u *UpperSum[T]) packA(i, d int) {
	kr, n := u.kern, u.n
	t0, t1 := u.cut[i], u.cut[i+1]
	r0, nrow := t0*kr.mr, min(n, t1*kr.mr)-t0*kr.mr
	p0, kc := u.dep[d], u.dep[d+1]-u.dep[d]
	s := p0 / n
	ws := &u.ws[i]
	dst := ws.a[:(t1-t0)*kr.mr*kc]
	if u.symA[s] {
		// A[r][p] = A[p][r]: panel rows are runs of column elements.
		for g := 0; g < nrow; g += upperPackGroup * kr.mr {
			gr := min(nrow-g, upperPackGroup*kr.mr)
			packContig(dst[g*kc:], u.a[s], n, p0-s*n, kc, r0+g, gr, kr.mr, u.fam)
		}
	} else {
		packStrided(dst, u.a[s], n, r0, nrow, p0-s*n, kc, kr.mr, u.fam)
	}
	if full := n / kr.nr * kr.nr; u.inB && full < n {
		packContig(ws.b[:kc*kr.nr], u.b[s], n, p0-s*n, kc, full, n-full, kr.nr, u.fam)
	}
}

// compute runs worker i's tiles of depth block d: each of its row panels
// against the column panels from the diagonal on.
func (u *UpperSum[T]) compute(i, d int) {
	kr, n, c, alpha := u.kern, u.n, u.c, u.alpha
	mr, nr, fn := kr.mr, kr.nr, kr.fn
	nq := (n + nr - 1) / nr
	t0, t1 := u.cut[i], u.cut[i+1]
	// With mirroring, a diagonal tile whose first column is at or right
	// of this worker's first row is computed whole straight into C: what
	// it writes below the diagonal lies in this worker's rows and in
	// columns of this worker's rows, which its own mirroring overwrites
	// afterwards, so no scratch tile and no merge are needed. A tile
	// reaching left of the worker's first row would write elements
	// another worker mirrors into.
	directFrom := t0 * mr
	if !u.mir {
		directFrom = n
	}
	ws := &u.ws[i]
	tile := ws.tile
	p0, kc := u.dep[d], u.dep[d+1]-u.dep[d]
	s := p0 / n
	// The first block stores C, the others add to it.
	load, bet := 0, T(0)
	if d > 0 {
		load, bet = 1, 1
	}
	for t := t0; t < t1; t++ {
		gi := t * mr
		mm := min(mr, n-gi)
		ap := &ws.a[(t-t0)*kc*mr]
		for q := gi / nr; q < nq; q++ {
			gj := q * nr
			nn := min(nr, n-gj)
			// B's panel: where it lies (rows n apart), or packed.
			var bp *T
			ldb := nr
			switch {
			case !u.inB:
				bp = &u.bp[p0*nq*nr+q*kc*nr]
			case nn == nr:
				bp, ldb = &u.b[s][(p0-s*n)*n+gj], n
			default:
				bp = &ws.b[0]
			}
			off := gi*n + gj
			if mm == mr && nn == nr && (gj >= gi+mr-1 || gj >= directFrom) {
				if race.Enabled {
					raceKernel(kc, ap, mr, bp, ldb, nr, &c[off], n, load)
				}
				fn(kc, ap, bp, ldb, &c[off], n, alpha, bet, load)
				continue
			}
			// A diagonal or edge tile: computed whole, merged on and
			// above the diagonal, inside C.
			if race.Enabled {
				raceKernel(kc, ap, mr, bp, ldb, nr, &tile[0], nr, 0)
			}
			fn(kc, ap, bp, ldb, &tile[0], nr, alpha, 0, 0)
			for r := 0; r < mm; r++ {
				jlo := max(0, gi+r-gj)
				if jlo >= nn {
					continue
				}
				row := c[off+r*n+jlo : off+r*n+nn]
				trow := tile[r*nr+jlo : r*nr+nn]
				if load != 0 {
					for j, v := range trow {
						row[j] += v
					}
				} else {
					copy(row, trow)
				}
			}
		}
	}
}

// mirror copies worker i's rows of the upper triangle into the columns
// below them (C[j][r] = C[r][j] for j > r), which no other worker writes:
// so the mirroring needs no second synchronisation. Bands of 16 rows:
// each destination row gets one contiguous run of 16 elements, read from
// 16 source rows that stay in L1 along the band.
func (u *UpperSum[T]) mirror(i int) {
	kr, n, c := u.kern, u.n, u.c
	r0, r1 := u.cut[i]*kr.mr, min(n, u.cut[i+1]*kr.mr)
	const band = 16
	for b0 := r0; b0 < r1; b0 += band {
		b1 := min(r1, b0+band)
		for j := b0 + 1; j < n; j++ {
			dst := c[j*n+b0 : j*n+min(j, b1)]
			for r := range dst {
				dst[r] = c[(b0+r)*n+j]
			}
		}
	}
}
