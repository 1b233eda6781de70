package paper

import (
	"fmt"
	"testing"
	"time"

	"github.com/netdeconv/deconv/internal/parallel"
)

func TestXIdle(t *testing.T) {
	defer SetThreads(0)
	for _, w := range []int{2} {
		if err := SetThreads(w); err != nil {
			t.Fatal(err)
		}
		f, _, err := TrainForward(8, 128)
		if err != nil {
			t.Fatal(err)
		}
		f()
		f()
		parallel.XStats = map[string]*parallel.XStat{}
		parallel.XOn = true
		const iters = 10
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			f()
		}
		total := time.Since(t0)
		parallel.XOn = false
		fmt.Println(parallel.XReport(total, iters))
	}
}
