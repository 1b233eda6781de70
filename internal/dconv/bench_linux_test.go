package dconv

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/netdeconv/deconv/internal/cputime"
	"github.com/netdeconv/deconv/internal/isa"
)

// BenchmarkRows times one call on the shapes of Table 3's grouped 3×3
// layers at 16×16 (16 and 64 input channels per group) and 32×32, with
// both channel blocks, in GFLOP/s of one core.
func BenchmarkRows(b *testing.B) {
	for _, s := range []struct{ side, cin, ch int }{{16, 16, 4}, {16, 16, 8}, {16, 64, 4}, {16, 64, 8}, {32, 64, 4}, {32, 64, 8}} {
		b.Run(fmt.Sprintf("side=%d/cin=%d/ch=%d", s.side, s.cin, s.ch), func(b *testing.B) {
			wp := s.side + 2
			plane := (s.side + 2) * wp
			var o Offsets
			for ci := range s.cin {
				for ki := range 3 {
					for kj := range 3 {
						o.Add(ci*plane + ki*wp + kj)
					}
				}
			}
			src := make([]float32, s.cin*plane)
			for i := range src {
				src[i] = float32(i%7) * 0.1
			}
			w := make([]float32, s.ch*o.Len())
			wld := Channels * o.Len()
			bias := make([]float32, s.ch)
			L := s.side * s.side
			dst := make([]float32, s.ch*L)
			fam := isa.Selected()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ResetTimer()
			t0 := cputime.Thread()
			for range b.N {
				Rows(fam, s.ch, dst, s.side, L, src, wp, s.side, s.side, w, wld, &o, o.Len(), bias)
			}
			cpu := float64(cputime.Thread()-t0) / 1e9
			flops := 2 * float64(s.ch*L*o.Len()) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flops/cpu/1e9, "cpu-GFLOP/s")
		})
	}
}
