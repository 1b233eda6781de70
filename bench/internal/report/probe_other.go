//go:build !amd64 || !gc || purego

package report

// fmaProbe has no assembly loop outside amd64: the peak is not measured.
func fmaProbe() (func(iters int), float64, string) { return nil, 0, "" }
