package isqrt

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/debug"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/isa"
)

// naiveMul returns op(x)·op(y) for n×n matrices, in plain loops.
func naiveMul(n int, x []float64, tx bool, y []float64, ty bool) []float64 {
	c := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for l := 0; l < n; l++ {
				xv, yv := x[i*n+l], y[l*n+j]
				if tx {
					xv = x[l*n+i]
				}
				if ty {
					yv = y[j*n+l]
				}
				s += xv * yv
			}
			c[i*n+j] = s
		}
	}
	return c
}

// naiveReferenceGrad is an independent reverse-mode differentiation of the
// reference recipe (c = ‖A‖_F, Y = A/c, Z = I, K times T = ½(3I − Z·Y),
// Y ← Y·T, Z ← T·Z, D = Z/√c) with loss Σ G∘D, in plain loops: a tape of
// every iterate, then the adjoint of each operation in reverse order.
func naiveReferenceGrad(n, K int, a, g []float64) []float64 {
	nn := n * n
	c := 0.0
	for _, v := range a {
		c += v * v
	}
	c = math.Sqrt(c)
	eye := make([]float64, nn)
	for i := 0; i < n; i++ {
		eye[i*n+i] = 1
	}
	ys, zs, ts := make([][]float64, K+1), make([][]float64, K+1), make([][]float64, K)
	ys[0] = make([]float64, nn)
	for i, v := range a {
		ys[0][i] = v / c
	}
	zs[0] = eye
	for k := 0; k < K; k++ {
		p := naiveMul(n, zs[k], false, ys[k], false)
		t := make([]float64, nn)
		for i := range t {
			t[i] = 1.5*eye[i] - 0.5*p[i]
		}
		ts[k] = t
		ys[k+1] = naiveMul(n, ys[k], false, t, false)
		zs[k+1] = naiveMul(n, t, false, zs[k], false)
	}
	// Reverse.
	s := 1 / math.Sqrt(c)
	zb := make([]float64, nn)
	cbar := 0.0
	for i := range zb {
		zb[i] = g[i] * s
		cbar += g[i] * zs[K][i] * (-0.5 * s / c)
	}
	yb := make([]float64, nn)
	for k := K - 1; k >= 0; k-- {
		// Z' = T·Z
		tb := naiveMul(n, zb, false, zs[k], true)
		zbNew := naiveMul(n, ts[k], true, zb, false)
		// Y' = Y·T
		add(tb, naiveMul(n, ys[k], true, yb, false), 1)
		ybNew := naiveMul(n, yb, false, ts[k], true)
		// T = 1.5I − 0.5·P, P = Z·Y
		pb := make([]float64, nn)
		for i := range pb {
			pb[i] = -0.5 * tb[i]
		}
		add(zbNew, naiveMul(n, pb, false, ys[k], true), 1)
		add(ybNew, naiveMul(n, zs[k], true, pb, false), 1)
		yb, zb = ybNew, zbNew
	}
	// Y₀ = A/c, c = ‖A‖_F
	da := make([]float64, nn)
	for i := range da {
		cbar -= yb[i] * a[i] / (c * c)
	}
	for i := range da {
		da[i] = yb[i]/c + cbar*a[i]/c
	}
	return da
}

func add(x, y []float64, f float64) {
	for i := range x {
		x[i] += f * y[i]
	}
}

func maxRel(got, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range got {
		num = max(num, math.Abs(got[i]-want[i]))
		den = max(den, math.Abs(want[i]))
	}
	return num / den
}

// TestBackwardReferenceOracle compares CoupledReference's gradient with the
// naive reverse mode above, on unsymmetric inputs.
func TestBackwardReferenceOracle(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 13, 40} {
		for _, K := range []int{1, 2, 5, 8} {
			a := gradInput(n, uint64(n+K), 1e-4)
			g := randMat(n*n, rand.New(rand.NewPCG(uint64(n), uint64(K))))
			p := mustPlan[float64](t, n, Options{Method: CoupledReference, Iterations: K, Grad: true})
			d := make([]float64, n*n)
			if _, err := p.InvSqrt(d, a); err != nil {
				t.Fatal(err)
			}
			da := make([]float64, n*n)
			if err := p.Backward(da, g); err != nil {
				t.Fatal(err)
			}
			want := naiveReferenceGrad(n, K, a, g)
			if e := maxRel(da, want); e > 1e-12 {
				t.Errorf("n=%d K=%d: relative difference %.3g from the naive reverse mode", n, K, e)
			}
		}
	}
}

