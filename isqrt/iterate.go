package isqrt

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
)

// Divergence detection. In exact arithmetic the residual ‖Z_k²·Ã − I‖_F of
// both iterations decreases monotonically (every eigenvalue e of Z_k²·Ã
// follows e ← e·(3 − e)²/4 from e₀ ∈ (0, 1], which increases to 1), so
// growth can only come from rounding errors being amplified, or from an
// input that is not positive definite. Near convergence the residual
// wanders at the rounding floor, so growth counts only above the floor.
const (
	// divergeGrowth is the factor by which the residual must exceed its
	// smallest value so far to count as divergence.
	divergeGrowth = 10
	// divergeFloor multiplies n·u (u the unit roundoff of the element
	// type) to give the residual below which no growth is divergence.
	divergeFloor = 16
)

// monitor follows the residuals of one run and keeps track of the best
// iterate.
type monitor struct {
	floor    float64
	min      float64
	minIter  int
	diverged int // first iteration seen diverging, -1 if none
}

func newMonitor[T Float](n int) monitor {
	var z T
	u := 0x1p-53
	if _, ok := any(z).(float32); ok {
		u = 0x1p-24
	}
	return monitor{floor: divergeFloor * float64(n) * u, min: math.Inf(1), minIter: -1, diverged: -1}
}

// observe records the residual r of iterate k and reports whether the
// iteration must stop because it diverged: always when r is not finite,
// and when it grew, unless keepGoing (which only records the first
// iteration seen diverging).
func (m *monitor) observe(k int, r float64, keepGoing bool) bool {
	finite := !math.IsNaN(r) && !math.IsInf(r, 0)
	if finite && r < m.min {
		m.min, m.minIter = r, k
		return false
	}
	if !finite || (r > divergeGrowth*m.min && r > m.floor) {
		if m.diverged < 0 {
			m.diverged = k
		}
		return !finite || !keepGoing
	}
	return false
}

// run computes one inverse square root with the plan's method, with its
// positive-definiteness check beside the iteration when the size calls
// for it (beside.go).
func (w *work[T]) run(p *Plan[T], dst, a []T) (Result, error) {
	if w.besideFits(p) {
		return w.runBeside(p, dst, a)
	}
	return w.runOne(p, dst, a)
}

// runOne is run on the calling goroutine.
func (w *work[T]) runOne(p *Plan[T], dst, a []T) (Result, error) {
	n := p.n
	if w.gm != nil {
		w.keepInput(n, a) // before dst is written: dst may be a
	}
	if p.opt.Method == Eigen {
		return w.eigen(p, dst, a)
	}
	c, cy, err := w.prepare(p, a, p.opt.Method == CoupledReference)
	if err != nil {
		return Result{Residual: math.NaN()}, err
	}
	w.cy = cy
	if p.opt.Method != Coupled {
		scaleBy(w.y, cy) // the fast iteration folds it into its first step
	}
	nn := n * n
	w.z = grow(&w.z, nn)
	w.p = grow(&w.p, nn)
	w.y2 = grow(&w.y2, nn)
	w.z2 = grow(&w.z2, nn)
	w.best = grow(&w.best, nn)
	res := Result{Scale: c, Residual: math.NaN()}
	check := p.opt.Tol > 0 || p.opt.Trace
	if check {
		// Before dst is written: dst may be a.
		w.startResidual(p, a, c)
	}
	w.bestBuf = nil
	w.lastTrue = math.Inf(1)
	var z []T
	switch p.opt.Method {
	case Coupled:
		z, err = w.coupled(p, &res)
	case CoupledReference:
		z, err = w.coupledReference(p, &res)
	case Uncoupled:
		z, err = w.uncoupled(p, &res)
	}
	if w.beside {
		// The positive-definiteness check ran beside the iteration: its
		// verdict comes first, as when it runs before, and dst is not
		// written yet.
		if cerr := w.tm.checkResult(); cerr != nil {
			return Result{Residual: math.NaN()}, cerr
		}
	}
	if p.opt.Trace {
		res.Trace = w.trace
	}
	if z == nil {
		return res, err
	}
	if check && math.IsNaN(res.Residual) {
		res.Residual = w.outputResidual(n, z, c)
	}
	if w.finish(n, dst, z, c) {
		if w.gm != nil {
			w.gm.c, w.gm.iters = c, res.Iterations
			w.keepLast(n, z)
		}
		return res, err
	}
	// The result is not finite, whatever the residuals said (an iterate
	// can overflow in the last, unmonitored update): never a nil error.
	// dst gets the best finite iterate the monitor saw, or NaN.
	res.Residual = math.NaN()
	if b := w.bestBuf; b != nil && &b[0] != &z[0] && w.finish(n, dst, b, c) {
		return res, fmt.Errorf("%w: the iterate after %d iterations has a non-finite element; dst holds the one with the smallest residual, of iteration %d",
			deconv.ErrDiverged, res.Iterations, w.mon.minIter)
	}
	for i := range dst {
		dst[i] = T(math.NaN())
	}
	return res, fmt.Errorf("%w: the iterate after %d iterations has a non-finite element", deconv.ErrDiverged, res.Iterations)
}

