package isqrt

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/parallel"
)

// Backward differentiates the Plan's last InvSqrt call: given dd, the
// gradient of a scalar loss with respect to the result D (n×n), it writes
// da, the gradient with respect to the input A, exactly as reverse-mode
// automatic differentiation of the computation the forward performed
// would (through every iteration and through the pre-scaling). The Plan
// must have been built with Options.Grad.
//
// da and dd must hold exactly n·n elements; da may be dd itself (dd is
// read in full before da is written) but may not overlap it otherwise.
// See the package documentation for what is differentiated for each
// Method and Scaling.
//
// Errors: deconv.ErrParam without Options.Grad, or when the Plan's last
// forward call failed or there was none; deconv.ErrShape for a slice of
// another length, or when the last forward call was an InvSqrtBatch of
// another count than 1; deconv.ErrOverlap; deconv.ErrNonFinite for a
// non-finite element of dd. A failed call writes nothing.
func (p *Plan[T]) Backward(da, dd []T) error {
	return p.BackwardBatch(da, dd, 1)
}

// BackwardBatch is Backward for the Plan's last InvSqrtBatch call of
// count matrices, stored one after another in da and dd. count must be
// the forward call's (an InvSqrt call counts as 1). The matrices are
// spread over Options.Workers goroutines as in InvSqrtBatch.
func (p *Plan[T]) BackwardBatch(da, dd []T, count int) error {
	if !p.opt.Grad {
		return fmt.Errorf("%w: the plan was built without Options.Grad", deconv.ErrParam)
	}
	if err := p.checkSlices(da, dd, count); err != nil {
		return err
	}
	g := p.grad
	if g == nil || !g.valid {
		return fmt.Errorf("%w: no successful forward call to differentiate", deconv.ErrParam)
	}
	if count != g.count {
		return fmt.Errorf("%w: %d matrices, the last forward call had %d", deconv.ErrShape, count, g.count)
	}
	for i, v := range dd {
		// f − f is 0 for a finite f and NaN for ±Inf and NaN: one
		// subtraction instead of two classifications per element.
		if f := float64(v); f-f != 0 {
			return fmt.Errorf("%w: dd[%d] = %v", deconv.ErrNonFinite, i, f)
		}
	}
	if count == 0 {
		return nil
	}
	threads := parallel.Workers(p.opt.Workers)
	workers := min(threads, count)
	if workers > 1 {
		threads = 1
	}
	for len(g.bw) < workers {
		g.bw = append(g.bw, new(bwork[T]))
	}
	for i := range workers {
		b := g.bw[i]
		b.p, b.threads, b.da, b.dd, b.count, b.workers, b.wi = p, threads, da, dd, count, workers, i
	}
	if workers == 1 {
		g.bw[0].RunPart(0)
	} else {
		parallel.Run(gradParts[T]{g}, workers)
	}
	var first error
	for i := range workers {
		b := g.bw[i]
		if b.err != nil && first == nil {
			first = b.err
		}
		b.da, b.dd, b.p = nil, nil, nil
	}
	return first
}

// gradParts runs the workers of a BackwardBatch call (parallel.Parts).
type gradParts[T Float] struct{ g *gradState[T] }

// RunPart runs worker i's matrices.
func (gp gradParts[T]) RunPart(i int) { gp.g.bw[i].RunPart(0) }

// bwork is one worker's scratch for the backward and the call it serves.
type bwork[T Float] struct {
	p              *Plan[T]
	threads        int
	da, dd         []T
	count, workers int
	wi             int
	err            error
	b              [5][]T    // the reverse iteration's cotangents
	f0, f1         []float64 // float64 scratch (Eigen, ScaleSpectral)
	u, v           []float64 // power steps of ScaleSpectral
	ub, vb         []float64 // their cotangents
	idx, top       [spectralSteps]int
	tops, ratios   [spectralSteps]float64
	bestStep       int
	sum            gemm.UpperSum[T] // the symmetric sums of coupledTangent
	rows           rowPass[T]       // the O(n²) passes, split by rows
}

