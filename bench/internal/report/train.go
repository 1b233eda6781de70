package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The training example (-train): bench/train_digits.py trains a small
// deconvolution CNN (deconv.nn, the library's forward and backward), the
// same network with batch normalization and with neither on the 8×8
// digits, and the report shows the loss curves beside the paper's Figure
// 8(b) claim that deconvolution converges faster.

// trainNets are the example's networks, in the report's order.
var trainNets = []string{"deconv", "bn", "plain"}

var trainLabels = map[string]string{
	"deconv": "network deconvolution (deconv.nn)", "bn": "batch normalization", "plain": "neither",
}

// trainResult is what train_digits.py --json writes.
type trainResult struct {
	Epochs   int    `json:"epochs"`
	Last     int    `json:"last"`
	Threads  int    `json:"threads"`
	Torch    string `json:"torch"`
	Library  string `json:"library"`
	Networks map[string]struct {
		Loss     float64 `json:"loss"`
		Accuracy float64 `json:"accuracy"`
		Steps    int     `json:"steps"`
		Seconds  float64 `json:"seconds"`
	} `json:"networks"`
	Curves map[string]struct {
		Loss     []float64 `json:"loss"`
		Accuracy []float64 `json:"accuracy"`
	} `json:"curves"`
}

// trainEpochs is the report's epoch count (-quick: the script's quick mode).
const trainEpochs = 5

// runTrain runs the example with opt.Python, writing its figure
// (train_digits.png) into dir, and returns its numbers. The library is
// the one DECONV_LIBRARY names, else the checkout's build/libdeconv.so.
func runTrain(opt Options, avx512 bool, dir string, b *bar) (*trainResult, error) {
	if _, err := os.Stat(opt.TrainScript); err != nil {
		return nil, fmt.Errorf("-train: %v (run the report from the repository's root, or set -train-script)", err)
	}
	env := os.Environ()
	if os.Getenv("DECONV_LIBRARY") == "" {
		lib, err := filepath.Abs(filepath.Join(filepath.Dir(opt.TrainScript), "..", "build", "libdeconv.so"))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(lib); err != nil {
			return nil, fmt.Errorf("-train: no %s: build the library first (make lib)", lib)
		}
		env = append(env, "DECONV_LIBRARY="+lib)
	}
	if avx512 {
		env = append(env, "OPENBLAS_CORETYPE=SKYLAKEX")
	}
	js := filepath.Join(dir, "train_digits.json")
	args := []string{opt.TrainScript, "--out", filepath.Join(dir, "train_digits.png"), "--json", js,
		"--threads", fmt.Sprint(opt.Threads)}
	if opt.Quick {
		args = append(args, "--quick")
	} else {
		args = append(args, "--epochs", fmt.Sprint(trainEpochs))
	}
	cmd := exec.Command(opt.Python, args...)
	nt := fmt.Sprint(opt.Threads)
	cmd.Env = append(env, "OMP_NUM_THREADS="+nt, "OPENBLAS_NUM_THREADS="+nt)
	cmd.Stdout = io.Discard
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("-train: %v", err)
	}
	var last string
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "epoch ") {
			b.step(strings.SplitN(l, ":", 2)[0])
			continue
		}
		if strings.TrimSpace(l) != "" {
			last = l
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("-train: %s %s failed (%v): %s", opt.Python, opt.TrainScript, err, last)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		return nil, fmt.Errorf("-train: %v", err)
	}
	var res trainResult
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("-train: reading the example's results: %v", err)
	}
	for _, k := range trainNets {
		c, ok := res.Curves[k]
		if !ok || len(c.Loss) == 0 || len(c.Loss) != res.Networks[k].Steps {
			return nil, fmt.Errorf("-train: the example's results lack the %s network's curve", k)
		}
	}
	return &res, nil
}

// trainCSV writes the per-step training losses, one column per network.
func (r *results) trainCSV(w io.Writer) error {
	t := r.train
	rows := [][]string{}
	for i := range t.Curves["deconv"].Loss {
		row := []string{fmt.Sprint(i + 1)}
		for _, k := range trainNets {
			row = append(row, g(t.Curves[k].Loss[i]))
		}
		rows = append(rows, row)
	}
	return writeCSV(w, []string{"step", "deconv_loss", "bn_loss", "plain_loss"}, rows)
}

// trainMarkdown is the report's section on the example.
func (r *results) trainMarkdown(w io.Writer) {
	t := r.train
	fmt.Fprintf(w, "## Figure 8(b): training on the 8×8 digits\n\n")
	fmt.Fprintf(w, "`bench/train_digits.py` (runnable alone) trains three networks of one shape — 3×3 convolution 1→16, "+
		"3×3 stride-2 convolution 16→32, linear 512→10 — from the same initial weights with the same SGD (learning rate 0.05, "+
		"momentum 0.9, batch 64) on the same batches of scikit-learn's bundled digits (1437 training, 360 held out): "+
		"with the library's FastDeconv, FastDeconv and Delinear (`deconv.nn`: forward and backward in libdeconv %s, float32), "+
		"with batch normalization after each convolution, and with neither (PyTorch %s, %d threads). "+
		"%d epochs, %d steps; the training loss is the mean of the last %d steps.\n\n",
		t.Library, t.Torch, t.Threads, t.Epochs, t.Networks["deconv"].Steps, t.Last)
	var rows [][]string
	for _, k := range trainNets {
		n := t.Networks[k]
		rows = append(rows, []string{trainLabels[k], fmt.Sprintf("%.4f", n.Loss), fmt.Sprintf("%.1f%%", 100*n.Accuracy),
			fmt.Sprintf("%.2f", n.Seconds/float64(t.Epochs))})
	}
	mdTable(w, []string{"network", "training loss", "held-out accuracy", "seconds per epoch"}, rows)
	d, p, bn := t.Networks["deconv"].Loss, t.Networks["plain"].Loss, t.Networks["bn"].Loss
	verdict := "lower than"
	if d >= p {
		verdict = "not lower than"
	}
	fmt.Fprintf(w, "The deconvolution network's training loss is %s the plain network's (plain / deconvolution: %s; "+
		"batch normalization / deconvolution: %s). Per-step losses: `train_digits.csv`.\n\n", verdict, ratio(p, d), ratio(bn, d))
	fmt.Fprintf(w, "![Figure 8(b)](train_digits.png)\n\n")
}

// trainFigureOK checks the figure the script wrote into dir.
func trainFigureOK(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "train_digits.png"))
	if err != nil {
		return fmt.Errorf("-train: %v", err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		return fmt.Errorf("-train: train_digits.png is not a PNG")
	}
	return nil
}
