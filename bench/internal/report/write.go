package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/netdeconv/deconv/bench/internal/paper"
)

// write writes every file into dir and returns their names, README.md
// last.
func (r *results) write(dir string) ([]string, error) {
	var names []string
	add := func(name string, f func(w io.Writer) error) error {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(fh)
		if err := f(bw); err != nil {
			fh.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := bw.Flush(); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	}
	for _, f := range []struct {
		name string
		fn   func(io.Writer) error
	}{
		{"table3.csv", r.table3CSV},
		{"roofline.csv", r.rooflineCSV},
		{"scaling.csv", r.scalingCSV},
		{"figure7.csv", r.figure7CSV},
		{"figure2.csv", r.figure2CSV},
		{"figure10.csv", r.figure10CSV},
		{"figure7.png", r.figure7PNG},
		{"figure2.png", r.figure2PNG},
		{"figure10.png", r.figure10PNG},
		{"roofline.png", r.rooflinePNG},
		{"scaling.png", r.scalingPNG},
		{"train_digits.csv", r.trainCSV},
		{"README.md", r.markdown},
	} {
		if f.name == "train_digits.csv" {
			if r.train == nil {
				continue
			}
			names = append(names, "train_digits.png") // written by the example itself
		}
		if err := add(f.name, f.fn); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func g(v float64) string { return fmt.Sprintf("%.6g", v) }

func (r *results) table3CSV(w io.Writer) error {
	h := []string{"H", "W", "Cin", "Cout", "groups", "k", "S", "batch",
		"im2col_s", "cov_s", "inv_s", "conv_s", "overhead",
		"paper_im2col_s", "paper_cov_s", "paper_inv_s", "paper_conv_s", "paper_overhead_with_im2col"}
	if r.torch != nil {
		h = append(h, "torch_im2col_s", "torch_cov_s", "torch_inv_s", "torch_conv_s")
	}
	var rows [][]string
	for _, t := range r.table {
		l, o, p := t.Layer, t.Ours, t.Paper
		row := []string{fmt.Sprint(l.H), fmt.Sprint(l.W), fmt.Sprint(l.Cin), fmt.Sprint(l.Cout), fmt.Sprint(l.Groups),
			fmt.Sprint(l.K), fmt.Sprint(l.Stride), fmt.Sprint(r.opt.Batch),
			g(o.Im2col), g(o.Cov), g(o.Inv), g(o.Conv), g(o.Overhead()),
			g(p.Im2col), g(p.Cov), g(p.Inv), g(p.Conv), g(paperOverhead(p))}
		if t.Torch != nil {
			row = append(row, g(t.Torch.Im2col), g(t.Torch.Cov), g(t.Torch.Inv), g(t.Torch.Conv))
		}
		rows = append(rows, row)
	}
	return writeCSV(w, h, rows)
}

// paperOverhead is the paper's deconvolution cost relative to its
// convolution: its Cov starts from the im2col matrix, so Im2Col counts.
func paperOverhead(p paper.Seconds) float64 { return (p.Im2col + p.Cov + p.Inv) / p.Conv }

// roof is one kernel's place under the roofline.
type roof struct {
	Row              int
	Kernel           string
	Seconds          float64
	Flops, Bytes     float64
	GFlops, GBytes   float64
	PeakPct, BandPct float64
}

func (r *results) roofs() []roof {
	var out []roof
	for i, t := range r.table {
		for _, k := range []struct {
			name         string
			s            float64
			flops, bytes float64
		}{
			{"im2col", t.Ours.Im2col, 0, t.Work.Im2colBytes},
			{"cov", t.Ours.Cov, t.Work.CovFlops, t.Work.CovBytes},
			{"inv", t.Ours.Inv, t.Work.InvFlops, t.Work.InvBytes},
			{"conv", t.Ours.Conv, t.Work.ConvFlops, t.Work.ConvBytes},
		} {
			f := roof{Row: i + 1, Kernel: k.name, Seconds: k.s, Flops: k.flops, Bytes: k.bytes}
			if k.s > 0 {
				f.GFlops, f.GBytes = k.flops/k.s/1e9, k.bytes/k.s/1e9
			}
			if r.machine.PeakGF > 0 {
				f.PeakPct = 100 * f.GFlops / r.machine.PeakGF
			}
			if r.machine.BandGB > 0 {
				f.BandPct = 100 * f.GBytes / r.machine.BandGB
			}
			out = append(out, f)
		}
	}
	return out
}

func (r *results) rooflineCSV(w io.Writer) error {
	var rows [][]string
	for _, f := range r.roofs() {
		rows = append(rows, []string{fmt.Sprint(f.Row), f.Kernel, g(f.Seconds), g(f.Flops), g(f.Bytes),
			g(f.GFlops), g(f.GBytes), g(f.PeakPct), g(f.BandPct)})
	}
	return writeCSV(w, []string{"row", "kernel", "seconds", "flops", "bytes", "gflops", "gbytes_per_s",
		"percent_of_fma_peak", "percent_of_bandwidth"}, rows)
}

func (r *results) scalingCSV(w io.Writer) error {
	var rows [][]string
	for _, p := range r.batchScal {
		rows = append(rows, []string{"batch", fmt.Sprint(p.Batch), fmt.Sprint(p.Workers), g(p.Seconds), g(p.GFlops), ""})
	}
	t1 := r.thrScal[0].Seconds
	for _, p := range r.thrScal {
		rows = append(rows, []string{"workers", fmt.Sprint(p.Batch), fmt.Sprint(p.Workers), g(p.Seconds), g(p.GFlops),
			g(t1 / (float64(p.Workers) * p.Seconds))})
	}
	return writeCSV(w, []string{"sweep", "batch", "workers", "seconds", "conv_gflops", "parallel_efficiency"}, rows)
}

func csvRes(v float64) string {
	if math.IsInf(v, 1) || math.IsNaN(v) {
		return "inf"
	}
	return g(v)
}

func (r *results) figure7CSV(w io.Writer) error {
	d64, d32 := r.fig7[0], r.fig7[1]
	var rows [][]string
	for k := range d64.Coupled {
		rows = append(rows, []string{fmt.Sprint(k),
			csvRes(d64.Coupled[k]), csvRes(d64.CoupledFast[k]), csvRes(d64.Uncoupled[k]),
			csvRes(d32.Coupled[k]), csvRes(d32.CoupledFast[k]), csvRes(d32.Uncoupled[k])})
	}
	return writeCSV(w, []string{"iteration", "coupled_f64", "coupled_library_f64", "uncoupled_f64",
		"coupled_f32", "coupled_library_f32", "uncoupled_f32"}, rows)
}

func (r *results) figure2CSV(w io.Writer) error {
	var rows [][]string
	k := r.fig2.Size
	for c, name := range []string{"R", "G", "B"} {
		for c2, name2 := range []string{"R", "G", "B"} {
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					rows = append(rows, []string{name, name2, fmt.Sprint(i - k/2), fmt.Sprint(j - k/2), g(r.fig2.Kernel[c][c2][i*k+j])})
				}
			}
		}
	}
	return writeCSV(w, []string{"output_channel", "input_channel", "dy", "dx", "weight"}, rows)
}

func (r *results) figure10CSV(w io.Writer) error {
	d := r.fig10
	var rows [][]string
	for i := range d.DensityBefore {
		rows = append(rows, []string{g(d.BinCentre(i)), g(d.DensityBefore[i]), g(d.DensityAfter[i])})
	}
	return writeCSV(w, []string{"value_sd", "density_before", "density_after"}, rows)
}

// mdTable writes a Markdown table.
func mdTable(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(seps, " | "))
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
}