// RunPart differentiates the matrices of worker b.wi; the index is
// unused (the worker knows its share).
func (b *bwork[T]) RunPart(int) {
	b.err = nil
	p, g := b.p, b.p.grad
	nn := p.n * p.n
	wi := b.wi
	for i := wi * b.count / b.workers; i < (wi+1)*b.count/b.workers; i++ {
		if err := b.one(g.mats[i], b.da[i*nn:(i+1)*nn], b.dd[i*nn:(i+1)*nn]); err != nil {
			if b.count > 1 {
				err = fmt.Errorf("matrix %d: %w", i, err)
			}
			b.err = err
			return
		}
	}
}

// one writes the gradient of one matrix.
func (b *bwork[T]) one(m *gradMat[T], da, dd []T) error {
	p := b.p
	n := p.n
	if p.opt.Method == Eigen {
		return b.eigenBackward(m, da, dd)
	}
	nn := n * n
	for i := range b.b {
		grow(&b.b[i], nn)
	}
	c := m.c
	s := 1 / math.Sqrt(c)
	// D = Z_K/√c: Z̄_K = D̄/√c and c̄ = −½·c^{-3/2}·⟨D̄, Z_K⟩.
	rp := &b.rows
	rp.op, rp.n, rp.dst, rp.src, rp.x, rp.s = passScale, n, b.b[0], dd, m.last, s
	rp.run(b.threads)
	cbar := -0.5 * s / c * rp.dot()
	var at, atb []T
	var err error
	if p.opt.Method == Uncoupled {
		at = m.at
		atb, err = b.uncoupledReverse(m)
	} else {
		if p.opt.Method == Coupled {
			atb, err = b.coupledTangent(m)
		} else {
			atb, err = b.coupledReverse(m)
		}
		if m.iters > 0 {
			at = m.slot(0, 0)
		}
	}
	if err != nil {
		return err
	}
	// Ã = S/c: S̄ = Ā/c, c̄ −= ⟨Ā, Ã⟩/c (Ā = 0 when no iteration ran).
	if m.iters > 0 {
		rp.op, rp.n, rp.src, rp.x = passDot, n, atb, at
		rp.run(b.threads)
		cbar -= rp.dot() / c
	}
	return b.finishGrad(m, da, atb, cbar)
}

// finishGrad writes da from Ā (the gradient with respect to Ã) and c̄:
// through Ã = S/c, through c (‖A‖_F, or the spectral bound on S when the
// forward chose it) and through S (the symmetric part of A, or A itself
// for CoupledReference).
func (b *bwork[T]) finishGrad(m *gradMat[T], da, atb []T, cbar float64) error {
	p := b.p
	n := p.n
	c := m.c
	asIs := p.opt.Method == CoupledReference
	// The spectral bound's gradient with respect to S, when it set c.
	var sb []float64
	if p.opt.Scaling == ScaleSpectral && b.spectralChosen(m, asIs) {
		sb = grow(&b.f1, n*n)
		b.spectralGrad(n, cbar, sb)
		cbar = 0
	}
	rp := &b.rows
	rp.b, rp.op, rp.n, rp.dst, rp.src = b, passFinish, n, da, atb
	rp.m, rp.sb, rp.inv, rp.fc, rp.asIs = m, sb, 1/c, cbar/c, asIs // the Frobenius norm's gradient is A/c
	// Coupled's Ā is exactly symmetric (coupledTangent mirrors its sums):
	// its symmetric part is Ā itself, to the bit, without the reads down
	// its columns.
	rp.symSrc = p.opt.Method == Coupled
	rp.run(b.threads)
	return nil
}

// finishRows writes rows [lo, hi) of the gradient for finishGrad.
// Everything goes through float64 before one rounding.
func (b *bwork[T]) finishRows(rp *rowPass[T], lo, hi int) {
	n, atb, da, sb, a := rp.n, rp.src, rp.dst, rp.sb, rp.m.a
	inv, fc, asIs := rp.inv, rp.fc, rp.asIs
	for i := lo; i < hi; i++ {
		for j := 0; j < n; j++ {
			g := float64(atb[i*n+j]) * inv
			if sb != nil {
				g += sb[i*n+j]
			}
			if !asIs && (sb != nil || !rp.symSrc) {
				h := float64(atb[j*n+i]) * inv
				if sb != nil {
					h += sb[j*n+i]
				}
				g = 0.5*g + 0.5*h
			}
			g += fc * float64(a[i*n+j])
			da[i*n+j] = T(g)
		}
	}
}
