package gemm

import "testing"

// TestDepthBlock: the depth blocks cover K exactly in equal parts (the
// last no shorter than the others by as many as there are blocks), as few
// as blocks of at most 5/4 of the kernel's kc allow up to 4·kc, and of at
// most kc beyond.
func TestDepthBlock(t *testing.T) {
	for _, kc := range []int{192, 256} {
		for k := 1; k <= 3000; k++ {
			b := depthBlock(k, kc)
			limit := kc
			if k <= 4*kc {
				limit = kc + kc/4
			}
			if b < 1 || b > limit {
				t.Fatalf("k=%d kc=%d: block %d outside [1, %d]", k, kc, b, limit)
			}
			nb := (k + b - 1) / b
			if want := (k + limit - 1) / limit; nb != want {
				t.Fatalf("k=%d kc=%d: %d blocks of %d, want %d blocks", k, kc, nb, b, want)
			}
			if last := k - (nb-1)*b; last < 1 || b-last >= nb {
				t.Fatalf("k=%d kc=%d: blocks of %d leave a last block of %d", k, kc, b, last)
			}
		}
	}
	for _, tc := range []struct{ k, kc, want int }{{576, 256, 288}, {2048, 256, 256}, {1000, 256, 250}, {300, 256, 300}} {
		if b := depthBlock(tc.k, tc.kc); b != tc.want {
			t.Errorf("k=%d kc=%d: blocks of %d, want %d", tc.k, tc.kc, b, tc.want)
		}
	}
}
