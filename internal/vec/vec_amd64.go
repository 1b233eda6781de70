//go:build amd64 && gc && !purego

package vec

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

//go:generate sh -c "cd ../_gen && go run ./vec -pkg vec -out ../vec/vec_amd64.s -stubs ../vec/vec_stub_amd64.go"

// kernelFamily is the family whose kernels run for f: f itself, unless the
// CPU lacks it (then the generic loops).
func kernelFamily(f isa.Family) isa.Family {
	if !isa.Supported(f) {
		return isa.Generic
	}
	return f
}

// The AVX2 kernels take whole chunks of avx2Chunk elements; the rest goes
// through the Go loop after them.
const avx2Chunk = 4

// vectorSpan returns the family whose kernel runs a pass over n elements
// with f and how many of the elements the kernel takes: all of them on
// AVX-512 (its last chunk is masked), the whole chunks on AVX2; ok is
// false when f has no kernel.
func vectorSpan(f isa.Family, n int) (kf isa.Family, m int, ok bool) {
	switch kf = kernelFamily(f); kf {
	case isa.AVX512:
		return kf, n, true
	case isa.AVX2:
		return kf, n &^ (avx2Chunk - 1), true
	}
	return kf, 0, false
}

// sumSquaresF32 runs SumSquares (negHalf false) or NegHalfSumSquares on a
// non-empty x; ok is false when f has no kernel.
func sumSquaresF32(f isa.Family, x []float32, negHalf bool) (s float64, ok bool) {
	n := len(x)
	switch kernelFamily(f) {
	case isa.AVX512:
		annotate(x, n, negHalf)
		if negHalf {
			return negHalfSumSquaresF32AVX512(&x[0], n), true
		}
		return sumSquaresF32AVX512(&x[0], n), true
	case isa.AVX2:
		m := n &^ (avx2Chunk - 1)
		if m > 0 {
			annotate(x, m, negHalf)
			if negHalf {
				s = negHalfSumSquaresF32AVX2(&x[0], m)
			} else {
				s = sumSquaresF32AVX2(&x[0], m)
			}
		}
		for _, v := range x[m:] {
			s += float64(v) * float64(v)
		}
		if negHalf {
			for i := m; i < n; i++ {
				x[i] *= -0.5
			}
		}
		return s, true
	}
	return 0, false
}

// annotate tells the race detector what an assembly kernel reads and
// writes of x's first n elements.
func annotate(x []float32, n int, write bool) {
	if race.Enabled {
		race.Read(unsafe.Pointer(&x[0]), 4*n)
		if write {
			race.Write(unsafe.Pointer(&x[0]), 4*n)
		}
	}
}

// scaleSplitF32 runs ScaleSplit on a non-empty y and z, w of its length.
func scaleSplitF32(f isa.Family, y, z, w []float32, s float64) (sum float64, ok bool) {
	n := len(y)
	kf, m, ok := vectorSpan(f, n)
	if !ok {
		return 0, false
	}
	if m > 0 {
		annotate(y, m, true)
		annotate(z, m, true)
		annotate(w, m, true)
		if kf == isa.AVX512 {
			return scaleSplitF32AVX512(&y[0], &z[0], &w[0], n, s), true
		}
		sum = scaleSplitF32AVX2(&y[0], &z[0], &w[0], m, s)
	}
	for i := m; i < n; i++ {
		a := float32(float64(y[i]) * s)
		y[i], z[i], w[i] = a, -0.5*a, 1.5*a
		sum += float64(a) * float64(a)
	}
	return sum, true
}

// scaleFiniteF32 runs ScaleFinite on a non-empty dst and src of its length.
func scaleFiniteF32(f isa.Family, dst, src []float32, s float64) (finite, ok bool) {
	n := len(dst)
	kf, m, ok := vectorSpan(f, n)
	if !ok {
		return false, false
	}
	finite = true
	if m > 0 {
		annotate(src, m, false)
		annotate(dst, m, true)
		if kf == isa.AVX512 {
			return scaleFiniteF32AVX512(&dst[0], &src[0], n, s), true
		}
		finite = scaleFiniteF32AVX2(&dst[0], &src[0], m, s)
	}
	var acc float32
	for i := m; i < n; i++ {
		v := float32(float64(src[i]) * s)
		dst[i] = v
		acc += v * 0
	}
	return finite && acc == 0, true
}

// pairCheckF32 runs PairCheck on a non-empty x and the other slices of its
// length.
func pairCheckF32(f isa.Family, s []float32, s64 []float64, x, z []float32, root []float64, r, symTol, minorTol float64) (sum, excess float64, ok bool) {
	n := len(x)
	kf, m, ok := vectorSpan(f, n)
	if !ok {
		return 0, 0, false
	}
	if m > 0 {
		if race.Enabled {
			annotate(x, m, false)
			annotate(z, m, false)
			annotate(s, m, true)
			race.Read(unsafe.Pointer(&root[0]), 8*m)
			race.Write(unsafe.Pointer(&s64[0]), 8*m)
		}
		if kf == isa.AVX512 {
			sum, excess = pairCheckF32AVX512(&s[0], &s64[0], &x[0], &z[0], &root[0], n, r, symTol, minorTol)
			return sum, excess, true
		}
		sum, excess = pairCheckF32AVX2(&s[0], &s64[0], &x[0], &z[0], &root[0], m, r, symTol, minorTol)
	}
	if m < n {
		ts, te := pairCheckGo(s[m:], s64[m:], x[m:], z[m:], root[m:], r, symTol, minorTol)
		sum += ts
		excess = max(excess, te) // neither is NaN
	}
	return sum, excess, true
}
