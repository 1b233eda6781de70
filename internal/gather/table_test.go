package gather

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
)

// randomOffsets returns n offsets into a plane of planeLen, about a third
// of them negative (padding); with runs true they come in short strided
// runs, as an im2col plane's do, otherwise anywhere.
func randomOffsets(rng *rand.Rand, n, planeLen int, runs bool) []int32 {
	idx := make([]int32, n)
	o, step := 0, 1
	for i := range idx {
		if runs {
			if rng.IntN(6) == 0 {
				o, step = rng.IntN(planeLen), 1+rng.IntN(4)
			}
			o = (o + step) % planeLen
			idx[i] = int32(o)
		} else {
			idx[i] = int32(rng.IntN(planeLen))
		}
		if rng.IntN(3) == 0 {
			idx[i] = -1 - int32(rng.IntN(3))
		}
	}
	return idx
}

// testTable checks every family's table gather against the loop of its
// contract, over table lengths around the vector widths, plane sizes and
// plane counts, with guards around dst and src (a window hanging over
// the plane's end must not read the neighbour, which the guards' NaNs
// would show).
func testTable[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, fam := range isa.Available() {
		k := TableFor[T](fam)
		for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 36, 100, 324} {
			for _, planeLen := range []int{1, 2, 7, 16, 17, 36, 256, 1000} {
				for _, planes := range []int{0, 1, 2, 5} {
					for _, runs := range []bool{false, true} {
						idx := randomOffsets(rng, n, planeLen, runs)
						tab, err := NewTable(idx, planeLen)
						if err != nil {
							t.Fatal(err)
						}
						src, _ := guarded[T](planes * planeLen)
						for i := range src {
							src[i] = T(rng.NormFloat64())
						}
						dst, whole := guarded[T](planes * n)
						for i := range dst {
							dst[i] = T(rng.NormFloat64()) // every element must be overwritten
						}
						k(dst, src, tab)
						for p := range planes {
							for i := range n {
								var want T
								if idx[i] >= 0 {
									want = src[p*planeLen+int(idx[i])]
								}
								if got := dst[p*n+i]; got != want {
									t.Fatalf("%v n=%d planeLen=%d planes=%d runs=%v: dst[%d][%d] = %v, want %v", fam, n, planeLen, planes, runs, p, i, got, want)
								}
							}
						}
						checkGuards(t, whole, planes*n, "table")
					}
				}
			}
		}
	}
}

func TestTable(t *testing.T) {
	t.Run("float32", testTable[float32])
	t.Run("float64", testTable[float64])
}

// TestTableProgramSize checks that the compiled program of an im2col
// plane (16×16, 3×3, padding 1, sampling stride 3) needs few entries per
// vector: the reason it beats a hardware gather.
func TestTableProgramSize(t *testing.T) {
	var idx []int32
	for ki := range 3 {
		for kj := range 3 {
			for oh := range 6 {
				for ow := range 6 {
					h, w := oh*3+ki-1, ow*3+kj-1
					o := int32(-1)
					if h >= 0 && h < 16 && w >= 0 && w < 16 {
						o = int32(h*16 + w)
					}
					idx = append(idx, o)
				}
			}
		}
	}
	tab, err := NewTable(idx, 256)
	if err != nil {
		t.Fatal(err)
	}
	for s, p := range tab.progs {
		if per := float64(len(p.prog)) / float64(len(p.counts)); per > 3.5 {
			t.Errorf("element size %d: %.2f entries per vector", 4<<s, per)
		}
	}
}

// TestNewTableErrors checks the table's validation.
func TestNewTableErrors(t *testing.T) {
	for name, c := range map[string]struct {
		idx      []int32
		planeLen int
	}{
		"empty":          {nil, 4},
		"entry too high": {[]int32{0, 4}, 4},
		"empty plane":    {[]int32{-1}, 0},
		"too long":       {make([]int32, MaxTableLen+1), 4},
	} {
		if _, err := NewTable(c.idx, c.planeLen); !errors.Is(err, errs.ErrShape) {
			t.Errorf("%s: %v, want ErrShape", name, err)
		}
	}
}

// TestTableContract checks that calls with slices that do not fit the
// table panic before writing, on every family.
func TestTableContract(t *testing.T) {
	tab, err := NewTable([]int32{0, 3, -1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range isa.Available() {
		k := TableFor[float32](fam)
		for name, c := range map[string]struct{ dst, src int }{
			"dst not whole planes": {5, 8},
			"short source":         {6, 7},
		} {
			dst, src := make([]float32, c.dst), make([]float32, c.src)
			for i := range dst {
				dst[i] = 7
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%v %s: no panic", fam, name)
					}
				}()
				k(dst, src, tab)
			}()
			for i, v := range dst {
				if v != 7 {
					t.Fatalf("%v %s: dst[%d] written before the panic", fam, name, i)
				}
			}
		}
	}
}

// TestTableAllocs checks that looking a table gather up and running it
// allocate nothing.
func TestTableAllocs(t *testing.T) {
	tab, err := NewTable(randomOffsets(rand.New(rand.NewPCG(1, 2)), 40, 64, true), 64)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := make([]float32, 3*64), make([]float32, 3*40)
	for _, fam := range isa.Available() {
		if a := testing.AllocsPerRun(10, func() { TableFor[float32](fam)(dst, src, tab) }); a != 0 {
			t.Errorf("%v: %v allocations", fam, a)
		}
	}
}

// BenchmarkTable times the table gather of a 16×16 image's 3×3 patches
// at sampling stride 3 (324 outputs per plane) over 64 planes.
func BenchmarkTable(b *testing.B) {
	const planeLen, planes = 256, 64
	var idx []int32
	for tap := range 9 {
		for pos := range 36 {
			h, w := pos/6*3+tap/3-1, pos%6*3+tap%3-1
			o := int32(-1)
			if h >= 0 && h < 16 && w >= 0 && w < 16 {
				o = int32(h*16 + w)
			}
			idx = append(idx, o)
		}
	}
	tab, err := NewTable(idx, planeLen)
	if err != nil {
		b.Fatal(err)
	}
	src, dst := make([]float32, planes*planeLen), make([]float32, planes*len(idx))
	for _, fam := range isa.Available() {
		k := TableFor[float32](fam)
		b.Run(fam.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(dst)))
			for range b.N {
				k(dst, src, tab)
			}
		})
	}
}