// TestBackwardCoupledIsSymmetrisedReference: on a symmetric input, the
// fast method's gradient is the symmetric part of the reference's.
func TestBackwardCoupledIsSymmetrisedReference(t *testing.T) {
	for _, n := range []int{2, 5, 13, 200} {
		for _, K := range []int{1, 3, 6, 30} {
			a := gradInput(n, uint64(7*n+K), 0)
			g := randMat(n*n, rand.New(rand.NewPCG(uint64(n), 3)))
			grad := func(m Method) []float64 {
				p := mustPlan[float64](t, n, Options{Method: m, Iterations: K, Grad: true})
				d := make([]float64, n*n)
				if _, err := p.InvSqrt(d, a); err != nil {
					t.Fatal(err)
				}
				da := make([]float64, n*n)
				if err := p.Backward(da, g); err != nil {
					t.Fatal(err)
				}
				return da
			}
			ref, fast := grad(CoupledReference), grad(Coupled)
			sym := make([]float64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					sym[i*n+j] = 0.5 * (ref[i*n+j] + ref[j*n+i])
					if fast[i*n+j] != fast[j*n+i] {
						t.Fatalf("n=%d K=%d: Coupled's gradient is not symmetric at (%d,%d)", n, K, i, j)
					}
				}
			}
			if e := maxRel(fast, sym); e > 1e-11 {
				t.Errorf("n=%d K=%d: Coupled's gradient differs from sym(CoupledReference's) by %.3g", n, K, e)
			}
		}
	}
}

// TestBackwardFloat32 checks that float32 gradients agree with float64
// ones on well-conditioned matrices, single and batched, every method.
func TestBackwardFloat32(t *testing.T) {
	for _, n := range []int{7, 64, 250} {
		for _, o := range []Options{{}, {Method: CoupledReference}, {Method: Uncoupled, Iterations: 4}, {Method: Eigen}, {Scaling: ScaleSpectral, Iterations: 8}} {
			o.Grad = true
			const count = 2
			a64 := make([]float64, 0, count*n*n)
			for i := range count {
				a64 = append(a64, newSPD(n, 10, 0.05, uint64(n+i)).a...)
			}
			g64 := randMat(count*n*n, rand.New(rand.NewPCG(uint64(n), 9)))
			p64 := mustPlan[float64](t, n, o)
			p32 := mustPlan[float32](t, n, o)
			d64 := make([]float64, len(a64))
			d32 := make([]float32, len(a64))
			if _, err := p64.InvSqrtBatch(d64, a64, count); err != nil {
				t.Fatal(err)
			}
			if _, err := p32.InvSqrtBatch(d32, to32(a64), count); err != nil {
				t.Fatal(err)
			}
			da64 := make([]float64, len(a64))
			da32 := make([]float32, len(a64))
			if err := p64.BackwardBatch(da64, g64, count); err != nil {
				t.Fatal(err)
			}
			if err := p32.BackwardBatch(da32, to32(g64), count); err != nil {
				t.Fatal(err)
			}
			if e := relErr(da32, da64); e > 1e-4 {
				t.Errorf("n=%d %+v: float32 gradient differs from float64 by %.3g", n, o, e)
			}
		}
	}
}

