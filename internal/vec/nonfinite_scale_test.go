package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNonFiniteScale holds every family to the loops when the scale is
// ±Inf or NaN, on every length up to five AVX-512 chunks, so on every
// partial chunk: there a masked-out lane is zero, and a product 0·Inf
// left unmasked would be NaN, turning the +Inf sum of a vector without
// zeros into NaN (and, in PairCheck, the bound of the masked lanes). The
// values written are compared bit for bit (any NaN equal to any NaN), the
// sums by class, ScaleFinite's answers and PairCheck's excesses exactly;
// vectors with a zero (whose product is NaN in every family) come too.
func TestNonFiniteScale(t *testing.T) {
	scales := []float64{math.Inf(1), math.Inf(-1), math.NaN()}
	for _, f := range families() {
		rng := rand.New(rand.NewPCG(8, uint64(f)))
		for n := 1; n <= 40; n++ {
			for _, s := range scales {
				for _, withZero := range []bool{false, true} {
					y := make([]float32, n)
					for i := range y {
						y[i] = float32(math.Ldexp(1+rng.Float64(), rng.IntN(41)-20))
						if rng.IntN(2) == 0 {
							y[i] = -y[i]
						}
					}
					if withZero {
						y[rng.IntN(n)] = 0
					}
					what := fmt.Sprintf("%v n=%d s=%v zero=%v", f, n, s, withZero)

					// ScaleSplit.
					yb, yo := window[float32](rng, n)
					zb, zo := window[float32](rng, n)
					wb, wo := window[float32](rng, n)
					gy, gz, gw := yb[yo:yo+n], zb[zo:zo+n], wb[wo:wo+n]
					copy(gy, y)
					ry, rz, rw := slices.Clone(y), make([]float32, n), make([]float32, n)
					want := scaleSplitGo(ry, rz, rw, s)
					got := ScaleSplit(f, gy, gz, gw, s)
					if !slices.EqualFunc(gy, ry, sameBits) || !slices.EqualFunc(gz, rz, sameBits) || !slices.EqualFunc(gw, rw, sameBits) {
						t.Fatalf("%s: ScaleSplit wrote %v %v %v, loop %v %v %v", what, gy, gz, gw, ry, rz, rw)
					}
					if !sameClass(got, want) {
						t.Fatalf("%s: ScaleSplit sum %v, loop %v", what, got, want)
					}
					checkGuards(t, what+" y", yb, yo, n)
					checkGuards(t, what+" z", zb, zo, n)
					checkGuards(t, what+" w", wb, wo, n)

					// ScaleFinite.
					db, do := window[float32](rng, n)
					dst := db[do : do+n]
					ref := make([]float32, n)
					wantFin := scaleFiniteGo(ref, y, s)
					if gotFin := ScaleFinite(f, dst, y, s); gotFin != wantFin || !slices.EqualFunc(dst, ref, sameBits) {
						t.Fatalf("%s: ScaleFinite %v wrote %v, loop %v wrote %v", what, gotFin, dst, wantFin, ref)
					}
					checkGuards(t, what+" dst", db, do, n)

					// PairCheck with r = s: the bounds r·root are infinite or NaN.
					z := slices.Clone(y)
					z[rng.IntN(n)] *= 1.5
					root := make([]float64, n)
					for j := range root {
						root[j] = float64(rng.IntN(3)) // zeros too: 0·Inf
					}
					sb, so := window[float32](rng, n)
					ps := sb[so : so+n]
					s64b, s64o := window[float64](rng, n)
					s64 := s64b[s64o : s64o+n]
					ws, ws64 := make([]float32, n), make([]float64, n)
					for _, symTol := range []float64{1e-3, 0} {
						wantSum, wantExcess := pairCheckGo(ws, ws64, y, z, root, s, symTol, 1+1e-4)
						gotSum, gotExcess := PairCheck(f, ps, s64, y, z, root, s, symTol, 1+1e-4)
						if math.Float64bits(gotExcess) != math.Float64bits(wantExcess) || !sameClass(gotSum, wantSum) {
							t.Fatalf("%s symTol=%v: PairCheck (%v, %v), loop (%v, %v)", what, symTol, gotSum, gotExcess, wantSum, wantExcess)
						}
						if !slices.EqualFunc(ps, ws, sameBits) || !slices.EqualFunc(s64, ws64, sameBits64) {
							t.Fatalf("%s symTol=%v: PairCheck's symmetric part differs from the loop's", what, symTol)
						}
						checkGuards(t, what+" s", sb, so, n)
						checkGuards(t, what+" s64", s64b, s64o, n)
					}
				}
			}
		}
	}
}
