package cov

import "testing"

// naiveCov is the float64 oracle for large inputs: the materialized rows,
// mean and the upper triangle of the centred products (mirrored).
func naiveCov(rows [][]float64, eps float64) (mean, cov []float64) {
	F := len(rows[0])
	n := float64(len(rows))
	mean = make([]float64, F)
	for _, r := range rows {
		for j, v := range r {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= n
	}
	cov = make([]float64, F*F)
	d := make([]float64, F)
	for _, r := range rows {
		for j, v := range r {
			d[j] = v - mean[j]
		}
		for i := 0; i < F; i++ {
			di, row := d[i], cov[i*F:(i+1)*F]
			for j := i; j < F; j++ {
				row[j] += di * d[j]
			}
		}
	}
	for i := 0; i < F; i++ {
		for j := i; j < F; j++ {
			v := cov[i*F+j] / n
			if i == j {
				v += eps
			}
			cov[i*F+j], cov[j*F+i] = v, v
		}
	}
	return mean, cov
}

// TestFloat32ManyRows measures float32 accuracy on 236 672 rows (an
// image batch whose 16 blocks per window are extra samples) whose
// features have means of up to ±2 against a spread of 0.29: the shifted,
// panel-wise accumulation must stay within 1e-5 of the float64 oracle.
func TestFloat32ManyRows(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	p := paperParams(8)
	p.Block = 4 // F = 36, 16 blocks per window
	pl, err := NewPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Rows() < 200000 {
		t.Fatalf("only %d rows", pl.Rows())
	}
	x := paperInput(8)
	rows := oracleConvRows(p, from32(x))[0]
	wm, wc := naiveCov(rows, p.Eps)
	mean, cov := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	if err := Compute(pl, mean, cov, x); err != nil {
		t.Fatal(err)
	}
	e, em := relFrob(cov, wc), relFrob(mean, wm)
	t.Logf("%d rows × %d: float32 cov relative error %.3g, mean %.3g", pl.Rows(), pl.Features(), e, em)
	t.Logf("naive float32 E[xxᵀ] − μμᵀ on the same rows: relative error %.3g", relFrob(naiveFloat32(rows, p.Eps), wc))
	if e > 1e-5 || em > 1e-6 {
		t.Fatalf("float32 cov error %g, mean error %g", e, em)
	}
}

// TestFloat32PaperInput checks the benchmark's layer (576 features) on
// two images of the benchmark's data against the oracle; the benchmark
// reports the same figure for the full batch.
func TestFloat32PaperInput(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	p := paperParams(2)
	pl, err := NewPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	x := paperInput(2)
	rows := oracleConvRows(p, from32(x))[0]
	_, wc := naiveCov(rows, p.Eps)
	mean, cov := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
	if err := Compute(pl, mean, cov, x); err != nil {
		t.Fatal(err)
	}
	e := relFrob(cov, wc)
	t.Logf("%d rows × %d: float32 cov relative error %.3g", pl.Rows(), pl.Features(), e)
	if e > 1e-5 {
		t.Fatalf("float32 cov error %g", e)
	}
	t.Logf("naive float32 E[xxᵀ] − μμᵀ on the same rows: relative error %.3g", relFrob(naiveFloat32(rows, p.Eps), wc))
}

// naiveFloat32 is the formula the package avoids, E[xxᵀ] − μμᵀ summed in
// float32 row after row, for comparison in the logs.
func naiveFloat32(rows [][]float64, eps float64) []float32 {
	F := len(rows[0])
	raw := make([]float32, F*F)
	sum := make([]float32, F)
	for _, r := range rows {
		for i := 0; i < F; i++ {
			sum[i] += float32(r[i])
			for j := i; j < F; j++ {
				raw[i*F+j] += float32(r[i]) * float32(r[j])
			}
		}
	}
	n := float32(len(rows))
	for i := 0; i < F; i++ {
		for j := i; j < F; j++ {
			v := raw[i*F+j]/n - sum[i]/n*sum[j]/n
			if i == j {
				v += float32(eps)
			}
			raw[i*F+j], raw[j*F+i] = v, v
		}
	}
	return raw
}
