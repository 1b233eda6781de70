//go:build !unix

package cputime

import "time"

// Process is not measured on this platform: it returns 0 (see the unix
// version).
func Process() time.Duration { return 0 }
