package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// benchDir is bench/, where compare.py lives, from this package's folder.
var benchDir = filepath.Join("..", "..")

// TestCompareScriptUnits runs compare.py's unit tests (parsing of the
// benchmarks' output, row selection, the Table 3 table, the scaling
// figures); they need no PyTorch.
func TestCompareScriptUnits(t *testing.T) {
	cmd := exec.Command("/usr/bin/python3", "-B", "-m", "unittest", "-v", "compare_test")
	cmd.Dir = benchDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestCompareScriptTable3 runs `compare.py table3` end to end on one row,
// one round, batch 1: the Go benchmark and the PyTorch recipe both run,
// and the table has the row with four ratios.
func TestCompareScriptTable3(t *testing.T) {
	if testing.Short() || os.Getenv("DECONV_ISA") != "" {
		t.Skip("short, or a rerun of the suite with a kernel family forced: builds and runs a benchmark binary and PyTorch")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Fatalf("no PyTorch for /usr/bin/python3 (%v): apt-get install -y python3-torch python3-numpy libopenblas0-pthread, or run make test, which does", err)
	}
	cmd := exec.Command("/usr/bin/python3", "-B", "compare.py", "table3", "--rows", "14", "--rounds", "1",
		"--batch", "1", "--benchtime", "0.01")
	cmd.Dir = benchDir
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("%v\n%s\n%s", err, out, ee.Stderr)
		}
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^14 +256×256 3→64 g1 k3 S5( +\| +[\d.]+ +[\d.]+ +[\d.]+x){4} \| (-|[a-z0-9,]+)$`)
	if !row.Match(out) {
		t.Errorf("no row 14 with four components in:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^components behind PyTorch: \d of 4`).Match(out) {
		t.Errorf("no count of components behind in:\n%s", out)
	}
}
