package paper

import (
	"fmt"
	"image"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Figure2Options configure Figure2.
type Figure2Options struct {
	// Size is the side of the windows and kernels; 0 means 15, the
	// paper's.
	Size int
	// Eps is added to the covariance's diagonal before the inverse square
	// root; 0 means DefaultEps. Pixel values are in [0, 1].
	Eps float64
}

// DefaultEps regularises the covariance of Figures 2 and 10: the layer's
// default eps, about eight times the variance of 8-bit quantisation noise
// ((1/255)²/12 ≈ 1.3e-6).
const DefaultEps = 1e-5

// Figure2Data is the paper's Figure 2 as numbers: the deconvolution
// matrix D = (Cov + eps·I)^{-1/2} of the Size×Size windows of the images'
// R, G and B channels (F = 3·Size² features ordered channel, row,
// column), and its rows at the three centre pixels, which are the
// kernels that deconvolve one channel's centre pixel.
type Figure2Data struct {
	Size      int
	Eps       float64
	Mean      []float64 // the F window means
	D         []float64 // F×F, symmetric
	Condition float64   // of Cov + eps·I
	// Iterations is the number of coupled Newton–Schulz iterations (in
	// float64, to a residual of 1e-8) that computed D.
	Iterations int
	// Kernel[c][c2] is the Size×Size part over channel c2 of D's row at
	// channel c's centre pixel: how channel c2's neighbourhood enters
	// channel c's deconvolved value. Kernel[c][c] is the figure's kernel
	// of channel c.
	Kernel [3][3][]float64
}

// Centre returns channel c's kernel at its centre.
func (d *Figure2Data) Centre(c int) float64 {
	h := d.Size / 2
	return d.Kernel[c][c][h*d.Size+h]
}

// NeighbourMean returns the mean of channel c's kernel over the eight
// pixels around the centre.
func (d *Figure2Data) NeighbourMean(c int) float64 {
	h, s := d.Size/2, 0.0
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if dy != 0 || dx != 0 {
				s += d.Kernel[c][c][(h+dy)*d.Size+h+dx]
			}
		}
	}
	return s / 8
}

// MaxAbsOffCentre returns the largest absolute value of channel c's
// kernel away from its centre.
func (d *Figure2Data) MaxAbsOffCentre(c int) float64 {
	h, m := d.Size/2, 0.0
	for i, v := range d.Kernel[c][c] {
		if i != h*d.Size+h {
			m = max(m, math.Abs(v))
		}
	}
	return m
}

// Figure2 reproduces the paper's Figure 2 on imgs (the paper pools 1024
// ImageNet images; the report uses one photograph).
func Figure2(imgs []image.Image, opt Figure2Options) (*Figure2Data, error) {
	if opt.Size == 0 {
		opt.Size = 15
	}
	if opt.Eps == 0 {
		opt.Eps = DefaultEps
	}
	if opt.Size < 1 || opt.Size%2 == 0 || opt.Size > 31 || !(opt.Eps > 0) || math.IsInf(opt.Eps, 0) {
		return nil, fmt.Errorf("paper: Figure 2 options: size %d (odd, 1 … 31), eps %v", opt.Size, opt.Eps)
	}
	k := opt.Size
	mean, cv, err := PatchCovariance(imgs, k)
	if err != nil {
		return nil, err
	}
	f := 3 * k * k
	for i := 0; i < f; i++ {
		cv[i*f+i] += opt.Eps
	}
	// The condition number from the eigenvalues (no vectors: cheap), D
	// from the library's coupled Newton–Schulz iteration in float64.
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(f, append([]float64(nil), cv...)), false) {
		return nil, fmt.Errorf("paper: eigenvalues of the %d×%d window covariance failed", f, f)
	}
	lam := es.Values(nil)
	if !(lam[0] > 0) {
		return nil, fmt.Errorf("paper: window covariance not positive definite (λ_min %g)", lam[0])
	}
	dm, iters, err := invSqrt64(cv, f)
	if err != nil {
		return nil, fmt.Errorf("paper: Figure 2 inverse square root: %w", err)
	}
	d := &Figure2Data{Size: k, Eps: opt.Eps, Mean: mean, D: dm, Condition: lam[f-1] / lam[0], Iterations: iters}
	h := k / 2
	for c := 0; c < 3; c++ {
		row := d.D[((c*k+h)*k+h)*f:][:f]
		for c2 := 0; c2 < 3; c2++ {
			d.Kernel[c][c2] = append([]float64(nil), row[c2*k*k:(c2+1)*k*k]...)
		}
	}
	return d, nil
}