// checkTol decides, when the iteration's tolerance is set, whether the
// iterate z of iteration k meets it: when the by-product residual r says it
// may (r ≤ tol), or at the last iteration, it computes the true residual of
// the result z gives (outputResidual) into res.Residual. It returns done
// when the iteration must stop, with the error: nil when met;
// ErrNotConverged at the last iteration, or as soon as the true residual
// stops decreasing from one such check to the next: the by-product is
// then below the tolerance while rounding holds the true residual above
// it (float32, ill-conditioned matrices), and more iterations cannot help.
func (w *work[T]) checkTol(p *Plan[T], res *Result, z []T, k int, r float64, last bool) (done bool, err error) {
	tol := p.opt.Tol
	if tol <= 0 || !(r <= tol || last) {
		return false, nil
	}
	rt := w.outputResidual(p.n, z, res.Scale)
	if rt <= tol {
		res.Residual = rt
		return true, nil
	}
	if last {
		res.Residual = rt
		return true, fmt.Errorf("%w: residual ‖Z·Z·Ã − I‖_F = %.3g after %d iterations, tolerance %.3g",
			deconv.ErrNotConverged, rt, k, tol)
	}
	if rt >= w.lastTrue {
		res.Residual = rt
		return true, fmt.Errorf("%w: residual ‖Z·Z·Ã − I‖_F stagnates at %.3g after %d iterations (%.3g before), tolerance %.3g: the rounding floor of the element type",
			deconv.ErrNotConverged, rt, k, w.lastTrue, tol)
	}
	w.lastTrue = rt
	return false, nil
}

// keeper remembers where the best iterate is while the iterates rotate
// through two buffers: an iterate survives one more iteration in the
// buffer the next one is not written to, and is copied to w.best only when
// that buffer is about to be reused while it is still the best. With a
// monotone residual, nothing is ever copied.
type keeper[T Float] struct {
	iter  int // iteration of the best iterate, -1 if none yet
	saved bool
	buf   []T // where it is: w.best, or one of the iterate buffers
}

// beforeOverwrite is called before buffer b is overwritten.
func (kp *keeper[T]) beforeOverwrite(b, best []T) {
	if kp.iter >= 0 && !kp.saved && &kp.buf[0] == &b[0] {
		copy(best, b)
		kp.buf, kp.saved = best, true
	}
}

// improved records that iterate k, held in b, is the new best.
func (kp *keeper[T]) improved(k int, b []T) {
	kp.iter, kp.buf, kp.saved = k, b, false
}

// halfProductIters is the number of iterations, counted from the first,
// in which the fast coupled iteration computes P = Z·Y on one triangle and
// mirrors it; from iteration halfProductIters + 1 on it computes P in
// full. See coupled.
const halfProductIters = 4

// keptTSymmetric reports whether the T_k that coupled keeps for the
// backward (k ≥ 0) is exactly symmetric as stored: T₀ always, later ones
// when they come from a mirrored half product.
func keptTSymmetric(k int) bool { return k <= halfProductIters }

