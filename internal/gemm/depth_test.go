package gemm

import "testing"

// TestDepthBlock: the depth blocks cut K into the fewest equal parts of at
// most 5/4 of the kernel's kc, the last one no shorter than the others by
// more than one, and cover K exactly.
func TestDepthBlock(t *testing.T) {
	for _, kc := range []int{192, 256} {
		for k := 1; k <= 3000; k++ {
			b := depthBlock(k, kc)
			kmax := kc + kc/4
			if b < 1 || b > kmax {
				t.Fatalf("k=%d kc=%d: block %d outside [1, %d]", k, kc, b, kmax)
			}
			nb := (k + b - 1) / b
			if want := (k + kmax - 1) / kmax; nb != want {
				t.Fatalf("k=%d kc=%d: %d blocks of %d, want %d blocks", k, kc, nb, b, want)
			}
			if last := k - (nb-1)*b; last < 1 || b-last >= nb {
				t.Fatalf("k=%d kc=%d: blocks of %d leave a last block of %d", k, kc, b, last)
			}
		}
	}
	if b := depthBlock(576, 256); b != 288 {
		t.Errorf("576 with kc = 256: blocks of %d, want 288", b)
	}
}