// TestBackwardErrors checks every refused call and that it writes nothing.
func TestBackwardErrors(t *testing.T) {
	const n = 4
	a := gradInput(n, 1, 0)
	g := randMat(n*n, rand.New(rand.NewPCG(1, 1)))
	d := make([]float64, n*n)
	noGrad := mustPlan[float64](t, n, Options{})
	if _, err := noGrad.InvSqrt(d, a); err != nil {
		t.Fatal(err)
	}
	da := make([]float64, n*n)
	if err := noGrad.Backward(da, g); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("without Grad: %v", err)
	}
	p := mustPlan[float64](t, n, Options{Grad: true})
	if err := p.Backward(da, g); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("before any forward: %v", err)
	}
	if _, err := p.InvSqrt(d, a); err != nil {
		t.Fatal(err)
	}
	nan := append([]float64(nil), g...)
	nan[5] = math.NaN()
	inf := append([]float64(nil), g...)
	inf[0] = math.Inf(-1)
	buf := make([]float64, 2*n*n)
	for _, c := range []struct {
		name   string
		da, dd []float64
		count  int
		want   error
	}{
		{"short da", da[:n*n-1], g, 1, deconv.ErrShape},
		{"long dd", da, append(g, 0), 1, deconv.ErrShape},
		{"count 2", make([]float64, 2*n*n), append(append([]float64(nil), g...), g...), 2, deconv.ErrShape},
		{"negative count", da, g, -1, deconv.ErrShape},
		{"overlap", buf[1 : n*n+1], buf[:n*n], 1, deconv.ErrOverlap},
		{"NaN", da, nan, 1, deconv.ErrNonFinite},
		{"Inf", da, inf, 1, deconv.ErrNonFinite},
	} {
		for i := range c.da {
			c.da[i] = 7
		}
		err := p.BackwardBatch(c.da, c.dd, c.count)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.name != "overlap" {
			for i, v := range c.da {
				if v != 7 {
					t.Fatalf("%s: da[%d] written", c.name, i)
				}
			}
		}
	}
	// After the refused calls the plan still differentiates its forward,
	// and in place (da = dd) gives the same as apart.
	if err := p.Backward(da, g); err != nil {
		t.Fatal(err)
	}
	in := append([]float64(nil), g...)
	if err := p.Backward(in, in); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if in[i] != da[i] {
			t.Fatalf("in place: da[%d] = %v, apart %v", i, in[i], da[i])
		}
	}
	// A failed forward leaves nothing to differentiate.
	bad := append([]float64(nil), a...)
	bad[0] = -1
	if _, err := p.InvSqrt(d, bad); err == nil {
		t.Fatal("indefinite input accepted")
	}
	if err := p.Backward(da, g); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("after a failed forward: %v", err)
	}
	// A batch forward of 3 is differentiated with count 3 only.
	a3 := append(append(append([]float64(nil), a...), a...), a...)
	d3 := make([]float64, 3*n*n)
	if _, err := p.InvSqrtBatch(d3, a3, 3); err != nil {
		t.Fatal(err)
	}
	if err := p.Backward(da, g); !errors.Is(err, deconv.ErrShape) {
		t.Errorf("Backward after a batch of 3: %v", err)
	}
	g3 := append(append(append([]float64(nil), g...), g...), g...)
	da3 := make([]float64, 3*n*n)
	if err := p.BackwardBatch(da3, g3, 3); err != nil {
		t.Fatal(err)
	}
	for i := range da {
		if da3[2*n*n+i] != da[i] {
			t.Fatalf("batch matrix 2 differs from the single call at %d: %v, %v", i, da3[2*n*n+i], da[i])
		}
	}
}

// TestBackwardNoAllocation: a backward at a fixed size allocates nothing
// after the first.
func TestBackwardNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes pools drop their items")
	}
	// A collection empties sync.Pools (internal/parallel pools its calls),
	// and one can start during the count on a loaded machine; refilling a
	// pool is the runtime's allocation, not the backward's, so none runs
	// meanwhile.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, n := range []int{27, 250} {
		a := to32(newSPD(n, 100, 1e-5, 1).a)
		g := to32(randMat(n*n, rand.New(rand.NewPCG(2, 2))))
		d := make([]float32, n*n)
		da := make([]float32, n*n)
		for _, o := range []Options{{}, {Method: CoupledReference}, {Method: Uncoupled, Iterations: 3}, {Method: Eigen}, {Scaling: ScaleSpectral, Tol: 1e-2, Iterations: 40}} {
			o.Grad = true
			p := mustPlan[float32](t, n, o)
			for range 3 {
				if _, err := p.InvSqrt(d, a); err != nil {
					t.Fatal(err)
				}
				if err := p.Backward(da, g); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(3, func() {
				if err := p.Backward(da, g); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("n=%d %+v: %v allocations per Backward", n, o, allocs)
			}
			if o.Method != Eigen {
				allocs = testing.AllocsPerRun(3, func() {
					if _, err := p.InvSqrt(d, a); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Errorf("n=%d %+v: %v allocations per InvSqrt with Grad", n, o, allocs)
				}
			}
		}
	}
}

// TestBackwardEveryISA runs the gradient tests again in a child process
// for each kernel family this machine has besides the selected one.
func TestBackwardEveryISA(t *testing.T) {
	if os.Getenv("ISQRT_ISA_CHILD") != "" {
		t.Skip("in a child")
	}
	if raceEnabled {
		// Each family's run (make test's isa-paths, DECONV_ISA=…) runs
		// these tests in full already; under the race detector the
		// children took two of the race run's minutes.
		t.Skip("the race run leaves every family's backward to the per-family runs")
	}
	for _, fam := range isa.Available() {
		if fam == isa.Selected() {
			continue
		}
		t.Run(fam.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^(TestBackwardFiniteDifferences|TestBackwardReferenceOracle|TestBackwardFloat32)$", "-test.short")
			cmd.Env = append(os.Environ(), isa.EnvVar+"="+fam.String(), "ISQRT_ISA_CHILD=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s=%s: %v\n%s", isa.EnvVar, fam, err, out)
			}
		})
	}
}
