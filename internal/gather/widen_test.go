package gather

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

func testAddWiden[T Float](t *testing.T, fam isa.Family) {
	rng := rand.New(rand.NewPCG(21, uint64(fam)))
	k := AddWidenFor[T](fam)
	for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 48, 100, 576, 1001} {
		src := make([]T, n)
		for i := range src {
			src[i] = T(rng.NormFloat64() * math.Exp2(float64(rng.IntN(40)-20)))
		}
		// dst is longer than src: values past len(src) stay as they are.
		dst := make([]float64, n+3)
		for i := range dst {
			dst[i] = rng.NormFloat64()
		}
		want := append([]float64(nil), dst...)
		for i, v := range src {
			want[i] += float64(v)
		}
		k(dst, src)
		for i := range dst {
			// One conversion (exact) and one rounding: bitwise equal.
			if dst[i] != want[i] {
				t.Fatalf("%v %T n=%d: dst[%d] = %v, want %v", fam, src, n, i, dst[i], want[i])
			}
		}
	}
	if !panics(func() { k(make([]float64, 16), make([]T, 17)) }) {
		t.Errorf("%v %T: a short dst did not panic", fam, *new(T))
	}
}

// TestAddWiden checks every family's widening addition against the
// definition, at lengths around the kernel's blocks of 16, with values of
// many magnitudes and a dst longer than src.
func TestAddWiden(t *testing.T) {
	for _, fam := range isa.Available() {
		t.Run(fam.String(), func(t *testing.T) {
			testAddWiden[float32](t, fam)
			testAddWiden[float64](t, fam)
		})
	}
}

func TestAddWidenAllocatesNothing(t *testing.T) {
	src, dst := make([]float32, 100), make([]float64, 100)
	if a := testing.AllocsPerRun(10, func() { AddWidenFor[float32](isa.Selected())(dst, src) }); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}

// panics reports whether f panics.
func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}
