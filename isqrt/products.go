package isqrt

import (
	"math"

	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/vec"
)

// maxTeam bounds the goroutines one matrix's operations use.
const maxTeam = 16

// The operations a team runs (work.op).
const (
	opUpperMul    = iota // the upper triangle of C = α·A·B, by block rows
	opMirror             // mirrorUpper, by tile rows
	opResidualToT        // upperResidualToT, by rows
	opCheck              // the validation pass of prepare, by tile rows
	opFirst              // the first iteration's pass over S, by rows
	opFinish             // dst = Z/√c, by rows
	opSyrk64             // the upper triangle of C −= AᵀA in float64, by block rows
	opCopy               // C = A, elementwise, by contiguous ranges
)

// mul sets C = α·A·B for n×n row-major matrices, every element computed,
// on the engine split over the run's w.threads goroutines.
func (w *work[T]) mul(n int, alpha T, a, b []T, c []T) error {
	return gemmDense(w.threads, gemm.NoTrans, gemm.NoTrans, n, n, n, alpha, a, n, b, n, 0, c, n)
}

// symBlock is the height of the block rows into which syrk64 cuts the
// upper triangle: small enough that the squares computed whole on the
// diagonal waste little (the work is n²(1 + symBlock/n)/2 instead of n²/2
// per unit of depth), large enough that each block row is an efficient
// product. A multiple of the micro-kernels' row counts (12 and 6).
const symBlock = 48

// symMul sets C = α·A·B for n×n matrices A and B whose product is
// symmetric in exact arithmetic (polynomials in the same matrix, such as
// the Newton–Schulz iterates): it computes the upper triangle only and
// mirrors it into the lower one, so C is exactly symmetric.
//
// Each element of the upper triangle is the same dot product, with the
// same rounding, as in the full product; the lower triangle takes the
// mirrored values instead of its own rounding errors. The result is thus
// within the usual bound |fl(AB) − AB| ≤ γ_n·|A|·|B| elementwise (see the
// package documentation for what mirroring does to the iteration).
//
// symA says that A is exactly symmetric as stored (a mirrored iterate):
// its rows are then read as its columns, which are contiguous (see
// upperMul).
func (w *work[T]) symMul(n int, alpha T, a, b, c []T, symA bool) error {
	if n > 4*symBlock {
		// The mirroring is part of the product's pass over its rows.
		return upperSum(w.threads, &w.sum, n, alpha, a, b, nil, nil, c, symFlags(symA)|gemm.Mirror)
	}
	if err := w.upperMul(n, alpha, a, b, c, symA); err != nil {
		return err
	}
	w.mirror(n, c)
	return nil
}

// upperMul is symMul without the mirroring: it leaves the strict lower
// triangle of C undefined. Small matrices take a full product (the
// triangle would not pay for the extra calls); up to four block rows of
// symBlock, the block rows are products of their own on the engine's
// small-matrix path, dealt over the team (at n = 147 that took 8% less
// CPU time than gemm.UpperSum); larger ones take gemm.UpperSum (rows
// split between the goroutines by equal work, each packing its own rows
// of A one depth block at a time, B read in place).
//
// With symA, A is exactly symmetric as stored, so A = Aᵀ and the product
// is asked as op(A) = Aᵀ: the engine then reads A's row panels as runs
// of contiguous elements (its columns) instead of gathering each panel
// element from a different row, which for the small matrices of a
// layer's groups is most of a product's cost. The multiply-adds and
// their order are those of A·B, so the result is the same to the bit.
func (w *work[T]) upperMul(n int, alpha T, a, b, c []T, symA bool) error {
	if n <= upperSplitMin {
		if symA {
			return gemmDense(w.threads, gemm.Trans, gemm.NoTrans, n, n, n, alpha, a, n, b, n, 0, c, n)
		}
		return w.mul(n, alpha, a, b, c)
	}
	if n <= 4*symBlock {
		// Up to four block rows, each a product on the engine's
		// small-matrix path, dealt over the team.
		w.op, w.opN, w.opAlpha, w.opA, w.opB, w.opC = opUpperMul, n, alpha, a, b, c
		w.opSymA = symA
		w.runOp()
		for _, err := range w.errs[:w.nw] {
			if err != nil {
				return err
			}
		}
		return nil
	}
	return upperSum(w.threads, &w.sum, n, alpha, a, b, nil, nil, c, symFlags(symA))
}

