package paper

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
)

// TestBenchmarkTable3Names runs BenchmarkTable3 once per component over
// all 22 rows (batch 1, a quarter of their height and width) in a child
// process of this test binary and checks that its results are named
// exactly row=01/im2col … row=22/conv, in order: bench/compare.py table3
// finds them by these names.
func TestBenchmarkTable3Names(t *testing.T) {
	if testing.Short() {
		t.Skip("short: runs every Table 3 row once")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkTable3$", "-test.benchtime=1x",
		"-test.count=1", "-table3.batch=1", "-table3.shrink=4")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1") // no -N suffix on the names
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^BenchmarkTable3/(\S+)\s+1\s+\d+(?:\.\d+)? ns/op`).FindAllSubmatch(out, -1) {
		got = append(got, string(m[1]))
	}
	var want []string
	for i := range Table3 {
		for _, c := range []string{"im2col", "cov", "inv", "conv"} {
			want = append(want, fmt.Sprintf("row=%02d/%s", i+1, c))
		}
	}
	if len(want) != 88 {
		t.Fatalf("%d names for %d rows", len(want), len(Table3))
	}
	if !slices.Equal(got, want) {
		t.Errorf("benchmark names\n got %q\nwant %q\noutput:\n%s", got, want, out)
	}
}
