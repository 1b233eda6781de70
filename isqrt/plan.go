package isqrt

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/mem"
	"github.com/netdeconv/deconv/internal/parallel"
	"github.com/netdeconv/deconv/internal/vec"
)

// Plan computes inverse square roots of n×n matrices with fixed Options.
// It owns the workspaces, so that calls at its size allocate nothing after
// the first; it is therefore not safe for concurrent use (use one Plan per
// goroutine; a batched call parallelises internally).
type Plan[T Float] struct {
	n   int
	opt Options

	ws      []*work[T] // one per worker of a batched call
	results []Result
	bt      batchRun[T] // the batched call in progress (batch.go)

	// keepGoing lets the iterations run past detected growth (never past a
	// non-finite residual), for tests that follow a divergence.
	keepGoing bool

	grad *gradState[T] // what Backward needs (Options.Grad), else nil
}

// work is one worker's memory: the iterates and the scratch of the
// diagnostics, each n×n.
type work[T Float] struct {
	y, z, p, y2, z2, best []T

	// Diagnostics in float64: the pre-scaled input (for the true
	// residual), two scratch matrices for it, the matrix the
	// positive-definiteness check factors and its panel scratch.
	a64, z64, s64 []float64
	chol, panel   []float64
	trace         []float64
	spec          []float64 // power-step vectors of ScaleSpectral

	mon monitor // residuals of the current run

	gm *gradMat[T] // where the run keeps what Backward needs, or nil

	// cy divides w.y to give Ã (see prepare); bestBuf is where the
	// iterate with the smallest monitored residual is, for the fallback
	// of a non-finite result.
	cy      float64
	bestBuf []T

	lastTrue float64 // the last true residual checkTol computed

	symTol float64 // the symmetry tolerance of the current run's check

	// Goroutines for the products: threads is what the engine may use
	// per product (1 when a batch already runs matrices in parallel), nw
	// the size of the team that splits the triangular ones.
	threads, nw int

	// sum computes the large triangular products (see upperMul).
	sum gemm.UpperSum[T]

	// The run of a call whose positive-definiteness check runs beside
	// its iteration (beside.go), and whether the current call is one.
	tm     besideRun[T]
	beside bool

	// The operation the team runs (see runTask), its parts' results and
	// the group they wait on.
	op       int
	opN      int
	opAlpha  T
	opSymA   bool // opUpperMul: A is exactly symmetric (see upperMul)
	opScale  float64
	opA, opB []T
	opC      []T
	opK      int       // the depth of opSyrk64
	opLd     int       // the leading dimension of opSyrk64
	opA64    []float64 // the operands of opSyrk64
	opC64    []float64
	errs     [maxTeam]error
	sums     [maxTeam][2]float64
	tileSums []float64    // opCheck's sum of each tile row
	checkT   [maxTeam][]T // opCheck: each part's transposed tile (checkTileRow)
	errTile  [maxTeam]int // opCheck: the tile row of each part's error
}

// NewPlan validates the options for n×n matrices and returns a Plan. It
// allocates no workspace: that happens on the first call. n must be in
// [1, MaxN] (a non-positive n is deconv.ErrShape, a larger one
// deconv.ErrOverflow); an option out of its range is deconv.ErrParam.
func NewPlan[T Float](n int, opt Options) (*Plan[T], error) {
	if err := isa.Err(); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("%w: n = %d", deconv.ErrShape, n)
	}
	if n > MaxN {
		return nil, fmt.Errorf("%w: n = %d exceeds MaxN = %d", deconv.ErrOverflow, n, MaxN)
	}
	o, err := opt.validate()
	if err != nil {
		return nil, err
	}
	return &Plan[T]{n: n, opt: o}, nil
}

// N returns the matrix size.
func (p *Plan[T]) N() int { return p.n }

// Options returns the plan's options with defaults filled in.
func (p *Plan[T]) Options() Options { return p.opt }

