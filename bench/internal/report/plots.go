package report

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	blue   = color.RGBA{31, 119, 180, 255}
	orange = color.RGBA{255, 127, 14, 255}
	green  = color.RGBA{44, 160, 44, 255}
	red    = color.RGBA{214, 39, 40, 255}
	purple = color.RGBA{148, 103, 189, 255}
	grey   = color.RGBA{110, 110, 110, 255}
)

// savePNG draws the plots in a grid of rows×cols tiles of w×h each.
func savePNG(w io.Writer, plots [][]*plot.Plot, tw, th vg.Length) error {
	rows, cols := len(plots), len(plots[0])
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(cols)*tw, vg.Length(rows)*th), vgimg.UseDPI(110))
	dc := draw.New(img)
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 3}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		for j := range plots[i] {
			if plots[i][j] != nil {
				plots[i][j].Draw(canvases[i][j])
			}
		}
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func line(p *plot.Plot, name string, xy plotter.XYs, c color.Color, dashed bool) error {
	if len(xy) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.6)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// linePoints adds a line with a mark at every point.
func linePoints(p *plot.Plot, name string, xy plotter.XYs, c color.Color) error {
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(1.6)
	s.Color, s.Shape, s.Radius = c, draw.CircleGlyph{}, vg.Points(3)
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	return p
}

// logTicks labels powers of ten only.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	lo, hi := math.Floor(math.Log10(min)), math.Ceil(math.Log10(max))
	step := math.Max(1, math.Ceil((hi-lo)/10))
	for e := lo; e <= hi; e++ {
		v := math.Pow(10, e)
		if v < min*0.999 || v > max*1.001 {
			continue
		}
		tk := plot.Tick{Value: v}
		if math.Mod(e, step) == 0 {
			tk.Label = fmt.Sprintf("1e%d", int(e))
		}
		t = append(t, tk)
	}
	return t
}

func (r *results) figure7PNG(w io.Writer) error {
	const top = 1e8
	p := newPlot("Figure 7: Newton–Schulz residual on the photograph's 27×27 patch covariance",
		"iteration", "‖D·D·Cov − I‖_F")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.Y.Min, p.Y.Max = 1e-13, top
	series := func(s []float64) plotter.XYs {
		var xy plotter.XYs
		for k, v := range s {
			if math.IsInf(v, 0) || math.IsNaN(v) || v > top {
				xy = append(xy, plotter.XY{X: float64(k), Y: top})
				break
			}
			xy = append(xy, plotter.XY{X: float64(k), Y: math.Max(v, 1e-13)})
		}
		return xy
	}
	d64, d32 := r.fig7[0], r.fig7[1]
	for _, s := range []struct {
		name   string
		v      []float64
		c      color.Color
		dashed bool
	}{
		{"coupled, float64", d64.Coupled, blue, false},
		{"coupled, float32", d32.Coupled, blue, true},
		{"uncoupled, float64", d64.Uncoupled, red, false},
		{"uncoupled, float32", d32.Uncoupled, red, true},
	} {
		if err := line(p, s.name, series(s.v), s.c, s.dashed); err != nil {
			return err
		}
	}
	p.Legend.Top = true
	p.Legend.YOffs = -vg.Centimeter * 2.2
	return savePNG(w, [][]*plot.Plot{{p}}, 17*vg.Centimeter, 10*vg.Centimeter)
}

type kernelGrid struct {
	k int
	v []float64
}

func (g kernelGrid) Dims() (c, r int)   { return g.k, g.k }
func (g kernelGrid) Z(c, r int) float64 { return g.v[(g.k-1-r)*g.k+c] } // row 0 at the top

// signedSqrt is Figure 2's colour scale: sign(v)·√(|v|/lim), so that the
// weak far surround shows beside the strong near one.
func signedSqrt(v []float64, lim float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Copysign(math.Sqrt(math.Abs(x)/lim), x)
	}
	return out
}

// intTicks labels the integers from −h to h in steps of step.
func intTicks(h, step int) plot.ConstantTicks {
	var t plot.ConstantTicks
	for v := -h; v <= h; v++ {
		tk := plot.Tick{Value: float64(v)}
		if v%step == 0 {
			tk.Label = fmt.Sprint(v)
		}
		t = append(t, tk)
	}
	return t
}
func (g kernelGrid) X(c int) float64 { return float64(c - g.k/2) }
func (g kernelGrid) Y(r int) float64 { return float64(g.k/2 - r) }

func (r *results) figure2PNG(w io.Writer) error {
	f2 := r.fig2
	var row []*plot.Plot
	for c, name := range []string{"R", "G", "B"} {
		lim := f2.MaxAbsOffCentre(c)
		cm := moreland.SmoothBlueRed()
		cm.SetMin(-1)
		cm.SetMax(1)
		hm := plotter.NewHeatMap(kernelGrid{f2.Size, signedSqrt(f2.Kernel[c][c], lim)}, cm.Palette(255))
		hm.Min, hm.Max = -1, 1
		hm.Overflow, hm.Underflow = color.RGBA{120, 0, 20, 255}, color.RGBA{10, 20, 110, 255}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: centre %.0f, 8 neighbours %.1f", name, f2.Centre(c), f2.NeighbourMean(c))
		p.X.Label.Text, p.Y.Label.Text = "dx", "dy"
		step := 1 + f2.Size/8
		p.X.Tick.Marker, p.Y.Tick.Marker = intTicks(f2.Size/2, step), intTicks(f2.Size/2, step)
		p.Add(hm)
		row = append(row, p)
	}
	return savePNG(w, [][]*plot.Plot{row}, 9*vg.Centimeter, 8.5*vg.Centimeter)
}

