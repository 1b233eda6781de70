//go:build amd64 && gc && !purego

package report

import "github.com/klauspost/cpuid/v2"

//go:noescape
func fmaLoop512(iters int)

//go:noescape
func fmaLoop256(iters int)

// fmaProbe returns a function running iters iterations of the widest
// register-resident FMA loop this CPU has and the float32 flops per
// iteration, and the loop's name; nil when the CPU has no FMA.
func fmaProbe() (func(iters int), float64, string) {
	switch {
	case cpuid.CPU.Supports(cpuid.AVX512F):
		return fmaLoop512, 24 * 16 * 2, "AVX-512 FMA"
	case cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3):
		return fmaLoop256, 12 * 8 * 2, "AVX2 FMA"
	}
	return nil, 0, ""
}
