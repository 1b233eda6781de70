package report

import (
	"slices"
	"time"
)

// timeIt runs f warm times untimed, then reps times, and returns the
// median time in seconds.
func timeIt(f func() error, warm, reps int) (float64, error) {
	for range warm {
		if err := f(); err != nil {
			return 0, err
		}
	}
	ts := make([]float64, reps)
	for i := range ts {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts[i] = time.Since(t0).Seconds()
	}
	return median(ts), nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
