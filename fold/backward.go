package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/internal/mem"
)

// The backward passes: each differentiates its forward in reverse mode,
// given the gradient of a scalar loss with respect to the forward's
// output. Destinations come first and are overwritten, never accumulated
// into; a nil destination is a gradient that is not wanted, and the work
// that only it needs is skipped.

// errNoForward is returned by a layer's Backward when there is no forward
// to differentiate: none ran yet, or the state it kept was replaced
// (SetWeights, SetRunningStats and friends).
var errNoForward = fmt.Errorf("%w: Backward needs a successful Forward first (and no change of weights or buffers since)", deconv.ErrParam)

// checkDest checks that a destination, unless nil, has exactly n values.
func checkDest[T Float](d []T, n int, what string) error {
	if d != nil && len(d) != n {
		return fmt.Errorf("%w: %s has %d values, want %d", deconv.ErrShape, what, len(d), n)
	}
	return nil
}

// checkNoOverlap returns deconv.ErrOverlap when a destination overlaps
// another destination or any input.
func checkNoOverlap[T Float](dsts, ins [][]T) error {
	for i, d := range dsts {
		if len(d) == 0 {
			continue
		}
		for _, e := range dsts[i+1:] {
			if mem.Overlap(d, e) {
				return fmt.Errorf("%w: two gradient destinations share memory", deconv.ErrOverlap)
			}
		}
		for _, in := range ins {
			if mem.Overlap(d, in) {
				return fmt.Errorf("%w: a gradient destination overlaps an input", deconv.ErrOverlap)
			}
		}
	}
	return nil
}
