//go:build amd64 && gc && !purego

package gemm

import "github.com/netdeconv/deconv/internal/isa"

// FMAPeak runs iters iterations of the register-resident FMA probe of
// family f (the widest the CPU runs, at most f) and returns the float32
// flops it performed, 0 if f has none. Run on every core at once and
// timed, it measures the FMA peak that benchmarks and the report state
// kernel speeds against.
func FMAPeak(f isa.Family, iters int) float64 {
	switch {
	case f >= isa.AVX512 && isa.Supported(isa.AVX512):
		fmaPeakAVX512(iters)
		return float64(iters) * 24 * 16 * 2
	case f >= isa.AVX2 && isa.Supported(isa.AVX2):
		fmaPeakAVX2(iters)
		return float64(iters) * 12 * 8 * 2
	}
	return 0
}
