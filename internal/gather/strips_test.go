package gather

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

func testStrips[T Float](t *testing.T, fam isa.Family) {
	rng := rand.New(rand.NewPCG(5, uint64(fam)))
	k := StripsFor[T](fam)
	nan := T(math.NaN())
	for trial := 0; trial < 300; trial++ {
		lanes := 1 + rng.IntN(MaxStripLanes)
		n := 1 + rng.IntN(70)
		if trial%7 == 0 {
			n = 1 + rng.IntN(3)
		}
		lds := lanes + rng.IntN(4)
		if trial%5 == 0 {
			lds = rng.IntN(lanes + 1) // overlapping and repeated strips of src
		}
		ldd := lanes + rng.IntN(50)
		// src ends at the last value the last strip reads, so the kernel
		// may not touch anything past it.
		src := make([]T, (n-1)*lds+lanes)
		for i := range src {
			src[i] = T(rng.Float64()*8 - 4)
		}
		dst := make([]T, (n-1)*ldd+lanes)
		for i := range dst {
			dst[i] = nan
		}
		shift := make([]T, lanes)
		for i := range shift {
			shift[i] = T(rng.Float64()*2 - 1)
		}
		sum := make([]float64, lanes+1)
		want := make([]float64, lanes+1)
		for i := range sum {
			sum[i] = rng.Float64()
			want[i] = sum[i]
		}
		k(dst, ldd, src, lds, n, shift, sum[:lanes])
		name := fmt.Sprintf("%v %T lanes=%d n=%d lds=%d ldd=%d", fam, src[0], lanes, n, lds, ldd)
		for j := 0; j < n; j++ {
			for u := 0; u < lanes; u++ {
				v := src[j*lds+u] - shift[u]
				if got := dst[j*ldd+u]; got != v {
					t.Fatalf("%s: dst[%d][%d] = %v, want %v", name, j, u, got, v)
				}
				want[u] += float64(v)
			}
			if j < n-1 {
				for i := j*ldd + lanes; i < (j+1)*ldd; i++ {
					if !math.IsNaN(float64(dst[i])) {
						t.Fatalf("%s: wrote dst[%d] between strips", name, i)
					}
				}
			}
		}
		for u := range want {
			// The sums of n values of magnitude below 5, rounded in T in
			// blocks (generic) or not at all (assembly).
			tol := 1e-12
			if _, ok := any(src[0]).(float32); ok {
				tol = 5 * float64(n) * 1e-6
			}
			if math.Abs(sum[u]-want[u]) > tol {
				t.Fatalf("%s: sum[%d] = %v, want %v", name, u, sum[u], want[u])
			}
		}
	}
}

// TestStrips checks every family's strips kernel against the definition,
// with slices that end at the last value read or written, NaN between the
// strips of dst that must stay untouched, and the sum past the lanes too.
func TestStrips(t *testing.T) {
	for _, fam := range isa.Available() {
		t.Run(fam.String(), func(t *testing.T) {
			testStrips[float32](t, fam)
			testStrips[float64](t, fam)
		})
	}
}

func TestStripsOutOfRangePanics(t *testing.T) {
	for _, fam := range isa.Available() {
		k := StripsFor[float32](fam)
		cases := []func(){
			func() { k(make([]float32, 10), 4, make([]float32, 11), 4, 3, make([]float32, 3), make([]float64, 3)) }, // dst short
			func() { k(make([]float32, 11), 4, make([]float32, 10), 4, 3, make([]float32, 3), make([]float64, 3)) }, // src short
			func() { k(make([]float32, 11), 4, make([]float32, 11), 4, 3, make([]float32, 3), make([]float64, 2)) }, // sum short
			func() { k(make([]float32, 90), 9, make([]float32, 90), 9, 3, make([]float32, 9), make([]float64, 9)) }, // too wide
		}
		for i, c := range cases {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%v case %d: no panic", fam, i)
					}
				}()
				c()
			}()
		}
		// The exact fit does not panic.
		k(make([]float32, 11), 4, make([]float32, 11), 4, 3, make([]float32, 3), make([]float64, 3))
	}
}
