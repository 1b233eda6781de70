package gather

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

const guard = -12345

// guarded returns a slice of n elements inside a buffer whose surrounding
// elements hold guard, so a kernel writing outside its slice shows.
func guarded[T Float](n int) (inner, whole []T) {
	whole = make([]T, n+64)
	for i := range whole {
		whole[i] = guard
	}
	return whole[32 : 32+n : 32+n], whole
}

func checkGuards[T Float](t *testing.T, whole []T, n int, what string) {
	t.Helper()
	for i := range 32 {
		if whole[i] != guard || whole[32+n+i] != guard {
			t.Fatalf("%s wrote outside its slice", what)
		}
	}
}

func testStrided[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, fam := range isa.Available() {
		k := StridedFor[T](fam)
		for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 43, 64, 100, 1000} {
			for _, step := range []int{1, 2, 3, 4, 5, 7, 8, 16, 17, 100} {
				src := make([]T, max(0, (n-1)*step+1)+rng.IntN(3))
				for i := range src {
					src[i] = T(rng.NormFloat64())
				}
				dst, whole := guarded[T](n)
				k(dst, src, step)
				for i := range dst {
					if dst[i] != src[i*step] {
						t.Fatalf("%v n=%d step=%d: dst[%d] = %v, want %v", fam, n, step, i, dst[i], src[i*step])
					}
				}
				checkGuards(t, whole, n, "strided")
			}
		}
	}
}

func TestStrided(t *testing.T) {
	t.Run("float32", testStrided[float32])
	t.Run("float64", testStrided[float64])
}

// testStrided2D checks every family's two-dimensional gather, with source
// slices cut to end exactly at the last element read, so the kernels' path
// for rows whose vector window would run past the slice is exercised.
func testStrided2D[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, fam := range isa.Available() {
		k := Strided2DFor[T](fam)
		for trial := 0; trial < 400; trial++ {
			rows, n, step := 1+rng.IntN(6), 1+rng.IntN(70), 1+rng.IntN(9)
			ldd := n + rng.IntN(5)
			lds := (n-1)*step + 1 + rng.IntN(20)
			src := make([]T, (rows-1)*lds+(n-1)*step+1)
			for i := range src {
				src[i] = T(rng.NormFloat64())
			}
			dst, whole := guarded[T]((rows-1)*ldd + n)
			k(dst, ldd, src, lds, rows, n, step)
			for r := 0; r < rows; r++ {
				for i := 0; i < n; i++ {
					if dst[r*ldd+i] != src[r*lds+i*step] {
						t.Fatalf("%v rows=%d n=%d step=%d: dst[%d][%d] wrong", fam, rows, n, step, r, i)
					}
				}
				for i := n; i < ldd && r < rows-1; i++ {
					if dst[r*ldd+i] != guard {
						t.Fatalf("%v rows=%d n=%d step=%d: wrote between rows", fam, rows, n, step)
					}
				}
			}
			checkGuards(t, whole, (rows-1)*ldd+n, "strided2D")
		}
	}
}

func TestStrided2D(t *testing.T) {
	t.Run("float32", testStrided2D[float32])
	t.Run("float64", testStrided2D[float64])
}

func TestStrided2DOutOfRangePanics(t *testing.T) {
	for _, fam := range isa.Available() {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v: a gather past its source did not panic", fam)
				}
			}()
			Strided2DFor[float32](fam)(make([]float32, 64), 16, make([]float32, 100), 30, 4, 16, 3)
		}()
	}
}

func TestAddStrided(t *testing.T) {
	for _, n := range []int{0, 1, 5, 33} {
		for _, step := range []int{1, 2, 3} {
			src := make([]float64, n)
			for i := range src {
				src[i] = float64(i + 1)
			}
			dst := make([]float64, max(0, (n-1)*step+1))
			for i := range dst {
				dst[i] = 0.5
			}
			AddStrided(dst, src, step)
			for i := range dst {
				want := 0.5
				if i%step == 0 {
					want += float64(i/step + 1)
				}
				if dst[i] != want {
					t.Fatalf("n=%d step=%d: dst[%d] = %v, want %v", n, step, i, dst[i], want)
				}
			}
		}
	}
}

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, rows := range []int{1, 2, 31, 32, 33, 70} {
		for _, cols := range []int{1, 3, 32, 65} {
			lds, ldd := cols+rng.IntN(3), rows+rng.IntN(3)
			src := make([]float32, (rows-1)*lds+cols)
			for i := range src {
				src[i] = rng.Float32()
			}
			dst := make([]float32, (cols-1)*ldd+rows)
			Transpose(dst, ldd, src, lds, rows, cols)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					if dst[j*ldd+i] != src[i*lds+j] {
						t.Fatalf("%d×%d: dst[%d][%d] wrong", rows, cols, j, i)
					}
				}
			}
		}
	}
}

func testStreamCopy[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, fam := range isa.Available() {
		k := StreamCopyFor[T](fam)
		if k == nil {
			if fam != isa.Generic {
				t.Errorf("%v has no streaming copy", fam)
			}
			continue
		}
		for _, n := range []int{0, 1, 100, 511, 512, 513, 1000, 4096, 10007} {
			for off := 0; off < 3; off++ { // misaligned destinations
				src := make([]T, n)
				for i := range src {
					src[i] = T(rng.NormFloat64())
				}
				dst, whole := guarded[T](n + off)
				k(dst[off:], src)
				for i := range src {
					if dst[off+i] != src[i] {
						t.Fatalf("%v n=%d off=%d: element %d wrong", fam, n, off, i)
					}
				}
				checkGuards(t, whole, n+off, "stream copy")
			}
		}
	}
}

func TestStreamCopy(t *testing.T) {
	t.Run("float32", testStreamCopy[float32])
	t.Run("float64", testStreamCopy[float64])
}

func testFinite[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	inf := T(math.Inf(1))
	for _, fam := range isa.Available() {
		k := FiniteFor[T](fam)
		for _, n := range []int{0, 1, 7, 16, 63, 64, 65, 128, 1000} {
			s := make([]T, n)
			for i := range s {
				s[i] = T(rng.NormFloat64() * 1e30)
			}
			if !k(s) {
				t.Fatalf("%v n=%d: finite values reported non-finite", fam, n)
			}
			for _, bad := range []T{inf, -inf, T(math.NaN())} {
				for _, at := range []int{0, n / 2, n - 1} {
					if n == 0 {
						continue
					}
					old := s[at]
					s[at] = bad
					if k(s) {
						t.Fatalf("%v n=%d: %v at %d not detected", fam, n, bad, at)
					}
					s[at] = old
				}
			}
		}
	}
}

func TestFinite(t *testing.T) {
	t.Run("float32", testFinite[float32])
	t.Run("float64", testFinite[float64])
}
