package gemm

import (
	"math/rand/v2"
	"testing"
)

// TestPackStrided checks the strided packer element by element against
// its definition, for panel widths and row counts that exercise the
// eight-row, four-row and single-row loops and the zero padding.
func TestPackStrided(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		w := []int{4, 6, 8, 12, 16, 32}[rng.IntN(6)]
		ni, np := 1+rng.IntN(40), 1+rng.IntN(30)
		i0, p0 := rng.IntN(5), rng.IntN(5)
		ld := p0 + np + rng.IntN(4)
		src := make([]float32, (i0+ni)*ld)
		for i := range src {
			src[i] = rng.Float32()
		}
		nq := (ni + w - 1) / w
		dst := make([]float32, nq*np*w)
		for i := range dst {
			dst[i] = -1 // every element is written
		}
		packStrided(dst, src, ld, i0, ni, p0, np, w)
		for q := 0; q < nq; q++ {
			for p := 0; p < np; p++ {
				for i := 0; i < w; i++ {
					var want float32
					if q*w+i < ni {
						want = src[(i0+q*w+i)*ld+p0+p]
					}
					if got := dst[q*np*w+p*w+i]; got != want {
						t.Fatalf("w %d ni %d np %d: dst[%d][%d][%d] = %g, want %g", w, ni, np, q, p, i, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkPackStrided packs a 576×256 block of a row-major matrix into
// 32-wide panels, the transposed operand of the convolution's dW product.
func BenchmarkPackStrided(b *testing.B) {
	const ni, np, w, ld = 576, 256, 32, 1040
	src := make([]float32, ni*ld)
	dst := make([]float32, (ni+w-1)/w*np*w)
	b.SetBytes(int64(ni * np * 4))
	for i := 0; i < b.N; i++ {
		packStrided(dst, src, ld, 0, ni, 0, np, w)
	}
}
