package winograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// TestGatherInput: on every family this machine runs, GatherInput either
// reports that it has no kernel and leaves dst as it was, or (for
// float32, α = 6, m = 4 and AVX-512, where it must) writes, for many image
// sizes, paddings and spans of tile rows, exactly the tiles of the span:
// Bᵀ·d·B of the α×α input tiles (zero in the padding) by naiveInput; and
// it reports the input finite exactly when no NaN or ±Inf lies in the
// input rows the span's tiles read.
func TestGatherInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	tiles := []*Tile{F43, mustNew(4, 3, []float64{0, 1, -1, 0.5, -3}), F23, F63, alpha6Tiles[1]}
	for _, fam := range isa.Available() {
		for _, tl := range tiles {
			want := tl.Alpha == 6 && tl.M == 4 && fam >= isa.AVX512 && isa.Supported(fam)
			if HasGatherInput[float32](fam, tl) != want || HasGatherInput[float64](fam, tl) {
				t.Fatalf("%v F(%d,%d): HasGatherInput disagrees", fam, tl.M, tl.R)
			}
			for trial := 0; trial < 60; trial++ {
				if got := checkGatherInput(t, rng, fam, tl); got != want {
					t.Fatalf("%v F(%d,%d): kernel used %v, want %v", fam, tl.M, tl.R, got, want)
				}
			}
		}
	}
}

// checkGatherInput runs GatherInput on one random shape and checks it; it
// reports whether the kernel ran.
func checkGatherInput(t *testing.T, rng *rand.Rand, fam isa.Family, tl *Tile) bool {
	t.Helper()
	m, a := tl.M, tl.Alpha
	n, c := 1+rng.IntN(2), 1+rng.IntN(3)
	padH, padW := rng.IntN(3), rng.IntN(3)
	h := max(1, tl.R-2*padH) + rng.IntN(30)
	w := max(1, tl.R-2*padW) + rng.IntN(80)
	switch rng.IntN(6) {
	case 0:
		w = 4*16*(1+rng.IntN(4)) + 2 - 2*padW // whole vectors of tiles
	case 1:
		w += 4 * 16 * (1 + rng.IntN(4)) // 2 to 5 vectors of tiles a row
	}
	oh, ow := h+2*padH-tl.R+1, w+2*padW-tl.R+1
	th, tw := Tiles(tl, oh, ow)
	rows := n * th
	row0 := rng.IntN(rows)
	row1 := row0 + 1 + rng.IntN(rows-row0)
	nt := (row1 - row0) * tw
	ld := nt + rng.IntN(20)
	rs := c*ld + rng.IntN(9)
	x := make([]float32, n*c*h*w)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	// One value in three trials is NaN or ±Inf, inside the rows the span
	// reads or not.
	wantFinite := true
	if rng.IntN(3) == 0 {
		i := rng.IntN(len(x))
		x[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[rng.IntN(3)]
		img, iy := i/(c*h*w), i/w%h
		for row := row0; row < row1; row++ {
			if lo := row%th*m - padH; row/th == img && iy >= lo && iy < lo+a {
				wantFinite = false
			}
		}
	}
	dst := make([]float32, (a*a-1)*rs+c*ld+rng.IntN(3))
	for i := range dst {
		dst[i] = float32(math.NaN())
	}
	before := append([]float32(nil), dst...)
	band := make([]float32, BandLen(tl, tw))
	done, finite := GatherInput(fam, tl, dst, rs, ld, x, c, h, w, padH, padW, th, tw, row0, row1, band)
	if !done {
		for i := range dst {
			if math.Float32bits(dst[i]) != math.Float32bits(before[i]) {
				t.Fatalf("%v: no kernel, but dst[%d] changed", fam, i)
			}
		}
		return false
	}
	if finite != wantFinite {
		t.Fatalf("%v n=%d c=%d h=%d w=%d pad=%d,%d rows [%d,%d): finite %v, want %v", fam, n, c, h, w, padH, padW, row0, row1, finite, wantFinite)
	}
	if !wantFinite {
		return true // the transformed values are not defined
	}
	covered := make([]bool, len(dst))
	d := make([]float64, a*a)
	for ci := 0; ci < c; ci++ {
		for row := row0; row < row1; row++ {
			img, ty := row/th, row%th
			for tx := 0; tx < tw; tx++ {
				for u := 0; u < a; u++ {
					for v := 0; v < a; v++ {
						iy, ix := ty*m-padH+u, tx*m-padW+v
						d[u*a+v] = 0
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							d[u*a+v] = float64(x[((img*c+ci)*h+iy)*w+ix])
						}
					}
				}
				want, scale := naiveInput(tl, d)
				col := ci*ld + (row-row0)*tw + tx
				for k := range want {
					got := float64(dst[k*rs+col])
					covered[k*rs+col] = true
					if math.Abs(got-want[k]) > 1e-6*scale[k]+1e-30 {
						t.Fatalf("%v n=%d c=%d h=%d w=%d pad=%d,%d rows [%d,%d) ld=%d rs=%d: channel %d row %d tile %d position %d: %v, want %v",
							fam, n, c, h, w, padH, padW, row0, row1, ld, rs, ci, row, tx, k, got, want[k])
					}
				}
			}
		}
	}
	for i := range dst {
		if !covered[i] && math.Float32bits(dst[i]) != math.Float32bits(before[i]) {
			t.Fatalf("%v c=%d tw=%d rows [%d,%d) ld=%d rs=%d: dst[%d] outside the tiles changed", fam, c, tw, row0, row1, ld, rs, i)
		}
	}
	return true
}
