// Package report is the program behind `make report`: it reproduces the
// paper's Table 3 and Figures 2, 7 and 10 on an embedded photograph,
// measures the roofline and the scaling of the kernels, optionally runs
// the same Table 3 rows through PyTorch, and writes a Markdown report
// with a CSV per table and a PNG per figure.
package report

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"

	"github.com/netdeconv/deconv/bench/internal/paper"
)

// DefaultBatch is the batch of Table 3 when neither -batch nor -full is
// given: small enough for the whole report to finish in about a minute on
// two cores. The scaling runs use paper.ScalingBatches.
const DefaultBatch = 4

// Options are the report's flags.
type Options struct {
	Out     string // output folder
	Batch   int    // Table 3 batch (the scaling runs use paper.ScalingBatches)
	Full    bool   // the paper's batch, 128
	Compare bool   // run the rows through PyTorch too
	Image   string // PNG/JPEG file or folder; "" is the embedded photograph
	Threads int    // kernel goroutines (and PyTorch threads); 0: all cores
	Quick   bool   // a few seconds: batch 1, one timed run, smaller Figure 2
	Python  string // interpreter for -compare and -train
	Train   bool   // run the training example (bench/train_digits.py)
	// TrainScript is the example's path (from the repository's root).
	TrainScript string
}

// results gathers everything the report writes.
type results struct {
	opt       Options
	date      time.Time
	machine   Machine
	imageName string
	images    []image.Image
	reps      int

	fig7      [2]*paper.Figure7Data // float64, float32
	fig2      *paper.Figure2Data
	fig10     *paper.Figure10Data
	table     []tableRow
	torch     *torchResult
	train     *trainResult
	batchScal []scalePoint
	thrScal   []scalePoint
	elapsed   time.Duration
}

type tableRow struct {
	paper.Row
	Ours  paper.Seconds
	Work  paper.Work
	Torch *paper.Seconds
}

type scalePoint struct {
	Batch, Workers int
	Seconds        float64
	GFlops         float64
}

// Main runs the report with the command-line arguments args and returns
// the exit status: 0 on success, 1 when the report failed, 2 for bad
// usage. Errors are one line on stderr; progress goes to stderr and the
// written paths to stdout.
func Main(args []string, stdout, stderr io.Writer) int {
	opt, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	paths, err := Run(opt, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", oneLine(err))
		return 1
	}
	fmt.Fprintf(stdout, "report written to %s:\n", opt.Out)
	for _, p := range paths {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	return 0
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Out, "out", "report", "output `folder`")
	fs.IntVar(&o.Batch, "batch", 0, fmt.Sprintf("batch size of Table 3 (default %d)", DefaultBatch))
	fs.BoolVar(&o.Full, "full", false, "the paper's batch size, 128 (minutes, several GiB)")
	fs.BoolVar(&o.Compare, "compare", false, "run the same rows through PyTorch (/usr/bin/python3) and add ratio columns")
	fs.StringVar(&o.Image, "image", "", "a PNG or JPEG `file`, or a folder of them, instead of the embedded photograph")
	fs.IntVar(&o.Threads, "threads", 0, "goroutines of the kernels and PyTorch threads (default: all cores)")
	fs.BoolVar(&o.Quick, "quick", false, "a few seconds, for tests: batch 1, layers of a quarter of the height and width, one Newton–Schulz iteration, one timed run, 9×9 Figure 2 kernels")
	fs.StringVar(&o.Python, "python", "/usr/bin/python3", "the Python with PyTorch, for -compare and -train")
	fs.BoolVar(&o.Train, "train", false, "train the digits example (bench/train_digits.py: deconv.nn against batch normalization and neither; needs make lib, python3-sklearn, python3-matplotlib)")
	fs.StringVar(&o.TrainScript, "train-script", "bench/train_digits.py", "the training example, for -train")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: report [flags]   (make report ARGS='flags')")
			fs.PrintDefaults()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; -image PATH names a photograph)", fs.Arg(0))
	}
	switch {
	case o.Batch < 0:
		return o, fmt.Errorf("-batch %d: must be positive", o.Batch)
	case o.Threads < 0:
		return o, fmt.Errorf("-threads %d: must be positive", o.Threads)
	case o.Full && o.Batch != 0 && o.Batch != paper.PaperBatch:
		return o, fmt.Errorf("-full means batch %d; -batch %d contradicts it", paper.PaperBatch, o.Batch)
	case o.Out == "":
		return o, errors.New("-out: empty folder name")
	}
	if o.Full {
		o.Batch = paper.PaperBatch
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
		if o.Quick {
			o.Batch = 1
		}
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	o.Threads = min(o.Threads, runtime.GOMAXPROCS(0))
	return o, nil
}

