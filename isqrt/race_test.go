//go:build race

package isqrt

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// the GEMM engine allocates; allocation counts are not checked then.
const raceEnabled = true
