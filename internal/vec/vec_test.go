package vec

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// families lists every kernel family this CPU and build can run; the
// generic one is the portable loops.
func families() []isa.Family { return isa.Available() }

// sumBound is the relative error bound of a family's sums of squares of n
// nonnegative terms. Every square of a float32 is exact in float64 (24-bit
// significands give at most 48 bits) and no term is negative, so a sum
// whose additions form a tree of depth d is within γ_d = d·u/(1 − d·u) of
// the exact sum, relatively (u = 2⁻⁵³). The depth is the longest chain of
// additions into one lane plus the levels that join the lanes: the loops
// add about n/4 terms into each of four sums, then two levels; the AVX2
// kernels n/16 (+3 chunks left over, +3 elements in Go) into a lane, two
// levels of accumulators and two of lanes; AVX-512 n/32 (+4 chunks), two
// and three.
func sumBound(f isa.Family, n int) float64 {
	var d int
	switch f {
	case isa.AVX512:
		d = n/32 + 4 + 2 + 3 + 1
	case isa.AVX2:
		d = n/16 + 3 + 3 + 2 + 2 + 1
	default:
		d = n/4 + 3 + 2 + 1
	}
	u := 0x1p-53
	return float64(d) * u / (1 - float64(d)*u)
}

// exactSumSquares returns Σ float64(x_i)², rounded once from the exact
// sum (big.Float with enough bits for 300 squares of any float32); NaN
// when x holds a NaN, +Inf when it holds an infinity and no NaN.
func exactSumSquares(x []float32) float64 {
	inf := false
	for _, v := range x {
		if v != v {
			return math.NaN()
		}
		inf = inf || math.IsInf(float64(v), 0)
	}
	if inf {
		return math.Inf(1)
	}
	s := new(big.Float).SetPrec(2048)
	t := new(big.Float).SetPrec(2048)
	for _, v := range x {
		f := float64(v)
		t.SetFloat64(f)
		t.Mul(t, t)
		s.Add(s, t)
	}
	r, _ := s.Float64()
	return r
}

// randomVector fills x with values of random sign and magnitude over most
// of float32's range (2^−60 … 2^60), zeros, and, when special, NaN and
// ±Inf at a few random places.
func randomVector(rng *rand.Rand, x []float32, special bool) {
	for i := range x {
		switch rng.IntN(20) {
		case 0:
			x[i] = 0
		default:
			v := float32(math.Ldexp(1+rng.Float64(), rng.IntN(121)-60))
			if rng.IntN(2) == 0 {
				v = -v
			}
			x[i] = v
		}
	}
	if special && len(x) > 0 {
		for range 1 + rng.IntN(3) {
			x[rng.IntN(len(x))] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[rng.IntN(3)]
		}
	}
}

// sameClass reports whether a and b are both NaN, both the same infinity,
// or both finite.
func sameClass(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return true
}

// sameBits compares float32 values bit for bit, any NaN equal to any NaN.
func sameBits(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// guard is what the test buffers hold outside the slice under test.
const guard = -7.25

// window returns a slice of length n at a random offset (0 … 15 elements,
// so every alignment) of a buffer filled with guard values.
func window[T float32 | float64](rng *rand.Rand, n int) (buf []T, off int) {
	off = rng.IntN(16)
	buf = make([]T, off+n+16)
	for i := range buf {
		buf[i] = guard
	}
	return buf, off
}

// checkGuards fails unless buf is guard outside [off, off+n).
func checkGuards[T float32 | float64](t *testing.T, what string, buf []T, off, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < off || i >= off+n) && v != guard {
			t.Fatalf("%s: element %d outside the slice [%d, %d) written", what, i, off, off+n)
		}
	}
}

// sameBits64 compares float64 values bit for bit, any NaN equal to any
// NaN.
func sameBits64(a, b float64) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

