package isqrt

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

// torchRecord is a covariance and the inverse square root the reference
// implementation computes for it in PyTorch (float32), written by
// bench/torch_isqrt.py.
type torchRecord struct {
	n, iters int
	a, d     []float32
}

func readTorchRecords(t *testing.T) []torchRecord {
	raw, err := os.ReadFile("testdata/torch_ns.bin")
	if err != nil {
		t.Fatal(err)
	}
	var out []torchRecord
	f32s := func(k int) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		raw = raw[4*k:]
		return v
	}
	for len(raw) > 0 {
		if len(raw) < 8 {
			t.Fatal("truncated record header")
		}
		r := torchRecord{n: int(int32(binary.LittleEndian.Uint32(raw))), iters: int(int32(binary.LittleEndian.Uint32(raw[4:])))}
		raw = raw[8:]
		if r.n <= 0 || len(raw) < 8*r.n*r.n {
			t.Fatalf("bad record n=%d with %d bytes left", r.n, len(raw))
		}
		r.a, r.d = f32s(r.n*r.n), f32s(r.n*r.n)
		out = append(out, r)
	}
	return out
}

// TestMatchesReferenceImplementation checks both coupled formulations, in
// float32, against the reference implementation's own float32 results: to
// its rounding for 5 iterations, and, where the iteration has converged
// and rounding errors are amplified by the conditioning (15 iterations),
// by being as close to the float64 iteration as the reference is.
func TestMatchesReferenceImplementation(t *testing.T) {
	recs := readTorchRecords(t)
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	for _, r := range recs {
		torch := to64(r.d)
		exact := make([]float64, r.n*r.n)
		if _, err := mustPlan[float64](t, r.n, Options{Method: CoupledReference, Iterations: r.iters}).InvSqrt(exact, to64(r.a)); err != nil {
			t.Fatal(err)
		}
		torchErr := relErr(r.d, exact)
		for _, meth := range []Method{Coupled, CoupledReference} {
			got := make([]float32, r.n*r.n)
			if _, err := mustPlan[float32](t, r.n, Options{Method: meth, Iterations: r.iters}).InvSqrt(got, r.a); err != nil {
				t.Fatalf("n=%d %v: %v", r.n, meth, err)
			}
			diff, own := relErr(got, torch), relErr(got, exact)
			t.Logf("n=%d, %d iterations, %v: from the reference %.2e; from float64 %.2e (the reference: %.2e)", r.n, r.iters, meth, diff, own, torchErr)
			if r.iters <= 5 && diff > 1e-6 {
				t.Errorf("n=%d, %d iterations, %v: differs from the reference by %.2e", r.n, r.iters, meth, diff)
			}
			if own > 4*torchErr+1e-6 {
				t.Errorf("n=%d, %d iterations, %v: %.2e from the float64 iteration, the reference %.2e", r.n, r.iters, meth, own, torchErr)
			}
		}
	}
}
