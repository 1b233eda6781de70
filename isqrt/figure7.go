package isqrt

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // LoadImage decodes JPEG
	_ "image/png"  // and PNG
	"io"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/mat"
)

// NaturalImage returns a deterministic synthetic colour image with the
// second-order statistics of natural photographs, the built-in stand-in
// for the Lenna image of the paper's Figure 7. Each channel mixes three
// independent fields whose Fourier amplitude falls as 1/f (random phases
// from seed; the power spectrum of natural images falls as about 1/f²):
// a luminance field shared by all channels and two chromatic ones, so the
// channels are strongly but not perfectly correlated, as R, G and B are.
// The result is stretched to [0, 255] and rounded to 8 bits, whose
// quantisation noise, like a real image's, bounds the patch covariance's
// smallest eigenvalues from below.
func NaturalImage(width, height int, seed uint64) (*image.RGBA, error) {
	if width < 3 || height < 3 || width > 1<<13 || height > 1<<13 {
		return nil, fmt.Errorf("%w: image %d×%d (3 … 8192 per side)", ErrSize, width, height)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var fields [3][]float64
	for f := range fields {
		fields[f] = pinkField(width, height, rng)
	}
	// Colour mixing: luminance plus chroma, weights like an RGB camera's.
	mix := [3][3]float64{
		{1, 0.45, 0.10},
		{1, -0.10, -0.05},
		{1, -0.30, 0.40},
	}
	planes := make([][]float64, 3)
	lo, hi := math.Inf(1), math.Inf(-1)
	for c := range planes {
		planes[c] = make([]float64, width*height)
		for i := range planes[c] {
			v := 0.0
			for f := range fields {
				v += mix[c][f] * fields[f][i]
			}
			planes[c][i] = v
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			var px [3]uint8
			for c := range px {
				px[c] = uint8(math.Round(255 * (planes[c][y*width+x] - lo) / (hi - lo)))
			}
			img.SetRGBA(x, y, color.RGBA{px[0], px[1], px[2], 255})
		}
	}
	return img, nil
}

// pinkField returns a real field of width×height with unit variance whose
// Fourier amplitude is 1/f with uniformly random phases (f the radial
// frequency; the mean is zero).
func pinkField(width, height int, rng *rand.Rand) []float64 {
	spec := make([]complex128, width*height)
	for v := 0; v < height; v++ {
		fy := float64(min(v, height-v)) / float64(height)
		for u := 0; u < width; u++ {
			fx := float64(min(u, width-u)) / float64(width)
			f := math.Hypot(fx, fy)
			if f == 0 {
				continue
			}
			spec[v*width+u] = cmplx.Rect(1/f, 2*math.Pi*rng.Float64())
		}
	}
	// Inverse 2-D transform: rows, then columns. Taking the real part of
	// the result is the same as symmetrising the random spectrum.
	row := fourier.NewCmplxFFT(width)
	buf := make([]complex128, max(width, height))
	for v := 0; v < height; v++ {
		r := spec[v*width : (v+1)*width]
		copy(r, row.Sequence(buf[:width], r))
	}
	col := fourier.NewCmplxFFT(height)
	tmp := make([]complex128, height)
	for u := 0; u < width; u++ {
		for v := 0; v < height; v++ {
			tmp[v] = spec[v*width+u]
		}
		out := col.Sequence(buf[:height], tmp)
		for v := 0; v < height; v++ {
			spec[v*width+u] = out[v]
		}
	}
	field := make([]float64, width*height)
	mean, sq := 0.0, 0.0
	for i, c := range spec {
		field[i] = real(c)
		mean += field[i]
	}
	mean /= float64(len(field))
	for i := range field {
		field[i] -= mean
		sq += field[i] * field[i]
	}
	s := 1 / math.Sqrt(sq/float64(len(field)))
	for i := range field {
		field[i] *= s
	}
	return field
}

// LoadImage decodes a PNG or JPEG file.
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("isqrt: decoding %s: %w", path, err)
	}
	return img, nil
}

// PatchSize is the side of the square windows of PatchCovariance.
const PatchSize = 3