// InvSqrt writes A^{-1/2} (as the plan's method approximates it) of the
// n×n row-major symmetric positive definite matrix a into dst. Both must
// hold exactly n·n elements. a is read in full before dst is written, so
// dst may be a itself (the same slice); a dst that overlaps a otherwise
// is deconv.ErrOverlap. When dst is not a, a is not modified.
//
// Errors (see the package documentation for the checks):
// deconv.ErrShape for a slice of another length; deconv.ErrOverlap;
// deconv.ErrNonFinite, deconv.ErrNotSymmetric or
// deconv.ErrNotPositiveDefinite for input the iteration cannot handle
// (dst is then untouched); deconv.ErrDiverged when the residual grew or
// an iterate was not finite (dst then holds the finite iterate with the
// smallest residual, or NaN when there is none); deconv.ErrNotConverged
// when Options.Tol is set and not reached (dst holds the last iterate).
func (p *Plan[T]) InvSqrt(dst, a []T) (Result, error) {
	if err := p.checkSlices(dst, a, 1); err != nil {
		return Result{}, err
	}
	w := p.worker(0)
	w.setThreads(parallel.Workers(p.opt.Workers))
	p.gradBegin(1)
	w.gm = p.gradMatFor(0)
	r, err := w.run(p, dst, a)
	p.gradEnd(err)
	return r, err
}

// InvSqrtBatch computes the inverse square roots of count n×n matrices
// stored one after the other in a (the groups of a grouped layer), into
// the same places of dst. Both must hold exactly count·n·n elements; dst
// may be a itself, but may not overlap it otherwise (deconv.ErrOverlap).
// A negative count is deconv.ErrShape, a count·n·n that overflows
// deconv.ErrOverflow. The matrices are spread over Options.Workers
// goroutines, each computing whole matrices with single-threaded
// products; matrices left over when the count is not a multiple of the
// goroutines (a single matrix, or 3 on 2 cores) run one after the other
// with their products split over all of them, when they are large enough
// for that to pay (see batch.go). It returns one Result per matrix (the
// slice belongs to the Plan and is overwritten by its next call) and the
// error of the first matrix that failed, wrapped with its index; the
// other matrices are still computed.
func (p *Plan[T]) InvSqrtBatch(dst, a []T, count int) ([]Result, error) {
	if err := p.checkSlices(dst, a, count); err != nil {
		return nil, err
	}
	return p.batch(dst, a, count) // batch.go
}

// checkSlices checks that dst and a hold exactly count n×n matrices and
// that dst is a or does not overlap it.
func (p *Plan[T]) checkSlices(dst, a []T, count int) error {
	if count < 0 {
		return fmt.Errorf("%w: count = %d", deconv.ErrShape, count)
	}
	nn := p.n * p.n // p.n ≤ MaxN: no overflow
	need := nn * count
	if count > 0 && need/count != nn {
		return fmt.Errorf("%w: %d matrices of %d×%d", deconv.ErrOverflow, count, p.n, p.n)
	}
	if len(dst) != need || len(a) != need {
		return fmt.Errorf("%w: dst has %d and a %d elements, %d matrices of %d×%d need %d",
			deconv.ErrShape, len(dst), len(a), count, p.n, p.n, need)
	}
	if !mem.Same(dst, a) && mem.Overlap(dst, a) {
		return fmt.Errorf("%w: dst and a share memory without being the same slice", deconv.ErrOverlap)
	}
	return nil
}

// setThreads sets the goroutines the products of a run may use.
func (w *work[T]) setThreads(threads int) {
	w.threads = max(1, threads)
	w.nw = min(w.threads, maxTeam)
}

// worker returns workspace i, allocating it on first use.
func (p *Plan[T]) worker(i int) *work[T] {
	for len(p.ws) <= i {
		p.ws = append(p.ws, new(work[T]))
	}
	return p.ws[i]
}

