package gather

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// stripCase is a random StripRows call: strips that do not overlap in
// dst, masks that clear the lanes whose source lies outside src (which
// the kernels must then not read), and a src that ends at the last value
// read.
type stripCase[T Float] struct {
	dst, src, shift []T
	sums            []float64
	masks           []uint16
	strips          []Strip
	ldd, delta      int
	step, n         int
}

func newStripCase[T Float](rng *rand.Rand) stripCase[T] {
	var c stripCase[T]
	c.n = 1 + rng.IntN(60)
	switch rng.IntN(8) {
	case 0:
		c.n = 1 + rng.IntN(3)
	case 1:
		// Several of the kernels' blocks of 64 windows, a partial last one.
		c.n = 65 + rng.IntN(150)
	case 2:
		c.n = 64 << rng.IntN(2) // whole blocks only
	}
	c.step = 1 + rng.IntN(5)
	nStrips := 1 + rng.IntN(12)
	width := 0 // lanes of a dst row, strips side by side with gaps
	cols := 0
	c.delta = rng.IntN(20)
	srcLen := 40 + c.n*c.step
	c.masks = make([]uint16, 0, nStrips*c.n)
	for range nStrips {
		lanes := 1 + rng.IntN(MaxStripLanes)
		s := Strip{Src: rng.IntN(srcLen) - 10 - c.delta, Dst: width + rng.IntN(3), Col: cols, Lanes: lanes, Masks: len(c.masks)}
		if rng.IntN(3) == 0 && len(c.strips) > 0 {
			s.Masks = c.strips[len(c.strips)-1].Masks // a shared mask sequence
			s.Src = c.strips[len(c.strips)-1].Src
		}
		if s.Masks == len(c.masks) {
			for j := 0; j < c.n; j++ {
				var m uint16
				for u := 0; u < lanes; u++ {
					at := c.delta + s.Src + j*c.step + u
					if at >= 0 && at < srcLen && rng.IntN(5) != 0 {
						m |= 1 << u
					}
				}
				if rng.IntN(8) == 0 {
					m = 0 // a row outside the image
				}
				c.masks = append(c.masks, m)
			}
		}
		width = s.Dst + lanes
		cols += lanes
		c.strips = append(c.strips, s)
	}
	c.ldd = width + rng.IntN(4)
	c.dst = make([]T, (c.n-1)*c.ldd+width)
	for i := range c.dst {
		c.dst[i] = T(math.NaN())
	}
	// src ends at the last value any set bit reads.
	last := 0
	for _, s := range c.strips {
		for j := 0; j < c.n; j++ {
			for u := 0; u < s.Lanes; u++ {
				if c.masks[s.Masks+j]>>u&1 != 0 {
					last = max(last, c.delta+s.Src+j*c.step+u)
				}
			}
		}
	}
	c.src = make([]T, last+1)
	for i := range c.src {
		c.src[i] = T(rng.Float64()*8 - 4)
	}
	c.shift = make([]T, cols)
	for i := range c.shift {
		c.shift[i] = T(rng.Float64()*2 - 1)
	}
	c.sums = make([]float64, 8*len(c.strips))
	for i := range c.sums {
		c.sums[i] = rng.Float64()
	}
	return c
}

func testStripRows[T Float](t *testing.T, fam isa.Family) {
	rng := rand.New(rand.NewPCG(5, uint64(fam)))
	k := StripRowsFor[T](fam)
	for trial := 0; trial < 300; trial++ {
		c := newStripCase[T](rng)
		want := append([]float64(nil), c.sums...)
		wantDst := append([]T(nil), c.dst...)
		for k, s := range c.strips {
			for j := 0; j < c.n; j++ {
				for u := 0; u < s.Lanes; u++ {
					var x T
					if c.masks[s.Masks+j]>>u&1 != 0 {
						x = c.src[c.delta+s.Src+j*c.step+u]
					}
					v := x - c.shift[s.Col+u]
					wantDst[s.Dst+j*c.ldd+u] = v
					want[8*k+u] += float64(v)
				}
			}
		}
		k(c.dst, c.ldd, c.src, c.delta, c.step, c.n, c.strips, c.masks, c.shift, c.sums)
		name := fmt.Sprintf("%v %T trial %d n=%d step=%d strips=%d", fam, c.src[0], trial, c.n, c.step, len(c.strips))
		for i, w := range wantDst {
			got := c.dst[i]
			if got != w && !(math.IsNaN(float64(w)) && math.IsNaN(float64(got))) {
				t.Fatalf("%s: dst[%d] = %v, want %v", name, i, got, w)
			}
		}
		// Sums of about n values of order one, added in another order.
		tol := 1e-13 * float64(c.n)
		if _, ok := any(c.src[0]).(float32); ok {
			tol = 5 * float64(c.n) * 1e-6
		}
		for u := range want {
			// Lanes past a strip's own get exactly nothing.
			if math.Abs(c.sums[u]-want[u]) > tol || (u%8 >= c.strips[u/8].Lanes && c.sums[u] != want[u]) {
				t.Fatalf("%s: sums[%d] = %v, want %v", name, u, c.sums[u], want[u])
			}
		}
	}
}

// TestStripRows checks every family's strip kernel against the definition:
// random strips side by side with gaps (NaN, which must stay untouched),
// masks that clear lanes whose source lies outside src, shared mask
// sequences, rows masked off whole, and a src that ends at the last value
// read.
func TestStripRows(t *testing.T) {
	for _, fam := range isa.Available() {
		t.Run(fam.String(), func(t *testing.T) {
			testStripRows[float32](t, fam)
			testStripRows[float64](t, fam)
		})
	}
}

func TestStripRowsOutOfRangePanics(t *testing.T) {
	for _, fam := range isa.Available() {
		k := StripRowsFor[float32](fam)
		ok := []Strip{{Src: 0, Dst: 0, Col: 0, Lanes: 3, Masks: 0}}
		m := []uint16{7, 7, 7}
		call := func(dst, src []float32, strips []Strip, masks []uint16, sums []float64) {
			k(dst, 4, src, 0, 4, 3, strips, masks, make([]float32, 3), sums)
		}
		cases := []func(){
			func() { call(make([]float32, 10), make([]float32, 11), ok, m, make([]float64, 8)) },     // dst short
			func() { call(make([]float32, 11), make([]float32, 10), ok, m, make([]float64, 8)) },     // src short
			func() { call(make([]float32, 11), make([]float32, 11), ok, m, make([]float64, 7)) },     // sum short
			func() { call(make([]float32, 11), make([]float32, 11), ok, m[:2], make([]float64, 8)) }, // masks short
			func() {
				call(make([]float32, 11), make([]float32, 11), []Strip{{Src: -1, Lanes: 3}}, m, make([]float64, 8))
			}, // reads before src
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
		// The exact fit does not panic, nor a masked-off lane before src.
		call(make([]float32, 11), make([]float32, 11), ok, m, make([]float64, 8))
		call(make([]float32, 11), make([]float32, 11), []Strip{{Src: -1, Lanes: 3}}, []uint16{6, 6, 6}, make([]float64, 8))
	}
}
