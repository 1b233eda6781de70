// Command vec writes internal/vec/vec_amd64.s: the AVX2 and AVX-512
// kernels of the float32 passes over vectors that accumulate in float64.
// Run it from the repository root through `go generate ./internal/vec` (or
// `make generate`).
//
// Every kernel walks its n elements in chunks of W float32 values, W the
// float64 lanes of a vector (8 for AVX-512, 4 for AVX2): each chunk is
// widened to one float64 vector. The main loop takes four chunks at a time,
// chunk c accumulating into accumulator c; the chunks left over after it
// go one at a time into accumulator 0, and on AVX-512 the last partial
// chunk too, under a lane mask (the masked-out lanes are neither read nor
// written, and add zeros: every product by a broadcast scale is
// zero-masked there too, since 0·±Inf or 0·NaN would put a NaN in them). The AVX2 kernels take a multiple of W elements:
// the caller does the rest. The accumulators are then added as
// (acc0 + acc1) + (acc2 + acc3) and the lanes of the result halved down to
// one value, always in the same order, so that a result depends only on
// the input and the kernel, and the kernels that share this skeleton
// (sumSquares and negHalfSumSquares) give the same bits for the same
// input.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!purego")
	for _, avx512 := range []bool{true, false} {
		sumSquares(avx512, false)
		sumSquares(avx512, true)
		scaleSplit(avx512)
		scaleFinite(avx512)
	}
	pairCheck(true)
	pairCheck(false)
	Generate()
}

// shape is what the skeleton needs to know about one ISA.
type shape struct {
	avx512 bool
	isa    string
	w      int // float64 lanes of a vector = float32 values of a chunk
	acc    []VecPhysical
	wide   []VecPhysical // float64 vectors, one per chunk of the main loop
	narrow []VecPhysical // float32 vectors of one chunk (the low half of wide's width)
	tmp    []VecPhysical
}

func shapeOf(avx512 bool) shape {
	if avx512 {
		return shape{avx512: true, isa: "AVX512", w: 8,
			acc:    []VecPhysical{Z0, Z1, Z2, Z3},
			wide:   []VecPhysical{Z4, Z5, Z6, Z7},
			narrow: []VecPhysical{Y8, Y9, Y10, Y11},
			tmp:    []VecPhysical{Y12, Y13, Y14, Y15},
		}
	}
	return shape{isa: "AVX2", w: 4,
		acc:    []VecPhysical{Y0, Y1, Y2, Y3},
		wide:   []VecPhysical{Y4, Y5, Y6, Y7},
		narrow: []VecPhysical{X8, X9, X10, X11},
		tmp:    []VecPhysical{X12, X13, X14, X15},
	}
}

// chunkBody emits the work of chunk c at byte offset disp from every
// pointer; k is the lane mask of a partial chunk (AVX-512 only), or nil.
type chunkBody func(c, disp int, k Register)

// loop emits the skeleton over n float32 elements; ptrs advance together
// (4 bytes per element).
func loop(sh shape, name string, ptrs []Register, n GPVirtual, body chunkBody) {
	w := sh.w
	step := func(elems int) {
		for _, p := range ptrs {
			ADDQ(U32(4*elems), p)
		}
		SUBQ(U32(elems), n)
	}
	Label(name + "_main")
	CMPQ(n, U32(4*w))
	JB(LabelRef(name + "_one"))
	for c := range 4 {
		body(c, 4*w*c, nil)
	}
	step(4 * w)
	JMP(LabelRef(name + "_main"))

	Label(name + "_one")
	CMPQ(n, U32(w))
	JB(LabelRef(name + "_part"))
	body(0, 0, nil)
	step(w)
	JMP(LabelRef(name + "_one"))

	Label(name + "_part")
	if sh.avx512 {
		TESTQ(n, n)
		JZ(LabelRef(name + "_done"))
		// K1 = (1 << n) − 1: the lanes of the partial chunk.
		t := GP32()
		MOVL(U32(1), t)
		SHLXL(n.As32(), t, t)
		DECL(t)
		KMOVW(t, K1)
		body(0, 0, K1)
	}
	Label(name + "_done")
}

