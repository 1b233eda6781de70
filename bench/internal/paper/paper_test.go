package paper

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// photographs returns the embedded photograph and the tests' second one.
func photographs(t *testing.T) map[string][]image.Image {
	t.Helper()
	coffee, err := LoadImage(filepath.Join("testdata", "coffee.png"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]image.Image{"chelsea": {DefaultImage()}, "coffee": {coffee}}
}

var (
	fig2Once  sync.Once
	fig2Cache map[string]*Figure2Data
	fig2Err   error
)

// figure2s computes Figure 2 once per photograph for the tests that use it.
func figure2s(t *testing.T) map[string]*Figure2Data {
	t.Helper()
	fig2Once.Do(func() {
		fig2Cache = map[string]*Figure2Data{}
		for name, imgs := range photographs(t) {
			d, err := Figure2(imgs, Figure2Options{})
			if err != nil {
				fig2Err = err
				return
			}
			fig2Cache[name] = d
		}
	})
	if fig2Err != nil {
		t.Fatal(fig2Err)
	}
	return fig2Cache
}

// TestFigure2CentreSurround: on both photographs every channel's 15×15
// kernel has a positive centre that is its largest absolute value, and a
// negative mean over the eight neighbours of the centre.
func TestFigure2CentreSurround(t *testing.T) {
	if testing.Short() {
		t.Skip("short: seconds of float64 work on two photographs")
	}
	for name, d := range figure2s(t) {
		if d.Size != 15 || len(d.D) != 675*675 {
			t.Fatalf("%s: size %d, D has %d values", name, d.Size, len(d.D))
		}
		for c, ch := range []string{"R", "G", "B"} {
			centre, nb, off := d.Centre(c), d.NeighbourMean(c), d.MaxAbsOffCentre(c)
			t.Logf("%s %s: centre %.2f, neighbour mean %.2f, largest |off-centre| %.2f", name, ch, centre, nb, off)
			if !(centre > 0) || !(centre > off) {
				t.Errorf("%s %s: centre %.3g is not positive and the largest |value| (%.3g elsewhere)", name, ch, centre, off)
			}
			if !(nb < 0) {
				t.Errorf("%s %s: mean of the 8 neighbours %.3g is not negative", name, ch, nb)
			}
		}
		// D is symmetric, so channel c's weight on c2 is c2's on c.
		k := d.Size
		if a, b := d.Kernel[0][1][(k/2)*k+k/2], d.Kernel[1][0][(k/2)*k+k/2]; math.Abs(a-b) > 1e-9*math.Abs(d.Centre(0)) {
			t.Errorf("%s: D not symmetric: %g vs %g", name, a, b)
		}
	}
}

// TestFigure7Behaviour: on both photographs the coupled residual in
// float64 falls below 1e-6 and stays there to iteration 100, while the
// uncoupled one exceeds 1 or becomes non-finite before iteration 40.
func TestFigure7Behaviour(t *testing.T) {
	for name, imgs := range photographs(t) {
		for _, f32 := range []bool{false, true} {
			d, err := Figure7(imgs, Figure7Options{Float32: f32})
			if err != nil {
				t.Fatal(err)
			}
			if d.N != 27 || len(d.Coupled) != 101 || len(d.CoupledFast) != 101 || len(d.Uncoupled) != 101 {
				t.Fatalf("sizes: n=%d series %d %d %d", d.N, len(d.Coupled), len(d.CoupledFast), len(d.Uncoupled))
			}
			if c := d.Condition(); c < 100 {
				t.Errorf("%s: condition number %.3g: not a photograph's ill-conditioned covariance", name, c)
			}
			// The methods agree while they converge, before rounding matters.
			for k := 0; k <= 5; k++ {
				tol := 1e-5 * d.Coupled[k]
				if math.Abs(d.Coupled[k]-d.Uncoupled[k]) > tol || math.Abs(d.Coupled[k]-d.CoupledFast[k]) > tol {
					t.Errorf("%s float32 %v iterate %d: residuals %v %v %v differ", name, f32, k, d.Coupled[k], d.CoupledFast[k], d.Uncoupled[k])
				}
			}
			div := DivergesAt(d.Uncoupled, 1)
			if div < 0 || div >= 40 {
				t.Errorf("%s float32 %v: the uncoupled residual does not exceed 1 before iteration 40 (%v)", name, f32, d.Uncoupled[:40])
			}
			if f32 {
				// float32 floors near its precision times the condition
				// number, but stays there.
				for _, s := range [][]float64{d.Coupled, d.CoupledFast} {
					best, _ := Best(s)
					if best > 0.1 || s[100] > 10*best {
						t.Errorf("%s float32: coupled best %.3e, at 100 %.3e", name, best, s[100])
					}
				}
				continue
			}
			for _, s := range []struct {
				what string
				v    []float64
			}{{"coupled", d.Coupled}, {"library coupled", d.CoupledFast}} {
				first := -1
				for k, v := range s.v {
					if v < 1e-6 {
						first = k
						break
					}
				}
				if first < 0 {
					t.Fatalf("%s: %s residual never below 1e-6: best %v", name, s.what, s.v[100])
				}
				for k := first; k <= 100; k++ {
					if !(s.v[k] < 1e-6) {
						t.Errorf("%s: %s residual %.3e at iteration %d, after falling below 1e-6 at %d", name, s.what, s.v[k], k, first)
					}
				}
				t.Logf("%s: %s below 1e-6 from iteration %d, %.2e at 100; uncoupled exceeds 1 at %d", name, s.what, first, s.v[100], div)
			}
		}
	}
}

// TestFigure10Sparsity: deconvolution makes the pixel values heavier
// tailed (larger excess kurtosis) and sparser (more values near zero).
func TestFigure10Sparsity(t *testing.T) {
	if testing.Short() {
		t.Skip("short: seconds of float64 work on two photographs")
	}
	for name, f2 := range figure2s(t) {
		d := Figure10(photographs(t)[name], f2)
		t.Logf("%s: kurtosis %.2f → %.2f, near zero %.3f → %.3f", name, d.KurtosisBefore, d.KurtosisAfter, d.NearZeroBefore, d.NearZeroAfter)
		if !(d.KurtosisAfter > d.KurtosisBefore) {
			t.Errorf("%s: excess kurtosis %.3g after, %.3g before", name, d.KurtosisAfter, d.KurtosisBefore)
		}
		if !(d.NearZeroAfter > d.NearZeroBefore) {
			t.Errorf("%s: near-zero fraction %.3g after, %.3g before", name, d.NearZeroAfter, d.NearZeroBefore)
		}
		if len(d.Before) != len(d.After) || len(d.Before) == 0 {
			t.Fatalf("%s: %d values before, %d after", name, len(d.Before), len(d.After))
		}
		area := 0.0
		for i := range d.DensityAfter {
			area += d.DensityAfter[i] * 2 * d.HistRange / float64(len(d.DensityAfter))
		}
		if area < 0.95 || area > 1+1e-9 {
			t.Errorf("%s: the histogram holds %.3f of the values", name, area)
		}
	}
}

// TestPatchCovariance against a direct computation on a small image, two
// images pooled, and the decoding of PNG and JPEG files.
func TestPatchCovariance(t *testing.T) {
	mk := func(seed int) *image.RGBA {
		img := image.NewRGBA(image.Rect(2, 3, 9, 9)) // 7×6, offset origin
		for y := 3; y < 9; y++ {
			for x := 2; x < 9; x++ {
				img.SetRGBA(x, y, color.RGBA{uint8(x * y * 7 * seed), uint8(x + 40*y + seed), uint8(255 - x*x*seed), 255})
			}
		}
		return img
	}
	imgs := []image.Image{mk(1), mk(3)}
	mean, cv, err := PatchCovariance(imgs, 3)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	for _, im := range imgs {
		img := im.(*image.RGBA)
		for y := 3; y+3 <= 9; y++ {
			for x := 2; x+3 <= 9; x++ {
				row := make([]float64, 27)
				for c := 0; c < 3; c++ {
					for ki := 0; ki < 3; ki++ {
						for kj := 0; kj < 3; kj++ {
							px := img.RGBAAt(x+kj, y+ki)
							row[(c*3+ki)*3+kj] = float64([3]uint8{px.R, px.G, px.B}[c]) / 255
						}
					}
				}
				rows = append(rows, row)
			}
		}
	}
	for i := 0; i < 27; i++ {
		mi := 0.0
		for _, r := range rows {
			mi += r[i]
		}
		mi /= float64(len(rows))
		if math.Abs(mean[i]-mi) > 1e-12 {
			t.Fatalf("mean[%d] = %v, want %v", i, mean[i], mi)
		}
		for j := 0; j < 27; j++ {
			mj, s := 0.0, 0.0
			for _, r := range rows {
				mj += r[j]
			}
			mj /= float64(len(rows))
			for _, r := range rows {
				s += (r[i] - mi) * (r[j] - mj)
			}
			s /= float64(len(rows))
			if math.Abs(cv[i*27+j]-s) > 1e-12 {
				t.Fatalf("cov[%d][%d] = %v, want %v", i, j, cv[i*27+j], s)
			}
		}
	}
	if _, _, err := PatchCovariance([]image.Image{image.NewRGBA(image.Rect(0, 0, 2, 5))}, 3); err == nil {
		t.Error("an image smaller than a window was accepted")
	}
	if _, _, err := PatchCovariance(nil, 3); err == nil {
		t.Error("no image accepted")
	}
}

// TestLoadImages: PNG and JPEG files, folders, and the failures.
func TestLoadImages(t *testing.T) {
	dir := t.TempDir()
	nat, err := NaturalImage(40, 36, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []struct {
		name string
		fn   func(f *os.File) error
	}{
		{"a.png", func(f *os.File) error { return png.Encode(f, nat) }},
		{"b.JPG", func(f *os.File) error { return jpeg.Encode(f, nat, &jpeg.Options{Quality: 95}) }},
	} {
		f, err := os.Create(filepath.Join(dir, enc.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.fn(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	imgs, names, err := LoadImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "a.png,b.JPG" || len(imgs) != 2 || imgs[1].Bounds().Dx() != 40 {
		t.Fatalf("folder: %v, %d images", names, len(imgs))
	}
	if _, err := Figure7(imgs, Figure7Options{Iterations: 30}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadImages(filepath.Join(dir, "a.png")); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	small := filepath.Join(t.TempDir(), "small.png")
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	os.WriteFile(small, buf.Bytes(), 0o644)
	for _, p := range []string{filepath.Join(dir, "missing.png"), bad, small, dir /* now holds bad.png */, t.TempDir()} {
		if _, _, err := LoadImages(p); !errors.Is(err, ErrImage) {
			t.Errorf("%s: error %v, want ErrImage", filepath.Base(p), err)
		}
	}
	if _, err := Figure7(imgs, Figure7Options{Iterations: -1}); err == nil {
		t.Error("negative iterations accepted")
	}
	if _, err := Figure2(imgs, Figure2Options{Size: 4}); err == nil {
		t.Error("an even kernel size accepted")
	}
}

// TestNaturalImage: deterministic, and with the statistics it promises.
func TestNaturalImage(t *testing.T) {
	a, err := NaturalImage(64, 48, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NaturalImage(64, 48, 3)
	c, _ := NaturalImage(64, 48, 4)
	if !bytes.Equal(a.Pix, b.Pix) || bytes.Equal(a.Pix, c.Pix) {
		t.Fatal("NaturalImage is not a deterministic function of the seed")
	}
	_, cv, err := PatchCovariance([]image.Image{a}, 3)
	if err != nil {
		t.Fatal(err)
	}
	corr := func(i, j int) float64 { return cv[i*27+j] / math.Sqrt(cv[i*27+i]*cv[j*27+j]) }
	if r := corr(4, 5); r < 0.7 {
		t.Errorf("horizontal neighbours correlate %.2f", r)
	}
	if r := corr(4, 9+4); r < 0.5 {
		t.Errorf("red and green correlate %.2f", r)
	}
	if _, err := NaturalImage(2, 100, 1); err == nil {
		t.Error("a 2-pixel-wide image was accepted")
	}
}

// TestTable3 checks the transcription's shape and a Table 3 row's
// components on a tiny batch.
func TestTable3(t *testing.T) {
	if len(Table3) != 22 {
		t.Fatalf("%d rows", len(Table3))
	}
	for _, r := range Table3 {
		if r.Cin%r.Groups != 0 || r.Paper.Conv <= 0 || r.Paper.Im2col <= 0 {
			t.Errorf("row %v: %+v", r.Layer, r.Paper)
		}
	}
	for _, i := range []int{0, PaperLayer, 5, 18} {
		lb, err := NewLayerBench(Table3[i].Layer, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []func() error{lb.Im2col, lb.Cov, lb.Inv, lb.Conv} {
			if err := f(); err != nil {
				t.Fatalf("%v: %v", Table3[i].Layer, err)
			}
		}
		w := lb.Work()
		if w.ConvFlops <= 0 || w.CovFlops <= 0 || w.InvFlops <= 0 || w.Im2colBytes <= 0 {
			t.Errorf("%v: work %+v", Table3[i].Layer, w)
		}
	}
}