// grow returns (*buf)[:n], allocating only when the buffer is too small.
// It allocates gemm.SmallSlack elements of capacity more, so that the
// engine's small-matrix path reads partial panels of the buffer in place.
func grow[E any](buf *[]E, n int) []E {
	if cap(*buf) < n {
		*buf = make([]E, n, n+gemm.SmallSlack)
	}
	return (*buf)[:n]
}

// prepare validates the input a (finite; symmetric within the tolerance;
// positive diagonal, no 2×2 principal minor clearly negative; positive
// definite by the Cholesky check), writes S, the symmetric part of a (or a
// itself when asIs, for the reference formulation), into w.y, and returns
// the pre-scaling constant c and the constant cy by which w.y must be
// divided to give Ã = S/c: c itself unless c is so large or small that
// 1/c would lose bits or overflow, in which case w.y has been multiplied
// by the power of two cy/c. The caller divides: the fast iteration folds
// it into its first step.
func (w *work[T]) prepare(p *Plan[T], a []T, asIs bool) (c, cy float64, err error) {
	n := p.n
	o := &p.opt
	// √a_ii, so that the bound √(a_ii·a_jj) on |a_ij| of an SPD matrix
	// costs one multiplication per pair.
	root := grow(&w.spec, 2*n)[:n]
	for i := 0; i < n; i++ {
		d := float64(a[i*n+i])
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return 0, 0, fmt.Errorf("%w: a[%d,%d] = %v", deconv.ErrNonFinite, i, i, d)
		}
		if d <= 0 {
			return 0, 0, fmt.Errorf("%w: diagonal element a[%d,%d] = %v", deconv.ErrNotPositiveDefinite, i, i, d)
		}
		root[i] = math.Sqrt(d)
	}
	// One pass over the pairs (i, j), (j, i), by tile rows on the team (see
	// checkTileRow), then the diagonal.
	y := grow(&w.y, n*n)
	grow(&w.chol, n*n) // the pass writes S's upper triangle there too
	grow(&w.tileSums, (n+checkTile-1)/checkTile)
	symTol := o.SymmetryTol
	if symTol < 0 {
		symTol = math.Inf(1)
	}
	w.opA, w.symTol = a, symTol
	sum := 0.0
	if w.serial(n) {
		for i0 := 0; i0 < n; i0 += checkTile {
			s, err := w.checkTileRow(n, a, i0, 0)
			if err != nil {
				return 0, 0, err
			}
			sum += s
		}
	} else {
		w.op, w.opN, w.opC = opCheck, n, y
		w.runOp()
		// The error of the first tile row that has one, as the serial
		// loop reports (each part stops at its own first).
		first := -1
		for i := range w.nw {
			if w.errs[i] != nil && (first < 0 || w.errTile[i] < w.errTile[first]) {
				first = i
			}
		}
		if first >= 0 {
			return 0, 0, w.errs[first]
		}
		// Added in the order of the serial loop, so that the norm, and
		// with it every result, does not depend on the goroutines.
		for _, s := range w.tileSums[:(n+checkTile-1)/checkTile] {
			sum += s
		}
	}
	for i := 0; i < n; i++ {
		d := float64(a[i*n+i])
		sum += d * d
		y[i*n+i] = a[i*n+i]
	}
	sNormal := sum >= 0x1p-900 && sum <= 0x1p900
	if !sNormal {
		// A NaN or an infinity the pair checks let through (they compare,
		// which NaN passes) makes the sum NaN or infinite.
		for i, v := range a[:n*n] {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, 0, fmt.Errorf("%w: a[%d,%d] = %v", deconv.ErrNonFinite, i/n, i%n, f)
			}
		}
		// The sum of squares overflowed, or underflowed enough to lose
		// digits (float64 elements beyond about 1e±135): again with every
		// element scaled by a power of two, exactly, as LAPACK's dnrm2
		// scales.
		c = scaledNorm(n, a)
	} else {
		c = math.Sqrt(sum)
	}
	if math.IsInf(c, 0) || c == 0 {
		return 0, 0, fmt.Errorf("%w: the Frobenius norm of a is %v", deconv.ErrNonFinite, c)
	}
	if asIs {
		copy(y, a[:n*n])
	} // (else the pass wrote S to both triangles of y)
	if o.Scaling == ScaleSpectral {
		c = min(c, w.spectralBound(n, y))
	}
	if w.beside {
		// The helper factors while the iteration runs; run awaits the
		// verdict before writing dst.
		w.tm.postCheck(n, a, sNormal, c)
	} else if err := w.checkDefinite(n, a, sNormal, c); err != nil {
		return 0, 0, err
	}
	cy = c
	if !(c >= 0x1p-1000 && c <= 0x1p1000) {
		// 1/c is not exact to the last bits, or overflows: divide a copy
		// of S scaled by a power of two instead (exact for float64; a
		// float32 S never gets here).
		e := math.Ilogb(c)
		f := math.Ldexp(1, -e)
		for i, v := range y {
			y[i] = T(float64(v) * f)
		}
		cy = math.Ldexp(c, -e)
	}
	return c, cy, nil
}

