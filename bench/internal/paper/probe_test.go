package paper

import (
	"image"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	for _, f32 := range []bool{false, true} {
		t0 := time.Now()
		d, err := Figure7([]image.Image{DefaultImage()}, Figure7Options{Float32: f32})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("f32 %v cond %.3g %v", f32, d.Condition(), time.Since(t0))
		for k := 0; k <= 100; k += 5 {
			t.Logf("%3d %.3e %.3e %.3e", k, d.Coupled[k], d.CoupledFast[k], d.Uncoupled[k])
		}
	}
	t0 := time.Now()
	f2, err := Figure2([]image.Image{DefaultImage()}, Figure2Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fig2 %v cond %.3g", time.Since(t0), f2.Condition)
	for c := 0; c < 3; c++ {
		t.Logf("c%d centre %.4g neigh %.4g maxoff %.4g", c, f2.Centre(c), f2.NeighbourMean(c), f2.MaxAbsOffCentre(c))
	}
	t0 = time.Now()
	f10 := Figure10([]image.Image{DefaultImage()}, f2)
	t.Logf("fig10 %v kurt %.3g→%.3g near %.3g→%.3g", time.Since(t0), f10.KurtosisBefore, f10.KurtosisAfter, f10.NearZeroBefore, f10.NearZeroAfter)
}
