// Package taps is a direct convolution vectorised over output columns:
// each output vector is the sum of a few taps (weight × shifted input
// vector), accumulated in registers. It is the path of depthwise and
// small-group convolutions, which have too few channels per group for a
// GEMM to pay: their work is a few multiply-adds per output, and the
// kernel streams the input and output once, so it runs at memory speed.
//
// The kernels are avo-generated (internal/_gen/taps) for AVX-512 and
// AVX2, beside a portable loop that also serves strided columns.
package taps

//go:generate sh -c "cd ../_gen && go run ./taps -pkg taps -out ../taps/taps_amd64.s -stubs ../taps/taps_stub_amd64.go"