func TestSumSquares(t *testing.T) {
	for _, f := range families() {
		rng := rand.New(rand.NewPCG(1, uint64(f)))
		for n := 0; n <= 300; n++ {
			for _, special := range []bool{false, true} {
				buf, off := window[float32](rng, n)
				x := buf[off : off+n]
				randomVector(rng, x, special)
				in := slices.Clone(x)
				got := SumSquares(f, x)
				what := fmt.Sprintf("%v n=%d off=%d special=%v", f, n, off, special)
				if !slices.EqualFunc(x, in, sameBits) {
					t.Fatalf("%s: SumSquares wrote its input", what)
				}
				checkGuards(t, what, buf, off, n)
				want := exactSumSquares(x)
				if !sameClass(got, want) || !sameClass(got, sumSquaresGo(x)) {
					t.Fatalf("%s: sum %v, exact %v, loop %v", what, got, want, sumSquaresGo(x))
				}
				if !math.IsNaN(want) && !math.IsInf(want, 0) && math.Abs(got-want) > sumBound(f, n)*want {
					t.Fatalf("%s: sum %v, exact %v: relative error %.3g over the bound %.3g", what, got, want, math.Abs(got-want)/want, sumBound(f, n))
				}
				// The same input, the same bits.
				if again := SumSquares(f, x); math.Float64bits(again) != math.Float64bits(got) {
					t.Fatalf("%s: %v, then %v", what, got, again)
				}
				if f == isa.Generic && math.Float64bits(got) != math.Float64bits(sumSquaresGo(x)) {
					t.Fatalf("%s: the generic family is not the loop", what)
				}
			}
		}
	}
}

func TestNegHalfSumSquares(t *testing.T) {
	for _, f := range families() {
		rng := rand.New(rand.NewPCG(2, uint64(f)))
		for n := 0; n <= 300; n++ {
			for _, special := range []bool{false, true} {
				buf, off := window[float32](rng, n)
				x := buf[off : off+n]
				randomVector(rng, x, special)
				in := slices.Clone(x)
				want := SumSquares(f, in)
				got := NegHalfSumSquares(f, x)
				what := fmt.Sprintf("%v n=%d off=%d special=%v", f, n, off, special)
				if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
					t.Fatalf("%s: sum %v, SumSquares %v: not the same bits", what, got, want)
				}
				for i, v := range in {
					if w := -0.5 * v; !sameBits(x[i], w) {
						t.Fatalf("%s: x[%d] = %v, want −½·%v = %v", what, i, x[i], v, w)
					}
				}
				checkGuards(t, what, buf, off, n)
			}
		}
	}
}

func TestScaleSplit(t *testing.T) {
	for _, f := range families() {
		rng := rand.New(rand.NewPCG(3, uint64(f)))
		for n := 0; n <= 300; n++ {
			for _, special := range []bool{false, true} {
				yb, yo := window[float32](rng, n)
				zb, zo := window[float32](rng, n)
				wb, wo := window[float32](rng, n)
				y, z, w := yb[yo:yo+n], zb[zo:zo+n], wb[wo:wo+n]
				randomVector(rng, y, special)
				// Scales that keep, overflow (to ±Inf) and underflow (to
				// subnormals and zero) float32.
				s := math.Ldexp(1+rng.Float64(), rng.IntN(161)-80)
				in := slices.Clone(y)
				ry, rz, rw := slices.Clone(y), make([]float32, n), make([]float32, n)
				want := scaleSplitGo(ry, rz, rw, s)
				got := ScaleSplit(f, y, z, w, s)
				what := fmt.Sprintf("%v n=%d offsets %d %d %d s=%v special=%v", f, n, yo, zo, wo, s, special)
				for i := range y {
					if !sameBits(y[i], ry[i]) || !sameBits(z[i], rz[i]) || !sameBits(w[i], rw[i]) {
						t.Fatalf("%s: element %d (of %v): %v %v %v, want %v %v %v", what, i, in[i], y[i], z[i], w[i], ry[i], rz[i], rw[i])
					}
				}
				checkGuards(t, what+" y", yb, yo, n)
				checkGuards(t, what+" z", zb, zo, n)
				checkGuards(t, what+" w", wb, wo, n)
				exact := exactSumSquares(ry)
				if !sameClass(got, exact) || !sameClass(got, want) {
					t.Fatalf("%s: sum %v, exact %v, loop %v", what, got, exact, want)
				}
				if !math.IsNaN(exact) && !math.IsInf(exact, 0) && math.Abs(got-exact) > sumBound(f, n)*exact {
					t.Fatalf("%s: sum %v, exact %v: relative error %.3g over the bound %.3g", what, got, exact, math.Abs(got-exact)/exact, sumBound(f, n))
				}
				if f == isa.Generic && math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("%s: the generic family is not the loop", what)
				}
			}
		}
	}
}

