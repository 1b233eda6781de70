package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// TestCol2imAdjointEveryLayout checks ⟨Im2col(x), y⟩ = ⟨x, Col2im(y)⟩ for
// each layout (Rows, Unfold, and the Rows layout with FlatSampling) and
// each sampling stride from 1 to 5, so that windows both overlap (a
// stride below the kernel's extent) and skip pixels, on random shapes, on
// every kernel family this CPU has, in float64 and float32. The random
// test TestCol2imIsAdjoint draws these options by chance; this one
// guarantees each combination is covered.
func TestCol2imAdjointEveryLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	type variant struct {
		name   string
		layout Layout
		flat   bool
	}
	for _, fam := range isa.Available() {
		for _, v := range []variant{{"rows", Rows, false}, {"unfold", Unfold, false}, {"flat", Rows, true}} {
			for s := 1; s <= 5; s++ {
				t.Run(fmt.Sprintf("%v/%s/S%d", fam, v.name, s), func(t *testing.T) {
					for range 6 {
						p := adjointParams(rng, v.layout, v.flat, s)
						pl, err := newPlan(p, fam)
						if err != nil {
							t.Fatalf("%+v: %v", p, err)
						}
						x := randomSlice(rng, pl.SrcLen())
						y := randomSlice(rng, pl.DstLen())
						checkAdjoint(t, p, pl, x, y, 1e-12)
						checkAdjoint(t, p, pl, to32(x), to32(y), 1e-5)
					}
				})
			}
		}
	}
}

// adjointParams draws a shape with the given layout and sampling stride.
func adjointParams(rng *rand.Rand, layout Layout, flat bool, sampling int) Params {
	for {
		p := randomParams(rng)
		p.Layout, p.Sampling, p.FlatSampling = layout, sampling, flat
		if flat {
			p.KernelH, p.KernelW, p.StrideW = 1, 1, p.StrideH
		}
		if _, err := NewPlan(p); err == nil {
			return p
		}
	}
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, e := range v {
		out[i] = float32(e)
	}
	return out
}

// checkAdjoint compares ⟨Im2col(x), y⟩ with ⟨x, Col2im(y)⟩, summed in
// float64, relative to Σ|terms|.
func checkAdjoint[T Float](t *testing.T, p Params, pl *Plan, x, y []T, tol float64) {
	t.Helper()
	ax := make([]T, pl.DstLen())
	aty := make([]T, pl.SrcLen())
	if err := Im2col(pl, ax, x); err != nil {
		t.Fatal(err)
	}
	if err := Col2im(pl, aty, y); err != nil {
		t.Fatal(err)
	}
	var lhs, rhs, scale float64
	for j := range ax {
		lhs += float64(ax[j]) * float64(y[j])
		scale += math.Abs(float64(ax[j]) * float64(y[j]))
	}
	for j := range x {
		rhs += float64(x[j]) * float64(aty[j])
	}
	if math.Abs(lhs-rhs) > tol*(1+scale) {
		t.Fatalf("%T %+v: <Ax,y> = %v, <x,A'y> = %v", x[0], p, lhs, rhs)
	}
}
