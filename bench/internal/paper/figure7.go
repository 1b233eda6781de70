package paper

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Figure7Options configure Figure7.
type Figure7Options struct {
	// Iterations is the number of iterations of each method; 0 means 100.
	Iterations int
	// Float32 runs the iterations in float32 (the residuals are still
	// measured in float64); the default is float64.
	Float32 bool
	// Eps is added to the covariance's diagonal, as the layer adds its eps;
	// 0, as in the paper's figure, adds nothing.
	Eps float64
}

// Figure7Data is the paper's Figure 7 as numbers: for each iteration k the
// Frobenius norm ‖D_k·D_k·Cov − I‖_F of the k-th iterate of each method
// (with Frobenius pre-scaling, D_k = Z_k/√‖Cov‖_F, so this is
// ‖Z_k·Z_k·Ã − I‖_F with Ã = Cov/‖Cov‖_F).
type Figure7Data struct {
	N   int       // matrix size (27)
	Cov []float64 // the N×N covariance (with Eps added)
	// Eigenvalues of Cov, ascending (float64 eigendecomposition).
	Eigenvalues []float64
	// Residuals per iterate k = 0 … Iterations. An iterate that overflowed
	// has +Inf, as have the ones after it.
	Coupled     []float64 // the coupled iteration T = ½(3I − Z·Y), Y ← Y·T, Z ← T·Z
	CoupledFast []float64 // the library's coupled iteration (isqrt.Coupled)
	Uncoupled   []float64 // the uncoupled iteration X ← ½·X·(3I − X·X·Ã)
	Float32     bool      // whether the iterations ran in float32
}

// Condition returns the covariance's condition number λ_max/λ_min.
func (d *Figure7Data) Condition() float64 {
	return d.Eigenvalues[len(d.Eigenvalues)-1] / d.Eigenvalues[0]
}

// Best returns the smallest value of a residual series and its iteration.
func Best(series []float64) (float64, int) {
	best, at := math.Inf(1), -1
	for k, v := range series {
		if v < best {
			best, at = v, k
		}
	}
	return best, at
}

// DivergesAt returns the first iteration after a series' smallest value
// whose residual exceeds limit or is not finite, or -1 when none does.
func DivergesAt(series []float64, limit float64) int {
	_, at := Best(series)
	for k := at + 1; k < len(series); k++ {
		if v := series[k]; !(v <= limit) {
			return k
		}
	}
	return -1
}

