// Package gen holds the avo programs that write the library's assembly.
// It is a module of its own, in a directory the go tool skips, so avo never
// enters the library's go.sum. Each subdirectory is one generator; run them
// all with `go generate ./...` from the repository root (each kernel
// package's go:generate line calls its generator) or `make generate`.
package gen
