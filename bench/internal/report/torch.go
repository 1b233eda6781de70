package report

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/netdeconv/deconv/bench/internal/paper"
)

//go:embed table3.py
var torchScript string

type torchResult struct {
	Torch    string `json:"torch"`
	Threads  int    `json:"threads"`
	CoreType string `json:"coretype"`
	Raw      []struct {
		Im2col float64 `json:"im2col"`
		Cov    float64 `json:"cov"`
		Inv    float64 `json:"inv"`
		Conv   float64 `json:"conv"`
	} `json:"rows"`
	Rows []paper.Seconds `json:"-"`
}

// runTorch runs the layers (Table 3's rows as measured) through the reference recipe in PyTorch in
// a subprocess, with opt.Threads threads and, on CPUs with AVX-512F,
// OPENBLAS_CORETYPE=SKYLAKEX (OpenBLAS 0.3.21 does not recognise recent
// CPUs and would use SSE3 kernels).
func runTorch(opt Options, avx512 bool, reps, iters int, layers []paper.Layer, b *bar) (*torchResult, error) {
	type row struct{ H, W, Cin, Cout, Groups, K, Stride int }
	cfg := struct {
		Rows    []row `json:"rows"`
		Batch   int   `json:"batch"`
		Threads int   `json:"threads"`
		Reps    int   `json:"reps"`
		Iters   int   `json:"iters"`
	}{Batch: opt.Batch, Threads: opt.Threads, Reps: reps, Iters: iters}
	for _, l := range layers {
		cfg.Rows = append(cfg.Rows, row(l))
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opt.Python, "-c", torchScript, string(js))
	env := os.Environ()
	if avx512 {
		env = append(env, "OPENBLAS_CORETYPE=SKYLAKEX")
	}
	nt := fmt.Sprint(opt.Threads)
	cmd.Env = append(env, "OMP_NUM_THREADS="+nt, "OPENBLAS_NUM_THREADS="+nt)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("-compare: %v", err)
	}
	var last []string
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "progress ") {
			b.step(fmt.Sprintf("row %s", strings.TrimPrefix(l, "progress ")))
			continue
		}
		last = append(last, l)
		if len(last) > 1 {
			last = last[len(last)-1:]
		}
	}
	if err := cmd.Wait(); err != nil {
		msg := ""
		if len(last) > 0 {
			msg = ": " + last[0]
		}
		return nil, fmt.Errorf("-compare: %s failed (%v)%s", opt.Python, err, msg)
	}
	var res torchResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("-compare: reading PyTorch's results: %v", err)
	}
	if len(res.Raw) != len(layers) {
		return nil, fmt.Errorf("-compare: PyTorch returned %d rows, want %d", len(res.Raw), len(layers))
	}
	for _, r := range res.Raw {
		res.Rows = append(res.Rows, paper.Seconds{Im2col: r.Im2col, Cov: r.Cov, Inv: r.Inv, Conv: r.Conv})
	}
	return &res, nil
}
