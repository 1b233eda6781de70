//go:build !amd64 || !gc || purego

package isa

// Builds without assembly (purego, other architectures, gccgo) run the
// generic kernels only.
func detect() Family { return Generic }
