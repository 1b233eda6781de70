package isqrt

import (
	"math"

	"github.com/netdeconv/deconv/internal/gemm"
)

// engine holds the GEMM entry points for one element type, looked up once
// per plan so the iterations call them without a type switch.
type engine[T Float] struct {
	gemm func(tA, tB gemm.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error
	syrk func(uplo gemm.Uplo, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) error
}

func engineFor[T Float]() engine[T] {
	var z T
	switch any(z).(type) {
	case float32:
		return any(engine[float32]{gemm: gemm.Sgemm, syrk: gemm.Ssyrk}).(engine[T])
	default:
		return any(engine[float64]{gemm: gemm.Dgemm, syrk: gemm.Dsyrk}).(engine[T])
	}
}

// mul sets C = A·B for n×n row-major matrices, every element computed.
func (e *engine[T]) mul(n int, alpha T, a, b []T, c []T) error {
	return e.gemm(gemm.NoTrans, gemm.NoTrans, n, n, n, alpha, a, n, b, n, 0, c, n)
}

// symBlock is the height of the block rows into which symMul cuts the upper
// triangle: small enough that the squares computed whole on the diagonal
// waste little (the work is n²(1 + symBlock/n)/2 instead of n²/2 per
// column of depth), large enough that each block is an efficient product
// and the right operand is not packed too often. A multiple of the
// micro-kernels' row counts (12 and 6).
const symBlock = 96

// symMul sets C = α·A·B for n×n matrices A and B whose product is
// symmetric in exact arithmetic (polynomials in the same matrix, such as
// the Newton–Schulz iterates): it computes the upper triangle only, as
// products of block rows C[i0:i1, i0:n] = α·A[i0:i1, :]·B[:, i0:n], and
// mirrors it into the lower one, so C is exactly symmetric.
//
// Each element of the upper triangle is the same dot product, with the
// same rounding, as in the full product; the lower triangle takes the
// mirrored values instead of its own rounding errors. The result is thus
// within the usual bound |fl(AB) − AB| ≤ γ_n·|A|·|B| elementwise, and the
// rounding errors are symmetric, so they stay in the space of symmetric
// matrices in which the iteration is stable.
func (e *engine[T]) symMul(n int, alpha T, a, b, c []T) error {
	if err := e.upperMul(n, alpha, a, b, c); err != nil {
		return err
	}
	mirrorUpper(n, c)
	return nil
}

// upperMul is symMul without the mirroring: it leaves the strict lower
// triangle of C undefined.
func (e *engine[T]) upperMul(n int, alpha T, a, b, c []T) error {
	if n <= 2*symBlock {
		// Too small for the triangle to pay for the extra calls.
		return e.mul(n, alpha, a, b, c)
	}
	// Equal blocks, rounded up to a multiple of 12 rows.
	nb := (n + symBlock - 1) / symBlock
	bs := ((n+nb-1)/nb + 11) / 12 * 12
	for i0 := 0; i0 < n; i0 += bs {
		i1 := min(n, i0+bs)
		if err := e.gemm(gemm.NoTrans, gemm.NoTrans, i1-i0, n-i0, n, alpha, a[i0*n:], n, b[i0:], n, 0, c[i0*n+i0:], n); err != nil {
			return err
		}
	}
	return nil
}

// mirrorTile is the side of the square tiles in which mirrorUpper works,
// so that the rows written and the source rows read stay in L1.
const mirrorTile = 64

// mirrorUpper copies the strict upper triangle of the n×n matrix c into the
// strict lower one: c[i][j] = c[j][i] for i > j. Eight destination rows
// are written together from one contiguous read of eight source elements,
// which is about twice as fast as a plain element-by-element transpose.
func mirrorUpper[T Float](n int, c []T) {
	for i0 := 0; i0 < n; i0 += mirrorTile {
		i1 := min(n, i0+mirrorTile)
		for j0 := 0; j0 < i1; j0 += mirrorTile {
			j1 := min(i1, j0+mirrorTile)
			i := i0
			for ; i+8 <= i1; i += 8 {
				r0 := c[i*n : i*n+n]
				r1 := c[(i+1)*n : (i+1)*n+n]
				r2 := c[(i+2)*n : (i+2)*n+n]
				r3 := c[(i+3)*n : (i+3)*n+n]
				r4 := c[(i+4)*n : (i+4)*n+n]
				r5 := c[(i+5)*n : (i+5)*n+n]
				r6 := c[(i+6)*n : (i+6)*n+n]
				r7 := c[(i+7)*n : (i+7)*n+n]
				for j := j0; j < min(j1, i); j++ {
					s := c[j*n+i : j*n+i+8]
					r0[j], r1[j], r2[j], r3[j] = s[0], s[1], s[2], s[3]
					r4[j], r5[j], r6[j], r7[j] = s[4], s[5], s[6], s[7]
				}
				// The triangle inside the eight rows.
				for r := 1; r < 8; r++ {
					for j := max(j0, i); j < min(j1, i+r); j++ {
						c[(i+r)*n+j] = c[j*n+i+r]
					}
				}
			}
			for ; i < i1; i++ {
				for j := j0; j < min(j1, i); j++ {
					c[i*n+j] = c[j*n+i]
				}
			}
		}
	}
}

// identityResidual returns ‖P − I‖_F for the n×n matrix p, accumulated in
// float64.
func identityResidual[T Float](n int, p []T) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		row := p[i*n : i*n+n]
		d := float64(row[i]) - 1
		s += d*d + sumSquares(row[:i]) + sumSquares(row[i+1:])
	}
	return math.Sqrt(s)
}

// sumSquares returns Σ x_i² in float64, in four independent sums so that
// the additions do not wait on each other.
func sumSquares[T Float](x []T) float64 {
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		a, b, c, d := float64(x[j]), float64(x[j+1]), float64(x[j+2]), float64(x[j+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; j < len(x); j++ {
		s0 += float64(x[j]) * float64(x[j])
	}
	return (s0 + s1) + (s2 + s3)
}

// threeHalvesMinusHalf overwrites p with ½(3I − P).
func threeHalvesMinusHalf[T Float](n int, p []T) {
	for i := 0; i < n; i++ {
		row := p[i*n : i*n+n]
		for j := range row {
			row[j] *= -0.5
		}
		row[i] += 1.5
	}
}

// upperResidualToT reads the upper triangle of the symmetric matrix P,
// overwrites it with that of T = ½(3I − P), and returns ‖P − I‖_F: one
// pass over half the matrix where identityResidual and
// threeHalvesMinusHalf make two over all of it. The lower triangle is
// neither read nor written.
func upperResidualToT[T Float](n int, p []T) float64 {
	diag, off := 0.0, 0.0
	for i := 0; i < n; i++ {
		row := p[i*n+i : i*n+n]
		d := float64(row[0]) - 1
		diag += d * d
		off += sumSquares(row[1:])
		for j := range row {
			row[j] *= -0.5
		}
		row[0] += 1.5
	}
	return math.Sqrt(diag + 2*off)
}

// setIdentity writes the n×n identity into z.
func setIdentity[T Float](n int, z []T) {
	clear(z[:n*n])
	for i := 0; i < n; i++ {
		z[i*n+i] = 1
	}
}
