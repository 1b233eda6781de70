//go:build !amd64 || !gc || purego

package taps

import "github.com/netdeconv/deconv/internal/isa"

// vector: builds without assembly run the portable loop only.
func vector[T Float](isa.Family, []T, int, []T, int, int, int, *Taps[T], T) int { return 0 }