// Run produces the report in opt.Out and returns the paths written.
// Nothing is written to opt.Out unless every part succeeded: files are
// made in a staging folder inside it and moved in at the end.
func Run(opt Options, logw io.Writer) ([]string, error) {
	start := time.Now()
	r := &results{opt: opt, date: start, reps: 3}
	if opt.Quick {
		r.reps = 1
	}
	if err := paper.SetThreads(opt.Threads); err != nil {
		return nil, err
	}
	defer paper.SetThreads(0)

	// Inputs first: a bad image fails before anything is written.
	if opt.Image == "" {
		r.images, r.imageName = []image.Image{paper.DefaultImage()}, paper.DefaultImageName
	} else {
		imgs, names, err := paper.LoadImages(opt.Image)
		if err != nil {
			return nil, err
		}
		r.images = imgs
		r.imageName = strings.Join(names, ", ")
		if len(names) > 3 {
			r.imageName = fmt.Sprintf("%d images from %s", len(names), filepath.Base(opt.Image))
		}
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("output folder: %w", err)
	}
	stage, err := os.MkdirTemp(opt.Out, ".report-")
	if err != nil {
		return nil, fmt.Errorf("output folder not writable: %w", err)
	}
	defer os.RemoveAll(stage)

	parts := 7
	if opt.Compare {
		parts++
	}
	if opt.Train {
		parts++
	}
	pg := newProgress(logw, parts)

	// 1. Probes.
	b := pg.part("probes", 2)
	r.machine = Machine{
		CPU: cpuModel(), Cores: runtime.NumCPU(), Threads: paper.Threads(), ISA: paper.ISA(),
		AVX512F: cpuid.CPU.Supports(cpuid.AVX512F),
	}
	dur := 300 * time.Millisecond
	if opt.Quick {
		dur = 60 * time.Millisecond
	}
	r.machine.PeakGF, r.machine.PeakProbe = measurePeak(opt.Threads, dur)
	b.step(fmt.Sprintf("FMA peak %.0f GFLOP/s", r.machine.PeakGF))
	size, reps := 64<<20, 5
	if opt.Quick {
		size, reps = 16<<20, 2
	}
	r.machine.BandGB = measureBandwidth(opt.Threads, size, reps)
	b.step(fmt.Sprintf("copy bandwidth %.1f GB/s", r.machine.BandGB))
	b.finish()

	// 2–4. Figures.
	b = pg.part("figure 7", 2)
	for i, f32 := range []bool{false, true} {
		if r.fig7[i], err = paper.Figure7(r.images, paper.Figure7Options{Float32: f32}); err != nil {
			return nil, err
		}
		b.step([]string{"float64", "float32"}[i])
	}
	b.finish()
	b = pg.part("figure 2", 1)
	f2opt := paper.Figure2Options{}
	if opt.Quick {
		f2opt.Size = 9
	}
	if r.fig2, err = paper.Figure2(r.images, f2opt); err != nil {
		return nil, err
	}
	b.step(fmt.Sprintf("%d×%d kernels", r.fig2.Size, r.fig2.Size))
	b.finish()
	b = pg.part("figure 10", 1)
	r.fig10 = paper.Figure10(r.images, r.fig2)
	b.step(fmt.Sprintf("kurtosis %.2f → %.2f", r.fig10.KurtosisBefore, r.fig10.KurtosisAfter))
	b.finish()

	// 5. Table 3.
	b = pg.part("table 3", len(paper.Table3))
	for _, row := range paper.Table3 {
		if opt.Quick {
			row.H, row.W = max(row.H/QuickShrink, 8), max(row.W/QuickShrink, 8)
		}
		tr, err := measureRow(row, opt.Batch, r.reps, r.iters())
		if err != nil {
			return nil, err
		}
		r.table = append(r.table, tr)
		b.step(fmt.Sprintf("%v: overhead %.2f", row.Layer, tr.Ours.Overhead()))
	}
	b.finish()

	// 6. Scaling.
	if err := r.scaling(pg); err != nil {
		return nil, err
	}
	if err := paper.SetThreads(opt.Threads); err != nil {
		return nil, err
	}

	// 7. PyTorch.
	if opt.Compare {
		b = pg.part("pytorch", len(r.table))
		var layers []paper.Layer
		for _, t := range r.table {
			layers = append(layers, t.Layer)
		}
		if r.torch, err = runTorch(opt, r.machine.AVX512F, r.reps, r.iters(), layers, b); err != nil {
			return nil, err
		}
		for i := range r.table {
			r.table[i].Torch = &r.torch.Rows[i]
		}
		b.finish()
	}

	// 8. The training example.
	if opt.Train {
		epochs := trainEpochs
		if opt.Quick {
			epochs = 2
		}
		b = pg.part("training", epochs)
		if r.train, err = runTrain(opt, r.machine.AVX512F, stage, b); err != nil {
			return nil, err
		}
		if err := trainFigureOK(stage); err != nil {
			return nil, err
		}
		b.finish()
	}

	// Last part: the files.
	b = pg.part("writing", 1)
	r.elapsed = time.Since(start)
	names, err := r.write(stage)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, n := range names {
		dst := filepath.Join(opt.Out, n)
		if err := os.Rename(filepath.Join(stage, n), dst); err != nil {
			return nil, err
		}
		paths = append(paths, dst)
	}
	b.step(fmt.Sprintf("%d files", len(paths)))
	b.finish()
	return paths, nil
}