// symFlags returns the gemm.UpperSum flags of a product whose A is (symA)
// or is not exactly symmetric as stored.
func symFlags(symA bool) gemm.SumFlags {
	if symA {
		return gemm.SymA1
	}
	return 0
}

// syrk64 sets the upper triangle of the m×m matrix C (leading dimension
// ld) to C − AᵀA, A k×m (leading dimension ld), in float64: split by
// block rows over the team like upperMul when it is large enough, else one
// SYRK of the engine.
func (w *work[T]) syrk64(m, k int, a []float64, c []float64, ld int) error {
	if m <= smallSyrk {
		return w.syrk64Small(m, k, a, c, ld) // symprod.go
	}
	if w.nw <= 1 || m <= 4*symBlock {
		return syrkDense(w.threads, gemm.Upper, m, k, -1, a, ld, 1, c, ld)
	}
	w.op, w.opN, w.opK, w.opLd, w.opA64, w.opC64 = opSyrk64, m, k, ld, a, c
	w.runOp()
	w.opA64, w.opC64 = nil, nil
	for _, err := range w.errs[:w.nw] {
		if err != nil {
			return err
		}
	}
	return nil
}

// mirror is mirrorUpper on the team.
func (w *work[T]) mirror(n int, c []T) {
	if w.serial(n) {
		mirrorUpper(n, c)
		return
	}
	w.op, w.opN, w.opC = opMirror, n, c
	w.runOp()
}

// residualToT is upperResidualToT on the team.
func (w *work[T]) residualToT(n int, p []T) float64 {
	if w.serial(n) {
		return upperResidualToT(n, p)
	}
	w.op, w.opN, w.opC = opResidualToT, n, p
	w.runOp()
	diag, off := 0.0, 0.0
	for i := range w.nw {
		diag += w.sums[i][0]
		off += w.sums[i][1]
	}
	return math.Sqrt(diag + 2*off)
}

// residualToTSym is residualToT followed by mirror: it returns ‖P − I‖_F
// and overwrites P with T = ½(3I − P), exactly symmetric, from P's upper
// triangle. A matrix in L1 (n ≤ mirrorSmall) takes one pass that writes
// each element of T to both triangles; a larger one the team's two passes,
// whose tiled mirror keeps its column writes in cache.
func (w *work[T]) residualToTSym(n int, p []T) float64 {
	if n <= mirrorSmall {
		diag, off := residualToTMirroredRows(n, p)
		return math.Sqrt(diag + 2*off)
	}
	r := w.residualToT(n, p)
	w.mirror(n, p)
	return r
}

// serial reports whether the O(n²) passes of an n×n matrix run on the
// calling goroutine: with one goroutine, or for a matrix of at most four
// block rows, for which handing a pass to parked goroutines costs about
// what the pass does.
func (w *work[T]) serial(n int) bool {
	return w.nw <= 1 || n <= 4*symBlock
}

// runOp runs the operation set in w on w.nw parts.
func (w *work[T]) runOp() {
	parallel.Run(w, w.nw)
	w.opA, w.opB, w.opC = nil, nil, nil
}

