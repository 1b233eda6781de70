package vec_test

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/vec"
)

// The residual of a row and its part of T = ½(3I − P) in one pass.
func ExampleNegHalfSumSquares() {
	row := []float32{1, -2, 3, 0.5}
	s := vec.NegHalfSumSquares(isa.Selected(), row)
	fmt.Println(s, row)
	// Output: 14.25 [-0.5 1 -1.5 -0.25]
}
