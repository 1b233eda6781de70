package winograd

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv/internal/errs"
)

// Tile is one algorithm F(m×m, r×r): its sizes, interpolation points and
// transform matrices. Build it with New; a Tile is immutable.
type Tile struct {
	M, R, Alpha int       // output tile, kernel and input tile sides (α = m+r−1)
	Points      []float64 // the α−1 finite interpolation points (the last is ∞)

	AT [][]float64 // Aᵀ, m×α: output transform
	G  [][]float64 // G, α×r: filter transform (carries the 1/Π(pⱼ−pₗ) factors)
	BT [][]float64 // Bᵀ, α×α: input transform (integer when the points are)

	in64, out64 []float64 // Bᵀ⊗Bᵀ (α²×α²) and Aᵀ⊗Aᵀ (m²×α²), row-major
	in32, out32 []float32
}

// New builds F(m×m, r×r) on the given α−1 = m+r−2 distinct finite
// points (the point at infinity is implied). It returns errs.ErrParam for
// sizes below 1 or points that are not distinct and finite.
//
// The construction is Toom–Cook's, transposed. Linear convolution of a
// (m coefficients) with g (r coefficients) evaluates both at the points,
// multiplies, and interpolates c = a·g (α coefficients) with the Lagrange
// polynomials Lⱼ(x) = Πₗ≠ⱼ (x−pₗ)/fⱼ, fⱼ = Πₗ≠ⱼ (pⱼ−pₗ), plus the leading
// coefficient times M(x) = Πₗ (x−pₗ) for the point at infinity.
// Correlation y = Conv_gᵀ·d is that map transposed, which gives
//
//	Aᵀ[i][j] = pⱼ^i          (∞ column: 1 in the last row)
//	G[j][k]  = pⱼ^k / fⱼ     (∞ row: 1 in the last column)
//	Bᵀ[j][s] = [x^s] Πₗ≠ⱼ (x−pₗ)   (∞ row: [x^s] M(x))
func New(m, r int, points []float64) (*Tile, error) {
	alpha := m + r - 1
	if m < 1 || r < 1 || len(points) != alpha-1 {
		return nil, fmt.Errorf("%w: winograd: F(%d,%d) needs %d points, got %d", errs.ErrParam, m, r, alpha-1, len(points))
	}
	for i, p := range points {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("%w: winograd: point %v", errs.ErrParam, p)
		}
		for _, q := range points[:i] {
			if p == q {
				return nil, fmt.Errorf("%w: winograd: point %v repeated", errs.ErrParam, p)
			}
		}
	}
	t := &Tile{M: m, R: r, Alpha: alpha, Points: append([]float64(nil), points...)}
	n := alpha - 1 // finite points
	t.AT = matrix(m, alpha)
	t.G = matrix(alpha, r)
	t.BT = matrix(alpha, alpha)
	for j, p := range points {
		for i := 0; i < m; i++ {
			t.AT[i][j] = math.Pow(p, float64(i))
		}
		f := 1.0
		others := make([]float64, 0, n-1)
		for l, q := range points {
			if l != j {
				f *= p - q
				others = append(others, q)
			}
		}
		for k := 0; k < r; k++ {
			t.G[j][k] = math.Pow(p, float64(k)) / f
		}
		copy(t.BT[j], polyFromRoots(others))
	}
	t.AT[m-1][alpha-1] = 1
	t.G[alpha-1][r-1] = 1
	copy(t.BT[alpha-1], polyFromRoots(points))

	a2 := alpha * alpha
	t.in64 = make([]float64, a2*a2)
	for a := 0; a < alpha; a++ {
		for b := 0; b < alpha; b++ {
			for u := 0; u < alpha; u++ {
				for v := 0; v < alpha; v++ {
					t.in64[(a*alpha+b)*a2+u*alpha+v] = t.BT[a][u] * t.BT[b][v]
				}
			}
		}
	}
	t.out64 = make([]float64, OutputRows(t)*a2) // rows past m² stay zero
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			for a := 0; a < alpha; a++ {
				for b := 0; b < alpha; b++ {
					t.out64[(i*m+j)*a2+a*alpha+b] = t.AT[i][a] * t.AT[j][b]
				}
			}
		}
	}
	t.in32, t.out32 = to32(t.in64), to32(t.out64)
	return t, nil
}

// F43 is F(4×4, 3×3) on the points 0, ±1, ±2: 36 multiplications per 16
// outputs instead of 144. Integer points keep Bᵀ and Aᵀ integer, so the
// input transform of integer-valued data is exact, and they keep float32
// results within about 2e-6 of the exact convolution (package fold's
// tests measure F(2,3), F(4,3) and F(6,3)).
var F43 = mustNew(4, 3, []float64{0, 1, -1, 2, -2})

// F23 and F63 are the neighbours of F43, kept for the accuracy study of
// the tile size: F(2×2, 3×3) on 0, ±1 and F(6×6, 3×3) on 0, ±1, ±2, ±½.
var (
	F23 = mustNew(2, 3, []float64{0, 1, -1})
	F63 = mustNew(6, 3, []float64{0, 1, -1, 2, -2, 0.5, -0.5})
)

func mustNew(m, r int, points []float64) *Tile {
	t, err := New(m, r, points)
	if err != nil {
		panic(err)
	}
	return t
}

// InputMatrix returns Bᵀ⊗Bᵀ (α²×α², row-major): row a·α+b maps an input
// tile d (flattened row-major) to the transformed value V[a][b].
// The slice is shared and must not be modified.
func InputMatrix[T Float](t *Tile) []T { return pick[T](t.in32, t.in64) }

// OutputMatrix returns Aᵀ⊗Aᵀ (m²×α², row-major) followed by zero rows up
// to OutputRows: row i·m+j maps the α² products of a tile to the output
// Y[i][j]. The zero rows make the row count a multiple of 12, so a GEMM
// by the micro-kernels' panels of 4, 6 or 12 rows has no partial panel
// (whose results go through a slower merge). The slice is shared and
// must not be modified.
func OutputMatrix[T Float](t *Tile) []T { return pick[T](t.out32, t.out64) }

// OutputRows is the number of rows of OutputMatrix: m² rounded up to a
// multiple of 12.
func OutputRows(t *Tile) int { return (t.M*t.M + 11) / 12 * 12 }

// Float is the set of element types the transforms handle.
type Float interface{ float32 | float64 }

func pick[T Float](a []float32, b []float64) []T {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(a).([]T)
	}
	return any(b).([]T)
}

func matrix(r, c int) [][]float64 {
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, c)
	}
	return m
}

// polyFromRoots returns the coefficients (constant first) of Π (x − root).
func polyFromRoots(roots []float64) []float64 {
	c := []float64{1}
	for _, q := range roots {
		next := make([]float64, len(c)+1)
		for i, v := range c {
			next[i+1] += v
			next[i] -= q * v
		}
		c = next
	}
	return c
}

func to32(s []float64) []float32 {
	d := make([]float32, len(s))
	for i, v := range s {
		d[i] = float32(v)
	}
	return d
}