// iters is the Newton–Schulz iteration count of Table 3's Inv.
func (r *results) iters() int {
	if r.opt.Quick {
		return 1
	}
	return paper.NSIterations
}

// measureRow times the four components of one Table 3 row.
func measureRow(row paper.Row, batch, reps, iters int) (tableRow, error) {
	lb, err := paper.NewLayerBench(row.Layer, batch, iters)
	if err != nil {
		return tableRow{}, err
	}
	warm := 1
	if reps == 1 {
		warm = 0
	}
	tr := tableRow{Row: row, Work: lb.Work()}
	if tr.Ours.Im2col, err = timeIt(lb.Im2col, warm, reps); err != nil {
		return tr, fmt.Errorf("%v: %w", row.Layer, err)
	}
	if tr.Ours.Cov, err = timeIt(lb.Cov, warm, reps); err != nil {
		return tr, fmt.Errorf("%v: %w", row.Layer, err)
	}
	if err := lb.Cov(); err != nil { // Inv needs a covariance even with warm = 0
		return tr, err
	}
	if tr.Ours.Inv, err = timeIt(lb.Inv, warm, reps); err != nil {
		return tr, fmt.Errorf("%v: %w", row.Layer, err)
	}
	if tr.Ours.Conv, err = timeIt(lb.Conv, warm, reps); err != nil {
		return tr, fmt.Errorf("%v: %w", row.Layer, err)
	}
	return tr, nil
}

// QuickShrink divides the height and width of Table 3's layers and of
// the scaling runs' layer under -quick, so that the tests run in seconds
// even with the portable kernels.
const QuickShrink = 4

// side is the scaling runs' input height and width.
func (r *results) side() int {
	if r.opt.Quick {
		return 128 / QuickShrink
	}
	return 128
}

// scalingBatches are the batch sweep's batches (all workers); the worker
// sweep (1 … Threads workers) runs at the first.
func (r *results) scalingBatches() []int {
	if r.opt.Quick {
		return []int{1, 2, 4}
	}
	return paper.ScalingBatches
}

// scalingRounds is how many times the scaling runs visit every point.
func (r *results) scalingRounds() int {
	if r.opt.Quick {
		return 1
	}
	return 5
}

// scaling times one training-mode forward of the paper layer at every
// point of the batch sweep and of the worker sweep, in rounds that visit
// each point once, so that the shared machine's drift touches every point
// alike; a point's time is its median over the rounds.
func (r *results) scaling(pg *progress) error {
	batches, rounds := r.scalingBatches(), r.scalingRounds()
	b := pg.part("scaling", rounds)
	type point struct {
		scalePoint
		f     func() error
		flops float64
		ts    []float64
	}
	layers := map[int]*point{}
	var pts []*point
	for _, n := range batches {
		f, flops, err := paper.TrainForward(n, r.side())
		if err != nil {
			return err
		}
		p := &point{scalePoint: scalePoint{Batch: n, Workers: r.opt.Threads}, f: f, flops: flops}
		layers[n] = p
		pts = append(pts, p)
	}
	for w := 1; w <= r.opt.Threads; w++ {
		l := layers[batches[0]]
		pts = append(pts, &point{scalePoint: scalePoint{Batch: batches[0], Workers: w}, f: l.f, flops: l.flops})
	}
	for i := range rounds + 1 { // round 0 warms every layer up, untimed
		for _, p := range pts {
			if err := paper.SetThreads(p.Workers); err != nil {
				return err
			}
			t0 := time.Now()
			if err := p.f(); err != nil {
				return err
			}
			if i > 0 {
				p.ts = append(p.ts, time.Since(t0).Seconds())
			}
		}
		if i > 0 {
			b.step(fmt.Sprintf("round %d", i))
		}
	}
	for i, p := range pts {
		p.Seconds = median(p.ts)
		p.GFlops = p.flops / p.Seconds / 1e9
		if i < len(batches) {
			r.batchScal = append(r.batchScal, p.scalePoint)
		} else {
			r.thrScal = append(r.thrScal, p.scalePoint)
		}
	}
	b.finish()
	return nil
}

// cpuModel names the CPU: cpuid's brand string, or /proc/cpuinfo's
// model name.
func cpuModel() string {
	if s := strings.TrimSpace(cpuid.CPU.BrandName); s != "" {
		return s
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH + " (model unknown)"
}
