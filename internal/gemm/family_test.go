package gemm

import (
	"sync/atomic"
	"testing"

	"github.com/netdeconv/deconv/internal/isa"
)

// TestFamilyObeyed checks that a product asked of one family packs with
// that family's copiers whatever family the process selected: the generic
// family runs no assembly (so the generic tests test generic code), and an
// assembly family runs its copiers even when the process selected generic.
func TestFamilyObeyed(t *testing.T) {
	var asm atomic.Int64
	testHookAsm = func() { asm.Add(1) }
	defer func() { testHookAsm = nil }()
	prev := isa.Selected()
	defer isa.Select(prev)

	// Transposed A packs whole MR-row panels with the chunk copier (AVX2
	// float32: 6 values, 24 bytes; AVX-512: 12 values, 48 bytes).
	// (m beyond the small-matrix path, which reads a transposed A in
	// place and packs nothing.)
	const m, n, k = smallMaxMN + 60, 40, 50
	a, b, c := make([]float32, k*m), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i % 7)
	}
	run := func(f isa.Family) int64 {
		asm.Store(0)
		if err := gemmDense(f, 1, Trans, NoTrans, m, n, k, 1, a, m, b, n, 0, c, n); err != nil {
			t.Fatal(err)
		}
		d, err := NewDense(a, m, k, m, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := syrk[float32](f, 1, Upper, 1, d, 0, make([]float32, k*k), k, nil); err != nil {
			t.Fatal(err)
		}
		return asm.Load()
	}
	for _, sel := range isa.Available() {
		if err := isa.Select(sel); err != nil {
			t.Fatal(err)
		}
		if got := run(isa.Generic); got != 0 {
			t.Errorf("selected %v: the generic family ran %d assembly copies", sel, got)
		}
		if !isa.Supported(isa.AVX2) || chunkCopier(isa.AVX2, 24) == nil {
			continue // a build without assembly
		}
		for _, f := range isa.Available()[1:] {
			if got := run(f); got == 0 {
				t.Errorf("selected %v: family %v ran no assembly copy", sel, f)
			}
		}
	}
}
