package cov

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
)

// TestDirectFinalizeSameBits: Compute with each exclusive unit finalizing
// its own matrices (finalRun.direct) gives the bits that the float64
// totals and the closing pass (finalRun.finalize, split over the workers)
// give, on the panel shapes and Table 3's grouped small rows, in both
// precisions, with one and two workers, on every kernel family.
func TestDirectFinalizeSameBits(t *testing.T) {
	hooked := 0
	testHookDirect = func() { hooked++ }
	defer func() { testNoDirect, testHookDirect = false, nil }()
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	shapes := append(panelShapes(),
		Params{Batch: 2, Channels: 512, Height: 16, Width: 16, Groups: 512, Geometry: k3, Sampling: 3},
		Params{Batch: 2, Channels: 512, Height: 16, Width: 16, Groups: 8, Geometry: k3, Sampling: 3},
		Params{Batch: 2, Channels: 64, Height: 16, Width: 16, Block: 64, Geometry: k3, Sampling: 3},
	)
	rng := rand.New(rand.NewPCG(31, 32))
	direct := 0
	defer isa.Select(isa.Selected())
	for _, fam := range isa.Available() {
		if err := isa.Select(fam); err != nil {
			t.Fatal(err)
		}
		for _, p := range shapes {
			for _, workers := range []int{1, 2} {
				p.Eps, p.Workers = 1e-5, workers
				pl, err := NewPlan(p)
				if err != nil {
					t.Fatalf("%+v: %v", p, err)
				}
				x := randData(rng, pl.SrcLen(), p.Height*p.Width)
				x32 := make([]float32, len(x))
				for i, v := range x {
					x32[i] = float32(v)
				}
				hooked = 0
				var means, covs [2][]float64
				var means32, covs32 [2][]float32
				for k, off := range []bool{false, true} {
					testNoDirect = off
					means[k], covs[k] = make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
					if err := Compute(pl, means[k], covs[k], x); err != nil {
						t.Fatal(err)
					}
					means32[k], covs32[k] = make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
					if err := Compute(pl, means32[k], covs32[k], x32); err != nil {
						t.Fatal(err)
					}
				}
				testNoDirect = false
				if hooked == 0 {
					// Several chunks per block: the totals are shared, and
					// their sums' order (hence last bits) varies by run.
					continue
				}
				if sameBits(means[0], means[1]) && sameBits(covs[0], covs[1]) &&
					sameBits(means32[0], means32[1]) && sameBits(covs32[0], covs32[1]) {
					direct++
					continue
				}
				t.Fatalf("%v %+v: the direct finalization differs from the totals' pass", fam, p)
			}
		}
	}
	if direct < 2*len(isa.Available())*len(shapes)/2 {
		t.Fatalf("only %d shapes finalized directly", direct)
	}
}

func sameBits[T Float](a, b []T) bool {
	for i := range a {
		if math.Float64bits(float64(a[i])) != math.Float64bits(float64(b[i])) {
			return false
		}
	}
	return len(a) == len(b)
}

// TestDirectFinalizeNonFinite: with direct finalization a NaN in the data
// and a covariance that overflows float32 are still ErrNonFinite.
func TestDirectFinalizeNonFinite(t *testing.T) {
	k3 := deconv.Geometry{KernelH: 3, KernelW: 3, PadH: 1, PadW: 1}
	pl, err := NewPlan(Params{Batch: 2, Channels: 32, Height: 16, Width: 16, Groups: 32, Geometry: k3, Sampling: 3, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	mean, cv := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	x := make([]float32, pl.SrcLen())
	x[17*256+3*16+4] = float32(math.NaN())
	if err := Compute(pl, mean, cv, x); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
	for i := range x {
		x[i] = float32(i%2) * 3e19 // variance 2e38 per feature: fits; the square sums do not
	}
	if err := Compute(pl, mean, cv, x); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("overflow: %v", err)
	}
}
