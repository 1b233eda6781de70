package cov

import (
	"testing"
	"unsafe"
)

// BenchmarkPaperGather times the panel path's gather alone, on one
// goroutine: every window of BenchmarkPaperCov's batch gathered, shifted,
// into one worker's panels, as workPanels does before each product. Its
// time per value, next to BenchmarkPaperPanelProducts', says what the
// fused gather costs the covariance.
func BenchmarkPaperGather(b *testing.B) {
	pl, err := NewPlan(paperParams(32))
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput(32)
	ws := new(workspace[float32])
	ws.ps.Init()
	var z float32
	perPanel := max(1, panelRows/pl.rowsPerSample())
	K := perPanel * pl.sub
	bw, nm := blockLayout(pl, ws.ps.Len(pl.feats, K)*int(unsafe.Sizeof(z)))
	d := newPanelDst(pl, ws, ws.ps.Family(), K, bw, nm)
	shift := estimateShift(pl, x, new(shiftWS[float32]))
	sum := make([]float64, pl.width)
	for b.Loop() {
		for col := 0; col < pl.width; col += bw {
			hi := min(pl.width, col+bw)
			if d.stripsFor >= 0 {
				foldStrips(&d, sum)
			}
			cutStrips(pl, &d, col, hi)
			for p0 := 0; p0 < pl.samples; p0 += perPanel {
				fillPanels(pl, x, p0, min(perPanel, pl.samples-p0), &d, col, hi, shift, sum)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(pl.Rows()*pl.width), "ns/value")
}

// BenchmarkPaperPanelProducts times the panel path's products alone, on
// one goroutine: as many panel SYRKs as BenchmarkPaperCov's batch needs,
// on one panel of data that stays in cache.
func BenchmarkPaperPanelProducts(b *testing.B) {
	pl, err := NewPlan(paperParams(32))
	if err != nil {
		b.Fatal(err)
	}
	x := paperInput(32)
	ws := new(workspace[float32])
	ws.ps.Init()
	perPanel := max(1, panelRows/pl.rowsPerSample())
	K := perPanel * pl.sub
	F := pl.feats
	d := newPanelDst(pl, ws, ws.ps.Family(), K, pl.width, 1)
	shift := estimateShift(pl, x, new(shiftWS[float32]))
	sum := make([]float64, pl.width)
	cutStrips(pl, &d, 0, pl.width)
	fillPanels(pl, x, 0, perPanel, &d, 0, pl.width, shift, sum)
	part := make([]float32, F*F)
	for b.Loop() {
		for p0 := 0; p0 < pl.samples; p0 += perPanel {
			cnt := min(perPanel, pl.samples-p0)
			if err := ws.ps.UpperScratch(F, cnt*pl.sub, K, 1, d.pb, 1, part, F); err != nil {
				b.Fatal(err)
			}
		}
	}
	f := float64(F)
	b.ReportMetric(float64(pl.Rows())*f*(f+1)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