// Figure7 reproduces the paper's Figure 7 on imgs: the 27×27 covariance of
// the 3×3 windows of their three colour channels (pooled), and the
// residual of every iterate of the coupled (as the reference computes it,
// and as the library's fast path does) and uncoupled Newton–Schulz
// iterations. The uncoupled iteration is run to the end, past its
// divergence, until it overflows.
func Figure7(imgs []image.Image, opt Figure7Options) (*Figure7Data, error) {
	if opt.Iterations < 0 || opt.Eps < 0 || math.IsNaN(opt.Eps) || math.IsInf(opt.Eps, 0) {
		return nil, fmt.Errorf("paper: Figure 7 options: iterations %d, eps %v", opt.Iterations, opt.Eps)
	}
	if opt.Iterations == 0 {
		opt.Iterations = 100
	}
	const k = 3
	_, cv, err := PatchCovariance(imgs, k)
	if err != nil {
		return nil, err
	}
	n := 3 * k * k
	for i := 0; i < n; i++ {
		cv[i*n+i] += opt.Eps
	}
	d := &Figure7Data{N: n, Cov: cv, Float32: opt.Float32}
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, append([]float64(nil), cv...)), false) {
		return nil, fmt.Errorf("paper: eigendecomposition of the Figure 7 covariance failed")
	}
	d.Eigenvalues = es.Values(nil)
	if opt.Float32 {
		d.Coupled, d.Uncoupled = nsSeries[float32](cv, n, opt.Iterations)
		d.CoupledFast, err = libraryCoupled[float32](cv, n, opt.Iterations)
	} else {
		d.Coupled, d.Uncoupled = nsSeries[float64](cv, n, opt.Iterations)
		d.CoupledFast, err = libraryCoupled[float64](cv, n, opt.Iterations)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// nsSeries runs the coupled and the uncoupled Newton–Schulz iterations in
// precision T on a/‖a‖_F and returns the float64 residual of every iterate.
func nsSeries[T float32 | float64](a []float64, n, iters int) (coupled, uncoupled []float64) {
	fro := 0.0
	for _, v := range a {
		fro += v * v
	}
	fro = math.Sqrt(fro)
	s64 := make([]float64, len(a)) // Ã in float64, for the residuals
	st := make([]T, len(a))        // Ã in T, for the iterations
	for i, v := range a {
		s64[i] = v / fro
		st[i] = T(s64[i])
	}
	res := func(z []T) float64 {
		// ‖Z·Z·Ã − I‖_F in float64.
		z64 := make([]float64, len(z))
		for i, v := range z {
			z64[i] = float64(v)
		}
		p := matmul(n, z64, z64)
		p = matmul(n, p, s64)
		s := 0.0
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				v := p[i*n+j]
				if i == j {
					v--
				}
				s += v * v
			}
		}
		r := math.Sqrt(s)
		if math.IsNaN(r) {
			r = math.Inf(1)
		}
		return r
	}
	eye := make([]T, n*n)
	for i := 0; i < n; i++ {
		eye[i*n+i] = 1
	}
	threeHalvesMinusHalf := func(p []T) { // p ← ½(3I − p)
		for i := range p {
			p[i] = -p[i] / 2
		}
		for i := 0; i < n; i++ {
			p[i*n+i] += 1.5
		}
	}
	series := func(step func(k int) []T) []float64 {
		out := make([]float64, iters+1)
		out[0] = res(eye)
		for k := 1; k <= iters; k++ {
			if math.IsInf(out[k-1], 1) {
				out[k] = math.Inf(1)
				continue
			}
			out[k] = res(step(k))
		}
		return out
	}
	// Coupled: Y₀ = Ã, Z₀ = I; T = ½(3I − Z·Y), Y ← Y·T, Z ← T·Z.
	y, z := append([]T(nil), st...), append([]T(nil), eye...)
	coupled = series(func(int) []T {
		t := matmul(n, z, y)
		threeHalvesMinusHalf(t)
		y = matmul(n, y, t)
		z = matmul(n, t, z)
		return z
	})
	// Uncoupled: X₀ = I; X ← ½·X·(3I − X·X·Ã).
	x := append([]T(nil), eye...)
	uncoupled = series(func(int) []T {
		t := matmul(n, matmul(n, x, x), st)
		threeHalvesMinusHalf(t)
		x = matmul(n, x, t)
		return x
	})
	return coupled, uncoupled
}

// matmul returns the n×n product a·b, accumulated in T.
func matmul[T float32 | float64](n int, a, b []T) []T {
	c := make([]T, n*n)
	for i := 0; i < n; i++ {
		ci := c[i*n : (i+1)*n]
		for k := 0; k < n; k++ {
			aik := a[i*n+k]
			bk := b[k*n : (k+1)*n]
			for j := range ci {
				ci[j] += aik * bk[j]
			}
		}
	}
	return c
}

// WriteCSV writes the residual series as comma-separated columns with a
// header line: iteration, coupled, coupled_fast, uncoupled ("inf" after
// an overflow).
func (d *Figure7Data) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "iteration,coupled,coupled_fast,uncoupled")
	for k := range d.Coupled {
		fmt.Fprintf(bw, "%d,%s,%s,%s\n", k, fmtRes(d.Coupled[k]), fmtRes(d.CoupledFast[k]), fmtRes(d.Uncoupled[k]))
	}
	return bw.Flush()
}

func fmtRes(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	return fmt.Sprintf("%.6e", v)
}