// zeroAcc clears the accumulators.
func zeroAcc(sh shape) {
	for _, a := range sh.acc {
		if sh.avx512 {
			VPXORQ(a, a, a)
		} else {
			VPXOR(a, a, a)
		}
	}
}

// reduceSum adds the float64 accumulators in the fixed order of the
// package documentation and returns the result in the low lane of X0.
func reduceSum(sh shape) {
	a := sh.acc
	VADDPD(a[1], a[0], a[0])
	VADDPD(a[3], a[2], a[2])
	VADDPD(a[2], a[0], a[0])
	if sh.avx512 {
		VEXTRACTF64X4(U8(1), Z0, Y1)
		VADDPD(Y1, Y0, Y0)
	}
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPD(X1, X0, X0)
	VUNPCKHPD(X0, X0, X1)
	VADDSD(X1, X0, X0)
}

// widen emits the float64 vector of chunk c from memory at m (under k).
func widen(sh shape, c int, m Mem, k Register) {
	if k != nil {
		VCVTPS2PD_Z(m, k, sh.wide[c])
	} else {
		VCVTPS2PD(m, sh.wide[c])
	}
}

// mulScale emits v = s·v (float64), the lanes outside k set to zero: a
// masked-out lane, zero after widen, would otherwise become NaN when s is
// infinite or NaN, and reach the sum or the finiteness check.
func mulScale(s, v VecPhysical, k Register) {
	if k != nil {
		VMULPD_Z(s, v, k, v)
	} else {
		VMULPD(s, v, v)
	}
}

// store writes the float32 chunk v to m (under k).
func store(v VecPhysical, m Mem, k Register) {
	if k != nil {
		VMOVUPS(v, k, m)
	} else {
		VMOVUPS(v, m)
	}
}

// broadcastF32 fills v with the float32 constant x.
func broadcastF32(v VecPhysical, x float32) {
	t := GP32()
	MOVL(U32(math.Float32bits(x)), t)
	xr := X15
	VMOVD(t, xr)
	VBROADCASTSS(xr, v)
}

func avx2Note(sh shape) string {
	if sh.avx512 {
		return ""
	}
	return fmt.Sprintf(" n must be a multiple of %d.", sh.w)
}

