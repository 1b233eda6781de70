package isqrt

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFigure7 asserts the behaviour of the paper's Figure 7 on the built-in
// image: over 100 iterations the coupled iteration (both formulations)
// stays within 10× of its best residual, while the uncoupled one grows to
// at least 10³× its best.
func TestFigure7(t *testing.T) {
	for _, f32 := range []bool{false, true} {
		d, err := Figure7(nil, Figure7Options{Float32: f32})
		if err != nil {
			t.Fatal(err)
		}
		if d.N != 27 || len(d.Coupled) != 101 || len(d.CoupledFast) != 101 || len(d.Uncoupled) != 101 {
			t.Fatalf("sizes: n=%d series %d %d %d", d.N, len(d.Coupled), len(d.CoupledFast), len(d.Uncoupled))
		}
		if c := d.Condition(); c < 100 {
			t.Errorf("condition number %.3g: not a natural image's ill-conditioned covariance", c)
		}
		for name, s := range map[string][]float64{"coupled": d.Coupled, "coupled fast": d.CoupledFast} {
			best, at := Best(s)
			if last := s[100]; !(last <= 10*best) {
				t.Errorf("float32 %v: %s residual %.3e after 100 iterations, best %.3e at %d", f32, name, last, best, at)
			}
			if best > 1e-3 {
				t.Errorf("float32 %v: %s never converged (best %.3e)", f32, name, best)
			}
		}
		best, at := Best(d.Uncoupled)
		if last := d.Uncoupled[100]; !(last >= 1e3*best) {
			t.Errorf("float32 %v: uncoupled residual %.3e after 100 iterations, best %.3e at %d", f32, last, best, at)
		}
		if d.UncoupledDiverge < 0 || d.UncoupledDiverge > 30 {
			t.Errorf("float32 %v: uncoupled divergence reported at iteration %d", f32, d.UncoupledDiverge)
		}
		// The three agree while they converge, before rounding matters.
		for k := 0; k <= 5; k++ {
			if math.Abs(d.Coupled[k]-d.Uncoupled[k]) > 1e-5*d.Coupled[k] || math.Abs(d.Coupled[k]-d.CoupledFast[k]) > 1e-5*d.Coupled[k] {
				t.Errorf("iterate %d: residuals %v %v %v differ", k, d.Coupled[k], d.CoupledFast[k], d.Uncoupled[k])
			}
		}
		var buf bytes.Buffer
		if err := d.WriteTSV(&buf); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(buf.String(), "\n"); lines != 103 {
			t.Errorf("TSV has %d lines", lines)
		}
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
	cov, err := PatchCovariance(a)
	if err != nil {
		t.Fatal(err)
	}
	// Neighbouring pixels and colour channels are strongly correlated.
	corr := func(i, j int) float64 { return cov[i*27+j] / math.Sqrt(cov[i*27+i]*cov[j*27+j]) }
	if r := corr(4, 5); r < 0.7 {
		t.Errorf("horizontal neighbours correlate %.2f", r)
	}
	if r := corr(4, 9+4); r < 0.5 {
		t.Errorf("red and green correlate %.2f", r)
	}
	if r := corr(0, 8); r > corr(4, 5) {
		t.Errorf("distant pixels correlate more (%.2f) than neighbours (%.2f)", r, corr(4, 5))
	}
	if _, err := NaturalImage(2, 100, 1); err == nil {
		t.Error("a 2-pixel-wide image was accepted")
	}
}

// TestPatchCovariance against a direct computation on a small image, and
// the decoding of PNG and JPEG files.
func TestPatchCovariance(t *testing.T) {
	img := image.NewRGBA(image.Rect(2, 3, 7, 7)) // 5×4, offset origin
	for y := 3; y < 7; y++ {
		for x := 2; x < 7; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * y * 7), uint8(x + 40*y), uint8(255 - x*x), 255})
		}
	}
	cov, err := PatchCovariance(img)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	for y := 3; y+3 <= 7; y++ {
		for x := 2; x+3 <= 7; x++ {
			row := make([]float64, 27)
			for c := 0; c < 3; c++ {
				for ki := 0; ki < 3; ki++ {
					for kj := 0; kj < 3; kj++ {
						px := img.RGBAAt(x+kj, y+ki)
						v := [3]uint8{px.R, px.G, px.B}[c]
						row[(c*3+ki)*3+kj] = float64(v) / 255
					}
				}
			}
			rows = append(rows, row)
		}
	}
	for i := 0; i < 27; i++ {
		for j := 0; j < 27; j++ {
			mi, mj, s := 0.0, 0.0, 0.0
			for _, r := range rows {
				mi += r[i]
				mj += r[j]
			}
			mi /= float64(len(rows))
			mj /= float64(len(rows))
			for _, r := range rows {
				s += (r[i] - mi) * (r[j] - mj)
			}
			s /= float64(len(rows))
			if math.Abs(cov[i*27+j]-s) > 1e-14 {
				t.Fatalf("cov[%d][%d] = %v, want %v", i, j, cov[i*27+j], s)
			}
		}
	}
	if _, err := PatchCovariance(image.NewRGBA(image.Rect(0, 0, 2, 5))); err == nil {
		t.Error("an image smaller than a window was accepted")
	}

	dir := t.TempDir()
	nat, _ := NaturalImage(40, 30, 1)
	for _, enc := range []struct {
		name string
		fn   func(f *os.File) error
	}{
		{"a.png", func(f *os.File) error { return png.Encode(f, nat) }},
		{"a.jpg", func(f *os.File) error { return jpeg.Encode(f, nat, &jpeg.Options{Quality: 95}) }},
	} {
		path := filepath.Join(dir, enc.name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.fn(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, err := LoadImage(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds().Dx() != 40 || got.Bounds().Dy() != 30 {
			t.Fatalf("%s: decoded %v", enc.name, got.Bounds())
		}
		if _, err := Figure7(got, Figure7Options{Iterations: 30}); err != nil {
			t.Fatalf("%s: %v", enc.name, err)
		}
	}
	if _, err := LoadImage(filepath.Join(dir, "missing.png")); err == nil {
		t.Error("a missing file was loaded")
	}
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	if _, err := LoadImage(bad); err == nil {
		t.Error("garbage was decoded")
	}
	if _, err := Figure7(nil, Figure7Options{Iterations: -1}); err == nil {
		t.Error("negative iterations accepted")
	}
}
