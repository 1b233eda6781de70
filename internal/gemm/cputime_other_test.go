//go:build !unix

package gemm

import "time"

// cpuTime is not measured on this platform (see the unix version).
func cpuTime() time.Duration { return 0 }