// scaledNorm returns ‖a‖_F, computed as 2^e·(Σ (a_ij·2^{−e})²)^{1/2}
// with 2^e near the largest |a_ij|, so that neither overflow nor underflow
// of the squares loses it (+Inf only when the norm itself exceeds the
// largest float64).
func scaledNorm[T Float](n int, a []T) float64 {
	amax := 0.0
	for _, v := range a[:n*n] {
		amax = max(amax, math.Abs(float64(v)))
	}
	if amax == 0 {
		return 0
	}
	e := math.Ilogb(amax)
	f := math.Ldexp(1, -e)
	s := 0.0
	for _, v := range a[:n*n] {
		x := float64(v) * f
		s += x * x
	}
	return math.Ldexp(math.Sqrt(s), e)
}

// checkTile is the side of the tiles of the validation pass, small enough
// that the column reads of a tile stay in L1.
const checkTile = 32

// minorTol is how far |a_ij| may exceed √(a_ii·a_jj) (rounding) before the
// 2×2 principal minor counts as negative.
const minorTol = 1 + 1e-4

// checkTileRow validates the pairs (i, j), (j, i) with i in the tile row
// at i0 and j > i: symmetric within tolerance, no 2×2 principal minor
// clearly negative. It writes S = (a + aᵀ)/2 there to both triangles of
// w.y (the lower one from the values of the upper, so w.y is exactly
// symmetric and needs no mirroring pass) and S's upper triangle in float64
// to w.chol, and returns the sum of squares of those elements of a (both
// triangles: for a symmetric input that is S's; for another, the
// reference's norm). A NaN passes the comparisons but not the sum, which
// the caller checks. It needs w.spec[:n] to hold √a_ii and w.symTol set;
// part is the team part running it, whose tile scratch it uses.
//
// Tile by tile, the column a[j][i] of the pairs is first transposed into
// the part's scratch, so that each row's run of pairs is two contiguous
// runs, checked by vec.PairCheck (AVX-512 or AVX2 for float32: the run's
// sum, bounds, excess and S in one pass); S's lower triangle is then one
// transposed copy of the upper, except on the diagonal tile, which is
// mirrored in place. The exact error is looked for, pair by pair, only in
// a run whose excess is positive.
func (w *work[T]) checkTileRow(n int, a []T, i0, part int) (float64, error) {
	root, y, ch, symTol := w.spec[:n], w.y, w.chol, w.symTol
	f := isa.Selected()
	zt := grow(&w.checkT[part], checkTile*checkTile)
	i1 := min(n, i0+checkTile)
	sum := 0.0
	for j0 := i0; j0 < n; j0 += checkTile {
		j1 := min(n, j0+checkTile)
		// zt[(i−i0)·checkTile + j−j0] = a[j][i].
		gemm.TransposeCopy(f, zt, checkTile, a[j0*n+i0:], n, j1-j0, i1-i0)
		for i := i0; i < i1; i++ {
			jl := max(j0, i+1)
			if jl >= j1 {
				continue
			}
			ri := root[i]
			zi := zt[(i-i0)*checkTile+jl-j0 : (i-i0)*checkTile+j1-j0]
			s, excess := vec.PairCheck(f, y[i*n+jl:i*n+j1], ch[i*n+jl:i*n+j1], a[i*n+jl:i*n+j1], zi, root[jl:j1], ri, symTol, minorTol)
			sum += s
			if excess > 0 {
				for j := jl; j < j1; j++ {
					if err := pairError(i, j, float64(a[i*n+j]), float64(a[j*n+i]), ri*root[j], symTol, minorTol); err != nil {
						return 0, err
					}
				}
			}
		}
		if j0 == i0 {
			for i := i0; i < i1; i++ {
				for j := i + 1; j < j1; j++ {
					y[j*n+i] = y[i*n+j]
				}
			}
		} else {
			gemm.TransposeCopy(f, y[j0*n+i0:], n, y[i0*n+j0:], n, i1-i0, j1-j0)
		}
	}
	return sum, nil
}

