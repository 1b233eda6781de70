package report

import (
	"sync"
	"time"

	"github.com/netdeconv/deconv/internal/gemm"
	"github.com/netdeconv/deconv/internal/isa"
)

// Machine is what the start-up probes measured.
type Machine struct {
	CPU       string  // model name
	Cores     int     // logical CPUs
	Threads   int     // goroutines the kernels use
	ISA       string  // kernel family in use
	AVX512F   bool    // whether the CPU has AVX-512F
	PeakGF    float64 // float32 FMA peak of Threads cores, GFLOP/s (0: not measured)
	PeakProbe string  // which loop measured it
	BandGB    float64 // copy bandwidth (bytes read + written), GB/s
}

// measurePeak runs the FMA loop on threads goroutines for about dur and
// returns the best rate of five tries in GFLOP/s (the machine may be
// shared: the best try is the least disturbed).
func measurePeak(threads int, dur time.Duration) (float64, string) {
	f := isa.Detected()
	perIter := gemm.FMAPeak(f, 1)
	if perIter == 0 {
		return 0, "none (no FMA loop for this CPU or build)"
	}
	name := "AVX2 FMA"
	if f >= isa.AVX512 {
		name = "AVX-512 FMA"
	}
	loop := func(iters int) { gemm.FMAPeak(f, iters) }
	// Calibrate: iterations for about dur/5 on one core.
	iters := 1 << 16
	for {
		t0 := time.Now()
		loop(iters)
		if el := time.Since(t0); el > dur/30 || iters > 1<<30 {
			iters = int(float64(iters) * float64(dur/5) / float64(el+1))
			break
		}
		iters *= 4
	}
	iters = max(iters, 1<<12)
	best := 0.0
	for range 5 {
		var wg sync.WaitGroup
		t0 := time.Now()
		for range threads {
			wg.Add(1)
			go func() { defer wg.Done(); loop(iters) }()
		}
		wg.Wait()
		best = max(best, float64(threads)*float64(iters)*perIter/time.Since(t0).Seconds()/1e9)
	}
	return best, name
}

// measureBandwidth copies a buffer of size bytes per goroutine (large
// enough to leave the caches) on threads goroutines and returns the best
// rate of reps tries, counting bytes read plus bytes written, in GB/s.
func measureBandwidth(threads, size, reps int) float64 {
	src := make([][]byte, threads)
	dst := make([][]byte, threads)
	for i := range src {
		src[i] = make([]byte, size)
		dst[i] = make([]byte, size)
		for j := 0; j < size; j += 4096 {
			src[i][j] = byte(j)
			dst[i][j] = 1
		}
	}
	best := 0.0
	for range reps {
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range threads {
			wg.Add(1)
			go func() { defer wg.Done(); copy(dst[i], src[i]) }()
		}
		wg.Wait()
		best = max(best, 2*float64(threads*size)/time.Since(t0).Seconds()/1e9)
	}
	return best
}
