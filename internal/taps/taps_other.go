//go:build !amd64 || !gc || purego

package taps

import "github.com/netdeconv/deconv/internal/isa"

// vector: builds without assembly run the portable loop only.
func vector[T Float](isa.Family, []T, int, []T, int, int, int, *Taps[T], T) int { return 0 }

func coBlock(isa.Family) int { return 0 }

func vectorCo[T Float](isa.Family, []T, int, int, []T, int, int, int, *CoTaps[T]) int { return 0 }