func TestScaleFinite(t *testing.T) {
	for _, f := range families() {
		rng := rand.New(rand.NewPCG(4, uint64(f)))
		for n := 0; n <= 300; n++ {
			for _, special := range []bool{false, false, true} {
				db, do := window[float32](rng, n)
				sb, so := window[float32](rng, n)
				dst, src := db[do:do+n], sb[so:so+n]
				randomVector(rng, src, special)
				s := math.Ldexp(1+rng.Float64(), rng.IntN(161)-80)
				in := slices.Clone(src)
				ref := make([]float32, n)
				want := scaleFiniteGo(ref, in, s)
				got := ScaleFinite(f, dst, src, s)
				what := fmt.Sprintf("%v n=%d offsets %d %d s=%v special=%v", f, n, do, so, s, special)
				finite := true
				for i := range dst {
					if !sameBits(dst[i], ref[i]) {
						t.Fatalf("%s: dst[%d] = %v, want %v", what, i, dst[i], ref[i])
					}
					finite = finite && !math.IsNaN(float64(dst[i])) && !math.IsInf(float64(dst[i]), 0)
				}
				if got != want || got != finite {
					t.Fatalf("%s: finite %v, loop %v, values %v", what, got, want, finite)
				}
				if !slices.EqualFunc(src, in, sameBits) {
					t.Fatalf("%s: src written", what)
				}
				checkGuards(t, what, db, do, n)
				checkGuards(t, what+" src", sb, so, n)
				// In place.
				inPlace := slices.Clone(in)
				if ScaleFinite(f, inPlace, inPlace, s) != want || !slices.EqualFunc(inPlace, ref, sameBits) {
					t.Fatalf("%s: in place differs", what)
				}
			}
		}
	}
}

// TestFloat64Loops checks that float64 takes the portable loops, whatever
// the family.
func TestFloat64Loops(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]float64, 77)
	for i := range x {
		x[i] = rng.NormFloat64() * 1e30
	}
	for _, f := range families() {
		if got, want := SumSquares(f, x), sumSquaresGo(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%v: %v, loop %v", f, got, want)
		}
		a, b := slices.Clone(x), slices.Clone(x)
		za, wa, zb, wb := make([]float64, 77), make([]float64, 77), make([]float64, 77), make([]float64, 77)
		if ScaleSplit(f, a, za, wa, 0.3) != scaleSplitGo(b, zb, wb, 0.3) ||
			!slices.Equal(a, b) || !slices.Equal(za, zb) || !slices.Equal(wa, wb) {
			t.Fatalf("%v: ScaleSplit differs from the loop", f)
		}
		if ScaleFinite(f, za, x, 1e300) || !ScaleFinite(f, za, x, 1) {
			t.Fatalf("%v: ScaleFinite's verdict is wrong", f)
		}
		c := slices.Clone(x)
		if NegHalfSumSquares(f, c) != sumSquaresGo(x) || c[3] != -0.5*x[3] {
			t.Fatalf("%v: NegHalfSumSquares differs from the loop", f)
		}
	}
}

// TestNoAllocs: no kernel allocates, in any family.
func TestNoAllocs(t *testing.T) {
	x := make([]float32, 147)
	z, w := make([]float32, 147), make([]float32, 147)
	s64, root := make([]float64, 147), make([]float64, 147)
	for i := range x {
		x[i] = float32(i)
	}
	for _, f := range families() {
		n := testing.AllocsPerRun(20, func() {
			_ = SumSquares(f, x)
			_ = NegHalfSumSquares(f, x)
			_ = ScaleSplit(f, x, z, w, 0.5)
			_ = ScaleFinite(f, z, x, 2)
			_, _ = PairCheck(f, z, s64, x, w, root, 1, 1e-4, 1+1e-4)
		})
		if n != 0 {
			t.Fatalf("%v: %v allocations per run", f, n)
		}
	}
}

func BenchmarkSumSquares(b *testing.B) {
	for _, n := range []int{146, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		for _, f := range families() {
			b.Run(fmt.Sprintf("n=%d/%v", n, f), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					SumSquares(f, x)
				}
			})
		}
	}
}

func BenchmarkScaleSplit(b *testing.B) {
	n := 146
	y, z, w := make([]float32, n), make([]float32, n), make([]float32, n)
	for _, f := range families() {
		b.Run(fmt.Sprintf("n=%d/%v", n, f), func(b *testing.B) {
			b.SetBytes(int64(16 * n))
			for b.Loop() {
				ScaleSplit(f, y, z, w, 1)
			}
		})
	}
}
