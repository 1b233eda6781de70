// Command capi is libdeconv, the library's C interface: built with
// go build -buildmode=c-shared (or c-archive) it exports the deconv_*
// functions declared in include/deconv.h, which is the contract; the
// header cgo generates is an internal artifact.
//
// Each exported function is a thin wrapper that converts C arguments to Go
// values, checking every pointer and size, recovers any panic, and writes
// the status into the caller's deconv_error. The work is done by plain Go
// functions (in im2col.go, cov.go, isqrt.go, one per package of the
// library), which the fuzz tests call directly.
package main

// main is empty: the package is built with -buildmode=c-shared or
// c-archive, where the C program's main runs. Without cgo (a cross build)
// it compiles to an inert command.
func main() {}

// versionString is DECONV_VERSION_STRING, for messages; main.go sets it
// from the header.
var versionString = "unknown"
