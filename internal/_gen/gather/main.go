// Command gather writes internal/gather/strided_amd64.s: the AVX2 and
// AVX-512 strided-gather kernels. Run it from the repository root through
// `go generate ./internal/gather` (or `make generate`).
package main

import (
	"fmt"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!purego")

	// iota32 holds 0, 1, …, 15: multiplied by the step it is the gather's
	// index vector.
	iota32 := GLOBL("iota32", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(i))
	}

	strided("stridedF32AVX512", "float32", 4, 16, true, iota32)
	strided("stridedF64AVX512", "float64", 8, 8, true, iota32)
	strided("stridedF32AVX2", "float32", 4, 8, false, iota32)
	strided("stridedF64AVX2", "float64", 8, 4, false, iota32)
	stream("streamAVX512", []VecPhysical{Z0, Z1, Z2, Z3}, 64)
	stream("streamAVX2", []VecPhysical{Y0, Y1, Y2, Y3}, 32)
	Generate()
}

// strided emits
//
//	func name(dst, src *T, n, step int)
//
// which computes dst[i] = src[i*step] for i < n, n a positive multiple of
// lanes, with one hardware gather per vector of lanes elements. The index
// vector (0, step, 2·step, …) is built once; each iteration moves the base
// pointer on by lanes·step elements, so indices stay small (the caller
// keeps lanes·step far below 2³¹).
func strided(name, elem string, size, lanes int, avx512 bool, iota32 Mem) {
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src *%s, n, step int)", elem))
	Doc(fmt.Sprintf("%s sets dst[i] = src[i*step] for i < n; n is a positive multiple of %d.", name, lanes))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	step := GP64()
	Load(Param("step"), step)

	// advance = lanes·step·size bytes between consecutive gathers;
	// lanes·size is a power of two.
	advance := GP64()
	MOVQ(step, advance)
	SHLQ(U8(bits.TrailingZeros(uint(lanes*size))), advance)

	// Index registers are 32-bit lanes: 16 for float32 in a Z register, 8
	// for float64 (whose 8 results fill a Z register) in a Y register, and
	// half of that with AVX2.
	Comment("index = iota · step")
	var idx, out, mask VecPhysical
	switch {
	case avx512 && size == 4:
		idx, out = Z1, Z0
	case avx512:
		idx, out = Y1, Z0
	case size == 4:
		idx, out, mask = Y1, Y0, Y2
	default:
		idx, out, mask = X1, Y0, Y2
	}
	if avx512 {
		VPBROADCASTD(step.As32(), idx)
		VPMULLD(iota32, idx, idx)
	} else {
		VMOVD(step.As32(), X3)
		VPBROADCASTD(X3, idx)
		VPMULLD(iota32, idx, idx)
	}

	Label(name + "_loop")
	if avx512 {
		// The gather clears its mask as it completes; refill it each time.
		KXNORW(K1, K1, K1)
		if size == 4 {
			VGATHERDPS(Mem{Base: src, Index: idx, Scale: 4}, K1, out)
		} else {
			VGATHERDPD(Mem{Base: src, Index: idx, Scale: 8}, K1, out)
		}
		VMOVUPS(out, Mem{Base: dst})
	} else {
		VPCMPEQD(mask, mask, mask)
		if size == 4 {
			VGATHERDPS(mask, Mem{Base: src, Index: idx, Scale: 4}, out)
		} else {
			VGATHERDPD(mask, Mem{Base: src, Index: idx, Scale: 8}, out)
		}
		VMOVUPS(out, Mem{Base: dst})
	}
	ADDQ(U32(lanes*size), dst)
	ADDQ(advance, src)
	SUBQ(U32(lanes), n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// stream emits
//
//	func name(dst, src unsafe.Pointer, n int)
//
// which copies n bytes, n a positive multiple of 4·width, with
// non-temporal stores to a width-aligned dst. Output that is written once
// and not read back soon (im2col of a whole batch) then goes to memory
// without first being read into the cache, which saves a third of the
// memory traffic. The SFENCE orders the weakly-ordered stores before any
// later store, as Go's memory model expects of a plain copy.
func stream(name string, regs []VecPhysical, width int) {
	TEXT(name, NOSPLIT, "func(dst, src *byte, n int)")
	Doc(fmt.Sprintf("%s copies n bytes (a positive multiple of %d) to a %d-byte aligned dst with non-temporal stores.", name, 4*width, width))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	Label(name + "_loop")
	for i, r := range regs {
		VMOVUPS(Mem{Base: src, Disp: i * width}, r)
	}
	for i, r := range regs {
		VMOVNTPS(r, Mem{Base: dst, Disp: i * width})
	}
	ADDQ(U32(4*width), src)
	ADDQ(U32(4*width), dst)
	SUBQ(U32(4*width), n)
	JNZ(LabelRef(name + "_loop"))
	SFENCE()
	VZEROUPPER()
	RET()
}