// coupled runs the fast coupled iteration on Ã in w.y and returns the
// buffer holding the result.
//
// Iteration k computes P = Z·Y, T = ½(3I − P), Z ← T·Z, Y ← Y·T, as the
// reference, with savings that change no iterate in exact arithmetic: the
// first iteration, where Z₀ = I, is T = ½(3I − Ã), Z₁ = T,
// Y₁ = ½(3Ã − Ã²) with Ã² a symmetric rank-n update (one half product);
// the last iteration does not update Y, which nothing reads; and products
// compute one triangle and mirror it (symMul).
//
// Mirroring is not free of consequences. Y·T and T·Z may be mirrored at
// every iteration. P = Z·Y may not, once the iteration nears convergence:
// the antisymmetric part of the computed Z·Y is the commutator of the
// rounding errors of Y and Z, which the coupled iteration tolerates
// (it is what keeps it stable), but mirroring turns it into a symmetric
// error that the next iterations amplify, by a factor that grows with the
// condition number, and the residual then grows like the uncoupled
// iteration's. Far from convergence the amplification is harmless (5
// iterations on a 576×576 covariance agree with the reference to the
// last digits either way). So P is a half product in the first
// halfProductIters iterations, where the iterates are still far from
// convergence for the covariances of a layer (the iterates grow at most
// 1.5× per iteration), and a full one from then on, whatever the
// residual. K ≤ halfProductIters + 1 iterations (the paper's 5) cost
// 3K − 3 half products; every further iteration costs two half products
// and a full one; the reference spends 3K full ones.
func (w *work[T]) coupled(p *Plan[T], res *Result) ([]T, error) {
	n, K, tol := p.n, p.opt.Iterations, p.opt.Tol
	y, z, pm, y2, z2 := w.y, w.z, w.p, w.y2, w.z2
	w.mon = newMonitor[T](n)
	mon := &w.mon
	kp := keeper[T]{iter: -1}
	// With Options.Grad every kept matrix is written in its slot (keep.go):
	// Ã by the first pass in place, in the buffer that w.y hands to slot 0
	// for the slot's former one; each later iterate and T in a slot buffer
	// of its own, never overwritten in the call, instead of in the
	// ping-pong buffers; the last Z in gm.last.
	m, nn := w.gm, n*n
	if m != nil {
		b := m.slotBuf(0, 0, nn)
		m.slots[0][0], w.y = w.y, b
		z2 = m.slotBuf(0, 2, nn)
		if K > 1 || tol > 0 {
			y2 = m.slotBuf(1, 0, nn)
		}
	}

	// One pass over S turns it into Ã = S/c and computes iterate 0's
	// residual ‖Ã − I‖_F (P₀ = Z₀·Y₀ = Ã), Z₁ = T₀ = ½(3I − Ã) into z2,
	// and the first term of Y₁ = Ã·T₀ = ½(3Ã − Ã²) into y2.
	inv := 1 / w.cy
	var sq float64
	if w.serial(n) {
		sq = firstPassRows(n, y, z2, y2, 0, n, inv)
	} else {
		w.op, w.opN, w.opA, w.opB, w.opC, w.opScale = opFirst, n, y, z2, y2, inv
		w.runOp()
		for i := range w.nw {
			sq += w.sums[i][0]
		}
	}
	r := math.Sqrt(sq)
	mon.observe(0, r, false)
	if m != nil {
		m.markKept(0, true, false, true) // Y₀ = Ã, Z₀ = I, T₀ = Z₁
	}
	setIdentity(n, z)
	kp.improved(0, z)
	if p.opt.Trace {
		w.traceAt(n, 0, z)
	}
	if done, err := w.checkTol(p, res, z, 0, r, false); done {
		return z, err
	}
	// Iteration 1: Z₁ is in z2 already; Y₁ = 1.5·Ã − ½·Ã², a symmetric
	// rank-n update.
	z, z2 = z2, z
	res.Iterations = 1
	if p.opt.Trace {
		w.traceAt(n, 1, z)
	}
	if K > 1 || tol > 0 {
		if err := w.squareUpdate(n, y, y2); err != nil {
			return nil, err
		}
		y, y2 = y2, y
	}
	for k := 1; ; k++ {
		last := k == K
		if last && tol <= 0 {
			return z, nil
		}
		// P_k = Z_k·Y_k; its distance to I is Z_k's residual.
		half := k <= halfProductIters
		if m != nil {
			pm = m.slotBuf(k, 2, nn)
		}
		if half {
			// Upper triangle only, residual and T from it, mirrored.
			if err := w.upperMul(n, 1, z, y, pm, true); err != nil {
				return nil, err
			}
			r = w.residualToTSym(n, pm)
		} else {
			if err := w.mulSymA(n, 1, z, y, pm); err != nil {
				return nil, err
			}
			r = identityResidual(n, pm)
		}
		if mon.observe(k, r, p.keepGoing) {
			return kp.buf, fmt.Errorf("%w: coupled residual ‖Z·Y − I‖_F = %.3g at iteration %d, %.3g at iteration %d",
				deconv.ErrDiverged, r, k, mon.min, mon.minIter)
		}
		if mon.minIter == k {
			kp.improved(k, z)
		}
		w.bestBuf = kp.buf
		if done, err := w.checkTol(p, res, z, k, r, last); done {
			return z, err
		}
		// T = ½(3I − P) (a half product's is there already).
		if !half {
			threeHalvesMinusHalf(n, pm)
		}
		if m != nil {
			if k == 1 {
				w.keepCopy(n, 1, 1, z) // Z₁ is T₀, in slot 0
			}
			m.markKept(k, true, true, true)
			if k+1 == K {
				z2 = m.lastBuf(nn)
			} else {
				z2 = m.slotBuf(k+1, 1, nn)
			}
		}
		kp.beforeOverwrite(z2, w.best)
		if err := w.symMul(n, 1, pm, z, z2, half); err != nil {
			return nil, err
		}
		z, z2 = z2, z
		res.Iterations = k + 1
		if p.opt.Trace {
			w.traceAt(n, k+1, z)
		}
		if k+1 < K || tol > 0 {
			if m != nil {
				y2 = m.slotBuf(k+1, 0, nn)
			}
			if err := w.symMul(n, 1, y, pm, y2, true); err != nil {
				return nil, err
			}
			y, y2 = y2, y
		}
	}
}