// RunPart runs part i of the current operation (parallel.Parts).
func (w *work[T]) RunPart(i int) {
	if testHookPart != nil {
		testHookPart(1)
		defer testHookPart(-1)
	}
	n, nw, c := w.opN, w.nw, w.opC
	switch w.op {
	case opUpperMul:
		w.errs[i] = nil
		for b, i0 := 0, 0; i0 < n; b, i0 = b+1, i0+symBlock {
			if !snake(b, i, nw) {
				continue
			}
			i1 := min(n, i0+symBlock)
			var err error
			if w.opSymA {
				err = gemmDense(1, gemm.Trans, gemm.NoTrans, i1-i0, n-i0, n, w.opAlpha, w.opA[i0:], n, w.opB[i0:], n, 0, c[i0*n+i0:], n)
			} else {
				err = gemmDense(1, gemm.NoTrans, gemm.NoTrans, i1-i0, n-i0, n, w.opAlpha, w.opA[i0*n:], n, w.opB[i0:], n, 0, c[i0*n+i0:], n)
			}
			if err != nil {
				w.errs[i] = err
				return
			}
		}
	case opMirror:
		// Tile rows grow with i0: deal them from the last.
		nb := (n + mirrorTile - 1) / mirrorTile
		for b, i0 := 0, 0; i0 < n; b, i0 = b+1, i0+mirrorTile {
			if snake(nb-1-b, i, nw) {
				mirrorTileRow(n, c, i0)
			}
		}
	case opResidualToT:
		var s [2]float64
		for b, i0 := 0, 0; i0 < n; b, i0 = b+1, i0+mirrorTile {
			if snake(b, i, nw) {
				d, o := residualToTRows(n, c, i0, min(n, i0+mirrorTile))
				s[0] += d
				s[1] += o
			}
		}
		w.sums[i] = s
	case opCheck:
		w.errs[i] = nil
		for b, i0 := 0, 0; i0 < n; b, i0 = b+1, i0+checkTile {
			if snake(b, i, nw) {
				v, err := w.checkTileRow(n, w.opA, i0, i)
				if err != nil {
					w.errs[i], w.errTile[i] = err, b
					break
				}
				w.tileSums[b] = v
			}
		}
	case opFirst:
		w.sums[i][0] = firstPassRows(n, w.opA, w.opB, c, i*n/nw, (i+1)*n/nw, w.opScale)
	case opSyrk64:
		w.errs[i] = nil
		m, k, ld, a, c := w.opN, w.opK, w.opLd, w.opA64, w.opC64
		for b, i0 := 0, 0; i0 < m; b, i0 = b+1, i0+symBlock {
			if !snake(b, i, nw) {
				continue
			}
			i1 := min(m, i0+symBlock)
			if err := gemmDense(1, gemm.Trans, gemm.NoTrans, i1-i0, m-i0, k, -1, a[i0:], ld, a[i0:], ld, 1, c[i0*ld+i0:], ld); err != nil {
				w.errs[i] = err
				return
			}
		}
	case opCopy:
		w.copyPart(i, nw)
	case opFinish:
		w.sums[i][0] = 1
		if scaleRows(w.opC, w.opA, i*n/nw*n, (i+1)*n/nw*n, w.opScale) {
			w.sums[i][0] = 0
		}
	}
}

// mirrorTile is the side of the square tiles in which mirrorUpper works,
// so that the rows written and the source rows read stay in L1; it is
// also the unit in which the team splits the O(n²) passes.
const mirrorTile = 64

// mirrorUpper copies the strict upper triangle of the n×n matrix c into the
// strict lower one: c[i][j] = c[j][i] for i > j. Eight destination rows
// are written together from one contiguous read of eight source elements,
// which is about twice as fast as a plain element-by-element transpose.
func mirrorUpper[T Float](n int, c []T) {
	if n <= mirrorSmall {
		mirrorUpperSmall(n, c) // symprod.go
		return
	}
	for i0 := 0; i0 < n; i0 += mirrorTile {
		mirrorTileRow(n, c, i0)
	}
}

