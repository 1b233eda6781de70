package isqrt

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzInvSqrt feeds arbitrary small matrices and options: no method may
// panic; a nil error means a finite result and, with Tol set, a true
// residual within Tol (recomputed here); every error is one of the
// library's sentinels; and a is unchanged unless it is dst.
func FuzzInvSqrt(f *testing.F) {
	f.Add(uint8(2), uint8(0), uint8(5), uint8(0), []byte{0, 0, 128, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 63})
	f.Add(uint8(3), uint8(1), uint8(20), uint8(0x15), []byte("some bytes that are not a matrix at all......"))
	f.Add(uint8(1), uint8(2), uint8(50), uint8(0x80), []byte{0, 0, 192, 127})
	f.Add(uint8(4), uint8(0), uint8(40), uint8(0x0b), []byte{0, 0, 128, 64, 0, 0, 0, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 63, 0, 0, 64, 64})
	f.Add(uint8(9), uint8(3), uint8(99), uint8(0x3e), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Fuzz(func(t *testing.T, n, method, iters, flags uint8, data []byte) {
		size := int(n%12) + 1
		o := Options{
			Method:     Method(method % 4),
			Iterations: int(iters % 128),
			Trace:      flags&0x40 != 0,
			Scaling:    Scaling(method >> 7),
			Workers:    int(flags>>4) % 3,
		}
		if k := flags & 7; k != 0 {
			o.Tol = math.Pow(10, -float64(k)) // 10⁻¹ … 10⁻⁷
		}
		if flags&0x80 != 0 {
			fuzzCall[float64](t, size, o, flags&8 != 0, data)
		} else {
			fuzzCall[float32](t, size, o, flags&8 != 0, data)
		}
	})
}

func fuzzCall[T Float](t *testing.T, size int, o Options, inPlace bool, data []byte) {
	a := make([]T, size*size)
	for i := range a {
		if 4*i+4 <= len(data) {
			v := math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			a[i] = T(v)
			if _, ok := any(a[i]).(float64); ok && len(data) > 0 && data[0]&2 != 0 {
				a[i] *= T(math.Ldexp(1, int(int8(data[len(data)-1]))*4)) // reach float64's range
			}
		}
	}
	// Symmetrise half the time, so the iterations are reached.
	if len(data) > 0 && data[0]&1 == 0 {
		for i := 0; i < size; i++ {
			for j := 0; j < i; j++ {
				a[i*size+j] = a[j*size+i]
			}
		}
	}
	p, err := NewPlan[T](size, o)
	if err != nil {
		t.Fatal(err)
	}
	keep := append([]T(nil), a...)
	dst := make([]T, size*size)
	if inPlace {
		dst = a
	}
	_, err = p.InvSqrt(dst, a)
	if !inPlace {
		for i := range a {
			if math.Float64bits(float64(a[i])) != math.Float64bits(float64(keep[i])) {
				t.Fatalf("a[%d] changed from %v to %v", i, keep[i], a[i])
			}
		}
	}
	if err != nil {
		if !isSentinel(err) {
			t.Fatalf("error %v is none of the library's sentinels", err)
		}
		return
	}
	for i, v := range dst {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("element %d of the result is %v without an error", i, v)
		}
	}
	if o.Tol > 0 {
		// The residual the tolerance bounds is of the matrix the method
		// uses: the symmetric part, or a as given for the reference.
		a64 := to64(keep)
		if o.Method != CoupledReference {
			for i := 0; i < size; i++ {
				for j := 0; j < size; j++ {
					a64[i*size+j] = 0.5*float64(keep[i*size+j]) + 0.5*float64(keep[j*size+i])
				}
			}
		}
		if r, evalErr := naiveResidual(size, dst, a64); !(r <= o.Tol+evalErr) {
			t.Fatalf("%+v: nil error, but the residual is %.3g (±%.1g)", o, r, evalErr)
		}
	}
}
