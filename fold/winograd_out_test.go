package fold

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/netdeconv/deconv"
)

// TestWinogradWideOutputs: the Winograd path on outputs 60 to 140 wide,
// where the output kernel stores whole 64-column vectors as well as
// masked ones (widths not a multiple of 4, 16 or 64), against the float64
// definition.
func TestWinogradWideOutputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	for _, w := range []int{60, 63, 64, 65, 67, 128, 130, 140} {
		g := ConvGeom{InChannels: 3 + rng.IntN(6), OutChannels: 2 + rng.IntN(7), Geometry: k3, Algorithm: ConvWinograd}
		n, h := 1+rng.IntN(2), 5+rng.IntN(11)
		x32 := to32(randVec(rng, n*g.InChannels*h*w))
		wt32 := to32(randVec(rng, g.WeightLen()))
		bias32 := to32(randVec(rng, g.OutChannels))
		want := naiveConv(g, to64(x32), to64(wt32), to64(bias32), n, h, w)
		c, err := NewConv2d(g, wt32, bias32)
		if err != nil {
			t.Fatal(err)
		}
		c.Workers = 1 + rng.IntN(2)
		got := make([]float32, len(want))
		if err := c.Forward(got, x32, n, h, w); err != nil {
			t.Fatal(err)
		}
		if e := relErr(got, want); e > 1e-5 {
			t.Fatalf("%+v n=%d %d×%d: relative error %g", g, n, h, w, e)
		}
	}
}

// TestWinogradOverflowNamesElement: an output that overflows in one
// place of a wide image is deconv.ErrNonFinite naming that output.
func TestWinogradOverflowNamesElement(t *testing.T) {
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	g := ConvGeom{InChannels: 2, OutChannels: 3, Geometry: k3, Algorithm: ConvWinograd}
	wt := make([]float32, g.WeightLen())
	for i := range wt {
		wt[i] = 1
	}
	c, err := NewConv2d(g, wt, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, h, w := 2, 9, 100
	x := make([]float32, n*g.InChannels*h*w)
	// Large inputs at one place of image 1's two channels: their sum
	// overflows in the outputs around them.
	x[(1*g.InChannels+0)*h*w+4*w+70] = 3e38
	x[(1*g.InChannels+1)*h*w+4*w+70] = 3e38
	dst := make([]float32, n*g.OutChannels*h*w)
	err = c.Forward(dst, x, n, h, w)
	if !errors.Is(err, deconv.ErrNonFinite) {
		t.Fatalf("overflowing output: %v", err)
	}
	// The error names an output index, and that output is not finite.
	var at int
	var val string
	k := strings.Index(err.Error(), "output[")
	if k < 0 {
		t.Fatalf("the error does not name an output: %v", err)
	}
	if _, e := fmt.Sscanf(err.Error()[k:], "output[%d] = %s", &at, &val); e != nil {
		t.Fatalf("the error does not name an output: %v (%v)", err, e)
	}
	if v := float64(dst[at]); !math.IsInf(v, 0) && !math.IsNaN(v) {
		t.Fatalf("%v: output %d is %v", err, at, v)
	}
	if img := at / (g.OutChannels * h * w); img != 1 {
		t.Fatalf("%v: output %d is in image %d, the overflow in image 1", err, at, img)
	}
}