// coupledReference runs the coupled iteration literally, with full
// products, on Ã in w.y as given.
func (w *work[T]) coupledReference(p *Plan[T], res *Result) ([]T, error) {
	n, K, tol := p.n, p.opt.Iterations, p.opt.Tol
	y, z, pm, y2, z2 := w.y, w.z, w.p, w.y2, w.z2
	w.mon = newMonitor[T](n)
	mon := &w.mon
	kp := keeper[T]{iter: -1}
	setIdentity(n, z)
	if p.opt.Trace {
		w.traceAt(n, 0, z)
	}
	for k := 0; ; k++ {
		if err := w.mul(n, 1, z, y, pm); err != nil {
			return nil, err
		}
		r := identityResidual(n, pm)
		if mon.observe(k, r, p.keepGoing) {
			return kp.buf, fmt.Errorf("%w: coupled residual ‖Z·Y − I‖_F = %.3g at iteration %d, %.3g at iteration %d",
				deconv.ErrDiverged, r, k, mon.min, mon.minIter)
		}
		if mon.minIter == k {
			kp.improved(k, z)
		}
		w.bestBuf = kp.buf
		if done, err := w.checkTol(p, res, z, k, r, k == K); done {
			return z, err
		}
		if k == K {
			return z, nil
		}
		threeHalvesMinusHalf(n, pm)
		if w.gm != nil {
			w.gm.keep(k, y, z, pm)
		}
		if err := w.mul(n, 1, y, pm, y2); err != nil {
			return nil, err
		}
		kp.beforeOverwrite(z2, w.best)
		if err := w.mul(n, 1, pm, z, z2); err != nil {
			return nil, err
		}
		y, y2 = y2, y
		z, z2 = z2, z
		res.Iterations = k + 1
		if p.opt.Trace {
			w.traceAt(n, k+1, z)
		}
		if k+1 == K && tol <= 0 {
			// The reference's last P is never used: stop here.
			return z, nil
		}
	}
}

// uncoupled runs X ← ½·X·(3I − X·X·Ã) from X₀ = I on Ã in w.y, with full
// products in the reference's order. X·X·Ã − I is the residual of X, so
// divergence is seen at no extra cost; the residual of the final iterate
// costs two more products, always spent so that divergence in the last
// iteration is reported too.
func (w *work[T]) uncoupled(p *Plan[T], res *Result) ([]T, error) {
	n, K := p.n, p.opt.Iterations
	y, x, s, r3, x2 := w.y, w.z, w.p, w.y2, w.z2
	w.mon = newMonitor[T](n)
	mon := &w.mon
	kp := keeper[T]{iter: -1}
	setIdentity(n, x)
	if w.gm != nil {
		copy(grow(&w.gm.at, n*n), y)
	}
	if p.opt.Trace {
		w.traceAt(n, 0, x)
	}
	for k := 0; ; k++ {
		// R = X·X·Ã (for X₀ = I, exactly Ã).
		if k == 0 {
			copy(r3, y)
		} else {
			if err := w.mul(n, 1, x, x, s); err != nil {
				return nil, err
			}
			if err := w.mul(n, 1, s, y, r3); err != nil {
				return nil, err
			}
		}
		r := identityResidual(n, r3)
		if mon.observe(k, r, p.keepGoing) {
			return kp.buf, fmt.Errorf("%w: uncoupled residual ‖X·X·Ã − I‖_F = %.3g at iteration %d, %.3g at iteration %d",
				deconv.ErrDiverged, r, k, mon.min, mon.minIter)
		}
		if mon.minIter == k {
			kp.improved(k, x)
		}
		w.bestBuf = kp.buf
		if done, err := w.checkTol(p, res, x, k, r, k == K); done {
			return x, err
		}
		if k == K {
			return x, nil
		}
		// X ← ½·X·(3I − R).
		for i := 0; i < n; i++ {
			row := r3[i*n : i*n+n]
			for j := range row {
				row[j] = -row[j]
			}
			row[i] += 3
		}
		if w.gm != nil {
			if k == 0 {
				w.gm.keep(0, nil, nil, r3)
			} else {
				w.gm.keep(k, x, s, r3)
			}
		}
		kp.beforeOverwrite(x2, w.best)
		if err := w.mul(n, 0.5, x, r3, x2); err != nil {
			return nil, err
		}
		x, x2 = x2, x
		res.Iterations = k + 1
		if p.opt.Trace {
			w.traceAt(n, k+1, x)
		}
	}
}
