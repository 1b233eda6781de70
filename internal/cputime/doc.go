// Package cputime reads the CPU time (user and system) used by the process
// or by the calling thread, for the benchmarks: on a shared machine whose
// load varies, a benchmark's CPU time per operation varies far less than
// its wall time, so they report both. Only tests import it. Where a clock
// is not available the functions return 0, and the CPU metrics read 0.
package cputime
