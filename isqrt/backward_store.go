package isqrt

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// gradState is what a Plan built with Options.Grad keeps of its last
// forward call for Backward: one gradMat per matrix, and the backward's
// scratch, one per worker. All of it is allocated on first use at a size
// and reused, so a forward and a backward at a fixed size and iteration
// count allocate nothing after the first call.
type gradState[T Float] struct {
	// valid is set by a forward call that succeeded for every matrix and
	// cleared when one starts; count is that call's matrix count.
	valid bool
	count int
	mats  []*gradMat[T]
	bw    []*bwork[T]
}

// gradMat holds, for one matrix of the last forward call, everything its
// gradient needs: the input as given, the scale, the iterates of every
// iteration performed and the final one, or for Eigen the decomposition.
type gradMat[T Float] struct {
	a     []T     // the input as given (the Frobenius norm's gradient is A/c)
	c     float64 // the pre-scaling constant
	iters int     // iterations performed (Result.Iterations)

	// slots[k] holds iteration k's three matrices: for the coupled
	// iterations Y_k, Z_k and T_k = ½(3I − Z_k·Y_k); for Uncoupled X_k,
	// X_k·X_k and 3I − X_k·X_k·Ã. A nil matrix stands for the identity
	// (Z₀ = X₀ = I, and X₀·X₀).
	slots [][3][]T
	have  [][3]bool
	at    []T // Ã, for Uncoupled
	last  []T // the final iterate Z_K (X_K), before the division by √c

	// Eigen: the eigenvalues μ of S (not of S/c) and the eigenvectors, in
	// float64, as the forward computed them.
	mu  []float64
	vec []float64
}

// reset prepares m for a forward call of an n×n matrix.
func (m *gradMat[T]) reset(n int, a []T) {
	copy(grow(&m.a, n*n), a)
	m.iters, m.c = 0, math.NaN()
	for k := range m.have {
		m.have[k] = [3]bool{}
	}
}

// keep copies iteration k's matrices (nil for the identity) into slot k.
func (m *gradMat[T]) keep(k int, x0, x1, x2 []T) {
	for len(m.slots) <= k {
		m.slots = append(m.slots, [3][]T{})
		m.have = append(m.have, [3]bool{})
	}
	for i, x := range [3][]T{x0, x1, x2} {
		m.have[k][i] = x != nil
		if x != nil {
			copy(grow(&m.slots[k][i], len(x)), x)
		}
	}
}

// slot returns matrix i of iteration k, nil for the identity.
func (m *gradMat[T]) slot(k, i int) []T {
	if !m.have[k][i] {
		return nil
	}
	return m.slots[k][i]
}

// keepEigen copies the eigenvalues of S/c, multiplied by c, and the
// eigenvectors.
func (m *gradMat[T]) keepEigen(n int, vals []float64, c float64, v *mat.Dense) {
	mu := grow(&m.mu, n)
	for i, l := range vals {
		mu[i] = l * c
	}
	vec := grow(&m.vec, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			vec[i*n+j] = v.At(i, j)
		}
	}
}

// gradBegin is called by a forward call of count matrices before any
// work: it invalidates the kept state, so that a forward that fails
// leaves nothing Backward could use.
func (p *Plan[T]) gradBegin(count int) {
	if !p.opt.Grad {
		return
	}
	if p.grad == nil {
		p.grad = new(gradState[T])
	}
	g := p.grad
	g.valid, g.count = false, count
	for len(g.mats) < count {
		g.mats = append(g.mats, new(gradMat[T]))
	}
}

// gradMatFor returns the record of matrix i of the current forward call,
// or nil without Options.Grad.
func (p *Plan[T]) gradMatFor(i int) *gradMat[T] {
	if p.grad == nil {
		return nil
	}
	return p.grad.mats[i]
}

// gradEnd records the outcome of a forward call: Backward may follow only
// one that succeeded.
func (p *Plan[T]) gradEnd(err error) {
	if p.grad != nil {
		p.grad.valid = err == nil
	}
}
