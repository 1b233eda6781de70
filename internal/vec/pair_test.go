package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// TestPairCheck holds every family's PairCheck to the loop: the values
// written and the excess to the bit, the sum within its bound of the exact
// one (2n exact squares of float32, added in a tree of depth about n for
// the loop's two sums, n/8 + 6 for the AVX-512 kernel's, n/4 + 8 for
// AVX2's), the same NaN/Inf class. The pairs are symmetric, symmetric
// within or beyond the tolerance, beyond the bound of the 2×2 minors, or
// non-finite. Every slice starts at a random offset in a buffer of guard
// values, which must be left as they are: a store past the end, such as
// a partial chunk's without its mask, shows.
func TestPairCheck(t *testing.T) {
	for _, f := range families() {
		rng := rand.New(rand.NewPCG(6, uint64(f)))
		for n := 0; n <= 300; n++ {
			for rep := range 4 {
				x := make([]float32, n)
				randomVector(rng, x, rep == 3)
				z := slices.Clone(x)
				rootb, rooto := window[float64](rng, n)
				root := rootb[rooto : rooto+n]
				for j := range root {
					root[j] = math.Sqrt(math.Abs(float64(x[j]))) * (0.5 + rng.Float64())
					switch rng.IntN(8) {
					case 0:
						z[j] = x[j] * (1 + float32(rng.NormFloat64())*1e-6)
					case 1:
						z[j] = -x[j]
					case 2:
						root[j] = 0
					}
				}
				if rep == 3 && n > 0 {
					z[rng.IntN(n)] = float32(math.NaN())
				}
				r := math.Sqrt(1 + rng.Float64()*3)
				symTol := []float64{1e-6, 0, math.Inf(1), 1e-3}[rep]
				const minorTol = 1 + 1e-4
				xo, zo := rng.IntN(8), rng.IntN(8)
				xb, zb := append(make([]float32, xo), x...), append(make([]float32, zo), z...)
				x, z = xb[xo:], zb[zo:]
				sb, so := window[float32](rng, n)
				s := sb[so : so+n]
				s64b, s64o := window[float64](rng, n)
				s64 := s64b[s64o : s64o+n]
				ws, ws64 := make([]float32, n), make([]float64, n)
				wantSum, wantExcess := pairCheckGo(ws, ws64, x, z, root, r, symTol, minorTol)
				gotSum, gotExcess := PairCheck(f, s, s64, x, z, root, r, symTol, minorTol)
				what := fmt.Sprintf("%v n=%d rep=%d", f, n, rep)
				if math.Float64bits(gotExcess) != math.Float64bits(wantExcess) {
					t.Fatalf("%s: excess %v, loop %v", what, gotExcess, wantExcess)
				}
				if !slices.EqualFunc(s, ws, sameBits) || !slices.EqualFunc(s64, ws64, sameBits64) {
					t.Fatalf("%s: symmetric part differs from the loop's", what)
				}
				checkGuards(t, what, sb, so, n)
				checkGuards(t, what+" s64", s64b, s64o, n)
				checkGuards(t, what+" root", rootb, rooto, n)
				exact := exactSumSquares(append(slices.Clone(x), z...))
				if !sameClass(gotSum, exact) || !sameClass(gotSum, wantSum) {
					t.Fatalf("%s: sum %v, exact %v, loop %v", what, gotSum, exact, wantSum)
				}
				d := n + 2
				switch f {
				case isa.AVX512:
					d = n/8 + 6
				case isa.AVX2:
					d = n/4 + 8 // and the Go loop's ≤ 3 elements
				}
				bound := float64(d) * 0x1p-53 / (1 - float64(d)*0x1p-53)
				if !math.IsNaN(exact) && !math.IsInf(exact, 0) && math.Abs(gotSum-exact) > bound*exact {
					t.Fatalf("%s: sum %v, exact %v: relative error %.3g over %.3g", what, gotSum, exact, math.Abs(gotSum-exact)/exact, bound)
				}
			}
		}
	}
}

func BenchmarkPairCheck(b *testing.B) {
	n := 31 // a tile's run
	x, z, s := make([]float32, n), make([]float32, n), make([]float32, n)
	s64, root := make([]float64, n), make([]float64, n)
	for j := range n {
		x[j], z[j], root[j] = float32(j), float32(j), float64(j+1)
	}
	for _, f := range families() {
		b.Run(fmt.Sprintf("n=%d/%v", n, f), func(b *testing.B) {
			for b.Loop() {
				PairCheck(f, s, s64, x, z, root, 1, 1e-4, 1+1e-4)
			}
		})
	}
}