func (r *results) figure10PNG(w io.Writer) error {
	d := r.fig10
	lin := newPlot("Figure 10a: histogram", "value (standard deviations)", "density")
	lg := newPlot("Figure 10b: log density", "value (standard deviations)", "density (log)")
	lg.Y.Scale = plot.LogScale{}
	lg.Y.Tick.Marker = logTicks{}
	lg.Y.Min = 1e-5
	for _, s := range []struct {
		name string
		v    []float64
		c    color.Color
	}{{"before deconvolution", d.DensityBefore, grey}, {"after deconvolution", d.DensityAfter, orange}} {
		var all, pos plotter.XYs
		for i, v := range s.v {
			x := d.BinCentre(i)
			all = append(all, plotter.XY{X: x, Y: v})
			if v > 0 {
				pos = append(pos, plotter.XY{X: x, Y: v})
			}
		}
		if err := line(lin, s.name, all, s.c, false); err != nil {
			return err
		}
		if err := line(lg, s.name, pos, s.c, false); err != nil {
			return err
		}
	}
	lin.Legend.Top = true
	lin.Y.Max *= 1.35
	lg.Legend = plot.NewLegend()
	return savePNG(w, [][]*plot.Plot{{lin, lg}}, 12*vg.Centimeter, 9*vg.Centimeter)
}

func (r *results) rooflinePNG(w io.Writer) error {
	m := r.machine
	p := newPlot(fmt.Sprintf("Roofline: %d threads, FMA peak %.0f GFLOP/s, copy %.1f GB/s", m.Threads, m.PeakGF, m.BandGB),
		"arithmetic intensity (flop / byte)", "GFLOP/s")
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = logTicks{}, logTicks{}
	rs := r.roofs()
	lo, hi := math.Inf(1), 0.0
	for ki, k := range []struct {
		name string
		c    color.Color
	}{{"cov", blue}, {"inv", green}, {"conv", red}} {
		var xy plotter.XYs
		for _, f := range rs {
			if f.Kernel == k.name && f.Flops > 0 && f.GFlops > 0 {
				xy = append(xy, plotter.XY{X: f.Flops / f.Bytes, Y: f.GFlops})
				lo, hi = min(lo, f.Flops/f.Bytes), max(hi, f.Flops/f.Bytes)
			}
		}
		if len(xy) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		s.Color = k.c
		s.Shape = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}}[ki]
		s.Radius = vg.Points(3)
		p.Add(s)
		p.Legend.Add(k.name+" (one point per Table 3 row)", s)
	}
	if m.PeakGF > 0 && m.BandGB > 0 && hi > 0 {
		lo, hi = min(lo/4, m.PeakGF/m.BandGB/4), max(hi*4, m.PeakGF/m.BandGB*4)
		var roofXY plotter.XYs
		for x := lo; x <= hi*1.0001; x *= 1.1 {
			roofXY = append(roofXY, plotter.XY{X: x, Y: math.Min(m.PeakGF, m.BandGB*x)})
		}
		if err := line(p, "roof: min(peak, bandwidth × intensity)", roofXY, grey, true); err != nil {
			return err
		}
		p.Y.Max = math.Max(p.Y.Max, 2*m.PeakGF)
	}
	return savePNG(w, [][]*plot.Plot{{p}}, 17*vg.Centimeter, 11*vg.Centimeter)
}

func (r *results) scalingPNG(w io.Writer) error {
	pb := newPlot("Training forward vs batch", "batch", "ms")
	var xy, lin plotter.XYs
	b1 := r.batchScal[0]
	for _, p := range r.batchScal {
		xy = append(xy, plotter.XY{X: float64(p.Batch), Y: 1e3 * p.Seconds})
		lin = append(lin, plotter.XY{X: float64(p.Batch), Y: 1e3 * b1.Seconds * float64(p.Batch) / float64(b1.Batch)})
	}
	if err := linePoints(pb, "measured", xy, blue); err != nil {
		return err
	}
	if err := line(pb, "linear from the smallest batch", lin, grey, true); err != nil {
		return err
	}
	pb.Legend.Top, pb.Legend.Left = true, true
	pb.Y.Min = 0
	pb.Y.Max *= 1.4
	pw := newPlot(fmt.Sprintf("Parallel efficiency, batch %d", r.thrScal[0].Batch), "workers", "T₁ / (p·T_p)")
	xy = nil
	t1 := r.thrScal[0].Seconds
	for _, p := range r.thrScal {
		xy = append(xy, plotter.XY{X: float64(p.Workers), Y: t1 / (float64(p.Workers) * p.Seconds)})
	}
	if err := linePoints(pw, "efficiency", xy, purple); err != nil {
		return err
	}
	pw.Y.Min, pw.Y.Max = 0, 1.1
	var wt plot.ConstantTicks
	for _, p := range r.thrScal {
		wt = append(wt, plot.Tick{Value: float64(p.Workers), Label: fmt.Sprint(p.Workers)})
	}
	pw.X.Tick.Marker = wt
	pw.Legend = plot.NewLegend()
	return savePNG(w, [][]*plot.Plot{{pb, pw}}, 11*vg.Centimeter, 8*vg.Centimeter)
}
