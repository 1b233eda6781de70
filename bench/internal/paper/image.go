package paper

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // LoadImage decodes JPEG
	_ "image/png"  // and PNG
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/gonum/dsp/fourier"
)

// ErrImage reports an image that cannot be used: unreadable, not a PNG
// or JPEG, or too small for the experiment.
var ErrImage = errors.New("paper: unusable image")

//go:embed assets/chelsea.png
var defaultPNG []byte

// DefaultImageName names the embedded photograph and its licence.
const DefaultImageName = "chelsea.png (scikit-image, CC0, 451×300)"

// DefaultImage decodes the embedded photograph: "Chelsea the cat" from
// scikit-image's sample data, CC0 by the photographer (Stefan van der
// Walt), 451×300 RGB.
func DefaultImage() image.Image {
	img, _, err := image.Decode(bytes.NewReader(defaultPNG))
	if err != nil {
		panic("paper: the embedded photograph does not decode: " + err.Error())
	}
	return img
}

// LoadImage decodes a PNG or JPEG file.
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%w: decoding %s: %v", ErrImage, path, err)
	}
	if b := img.Bounds(); b.Dx() < MinSide || b.Dy() < MinSide {
		return nil, fmt.Errorf("%w: %s is %d×%d, smaller than %d×%d", ErrImage, path, b.Dx(), b.Dy(), MinSide, MinSide)
	}
	return img, nil
}

// MinSide is the smallest width and height LoadImage accepts: room for a
// few windows of Figure 2's 15×15 kernels.
const MinSide = 32

// LoadImages reads path: one PNG or JPEG file, or a folder whose files
// ending in .png, .jpg or .jpeg (any case) are all read, in name order. A
// folder without such files is an error; so is any file that fails.
func LoadImages(path string) ([]image.Image, []string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	if !st.IsDir() {
		img, err := LoadImage(path)
		if err != nil {
			return nil, nil, err
		}
		return []image.Image{img}, []string{filepath.Base(path)}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	var names []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%w: no .png, .jpg or .jpeg file in %s", ErrImage, path)
	}
	imgs := make([]image.Image, len(names))
	for i, n := range names {
		if imgs[i], err = LoadImage(filepath.Join(path, n)); err != nil {
			return nil, nil, err
		}
	}
	return imgs, names, nil
}

// Planes returns an image's red, green and blue planes, row-major, with
// values in [0, 1], as one 3×H×W NCHW tensor, and its width and height.
func Planes(img image.Image) (x []float64, w, h int) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	x = make([]float64, 3*w*h)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			r, g, bl, _ := img.At(b.Min.X+xx, b.Min.Y+y).RGBA()
			i := y*w + xx
			x[i] = float64(r) / 0xffff
			x[w*h+i] = float64(g) / 0xffff
			x[2*w*h+i] = float64(bl) / 0xffff
		}
	}
	return x, w, h
}

// NaturalImage returns a deterministic synthetic colour image with the
// second-order statistics of natural photographs. Each channel mixes three
// independent fields whose Fourier amplitude falls as 1/f (random phases
// from seed; the power spectrum of natural images falls as about 1/f²):
// a luminance field shared by all channels and two chromatic ones, so the
// channels are strongly but not perfectly correlated, as R, G and B are.
// The result is stretched to [0, 255] and rounded to 8 bits. It is a
// stand-in where no photograph may be used; the report uses photographs.
func NaturalImage(width, height int, seed uint64) (*image.RGBA, error) {
	if width < 3 || height < 3 || width > 1<<13 || height > 1<<13 {
		return nil, fmt.Errorf("%w: image %d×%d (3 … 8192 per side)", ErrImage, width, height)
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