// scaleBy overwrites y with y·(1/c), rounded once from float64; it differs
// from y/c by at most an ulp.
func scaleBy[T Float](y []T, c float64) {
	inv := 1 / c
	for i, v := range y {
		y[i] = T(float64(v) * inv)
	}
}

// pairError explains why the pair a_ij = x, a_ji = z fails the checks of
// prepare, or returns nil when it passes them.
func pairError(i, j int, x, z, bound, symTol, minorTol float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(z) || math.IsInf(z, 0) {
		return fmt.Errorf("%w: a[%d,%d] = %v, a[%d,%d] = %v", deconv.ErrNonFinite, i, j, x, j, i, z)
	}
	if math.Abs(x-z) > symTol*bound {
		return fmt.Errorf("%w: a[%d,%d] = %v but a[%d,%d] = %v (tolerance %.3g·√(a[%d,%d]·a[%d,%d]))",
			deconv.ErrNotSymmetric, i, j, x, j, i, z, symTol, i, i, j, j)
	}
	if s := math.Abs(0.5*x + 0.5*z); s > minorTol*bound {
		return fmt.Errorf("%w: |a[%d,%d]| = %v exceeds √(a[%d,%d]·a[%d,%d]) = %v",
			deconv.ErrNotPositiveDefinite, i, j, s, i, i, j, j, bound)
	}
	return nil
}

// spectralSteps is the number of power steps on |S| behind ScaleSpectral.
const spectralSteps = 6

// spectralBound returns an upper bound on the largest eigenvalue of the
// symmetric matrix s: the smallest Collatz–Wielandt bound
// max_i (|S|·v)_i / v_i over the power iterates v of |S| from the all-ones
// vector. Every such v is positive (|S| has a positive diagonal), and for
// a nonnegative matrix and any positive v that ratio bounds its spectral
// radius, which bounds λ_max(S). The sums are rounded upwards by a
// relative n·2⁻⁵² so that rounding cannot make the bound too small.
func (w *work[T]) spectralBound(n int, s []T) float64 {
	buf := grow(&w.spec, 2*n)
	v, u := buf[:n], buf[n:]
	for i := range v {
		v[i] = 1
	}
	best := math.Inf(1)
	for range spectralSteps {
		ratio, top := 0.0, 0.0
		for i := 0; i < n; i++ {
			sum := 0.0
			for j, x := range s[i*n : i*n+n] {
				sum += math.Abs(float64(x)) * v[j]
			}
			u[i] = sum
			ratio = max(ratio, sum/v[i])
			top = max(top, sum)
		}
		best = min(best, ratio)
		for i := range v {
			v[i] = u[i] / top
		}
	}
	return best * (1 + float64(n)*0x1p-52)
}