// mirrorTileRow mirrors the rows i0 … i0+mirrorTile−1 of the lower
// triangle in strips of mirrorStrip rows: left of its diagonal block, a
// strip is the transpose of the upper triangle's columns above it, one
// gemm.TransposeCopy (16×16 blocks in registers on AVX-512); the triangle
// inside the block, element by element. Against one transposed copy left
// of the whole diagonal tile and eight-row copies inside it, mirrorUpper
// ran 1.25× faster at n = 147 (BenchmarkMirrorUpper, float32, medians of
// eight alternated runs); against the eight-row copy on every tile, 1.1×
// at n = 147 and 2× at 576.
func mirrorTileRow[T Float](n int, c []T, i0 int) {
	i1 := min(n, i0+mirrorTile)
	f := isa.Selected()
	for r0 := i0; r0 < i1; r0 += mirrorStrip {
		r1 := min(i1, r0+mirrorStrip)
		gemm.TransposeCopy(f, c[r0*n:], n, c[r0:], n, r0, r1-r0)
		for i := r0 + 1; i < r1; i++ {
			row := c[i*n+r0 : i*n+i]
			for j := range row {
				row[j] = c[(r0+j)*n+i]
			}
		}
	}
}

// mirrorStrip is the height of mirrorTileRow's strips: the AVX-512
// transposing kernel's block, so that only the triangles of the 16×16
// diagonal blocks are copied element by element.
const mirrorStrip = 16

// identityResidual returns ‖P − I‖_F for the n×n matrix p, accumulated in
// float64.
func identityResidual[T Float](n int, p []T) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		row := p[i*n : i*n+n]
		d := float64(row[i]) - 1
		s += d*d + sumSquares(row[:i]) + sumSquares(row[i+1:])
	}
	return math.Sqrt(s)
}

// sumSquares returns Σ x_i² in float64: on the selected family's kernel
// for float32 (internal/vec; each square exact, the order of the additions
// fixed by the length), the portable loop for float64.
func sumSquares[T Float](x []T) float64 {
	return vec.SumSquares(isa.Selected(), x)
}

// threeHalvesMinusHalf overwrites p with ½(3I − P).
func threeHalvesMinusHalf[T Float](n int, p []T) {
	for i := 0; i < n; i++ {
		row := p[i*n : i*n+n]
		for j := range row {
			row[j] *= -0.5
		}
		row[i] += 1.5
	}
}

// upperResidualToT reads the upper triangle of the symmetric matrix P,
// overwrites it with that of T = ½(3I − P), and returns ‖P − I‖_F: one
// pass over half the matrix where identityResidual and
// threeHalvesMinusHalf make two over all of it. The lower triangle is
// neither read nor written.
func upperResidualToT[T Float](n int, p []T) float64 {
	diag, off := residualToTRows(n, p, 0, n)
	return math.Sqrt(diag + 2*off)
}

// residualToTRows is upperResidualToT on rows [i0, i1): it returns the sums
// of squares of the diagonal of P − I and of the strict upper triangle.
func residualToTRows[T Float](n int, p []T, i0, i1 int) (diag, off float64) {
	f := isa.Selected()
	for i := i0; i < i1; i++ {
		row := p[i*n+i : i*n+n]
		d := float64(row[0]) - 1
		diag += d * d
		// The sum of squares and −½·P in one pass (the sum is
		// sumSquares's to the bit).
		off += vec.NegHalfSumSquares(f, row[1:])
		row[0] *= -0.5
		row[0] += 1.5
	}
	return diag, off
}

// residualToTMirroredRows is residualToTRows on all rows that also writes
// each element of T's strict upper triangle to its mirror place: the sums
// and the upper triangle are residualToTRows's to the bit, and the lower
// triangle is mirrorUpper's.
func residualToTMirroredRows[T Float](n int, p []T) (diag, off float64) {
	p = p[:n*n]
	f := isa.Selected()
	for i := 0; i < n; i++ {
		row := p[i*n+i : i*n+n]
		d := float64(row[0]) - 1
		diag += d * d
		off += vec.NegHalfSumSquares(f, row[1:]) // as residualToTRows
		row[0] *= -0.5
		row[0] += 1.5
		// Column i below the diagonal, n apart from (i+1, i).
		col := p[i*n+i:]
		for j := 1; j < len(row); j++ {
			col[j*n] = row[j]
		}
	}
	return diag, off
}

