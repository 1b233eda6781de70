package isqrt

import (
	"encoding/binary"
	"errors"
	"github.com/netdeconv/deconv"
	"math"
	"testing"
)

// FuzzInvSqrt feeds arbitrary small matrices and options: no method may
// panic, and a call without error returns finite numbers.
func FuzzInvSqrt(f *testing.F) {
	f.Add(uint8(2), uint8(0), uint8(5), []byte{0, 0, 128, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 63})
	f.Add(uint8(3), uint8(1), uint8(20), []byte("some bytes that are not a matrix at all......"))
	f.Add(uint8(1), uint8(2), uint8(50), []byte{0, 0, 192, 127})
	f.Fuzz(func(t *testing.T, n, method, iters uint8, data []byte) {
		size := int(n%12) + 1
		a := make([]float32, size*size)
		for i := range a {
			if 4*i+4 <= len(data) {
				a[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
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
		o := Options{Method: Method(method % 4), Iterations: int(iters % 64), Trace: iters&64 != 0, Scaling: Scaling(iters >> 7)}
		p, err := NewPlan[float32](size, o)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, size*size)
		_, err = p.InvSqrt(dst, a)
		if err != nil {
			if !errors.Is(err, deconv.ErrNonFinite) && !errors.Is(err, deconv.ErrNotSymmetric) && !errors.Is(err, deconv.ErrNotPositiveDefinite) &&
				!errors.Is(err, deconv.ErrDiverged) && !errors.Is(err, deconv.ErrNotConverged) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for i, v := range dst {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("element %d of the result is %v without an error", i, v)
			}
		}
	})
}
