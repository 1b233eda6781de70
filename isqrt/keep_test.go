package isqrt

import (
	"math/rand/v2"
	"testing"
)

// TestGradKeptBatch: the fast coupled iteration writes what it keeps in
// each matrix's slots, and the buffer of Ã changes hands with slot 0 (see
// keep.go). A batch whose matrices share a workspace, called twice so
// that the buffers have changed hands, must give, bit for bit, the
// gradient of each matrix computed alone: a kept matrix that another
// matrix's iteration wrote over, or a work buffer still shared with a
// slot, would show here.
func TestGradKeptBatch(t *testing.T) {
	const count = 3
	opts := []Options{
		{Iterations: 1}, {Iterations: 2}, {Iterations: 5},
		{Iterations: 30, Tol: 1e-3}, // stops before its last iteration
	}
	workerCounts := []int{1, 2}
	if quickSweep() {
		// One iteration count and the stopped run, on the team, still
		// through every kind of keep.
		opts, workerCounts = []Options{{Iterations: 2}, {Iterations: 30, Tol: 1e-3}}, []int{2}
	}
	for _, n := range []int{40, 147, 4*symBlock + 29} {
		for _, o := range opts {
			for _, workers := range workerCounts {
				o.Grad, o.Workers = true, workers
				rng := rand.New(rand.NewPCG(uint64(n), uint64(o.Iterations)))
				pb := mustPlan[float32](t, n, o)
				ps := mustPlan[float32](t, n, o)
				nn := n * n
				for call := range 2 {
					a := make([]float32, 0, count*nn)
					for i := range count {
						a = append(a, to32(newSPD(n, 1e3, 1e-5, uint64(10*call+i)).a)...)
					}
					dd := to32(randMat(count*nn, rng))
					d, da := make([]float32, count*nn), make([]float32, count*nn)
					if _, err := pb.InvSqrtBatch(d, a, count); err != nil {
						t.Fatal(err)
					}
					if err := pb.BackwardBatch(da, dd, count); err != nil {
						t.Fatal(err)
					}
					for i := range count {
						ws, wsa := make([]float32, nn), make([]float32, nn)
						if _, err := ps.InvSqrt(ws, a[i*nn:(i+1)*nn]); err != nil {
							t.Fatal(err)
						}
						if err := ps.Backward(wsa, dd[i*nn:(i+1)*nn]); err != nil {
							t.Fatal(err)
						}
						for j := range nn {
							if d[i*nn+j] != ws[j] || da[i*nn+j] != wsa[j] {
								t.Fatalf("n=%d %+v call %d matrix %d element %d: D %v, dA %v in the batch; %v, %v alone",
									n, o, call, i, j, d[i*nn+j], da[i*nn+j], ws[j], wsa[j])
							}
						}
					}
				}
			}
		}
	}
}

// TestGradKeptBatchNoAllocation: the buffers that change hands between
// the workspace and the slots of a batch's matrices are all of one size,
// so a batch forward with Options.Grad at a fixed size allocates nothing
// after the first call.
func TestGradKeptBatchNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes pools drop their items")
	}
	const count = 3
	for _, n := range []int{40, 4*symBlock + 29} {
		a := make([]float32, 0, count*n*n)
		for i := range count {
			a = append(a, to32(newSPD(n, 100, 1e-5, uint64(i)).a)...)
		}
		d := make([]float32, count*n*n)
		for _, o := range []Options{{Grad: true, Workers: 1}, {Grad: true}, {Grad: true, Iterations: 30, Tol: 1e-3}} {
			p := mustPlan[float32](t, n, o)
			for range 3 {
				if _, err := p.InvSqrtBatch(d, a, count); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(3, func() {
				if _, err := p.InvSqrtBatch(d, a, count); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("n=%d %+v: %v allocations per InvSqrtBatch with Grad", n, o, allocs)
			}
		}
	}
}
