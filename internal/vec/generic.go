package vec

// The portable loops: the generic family's kernels, and the reference of
// the tests.

// sumSquaresGo returns Σ x_i² in float64, in four independent sums so that
// the additions do not wait on each other.
func sumSquaresGo[T Float](x []T) float64 {
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

// scaleSplitGo is ScaleSplit's loop, its sum of squares in four sums as
// sumSquaresGo adds them. z and w have len(y) elements.
func scaleSplitGo[T Float](y, z, w []T, s float64) float64 {
	z, w = z[:len(y)], w[:len(y)]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(y); j += 4 {
		a0, a1 := T(float64(y[j])*s), T(float64(y[j+1])*s)
		a2, a3 := T(float64(y[j+2])*s), T(float64(y[j+3])*s)
		y[j], y[j+1], y[j+2], y[j+3] = a0, a1, a2, a3
		z[j], z[j+1], z[j+2], z[j+3] = -0.5*a0, -0.5*a1, -0.5*a2, -0.5*a3
		w[j], w[j+1], w[j+2], w[j+3] = 1.5*a0, 1.5*a1, 1.5*a2, 1.5*a3
		f0, f1, f2, f3 := float64(a0), float64(a1), float64(a2), float64(a3)
		s0 += f0 * f0
		s1 += f1 * f1
		s2 += f2 * f2
		s3 += f3 * f3
	}
	for ; j < len(y); j++ {
		a := T(float64(y[j]) * s)
		y[j], z[j], w[j] = a, -0.5*a, 1.5*a
		s0 += float64(a) * float64(a)
	}
	return (s0 + s1) + (s2 + s3)
}

// scaleFiniteGo is ScaleFinite's loop; src has len(dst) elements.
func scaleFiniteGo[T Float](dst, src []T, s float64) bool {
	src = src[:len(dst)]
	// x·0 is 0 for a finite x and NaN otherwise; four sums keep the
	// additions independent.
	var f0, f1, f2, f3 T
	k := 0
	for ; k+4 <= len(src); k += 4 {
		v0, v1 := T(float64(src[k])*s), T(float64(src[k+1])*s)
		v2, v3 := T(float64(src[k+2])*s), T(float64(src[k+3])*s)
		dst[k], dst[k+1], dst[k+2], dst[k+3] = v0, v1, v2, v3
		f0 += v0 * 0
		f1 += v1 * 0
		f2 += v2 * 0
		f3 += v3 * 0
	}
	for ; k < len(src); k++ {
		v := T(float64(src[k]) * s)
		dst[k] = v
		f0 += v * 0
	}
	return f0+f1+f2+f3 == 0
}
