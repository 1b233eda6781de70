package deconv_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestKernelPackagesStayLean: a program that imports the kernel packages
// links no image codec, no FFT and no plotting: the paper reproduction
// lives in bench/.
func TestKernelPackagesStayLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "./im2col", "./cov", "./isqrt", "./fold").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"image", "gonum.org/v1/gonum/dsp", "gonum.org/v1/plot", "/bench"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") || strings.Contains(dep, "netdeconv/deconv"+banned) {
				t.Errorf("the kernel packages depend on %s", dep)
			}
		}
	}
}
