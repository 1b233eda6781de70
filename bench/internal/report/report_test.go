package report

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestQuickReport runs `report -quick` end to end in a temporary folder
// and checks what it wrote: every figure a PNG, every table a CSV with
// consistent rows, the Markdown tables well-formed.
func TestQuickReport(t *testing.T) {
	if testing.Short() {
		t.Skip("short: the whole report, even -quick, is slow under the race detector")
	}
	out := filepath.Join(t.TempDir(), "rep")
	var stdout, stderr bytes.Buffer
	if rc := Main([]string{"-quick", "-out", out}, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d\n%s", rc, stderr.String())
	}
	for _, part := range []string{"probes", "figure 7", "figure 2", "figure 10", "table 3", "scaling", "writing"} {
		if !strings.Contains(stderr.String(), part) {
			t.Errorf("no progress for %q", part)
		}
	}
	checkReport(t, out, stdout.String(), false, false)
}

func checkReport(t *testing.T, out, stdout string, compare, train bool) {
	t.Helper()
	csvs := map[string]int{ // name → rows (0: any)
		"table3.csv": 22, "roofline.csv": 88, "scaling.csv": 0, "figure7.csv": 101, "figure2.csv": 0, "figure10.csv": 121,
	}
	for name, want := range csvs {
		path := filepath.Join(out, name)
		if !strings.Contains(stdout, path) {
			t.Errorf("%s not among the printed paths", path)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll() // also checks every row has the header's width
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want > 0 && len(recs) != want+1 {
			t.Errorf("%s: %d rows, want %d and a header", name, len(recs)-1, want)
		}
		if name == "table3.csv" && compare != strings.Contains(strings.Join(recs[0], ","), "torch_conv_s") {
			t.Errorf("table3.csv header %v (compare %v)", recs[0], compare)
		}
	}
	for _, name := range []string{"figure7.png", "figure2.png", "figure10.png", "roofline.png", "scaling.png"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
			t.Errorf("%s: %v", name, b)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(md)
	for _, s := range []string{"## Summary", "## Table 3", "## Roofline", "## Scaling", "## Figure 7", "## Figure 2", "## Figure 10",
		"![Figure 7](figure7.png)", "![Figure 2](figure2.png)", "![Figure 10](figure10.png)"} {
		if !strings.Contains(text, s) {
			t.Errorf("README.md lacks %q", s)
		}
	}
	if compare != strings.Contains(text, "### Against PyTorch") {
		t.Errorf("PyTorch section present: %v, want %v", !compare, compare)
	}
	// Markdown tables: a header, a separator of the same width, rows of
	// the same width.
	tables := 0
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") {
			continue
		}
		tables++
		cols := strings.Count(lines[i], "|")
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "| ---") || strings.Count(lines[i+1], "|") != cols {
			t.Fatalf("table at line %d: no separator of %d columns", i+1, cols-1)
		}
		j := i + 2
		for ; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			if strings.Count(lines[j], "|") != cols || !strings.HasSuffix(lines[j], "|") {
				t.Errorf("line %d has %d cells, the header %d: %s", j+1, strings.Count(lines[j], "|")-1, cols-1, lines[j])
			}
		}
		if j == i+2 {
			t.Errorf("table at line %d has no rows", i+1)
		}
		i = j
	}
	want := 8 // summary, Table 3, roofline, two scaling, Figures 7, 2 and 10
	if compare {
		want++
	}
	if train {
		want++
	}
	if train != strings.Contains(text, "![Figure 8(b)](train_digits.png)") {
		t.Errorf("training section present: %v, want %v", !train, train)
	}
	if tables != want {
		t.Errorf("%d Markdown tables, want %d", tables, want)
	}
	if strings.Contains(text, "NaN") {
		t.Error("README.md has NaN values")
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".report-") {
			t.Errorf("staging folder %s left behind", e.Name())
		}
	}
}

// TestFailures: a missing or corrupt -image, an unwritable -out, a bad
// flag: a one-line error, a non-zero exit, and no report.
func TestFailures(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.png")
	os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, c := range []struct {
		name string
		args []string
		rc   int
		out  string
	}{
		{"missing image", []string{"-image", filepath.Join(dir, "missing.png")}, 1, "o1"},
		{"corrupt image", []string{"-image", corrupt}, 1, "o2"},
		{"empty folder", []string{"-image", t.TempDir()}, 1, "o3"},
		{"unwritable out", []string{"-quick"}, 1, filepath.Join("file", "sub")},
		{"bad flag", []string{"-nosuchflag"}, 2, "o5"},
		{"bad value", []string{"-batch", "x"}, 2, "o6"},
		{"negative batch", []string{"-batch", "-3"}, 2, "o7"},
		{"stray argument", []string{"photo.png"}, 2, "o8"},
	} {
		out := filepath.Join(dir, c.out)
		var stdout, stderr bytes.Buffer
		rc := Main(append(c.args, "-out", out), &stdout, &stderr)
		msg := stderr.String()
		if rc != c.rc {
			t.Errorf("%s: exit %d, want %d (%q)", c.name, rc, c.rc, msg)
		}
		if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "report: ") {
			t.Errorf("%s: not a one-line error: %q", c.name, msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s: stdout %q", c.name, stdout.String())
		}
		if _, err := os.Stat(filepath.Join(out, "README.md")); err == nil {
			t.Errorf("%s: a report was written", c.name)
		}
	}
}

// TestCompare runs -quick -compare. PyTorch is a test dependency (make
// test installs it): without it this test fails.
func TestCompare(t *testing.T) {
	if testing.Short() || os.Getenv("DECONV_ISA") != "" {
		t.Skip("short, or a rerun of the suite with a kernel family forced: PyTorch's side does not change")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Fatalf("no PyTorch for /usr/bin/python3 (%v): apt-get install -y python3-torch python3-numpy libopenblas0-pthread, or run make test, which does", err)
	}
	out := filepath.Join(t.TempDir(), "rep")
	var stdout, stderr bytes.Buffer
	if rc := Main([]string{"-quick", "-compare", "-out", out}, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d\n%s", rc, stderr.String())
	}
	checkReport(t, out, stdout.String(), true, false)
}

// TestTrain runs -quick -train against a library built for the test.
// PyTorch, scikit-learn and matplotlib are test dependencies (make test
// installs them): without them this test fails.
func TestTrain(t *testing.T) {
	if testing.Short() || os.Getenv("DECONV_ISA") != "" {
		t.Skip("short, or a rerun of the suite with a kernel family forced: the example's side does not change")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(t.TempDir(), "libdeconv.so")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildmode=c-shared", "-o", lib, "./capi")
	build.Dir = root
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the library: %v\n%s", err, msg)
	}
	t.Setenv("DECONV_LIBRARY", lib)
	out := filepath.Join(t.TempDir(), "rep")
	var stdout, stderr bytes.Buffer
	args := []string{"-quick", "-train", "-train-script", filepath.Join(root, "bench", "train_digits.py"), "-out", out}
	if rc := Main(args, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d\n%s", rc, stderr.String())
	}
	checkReport(t, out, stdout.String(), false, true)
	f, err := os.Open(filepath.Join(out, "train_digits.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2*(1437/64)+1 || len(recs[0]) != 4 {
		t.Errorf("train_digits.csv: %d rows of %d columns", len(recs), len(recs[0]))
	}
	if fi, err := os.Stat(filepath.Join(out, "train_digits.png")); err != nil || fi.Size() < 10000 {
		t.Errorf("train_digits.png: %v", err)
	}
}
