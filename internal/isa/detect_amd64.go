//go:build amd64 && gc && !purego

package isa

import "github.com/klauspost/cpuid/v2"

func detect() Family {
	c := cpuid.CPU
	switch {
	case c.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3, cpuid.BMI2):
		return AVX512
	case c.Supports(cpuid.AVX2, cpuid.FMA3):
		return AVX2
	}
	return Generic
}