// firstPassRows turns rows [i0, i1) of S, in y, into Ã = S·inv, writes
// Z₁ = T₀ = ½(3I − Ã) into z2 and 1.5·Ã (the first term of Y₁) into y2,
// and returns the sum of squares of those rows of Ã − I.
func firstPassRows[T Float](n int, y, z2, y2 []T, i0, i1 int, inv float64) float64 {
	sq := 0.0
	for i := i0; i < i1; i++ {
		yi := y[i*n : i*n+n]
		zi := z2[i*n : i*n+n][:len(yi)]
		y2i := y2[i*n : i*n+n][:len(yi)]
		// The elements left and right of the diagonal in one pass each
		// that also sums their squares; the diagonal on its own.
		left := firstPassRun(yi[:i], zi[:i], y2i[:i], inv)
		right := firstPassRun(yi[i+1:], zi[i+1:], y2i[i+1:], inv)
		at := T(float64(yi[i]) * inv)
		yi[i], zi[i], y2i[i] = at, -0.5*at+1.5, 1.5*at
		d := float64(at) - 1
		sq += d*d + left + right
	}
	return sq
}

// firstPassRun is firstPassRows on a run of off-diagonal elements: Ã = S·inv
// into y, −½·Ã into z2, 1.5·Ã into y2, and the sum of the squares of Ã
// (internal/vec's ScaleSplit: the selected family's kernel for float32).
func firstPassRun[T Float](y, z2, y2 []T, inv float64) float64 {
	return vec.ScaleSplit(isa.Selected(), y, z2, y2, inv)
}

// scaleRows writes dst[k] = z[k]·s for k in [lo, hi) and reports whether
// every value written is finite (internal/vec's ScaleFinite).
func scaleRows[T Float](dst, z []T, lo, hi int, s float64) bool {
	return vec.ScaleFinite(isa.Selected(), dst[lo:hi], z[lo:hi], s)
}

// finish writes dst = Z/√c and reports whether it is finite.
func (w *work[T]) finish(n int, dst, z []T, c float64) bool {
	s := 1 / math.Sqrt(c)
	if w.serial(n) {
		return scaleRows(dst, z, 0, n*n, s)
	}
	w.op, w.opN, w.opA, w.opC, w.opScale = opFinish, n, z, dst, s
	w.runOp()
	ok := true
	for i := range w.nw {
		ok = ok && w.sums[i][0] == 0
	}
	return ok
}

// setIdentity writes the n×n identity into z.
func setIdentity[T Float](n int, z []T) {
	clear(z[:n*n])
	for i := 0; i < n; i++ {
		z[i*n+i] = 1
	}
}

// Test hooks: testHookThreads sees the goroutine count of every product,
// testHookPart the start (+1) and end (−1) of every part a team runs.
// Tests set them while no call is in progress.
var (
	testHookThreads func(threads int)
	testHookPart    func(delta int)
)

// gemmDense is gemm.GemmDense; every product of the package goes through
// it or syrkDense, always with an explicit goroutine count (never the
// engine's own setting).
func gemmDense[T Float](threads int, tA, tB gemm.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	if testHookThreads != nil {
		testHookThreads(threads)
	}
	return gemm.GemmDense(max(1, threads), tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// upperSum is gemm.UpperSum.Upper on at most threads goroutines (see
// gemmDense).
func upperSum[T Float](threads int, u *gemm.UpperSum[T], n int, alpha T, a1, b1, a2, b2, c []T, flags gemm.SumFlags) error {
	if testHookThreads != nil {
		testHookThreads(threads)
	}
	return u.Upper(max(1, threads), n, alpha, a1, b1, a2, b2, c, flags)
}

// syrkDense is gemm.SyrkDense (see gemmDense).
func syrkDense[T Float](threads int, uplo gemm.Uplo, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) error {
	if testHookThreads != nil {
		testHookThreads(threads)
	}
	return gemm.SyrkDense(max(1, threads), uplo, n, k, alpha, a, lda, beta, c, ldc)
}
