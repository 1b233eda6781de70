// Package dconv is a direct convolution for grouped layers on small
// images: each call computes a block of output channels of a group over a
// band of output rows, from zero-padded copies of the group's input
// planes, keeping a block of (channels × rows) output vectors in registers
// while it runs over every (input channel, kernel tap) term: Channels (4)
// channels × 6 rows, the weights of a term in registers, or WideChannels
// (8) channels × 3 rows, the inputs of a term in registers and the weights
// broadcast, both reading one packing of the weights. One vector spans
// 16 output columns (float32 on AVX-512), so an image of 16 columns is one
// vector per row and other widths end in a masked vector. There is no
// im2col and no packing of the input: the weights, packed once per group
// (Pack), are the only operand the caller prepares.
//
// The kernel is avo-generated (internal/_gen/dconv) for float32 on
// AVX-512; Available reports whether it runs, and the portable loop of
// the same contract (Generic) is the reference of its tests.
package dconv

//go:generate sh -c "cd ../_gen && go run ./dconv -pkg dconv -out ../dconv/dconv_amd64.s -stubs ../dconv/dconv_stub_amd64.go"