func ms(s float64) string {
	v := 1e3 * s
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func ratio(a, b float64) string {
	if b <= 0 || a <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// Headline returns the numbers of the summary table, in order.
func (r *results) summary() [][]string {
	m := r.machine
	var ours, paperOv []float64
	for _, t := range r.table {
		ours = append(ours, t.Ours.Overhead())
		paperOv = append(paperOv, paperOverhead(t.Paper))
	}
	pl := r.table[paper.PaperLayer]
	d64, d32 := r.fig7[0], r.fig7[1]
	last := len(d64.Coupled) - 1
	ub, uat := paper.Best(d64.Uncoupled)
	tb := r.thrScal[len(r.thrScal)-1]
	eff := r.thrScal[0].Seconds / (float64(tb.Workers) * tb.Seconds)
	bs, bl := r.batchScal[0], r.batchScal[len(r.batchScal)-1]
	rows := [][]string{
		{"machine", fmt.Sprintf("%s; %d threads of %d logical CPUs; kernels %s", m.CPU, m.Threads, m.Cores, m.ISA)},
		{"probes", fmt.Sprintf("FMA peak %.0f GFLOP/s (%s), copy bandwidth %.1f GB/s", m.PeakGF, m.PeakProbe, m.BandGB)},
		{"Table 3, batch", fmt.Sprintf("%d (paper: %d)", r.opt.Batch, paper.PaperBatch)},
		{"deconvolution overhead, median of 22 rows", fmt.Sprintf("(Cov + Inv) / Conv = %.3f (paper: (Im2Col + Cov + Inv) / Conv = %.3f)", median(ours), median(paperOv))},
		{"paper layer " + r.table[paper.PaperLayer].Layer.String(), fmt.Sprintf("Im2Col %s ms, Cov %s ms, Inv %s ms, Conv %s ms (%.0f GFLOP/s)",
			ms(pl.Ours.Im2col), ms(pl.Ours.Cov), ms(pl.Ours.Inv), ms(pl.Ours.Conv), pl.Work.ConvFlops/pl.Ours.Conv/1e9)},
		{"training forward, paper layer", fmt.Sprintf("batch %d: %s ms; %d workers: parallel efficiency %.0f%%; time per image, batch %d / batch %d: %.3f",
			tb.Batch, ms(tb.Seconds), tb.Workers, 100*eff, bs.Batch, bl.Batch, bs.Seconds/float64(bs.Batch)/(bl.Seconds/float64(bl.Batch)))},
		{"Figure 7 (27×27, κ = " + fmt.Sprintf("%.2g", d64.Condition()) + ")", fmt.Sprintf(
			"coupled residual at iteration %d: %.1e (float64), %.1e (float32); uncoupled: best %.1e at iteration %d, then exceeds 1 at iteration %d (float64; float32: %d)",
			last, d64.Coupled[last], d32.Coupled[last], ub, uat, paper.DivergesAt(d64.Uncoupled, 1), paper.DivergesAt(d32.Uncoupled, 1))},
		{fmt.Sprintf("Figure 2 (%d×%d kernels)", r.fig2.Size, r.fig2.Size), fmt.Sprintf("centre / mean of 8 neighbours: R %.1f / %.1f, G %.1f / %.1f, B %.1f / %.1f",
			r.fig2.Centre(0), r.fig2.NeighbourMean(0), r.fig2.Centre(1), r.fig2.NeighbourMean(1), r.fig2.Centre(2), r.fig2.NeighbourMean(2))},
		{"Figure 10", fmt.Sprintf("excess kurtosis %.2f → %.2f; values within ±%.1f sd %.1f%% → %.1f%%",
			r.fig10.KurtosisBefore, r.fig10.KurtosisAfter, paper.NearZero, 100*r.fig10.NearZeroBefore, 100*r.fig10.NearZeroAfter)},
	}
	if r.torch != nil {
		var ratios [4][]float64
		for _, t := range r.table {
			ratios[0] = append(ratios[0], t.Torch.Im2col/t.Ours.Im2col)
			ratios[1] = append(ratios[1], t.Torch.Cov/t.Ours.Cov)
			ratios[2] = append(ratios[2], t.Torch.Inv/t.Ours.Inv)
			ratios[3] = append(ratios[3], t.Torch.Conv/t.Ours.Conv)
		}
		rows = append(rows, []string{"PyTorch / this library, median of 22 rows", fmt.Sprintf(
			"Im2Col %.2f×, Cov %.2f×, Inv %.2f×, Conv %.2f× (PyTorch %s, %d threads, OPENBLAS_CORETYPE=%s)",
			median(ratios[0]), median(ratios[1]), median(ratios[2]), median(ratios[3]), r.torch.Torch, r.torch.Threads, orNone(r.torch.CoreType))})
	}
	return rows
}

// behind names the components where PyTorch (p) is faster than this
// library (o), or "–".
func behind(o, p paper.Seconds) string {
	var late []string
	for _, c := range []struct {
		name      string
		ours, ref float64
	}{{"Im2Col", o.Im2col, p.Im2col}, {"Cov", o.Cov, p.Cov}, {"Inv", o.Inv, p.Inv}, {"Conv", o.Conv, p.Conv}} {
		if c.ref < c.ours {
			late = append(late, c.name)
		}
	}
	if len(late) == 0 {
		return "–"
	}
	return strings.Join(late, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// SummaryMarkdown is the summary table as the README shows it.
func (r *results) summaryMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Measured %s with `%s`, %s, %s.\n\n", r.date.UTC().Format("2006-01-02 15:04 MST"), r.command(), runtime.Version(), r.imageName)
	mdTable(w, []string{"what", "result"}, r.summary())
}

func (r *results) command() string {
	args := []string{"make report"}
	var a []string
	if r.opt.Batch != DefaultBatch && !r.opt.Quick {
		a = append(a, fmt.Sprintf("-batch %d", r.opt.Batch))
	}
	if r.opt.Quick {
		a = append(a, "-quick")
	}
	if r.opt.Compare {
		a = append(a, "-compare")
	}
	if r.opt.Image != "" {
		a = append(a, "-image "+filepath.Base(r.opt.Image))
	}
	if len(a) > 0 {
		args = append(args, "ARGS='"+strings.Join(a, " ")+"'")
	}
	return strings.Join(args, " ")
}

func (r *results) markdown(w io.Writer) error {
	m := r.machine
	fmt.Fprintf(w, "# Network deconvolution: the paper's Table 3 and Figures 2, 7 and 10\n\n")
	fmt.Fprintf(w, "Generated by `go run ./bench/cmd/report` in %.0f s. Photograph: %s. "+
		"CPU: %s, %d threads (of %d logical CPUs), kernel family %s. "+
		"On a shared machine the timings are noisy; compare ratios measured in one run.\n\n",
		r.elapsed.Seconds(), r.imageName, m.CPU, m.Threads, m.Cores, m.ISA)
	if r.opt.Quick {
		fmt.Fprintf(w, "**-quick:** a test run. Table 3's layers and the scaling runs' layer have a quarter of the paper's height and width, "+
			"batch %d, one Newton–Schulz iteration in Inv, one timed run; Figure 2's kernels are %d×%d. The timings are not comparable with the paper's.\n\n", r.opt.Batch, r.fig2.Size, r.fig2.Size)
	}
	fmt.Fprintf(w, "## Summary\n\n")
	r.summaryMarkdown(w)

	fmt.Fprintf(w, "## Table 3 (Appendix A.6)\n\n")
	fmt.Fprintf(w, "Per layer: this library's median time of %d run(s) at batch **%d** for the subsampled im2col matrix "+
		"(`im2col.Im2col`, unfold layout as `F.unfold` writes it, padding k/2, every S-th position), the covariance (`cov.Compute`: im2col fused, "+
		"blocks of 64 channels when groups = 1, one covariance per group otherwise, eps 1e-5), the inverse square root "+
		"(%d coupled Newton–Schulz iterations, `isqrt`, batched over the groups) and the k×k convolution "+
		"(`fold.Conv2d`, padding k/2), grouped as the row is, as the reference's FastDeconv(groups=…) convolves: "+
		"a row of g groups convolves in g groups (512→512 in 512 groups is a depthwise convolution); the overhead is (Cov + Inv) / Conv. "+
		"The paper's columns are its own numbers: batch %d on the authors' CPU, in seconds; its Cov starts from "+
		"the im2col matrix, so its overhead counts Im2Col too. Times scale with the batch; the overheads are comparable.\n\n",
		r.reps, r.opt.Batch, r.iters(), paper.PaperBatch)
	var rows [][]string
	for _, t := range r.table {
		l, o, p := t.Layer, t.Ours, t.Paper
		rows = append(rows, []string{fmt.Sprint(l.H), fmt.Sprint(l.W), fmt.Sprint(l.Cin), fmt.Sprint(l.Cout), fmt.Sprint(l.Groups),
			fmt.Sprint(l.K), fmt.Sprint(l.Stride), ms(o.Im2col), ms(o.Cov), ms(o.Inv), ms(o.Conv), fmt.Sprintf("%.3f", o.Overhead()),
			g(p.Im2col), g(p.Cov), g(p.Inv), g(p.Conv), fmt.Sprintf("%.3f", paperOverhead(p))})
	}
	mdTable(w, []string{"H", "W", "C_in", "C_out", "groups", "k", "S",
		"Im2Col ms", "Cov ms", "Inv ms", "Conv ms", "overhead",
		"paper Im2Col s", "paper Cov s", "paper Inv s", "paper Conv s", "paper overhead"}, rows)

	if r.torch != nil {
		fmt.Fprintf(w, "### Against PyTorch\n\n")
		fmt.Fprintf(w, "The same rows, batch %d, through the reference recipe in PyTorch %s in the same run "+
			"(`F.unfold`; unfold, rows, mean and `addmm`; coupled Newton–Schulz as batched matmuls; "+
			"`F.conv2d` with the row's groups, as this library's Conv), "+
			"%d threads on both sides, `OPENBLAS_CORETYPE=%s`, after this library's rows (not alternating: on a shared machine, "+
			"`bench/compare.py table3` alternates the two sides over rounds at batch 8). Ratio = PyTorch time / this library's time; "+
			"the last column names the components where PyTorch is faster.\n\n",
			r.opt.Batch, r.torch.Torch, r.torch.Threads, orNone(r.torch.CoreType))
		rows = nil
		for _, t := range r.table {
			o, p := t.Ours, *t.Torch
			rows = append(rows, []string{t.Layer.String(),
				ms(o.Im2col), ms(p.Im2col), ratio(p.Im2col, o.Im2col),
				ms(o.Cov), ms(p.Cov), ratio(p.Cov, o.Cov),
				ms(o.Inv), ms(p.Inv), ratio(p.Inv, o.Inv),
				ms(o.Conv), ms(p.Conv), ratio(p.Conv, o.Conv),
				fmt.Sprintf("%.3f", o.Overhead()), fmt.Sprintf("%.3f", p.Overhead()), behind(o, p)})
		}
		mdTable(w, []string{"layer", "Im2Col ms", "PyTorch", "ratio", "Cov ms", "PyTorch", "ratio",
			"Inv ms", "PyTorch", "ratio", "Conv ms", "PyTorch", "ratio", "overhead", "PyTorch overhead", "behind PyTorch"}, rows)
	}

	fmt.Fprintf(w, "## Roofline\n\n")
	fmt.Fprintf(w, "Start-up probes: float32 FMA peak **%.0f GFLOP/s** (%s, %d goroutines, register-resident chains), "+
		"copy bandwidth **%.1f GB/s** (bytes read + written, %d goroutines). Flops count a multiply-add as 2: "+
		"Cov the upper triangle of XᵀX, Inv 3 full products per iteration (the reference's count; the library's fast iteration does fewer), Conv 2·N·C_out·H·W·(C_in/groups)·k². "+
		"Bytes are the compulsory traffic (input read, result written). Rows of Table 3's paper layer (%v) and the "+
		"median over all 22 rows; every row is in `roofline.csv`.\n\n",
		m.PeakGF, m.PeakProbe, m.Threads, m.BandGB, m.Threads, r.table[paper.PaperLayer].Layer)
	rs := r.roofs()
	rows = nil
	for ki, name := range []string{"im2col", "cov", "inv", "conv"} {
		f := rs[paper.PaperLayer*4+ki]
		var gf, gb []float64
		for i := ki; i < len(rs); i += 4 {
			gf = append(gf, rs[i].PeakPct)
			gb = append(gb, rs[i].BandPct)
		}
		gfs, pk := fmt.Sprintf("%.1f", f.GFlops), fmt.Sprintf("%.0f%% (median %.0f%%)", f.PeakPct, median(gf))
		if f.Flops == 0 {
			gfs, pk = "–", "–"
		}
		rows = append(rows, []string{name, gfs, pk, fmt.Sprintf("%.1f", f.GBytes), fmt.Sprintf("%.0f%% (median %.0f%%)", f.BandPct, median(gb))})
	}
	mdTable(w, []string{"kernel", "GFLOP/s", "of FMA peak", "GB/s", "of bandwidth"}, rows)
	fmt.Fprintf(w, "![roofline](roofline.png)\n\n")

	fmt.Fprintf(w, "## Scaling\n\n")
	fmt.Fprintf(w, "One training-mode forward of the paper's layer (`fold.FastDeconv` 64→128, 3×3, padding 1, %d×%d, "+
		"statistics, 5 iterations, fold and convolution), median of %d round(s) that visit every point once, in turn "+
		"(`go test -bench BenchmarkScaling ./bench/internal/paper` and `bench/compare.py scaling` time the same points). "+
		"The cost should be proportional to the batch (time per image within 5%% of the largest batch's) "+
		"and the parallel efficiency time(1) / (w·time(w)) at least 90%% from 1 to 2 workers.\n\n", r.side(), r.side(), r.scalingRounds())
	rows = nil
	bl := r.batchScal[len(r.batchScal)-1]
	for _, p := range r.batchScal {
		rows = append(rows, []string{fmt.Sprint(p.Batch), fmt.Sprint(p.Workers), ms(p.Seconds), ms(p.Seconds / float64(p.Batch)),
			fmt.Sprintf("%.3f", p.Seconds/float64(p.Batch)/(bl.Seconds/float64(bl.Batch))), fmt.Sprintf("%.0f", p.GFlops)})
	}
	mdTable(w, []string{"batch", "workers", "ms", "ms per image", fmt.Sprintf("per image / batch %d's", bl.Batch), "conv GFLOP/s"}, rows)
	rows = nil
	t1 := r.thrScal[0].Seconds
	for _, p := range r.thrScal {
		rows = append(rows, []string{fmt.Sprint(p.Batch), fmt.Sprint(p.Workers), ms(p.Seconds),
			fmt.Sprintf("%.2f×", t1/p.Seconds), fmt.Sprintf("%.0f%%", 100*t1/(float64(p.Workers)*p.Seconds))})
	}
	mdTable(w, []string{"batch", "workers", "ms", "speed-up", "parallel efficiency"}, rows)
	fmt.Fprintf(w, "![scaling](scaling.png)\n\n")

	d64, d32 := r.fig7[0], r.fig7[1]
	fmt.Fprintf(w, "## Figure 7 (Appendix A.3): coupled against uncoupled Newton–Schulz\n\n")
	fmt.Fprintf(w, "‖D_k·D_k·Cov − I‖_F per iteration on the %d×%d covariance of the photograph's 3×3 RGB windows "+
		"(condition number %.3g, no eps), Frobenius pre-scaling, iterations in float64 and in float32 (residuals in float64). "+
		"Coupled: T = ½(3I − Z·Y), Y ← Y·T, Z ← T·Z; the library's fast coupled iteration (`isqrt.Coupled`) is in `figure7.csv`. "+
		"Uncoupled: X ← ½·X·(3I − X·X·Ã), the same iterates in exact arithmetic.\n\n", d64.N, d64.N, d64.Condition())
	rows = nil
	for _, k := range []int{0, 5, 10, 15, 20, 30, 40, 60, 80, 100} {
		if k < len(d64.Coupled) {
			rows = append(rows, []string{fmt.Sprint(k), sci(d64.Coupled[k]), sci(d64.Uncoupled[k]), sci(d32.Coupled[k]), sci(d32.Uncoupled[k])})
		}
	}
	mdTable(w, []string{"iteration", "coupled float64", "uncoupled float64", "coupled float32", "uncoupled float32"}, rows)
	fmt.Fprintf(w, "![Figure 7](figure7.png)\n\n")

	f2 := r.fig2
	fmt.Fprintf(w, "## Figure 2: deconvolution kernels\n\n")
	fmt.Fprintf(w, "D = (Cov + %g·I)^{-1/2} of the %d×%d RGB windows of the photograph (%d features, condition number %.3g, "+
		"computed by %d coupled Newton–Schulz iterations in float64 to a residual of 1e-8, "+
		"values in [0, 1]); each channel's kernel is D's row at that channel's centre pixel, over the same channel. "+
		"Colours: blue negative, red positive, in proportion to sign(w)·√(|w|/m), m the largest |w| away from the centre, "+
		"so that the weak far surround shows (the centre saturates).\n\n",
		f2.Eps, f2.Size, f2.Size, 3*f2.Size*f2.Size, f2.Condition, f2.Iterations)
	rows = nil
	for c, name := range []string{"R", "G", "B"} {
		rows = append(rows, []string{name, fmt.Sprintf("%.2f", f2.Centre(c)), fmt.Sprintf("%.2f", f2.NeighbourMean(c)), fmt.Sprintf("%.2f", f2.MaxAbsOffCentre(c))})
	}
	mdTable(w, []string{"channel", "centre", "mean of the 8 neighbours", "largest absolute value elsewhere"}, rows)
	fmt.Fprintf(w, "![Figure 2](figure2.png)\n\n")

	f10 := r.fig10
	fmt.Fprintf(w, "## Figure 10: pixel values before and after deconvolution\n\n")
	fmt.Fprintf(w, "Before: each channel's pixel values, centred and scaled to unit variance. After: each channel deconvolved "+
		"with Figure 2's D (its centre row applied to every window), scaled to unit variance. Over %d values:\n\n", len(f10.Before))
	mdTable(w, []string{"", "before", "after"}, [][]string{
		{"excess kurtosis", fmt.Sprintf("%.2f", f10.KurtosisBefore), fmt.Sprintf("%.2f", f10.KurtosisAfter)},
		{fmt.Sprintf("fraction within ±%.1f sd", paper.NearZero), fmt.Sprintf("%.1f%%", 100*f10.NearZeroBefore), fmt.Sprintf("%.1f%%", 100*f10.NearZeroAfter)},
	})
	fmt.Fprintf(w, "![Figure 10](figure10.png)\n\n")

	if r.train != nil {
		r.trainMarkdown(w)
	}

	fmt.Fprintf(w, "## Files and rerunning\n\n")
	fmt.Fprintf(w, "Tables: `table3.csv`, `roofline.csv`, `scaling.csv`, `figure7.csv`, `figure2.csv`, `figure10.csv`. "+
		"Rerun with `make report`; `make report ARGS=-compare` adds PyTorch (Debian's `python3-torch`), "+
		"`ARGS='-image photo.jpg'` uses another photograph, `-full` the paper's batch of 128, `-threads N` fewer threads, "+
		"`-train` adds the training example (after `make lib`; `bench/train_digits.py` runs alone too).\n")
	return nil
}

func sci(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "overflow"
	}
	return fmt.Sprintf("%.2e", v)
}