// sumSquares emits
//
//	func sumSquaresF32<ISA>(p *float32, n int) float64
//	func negHalfSumSquaresF32<ISA>(p *float32, n int) float64
//
// which return Σ float64(p[i])² (each square exact, one FMA into a float64
// accumulator); the second also overwrites p[i] with −½·p[i] (a float32
// product), after reading it. The two share every arithmetic step of the
// sum, so they return the same bits for the same input.
func sumSquares(avx512, negHalf bool) {
	sh := shapeOf(avx512)
	name := "sumSquaresF32" + sh.isa
	doc := "returns the sum of the squares of the n float32 values at p, in float64."
	if negHalf {
		name = "negHalfSumSquaresF32" + sh.isa
		doc = "returns the sum of the squares of the n float32 values at p, in float64, and overwrites each with −½ times itself; the sum is sumSquaresF32" + sh.isa + "'s to the bit."
	}
	TEXT(name, NOSPLIT, "func(p *float32, n int) float64")
	Doc(name + " " + doc + avx2Note(sh))
	p := Load(Param("p"), GP64())
	n := GP64()
	Load(Param("n"), n)
	zeroAcc(sh)
	half := sh.tmp[3]
	if negHalf {
		broadcastF32(half, -0.5)
	}
	loop(sh, name, []Register{p}, n, func(c, disp int, k Register) {
		m := Mem{Base: p, Disp: disp}
		widen(sh, c, m, k)
		if negHalf {
			// Read before the store below overwrites the chunk.
			x := sh.narrow[c]
			if k != nil {
				VMOVUPS_Z(m, k, x)
			} else {
				VMOVUPS(m, x)
			}
			VMULPS(half, x, x)
			store(x, m, k)
		}
		VFMADD231PD(sh.wide[c], sh.wide[c], sh.acc[c])
	})
	reduceSum(sh)
	Store(X0, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// scaleSplit emits
//
//	func scaleSplitF32<ISA>(y, z, w *float32, n int, s float64) float64
//
// which, for each of the n elements, rounds a = float32(float64(y[i])·s)
// and writes y[i] = a, z[i] = −½·a, w[i] = 1.5·a (float32 products), and
// returns Σ float64(a)².
func scaleSplit(avx512 bool) {
	sh := shapeOf(avx512)
	name := "scaleSplitF32" + sh.isa
	TEXT(name, NOSPLIT, "func(y, z, w *float32, n int, s float64) float64")
	Doc(name + " writes a = float32(float64(y[i])·s) to y[i], −½·a to z[i] and 1.5·a to w[i] for the n elements, and returns the sum of the squares of a in float64." + avx2Note(sh))
	y := Load(Param("y"), GP64())
	z := Load(Param("z"), GP64())
	w := Load(Param("w"), GP64())
	n := GP64()
	Load(Param("n"), n)
	s := Load(Param("s"), XMM())
	var sv VecPhysical = Y14
	if avx512 {
		sv = Z14
	}
	VBROADCASTSD(s, sv)
	zeroAcc(sh)
	// (The register 14 holds s; 15 is the scratch of broadcastF32 and
	// then of the loop.)
	var half, threeHalves VecPhysical = X12, X13
	if avx512 {
		half, threeHalves = Y12, Y13
	}
	broadcastF32(half, -0.5)
	broadcastF32(threeHalves, 1.5)
	tmp := X15
	if avx512 {
		tmp = Y15
	}
	loop(sh, name, []Register{y, z, w}, n, func(c, disp int, k Register) {
		wv, a := sh.wide[c], sh.narrow[c]
		widen(sh, c, Mem{Base: y, Disp: disp}, k)
		mulScale(sv, wv, k)
		if avx512 {
			VCVTPD2PS(wv, a)
		} else {
			VCVTPD2PSY(wv, a)
		}
		store(a, Mem{Base: y, Disp: disp}, k)
		VCVTPS2PD(a, wv)
		VFMADD231PD(wv, wv, sh.acc[c])
		VMULPS(half, a, tmp)
		store(tmp, Mem{Base: z, Disp: disp}, k)
		VMULPS(threeHalves, a, tmp)
		store(tmp, Mem{Base: w, Disp: disp}, k)
	})
	reduceSum(sh)
	Store(X0, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// scaleFinite emits
//
//	func scaleFiniteF32<ISA>(dst, src *float32, n int, s float64) bool
//
// which writes dst[i] = float32(float64(src[i])·s) and reports whether
// every value written is finite. Every finite v has v·0 = ±0, and NaN or
// ±Inf give NaN, so the products are summed (float32, one accumulator per
// chunk of the main loop) and the sum compared with zero once at the end.
func scaleFinite(avx512 bool) {
	sh := shapeOf(avx512)
	name := "scaleFiniteF32" + sh.isa
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int, s float64) bool")
	Doc(name + " writes float32(float64(src[i])·s) to dst[i] for the n elements and reports whether every value written is finite." + avx2Note(sh))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := GP64()
	Load(Param("n"), n)
	s := Load(Param("s"), XMM())
	var sv VecPhysical = Y14
	if avx512 {
		sv = Z14
	}
	VBROADCASTSD(s, sv)
	// The float32 accumulators are the narrow halves of the usual ones.
	acc := []VecPhysical{X0, X1, X2, X3}
	zero, tmp := VecPhysical(X12), VecPhysical(X13)
	if avx512 {
		acc = []VecPhysical{Y0, Y1, Y2, Y3}
		zero, tmp = Y12, Y13
	}
	VPXOR(zero, zero, zero)
	for _, a := range acc {
		VPXOR(a, a, a)
	}
	loop(sh, name, []Register{dst, src}, n, func(c, disp int, k Register) {
		wv, v := sh.wide[c], sh.narrow[c]
		widen(sh, c, Mem{Base: src, Disp: disp}, k)
		mulScale(sv, wv, k)
		if avx512 {
			VCVTPD2PS(wv, v)
		} else {
			VCVTPD2PSY(wv, v)
		}
		store(v, Mem{Base: dst, Disp: disp}, k)
		// Masked-out lanes of a partial chunk are zero: they add zero.
		VMULPS(zero, v, tmp)
		VADDPS(tmp, acc[c], acc[c])
	})
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	// All lanes equal to zero (an unordered NaN compares unequal).
	ok := GP64()
	VCMPPS(U8(0), zero, acc[0], tmp) // EQ_OQ
	VMOVMSKPS(tmp, ok.As32())
	XORQ(U32(1<<sh.w-1), ok)
	res := GP8()
	SETEQ(res)
	Store(res, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// broadcastF64Bits fills v with the float64 of bits b (X15 the scratch of
// AVX2, which broadcasts from a vector register only).
func broadcastF64Bits(v VecPhysical, b uint64, avx512 bool) {
	t := GP64()
	MOVQ(U64(b), t)
	if avx512 {
		VPBROADCASTQ(t, v)
		return
	}
	MOVQ(t, X15)
	VPBROADCASTQ(X15, v)
}

// pairCheck emits
//
//	func pairCheckF32<ISA>(s *float32, s64 *float64, x, z *float32, root *float64, n int, r, symTol, minorTol float64) (sum, excess float64)
//
// which, with x_j, z_j widened to float64 and b_j = r·root[j], writes
// s_j = ½x_j + ½z_j to s64[j] and float32(s_j) to s[j], and returns
// Σ x_j² + z_j² and the largest of 0 and the excesses
// |x_j − z_j| − symTol·b_j and |s_j| − minorTol·b_j. Every operation is a
// product, sum or difference rounded once, as the portable loop computes
// them (no fused multiply-add where the loop has none); a NaN excess is
// ignored, as the loop's comparisons ignore it (VMAXPD returns its second
// source, the running maximum, when either is NaN). One chunk at a time
// (the runs are at most a tile wide), both sums in one accumulator each.
func pairCheck(avx512 bool) {
	sh := shapeOf(avx512)
	name := "pairCheckF32" + sh.isa
	TEXT(name, NOSPLIT, "func(s *float32, s64 *float64, x, z *float32, root *float64, n int, r, symTol, minorTol float64) (sum, excess float64)")
	Doc(name + " writes ½x_j + ½z_j (float64) to s64[j] and as float32 to s[j], and returns the sum of the squares of x and z and the largest excess of |x_j − z_j| over symTol·r·root[j] and of |s_j| over minorTol·r·root[j], or 0." + avx2Note(sh))
	sp := Load(Param("s"), GP64())
	s64 := Load(Param("s64"), GP64())
	x := Load(Param("x"), GP64())
	z := Load(Param("z"), GP64())
	root := Load(Param("root"), GP64())
	n := GP64()
	Load(Param("n"), n)
	// v(i): vector register i of the ISA's width.
	v := func(i int) VecPhysical {
		if avx512 {
			return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13}[i]
		}
		return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13}[i]
	}
	accX, accZ, excess := v(0), v(1), v(2)
	rv, symTol, minorTol := v(3), v(4), v(5)
	half, abs := v(6), v(7)
	xv, zv, bv, dv, sv, tv := v(8), v(9), v(10), v(11), v(12), v(13)
	var s32 VecPhysical = X14
	if avx512 {
		s32 = Y14
	}
	for i, p := range []string{"r", "symTol", "minorTol"} {
		xr := Load(Param(p), XMM())
		VBROADCASTSD(xr, []VecPhysical{rv, symTol, minorTol}[i])
	}
	for _, a := range []VecPhysical{accX, accZ, excess} {
		if avx512 {
			VPXORQ(a, a, a)
		} else {
			VPXOR(a, a, a)
		}
	}
	broadcastF64Bits(half, math.Float64bits(0.5), avx512)
	broadcastF64Bits(abs, math.MaxInt64, avx512) // all bits but the sign

	chunk := func(k Register) {
		load := func(m Mem, v VecPhysical) {
			if k != nil {
				VCVTPS2PD_Z(m, k, v)
			} else {
				VCVTPS2PD(m, v)
			}
		}
		load(Mem{Base: x}, xv)
		load(Mem{Base: z}, zv)
		if k != nil {
			VMOVUPD_Z(Mem{Base: root}, k, bv)
		} else {
			VMOVUPD(Mem{Base: root}, bv)
		}
		mulScale(rv, bv, k) // b = r·root (the masked lanes: 0, even for r = ±Inf)
		// |x − z| − symTol·b
		VSUBPD(zv, xv, dv)
		VANDPD(abs, dv, dv)
		VMULPD(symTol, bv, tv)
		VSUBPD(tv, dv, dv)
		VMAXPD(excess, dv, excess)
		// s = ½x + ½z; |s| − minorTol·b
		VMULPD(half, xv, sv)
		VMULPD(half, zv, tv)
		VADDPD(tv, sv, sv)
		VANDPD(abs, sv, dv)
		VMULPD(minorTol, bv, tv)
		VSUBPD(tv, dv, dv)
		VMAXPD(excess, dv, excess)
		VFMADD231PD(xv, xv, accX)
		VFMADD231PD(zv, zv, accZ)
		if avx512 {
			VCVTPD2PS(sv, s32)
		} else {
			VCVTPD2PSY(sv, s32)
		}
		if k != nil {
			VMOVUPD(sv, k, Mem{Base: s64})
			VMOVUPS(s32, k, Mem{Base: sp})
		} else {
			VMOVUPD(sv, Mem{Base: s64})
			VMOVUPS(s32, Mem{Base: sp})
		}
	}
	w := sh.w
	Label(name + "_one")
	CMPQ(n, U32(w))
	JB(LabelRef(name + "_part"))
	chunk(nil)
	for _, p := range []Register{sp, x, z} {
		ADDQ(U32(4*w), p)
	}
	ADDQ(U32(8*w), s64)
	ADDQ(U32(8*w), root)
	SUBQ(U32(w), n)
	JMP(LabelRef(name + "_one"))
	Label(name + "_part")
	if avx512 {
		TESTQ(n, n)
		JZ(LabelRef(name + "_done"))
		t := GP32()
		MOVL(U32(1), t)
		SHLXL(n.As32(), t, t)
		DECL(t)
		KMOVW(t, K1)
		chunk(K1)
	}
	Label(name + "_done")
	VADDPD(accZ, accX, accX)
	if avx512 {
		VEXTRACTF64X4(U8(1), Z0, Y1)
		VADDPD(Y1, Y0, Y0)
	}
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPD(X1, X0, X0)
	VUNPCKHPD(X0, X0, X1)
	VADDSD(X1, X0, X0)
	Store(X0, ReturnIndex(0))
	// The excesses are ≥ 0 and not NaN: any order gives the maximum.
	if avx512 {
		VEXTRACTF64X4(U8(1), Z2, Y3)
		VMAXPD(Y3, Y2, Y2)
	}
	VEXTRACTF128(U8(1), Y2, X3)
	VMAXPD(X3, X2, X2)
	VUNPCKHPD(X2, X2, X3)
	VMAXSD(X3, X2, X2)
	Store(X2, ReturnIndex(1))
	VZEROUPPER()
	RET()
}
