package fold

import (
	"github.com/netdeconv/deconv"
	"math"
	"testing"
)

// FuzzFastDeconv builds layers from arbitrary configurations and shapes:
// construction and forward passes must return errors, never panic, and a
// forward that succeeds must produce finite outputs for finite inputs.
func FuzzFastDeconv(f *testing.F) {
	f.Add(4, 6, 3, 1, 1, 1, 1, 2, 3, 5, 2, 7, 7, true, uint8(0), 1e-5)
	f.Add(3, 3, 1, 2, 0, 1, 3, 1, 1, 1, 1, 4, 4, false, uint8(1), 0.1)
	f.Add(2, 4, 2, 1, 3, 2, 2, 64, 3, 2, 3, 1, 9, true, uint8(1), 0.0)
	f.Add(1<<30, 1<<30, 1<<20, 1, 0, 1, 1, 64, 3, 5, 1, 1, 1, true, uint8(0), 1e-5)
	f.Fuzz(func(t *testing.T, in, out, k, stride, pad, dil, groups, block, sampling, iters, n, h, w int, bias bool, grouping uint8, eps float64) {
		cfg := NewFastDeconvConfig(in, out, k)
		cfg.Geometry = deconv.Square(k, stride, pad, dil)
		cfg.Groups = groups
		cfg.Block, cfg.SamplingStride, cfg.NIter, cfg.Bias, cfg.Eps = block, sampling, iters, bias, eps
		cfg.Grouping = deconv.Grouping(grouping % 3)
		wlen, ok := mulSmall(out, in, k, k)
		if !ok || wlen > 1<<12 || in <= 0 || groups <= 0 {
			// Only the configuration is checked for huge or invalid sizes.
			_, _ = NewFastDeconv[float32](cfg, nil, nil)
			return
		}
		if groups > 0 {
			wlen /= groups
		}
		wt := make([]float32, wlen)
		for i := range wt {
			wt[i] = float32(i%5) * 0.1
		}
		var b []float32
		if bias {
			b = make([]float32, max(out, 0))
		}
		l, err := NewFastDeconv(cfg, wt, b)
		if err != nil {
			return
		}
		xlen, ok := mulSmall(n, in, h, w)
		if !ok || xlen > 1<<14 || n <= 0 {
			return
		}
		oh, ow, err := l.OutputSize(h, w)
		if err != nil {
			return
		}
		x := make([]float32, xlen)
		for i := range x {
			x[i] = float32(i%13) * 0.2
		}
		y := make([]float32, n*out*oh*ow)
		if err := l.Forward(y, x, n, h, w); err != nil {
			return
		}
		for i, v := range y {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%+v: output %d is %v", cfg, i, v)
			}
		}
	})
}

// mulSmall multiplies positive sizes, reporting false for any non-positive
// factor or a product above 2³⁰.
func mulSmall(fs ...int) (int, bool) {
	p := 1
	for _, f := range fs {
		if f <= 0 || f > 1<<30 || p > (1<<30)/f {
			return 0, false
		}
		p *= f
	}
	return p, true
}
