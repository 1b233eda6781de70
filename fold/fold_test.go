package fold

import (
	"errors"
	"github.com/netdeconv/deconv"
	"math"
	"math/rand/v2"
	"testing"
)

// blockIndex maps feature f of a row to (block, position) under bl.
func blockIndex(bl Blocking, f int) (g, p int) {
	G := bl.Features / bl.Block
	if bl.Grouping == deconv.Interleaved {
		return f % G, f / G
	}
	return f / bl.Block, f % bl.Block
}

// randSPD returns a random symmetric positive definite n×n matrix.
func randSPD(rng *rand.Rand, n int) []float64 {
	a := randVec(rng, n*n)
	s := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				s[i*n+j] += a[i*n+k] * a[j*n+k] / float64(n)
			}
		}
		s[i*n+i] += 0.5
	}
	return s
}

// TestFoldIsImplicitDeconvolution checks the identity the package exists
// for: for any data row x, Σ_blocks (x_b − μ)·D·w_b + b = x·w' + b'.
func TestFoldIsImplicitDeconvolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for trial := 0; trial < 200; trial++ {
		F := 1 + rng.IntN(6)
		bl := Blocking{Features: F * (1 + rng.IntN(4)), Block: F, Grouping: deconv.Grouping(rng.IntN(2))}
		q := 1 + rng.IntN(3)
		rows := q * (1 + rng.IntN(3))
		w := randVec(rng, rows*bl.Features)
		var bias []float64
		if rng.IntN(2) == 0 {
			bias = randVec(rng, rows)
		}
		var d, mean []float64
		for i := 0; i < q; i++ {
			d = append(d, randSPD(rng, F)...)
			mean = append(mean, randVec(rng, F)...)
		}
		wf, bf := make([]float64, len(w)), make([]float64, rows)
		if err := Fold(wf, bf, w, bias, rows, bl, d, mean); err != nil {
			t.Fatal(err)
		}
		x := randVec(rng, bl.Features)
		per := rows / q
		for r := 0; r < rows; r++ {
			i := r / per
			want := 0.0
			if bias != nil {
				want = bias[r]
			}
			// Whitened block g of x: (x_g − μ)·D, then dot with w_g.
			for f := 0; f < bl.Features; f++ {
				g, p := blockIndex(bl, f)
				wh := 0.0
				for f2 := 0; f2 < bl.Features; f2++ {
					g2, k := blockIndex(bl, f2)
					if g2 == g {
						wh += (x[f2] - mean[i*F+k]) * d[i*F*F+k*F+p]
					}
				}
				want += wh * w[r*bl.Features+f]
			}
			got := bf[r]
			for f := 0; f < bl.Features; f++ {
				got += x[f] * wf[r*bl.Features+f]
			}
			if math.Abs(got-want) > 1e-10*(1+math.Abs(want)) {
				t.Fatalf("trial %d %+v q=%d row %d: folded %v, direct %v", trial, bl, q, r, got, want)
			}
		}
		// Restore recovers the original weights and bias.
		w2, b2 := make([]float64, len(w)), make([]float64, rows)
		if bias == nil {
			b2 = nil
		}
		if err := Restore(w2, b2, wf, bf, rows, bl, d, mean); err != nil {
			t.Fatal(err)
		}
		if e := relErr(w2, w); e > 1e-9 {
			t.Fatalf("restored weights off by %g", e)
		}
		if bias != nil {
			if e := relErr(b2, bias); e > 1e-9 {
				t.Fatalf("restored bias off by %g", e)
			}
		}
		// In place, float32.
		w32, b32 := to32(w), to32(bias)
		if err := Fold(w32, b32, w32, b32, rows, bl, to32(d), to32(mean)); err != nil {
			t.Fatal(err)
		}
		if e := relErr(w32, wf); e > 1e-5 {
			t.Fatalf("float32 in-place fold off by %g", e)
		}
	}
}

func TestFoldErrors(t *testing.T) {
	bl := Blocking{Features: 6, Block: 3}
	w, d, mean := make([]float32, 12), make([]float32, 9), make([]float32, 3)
	d[0], d[4], d[8] = 1, 1, 1
	if err := Fold(w, nil, w, nil, 2, Blocking{Features: 6, Block: 4}, d, mean); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("block not dividing: %v", err)
	}
	if err := Fold(w, nil, w, nil, 3, bl, d, mean); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("wrong row count: %v", err)
	}
	if err := Fold(w, nil, w, nil, 2, bl, d[:8], mean); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short D: %v", err)
	}
	if err := Fold(w, make([]float32, 1), w, nil, 2, bl, d, mean); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("short bias: %v", err)
	}
	mean[1] = float32(math.NaN())
	if err := Fold(w, nil, w, nil, 2, bl, d, mean); !errors.Is(err, deconv.ErrNonFinite) {
		t.Errorf("NaN mean: %v", err)
	}
	mean[1] = 0
	d[4] = -1
	if err := Restore(w, nil, w, nil, 2, bl, d, mean); !errors.Is(err, deconv.ErrNotPositiveDefinite) {
		t.Errorf("indefinite D: %v", err)
	}
}