// PatchCovariance returns the covariance of the 3×3 windows of img in its
// three colour channels: the 27×27 matrix (1/N)·Σ (x − μ)(x − μ)ᵀ over
// every window position x lies entirely inside the image, where x holds
// the window's values in [0, 1] ordered (channel, row, column) with the
// channel slowest, as im2col orders the features of a convolution. It is
// the matrix of the paper's Figure 7 and is computed in float64.
func PatchCovariance(img image.Image) ([]float64, error) {
	if img == nil {
		return nil, errors.New("isqrt: nil image")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < PatchSize || h < PatchSize {
		return nil, fmt.Errorf("%w: image %d×%d is smaller than a %d×%d window", ErrSize, w, h, PatchSize, PatchSize)
	}
	planes := make([][]float64, 3)
	for c := range planes {
		planes[c] = make([]float64, w*h)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			planes[0][y*w+x] = float64(r) / 0xffff
			planes[1][y*w+x] = float64(g) / 0xffff
			planes[2][y*w+x] = float64(bl) / 0xffff
		}
	}
	const f = 3 * PatchSize * PatchSize
	rows := (w - PatchSize + 1) * (h - PatchSize + 1)
	x := mat.NewDense(rows, f, nil)
	r := 0
	for y := 0; y+PatchSize <= h; y++ {
		for xx := 0; xx+PatchSize <= w; xx++ {
			row := x.RawRowView(r)
			for c := 0; c < 3; c++ {
				for ki := 0; ki < PatchSize; ki++ {
					for kj := 0; kj < PatchSize; kj++ {
						row[(c*PatchSize+ki)*PatchSize+kj] = planes[c][(y+ki)*w+xx+kj]
					}
				}
			}
			r++
		}
	}
	// Centre first: the uncentred second moment would lose digits to
	// cancellation.
	for j := 0; j < f; j++ {
		m := 0.0
		for i := 0; i < rows; i++ {
			m += x.At(i, j)
		}
		m /= float64(rows)
		for i := 0; i < rows; i++ {
			x.Set(i, j, x.At(i, j)-m)
		}
	}
	var cov mat.SymDense
	cov.SymOuterK(1/float64(rows), x.T())
	out := make([]float64, f*f)
	for i := 0; i < f; i++ {
		for j := 0; j < f; j++ {
			out[i*f+j] = cov.At(i, j)
		}
	}
	return out, nil
}

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
// Frobenius norm ‖D_k·D_k·Cov − I‖_F of the k-th iterate of each method.
type Figure7Data struct {
	N   int       // matrix size (27)
	Cov []float64 // the N×N covariance (with Eps added)
	// Eigenvalues of Cov, ascending (float64 eigendecomposition).
	Eigenvalues []float64
	// Residuals per iterate k = 0 … Iterations. An iterate that overflowed
	// has +Inf, as have the ones after it.
	Coupled          []float64 // the coupled iteration, reference formulation
	CoupledFast      []float64 // the coupled iteration as Coupled computes it
	Uncoupled        []float64 // the uncoupled iteration
	UncoupledDiverge int       // first iteration the uncoupled monitor saw growing, or -1
	Float32          bool      // whether the iterations ran in float32
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

// Figure7 reproduces the paper's Figure 7 on img: the 27×27 covariance of
// its 3×3 windows in three colour channels, and the residual of every
// iterate of the coupled (reference and fast) and uncoupled Newton–Schulz
// iterations, all with Frobenius pre-scaling. The uncoupled iteration is
// run past the point where its monitor reports divergence, to show the
// growth, until it overflows. A nil img means NaturalImage(256, 256, 1).
func Figure7(img image.Image, opt Figure7Options) (*Figure7Data, error) {
	if opt.Iterations < 0 || opt.Eps < 0 || math.IsNaN(opt.Eps) || math.IsInf(opt.Eps, 0) {
		return nil, fmt.Errorf("%w: iterations %d, eps %v", ErrOption, opt.Iterations, opt.Eps)
	}
	if opt.Iterations == 0 {
		opt.Iterations = 100
	}
	if img == nil {
		var err error
		if img, err = NaturalImage(256, 256, 1); err != nil {
			return nil, err
		}
	}
	cov, err := PatchCovariance(img)
	if err != nil {
		return nil, err
	}
	const n = 3 * PatchSize * PatchSize
	for i := 0; i < n; i++ {
		cov[i*n+i] += opt.Eps
	}
	d := &Figure7Data{N: n, Cov: cov, Float32: opt.Float32}
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, append([]float64(nil), cov...)), false) {
		return nil, fmt.Errorf("%w: eigendecomposition of the covariance failed", ErrNotFinite)
	}
	d.Eigenvalues = es.Values(nil)
	if opt.Float32 {
		err = figure7Series[float32](d, opt.Iterations)
	} else {
		err = figure7Series[float64](d, opt.Iterations)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func figure7Series[T Float](d *Figure7Data, iters int) error {
	a := make([]T, len(d.Cov))
	for i, v := range d.Cov {
		a[i] = T(v)
	}
	dst := make([]T, len(a))
	run := func(m Method) ([]float64, int, error) {
		p, err := NewPlan[T](d.N, Options{Method: m, Iterations: iters, Trace: true})
		if err != nil {
			return nil, -1, err
		}
		p.keepGoing = true
		res, err := p.InvSqrt(dst, a)
		if err != nil && !errors.Is(err, ErrDiverged) {
			return nil, -1, err
		}
		s := make([]float64, iters+1)
		for k := range s {
			s[k] = math.Inf(1)
			if k < len(res.Trace) && !math.IsNaN(res.Trace[k]) {
				s[k] = res.Trace[k]
			}
		}
		return s, p.ws[0].mon.diverged, nil
	}
	var err error
	if d.Coupled, _, err = run(CoupledReference); err != nil {
		return err
	}
	if d.CoupledFast, _, err = run(Coupled); err != nil {
		return err
	}
	d.Uncoupled, d.UncoupledDiverge, err = run(Uncoupled)
	return err
}

// WriteTSV writes the residual series as tab-separated columns with a
// header line: iteration, coupled, coupled_fast, uncoupled ("inf" after an
// overflow), ready for a table or a plot with a logarithmic axis.
func (d *Figure7Data) WriteTSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %d×%d patch covariance, condition number %.4g, float32 %v\n", d.N, d.N, d.Condition(), d.Float32)
	fmt.Fprintln(bw, "iteration\tcoupled\tcoupled_fast\tuncoupled")
	for k := range d.Coupled {
		fmt.Fprintf(bw, "%d\t%s\t%s\t%s\n", k, fmtRes(d.Coupled[k]), fmtRes(d.CoupledFast[k]), fmtRes(d.Uncoupled[k]))
	}
	return bw.Flush()
}

func fmtRes(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	return fmt.Sprintf("%.6e", v)
}
