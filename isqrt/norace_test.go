//go:build !race

package isqrt

const raceEnabled = false
