package gather_test

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
)

func ExampleAddWidenFor() {
	// A float32 partial sum flushed into its float64 total.
	total := []float64{1, 2, 3}
	part := []float32{0.5, 0.25, 0.125}
	gather.AddWidenFor[float32](isa.Selected())(total, part)
	fmt.Println(total)
	// Output:
	// [1.5 2.25 3.125]
}
