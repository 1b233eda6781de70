// Package size does the overflow-checked arithmetic of shapes: every
// product of dimensions the library computes from user input goes through
// it, so that a shape too large for an int is an error, never a wrapped
// length.
package size

import "math"

// MulAdd returns a·b + c and whether it fits in an int; a, b and c must be
// non-negative.
func MulAdd(a, b, c int) (int, bool) {
	if a < 0 || b < 0 || c < 0 {
		return 0, false
	}
	if a != 0 && b > (math.MaxInt-c)/a {
		return 0, false
	}
	return a*b + c, true
}

// Mul returns the product of the factors and whether it fits in an int;
// a negative factor also reports false.
func Mul(fs ...int) (int, bool) {
	p := 1
	for _, f := range fs {
		var ok bool
		if p, ok = MulAdd(p, f, 0); !ok {
			return 0, false
		}
	}
	return p, true
}
