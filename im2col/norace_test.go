//go:build !race

package im2col

const raceEnabled = false
