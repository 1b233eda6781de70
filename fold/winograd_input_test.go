package fold

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/winograd"
)

// TestWinogradNamesNonFiniteInput: a single NaN or ±Inf anywhere in the
// input of the Winograd path is ErrNonFinite naming that input element,
// on random shapes, in float32 and float64; finite input that overflows
// float32 in the transforms is reported as output. Where the input check
// is fused into the input transform (winograd.GatherInput), every work
// item checks the rows it reads before it computes, so this holds on any
// number of workers; elsewhere an image is checked by the item holding
// its first tile row, and on several workers another item's output check
// may report the NaN first, so those run on one.
func TestWinogradNamesNonFiniteInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	for trial := 0; trial < 40; trial++ {
		g, n, h, w := randomWinogradGeom(rng)
		wt := randVec(rng, g.WeightLen())
		x := randVec(rng, n*g.InChannels*h*w)
		i := rng.IntN(len(x))
		bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
		x[i] = bad
		workers := 1
		if winograd.HasGatherInput[float32](isa.Selected(), winograd.F43) {
			workers = 1 + rng.IntN(3)
		}
		want := fmt.Sprintf("input[%d] = ", i)
		oh, ow, _ := g.OutputSize(h, w)

		c64, err := NewConv2d(g, wt, nil)
		if err != nil {
			t.Fatal(err)
		}
		c64.Workers = 1
		err = c64.Forward(make([]float64, n*g.OutChannels*oh*ow), x, n, h, w)
		if !errors.Is(err, deconv.ErrNonFinite) || !strings.Contains(err.Error(), want) {
			t.Fatalf("float64 %+v n=%d %d×%d, %v at %d: %v", g, n, h, w, bad, i, err)
		}
		c32, err := NewConv2d(g, to32(wt), nil)
		if err != nil {
			t.Fatal(err)
		}
		c32.Workers = workers
		err = c32.Forward(make([]float32, n*g.OutChannels*oh*ow), to32(x), n, h, w)
		if !errors.Is(err, deconv.ErrNonFinite) || !strings.Contains(err.Error(), want) {
			t.Fatalf("float32 %+v n=%d %d×%d, %v at %d: %v", g, n, h, w, bad, i, err)
		}
	}

	g := ConvGeom{InChannels: 4, OutChannels: 6, Algorithm: ConvWinograd,
		Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}}
	wt := make([]float32, g.WeightLen())
	for i := range wt {
		wt[i] = 1e-3
	}
	c, err := NewConv2d(g, wt, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, h, w := 2, 9, 40
	x := make([]float32, n*g.InChannels*h*w)
	for i := range x {
		x[i] = 3e38 * float32(1-2*(i%2))
	}
	err = c.Forward(make([]float32, n*g.OutChannels*h*w), x, n, h, w)
	if !errors.Is(err, deconv.ErrNonFinite) || !strings.Contains(err.Error(), "output") {
		t.Fatalf("finite input overflowing in the transforms: %v, want a non-finite output", err)
	}
}
