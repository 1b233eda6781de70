package winograd

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/errs"
)

// TestTileIsCorrelation: for every tile size, Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A
// through the Kronecker matrices and the filter transform equals the
// direct 2-D cross-correlation of one α×α tile, in float64.
func TestTileIsCorrelation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tl := range []*Tile{F23, F43, F63} {
		m, r, a := tl.M, tl.R, tl.Alpha
		for trial := 0; trial < 20; trial++ {
			d := make([]float64, a*a)
			g := make([]float64, r*r)
			for i := range d {
				d[i] = rng.NormFloat64()
			}
			for i := range g {
				g[i] = rng.NormFloat64()
			}
			u := make([]float64, a*a)
			FilterTransform(tl, u, g, 1, 1, 1)
			in, out := InputMatrix[float64](tl), OutputMatrix[float64](tl)
			prod := make([]float64, a*a)
			for k := range prod {
				s := 0.0
				for l := range d {
					s += in[k*a*a+l] * d[l]
				}
				prod[k] = s * u[k]
			}
			for i := 0; i < m; i++ {
				for j := 0; j < m; j++ {
					got := 0.0
					for k := range prod {
						got += out[(i*m+j)*a*a+k] * prod[k]
					}
					want := 0.0
					for p := 0; p < r; p++ {
						for q := 0; q < r; q++ {
							want += g[p*r+q] * d[(i+p)*a+j+q]
						}
					}
					if math.Abs(got-want) > 1e-11*(1+math.Abs(want)) {
						t.Fatalf("F(%d,%d) output (%d,%d): %v, want %v", m, r, i, j, got, want)
					}
				}
			}
		}
	}
}

// TestNewRejectsBadPoints: wrong counts, repeated or non-finite points.
func TestNewRejectsBadPoints(t *testing.T) {
	for _, c := range []struct {
		m, r int
		p    []float64
	}{
		{4, 3, []float64{0, 1, -1, 2}},
		{2, 3, []float64{0, 1, 1}},
		{2, 3, []float64{0, 1, math.Inf(1)}},
		{0, 3, nil},
	} {
		if _, err := New(c.m, c.r, c.p); !errors.Is(err, errs.ErrParam) {
			t.Errorf("New(%d, %d, %v): %v, want ErrParam", c.m, c.r, c.p, err)
		}
	}
}
