// Command gather writes internal/gather/strided_amd64.s: the AVX2 and
// AVX-512 strided-gather kernels. Run it from the repository root through
// `go generate ./internal/gather` (or `make generate`).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!purego")

	tailTable = GLOBL("tailTable", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := U32(0)
		if i < 8 {
			v = U32(0xFFFFFFFF)
		}
		DATA(4*i, v)
	}
	for step := 2; step <= maxPermStep; step++ {
		permRows(step, true)
		permRows(step, false)
	}
	stream("streamAVX512", []VecPhysical{Z0, Z1, Z2, Z3}, 64)
	stream("streamAVX2", []VecPhysical{Y0, Y1, Y2, Y3}, 32)
	prefetch()
	stripRows(false)
	stripRows(true)
	addWiden()
	for _, avx512 := range []bool{true, false} {
		for _, size := range []int{4, 8} {
			finite(avx512, size)
		}
	}
	permTable()
	Generate()
}

// maxPermStep is the longest step with a permute kernel: one block reads
// step vectors; with AVX-512, step−1 mask registers hold the merge masks and
// K7 the mask of a row's last, partial vector.
const maxPermStep = 7

// permRows emits
//
//	func permRows<step><ISA>(dst, src *byte, rows, lanes, ldd, lds int, idx *int32, masks *uint32)
//
// which, for each of rows rows (dst and src advancing by ldd and lds bytes),
// fills lanes 32-bit lanes of dst, a vector at a time, each vector from the
// step consecutive vectors of src that follow: lane l of a vector is lane
// idx[l] of source vector j, for the j whose mask (masks[j-1]: a bit mask
// for AVX-512, a vector of all-ones lanes for AVX2) holds l, vector 0
// filling the lanes no mask holds. The caller builds idx and masks so that
// this is a strided gather of 32-bit or 64-bit elements, dst[i] =
// src[i·step]: one full-width permute per source vector replaces a load per
// element, and the source is read contiguously. (Hardware gathers are
// slower than scalar code on some CPUs that have them.)
//
// A row's last vector may be partial: it is computed whole, which reads up
// to step vectors past the row's last element (the caller makes sure they
// are readable memory), and stored under a mask.
func permRows(step int, avx512 bool) {
	isaName, width, lanes := "AVX2", 32, 8
	if avx512 {
		isaName, width, lanes = "AVX512", 64, 16
	}
	name := fmt.Sprintf("permRows%d%s", step, isaName)
	TEXT(name, NOSPLIT, "func(dst, src *byte, rows, lanes, ldd, lds int, idx *int32, masks *uint32)")
	Doc(fmt.Sprintf("%s gathers rows rows of lanes 32-bit lanes, each vector of dst from %d vectors of src, by the lane permutation idx and lane masks masks.", name, step))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rows := Load(Param("rows"), GP64())
	nLanes := Load(Param("lanes"), GP64())
	ldd := Load(Param("ldd"), GP64())
	lds := Load(Param("lds"), GP64())
	idxPtr := Load(Param("idx"), GP64())
	maskPtr := Load(Param("masks"), GP64())

	// Per row: full vectors, then the lanes of the partial one.
	full, tail := GP64(), GP64()
	MOVQ(nLanes, full)
	SHRQ(U8(bitsOf(lanes)), full)
	MOVQ(nLanes, tail)
	ANDQ(U32(lanes-1), tail)

	var idx, acc, tmp, tailMaskV VecPhysical
	ks := []Register{K1, K2, K3, K4, K5, K6}
	ms := []VecPhysical{Y2, Y3, Y4, Y5, Y6, Y7, Y8}
	if avx512 {
		idx, acc = Z31, Z0
		VMOVDQU32(Mem{Base: idxPtr}, idx)
		for j := 1; j < step; j++ {
			KMOVW(Mem{Base: maskPtr, Disp: 4 * (j - 1)}, ks[j-1])
		}
		// K7 = (1 << tail) − 1: the lanes of the partial vector.
		t := GP32()
		MOVL(U32(1), t)
		SHLXL(tail.As32(), t, t)
		DECL(t)
		KMOVW(t, K7)
	} else {
		idx, acc, tmp, tailMaskV = Y15, Y0, Y1, Y9
		VMOVDQU(Mem{Base: idxPtr}, idx)
		for j := 1; j < step; j++ {
			VMOVDQU(Mem{Base: maskPtr, Disp: width * (j - 1)}, ms[j-1])
		}
		// Lanes 0 … tail−1 of the sliding table of eight ones and eight zeros.
		t := GP64()
		MOVQ(U32(lanes), t)
		SUBQ(tail, t)
		tbl := GP64()
		LEAQ(tailTable, tbl)
		VMOVDQU(Mem{Base: tbl, Index: t, Scale: 4}, tailMaskV)
	}

	// One vector of dst at d from step vectors of src at s.
	vector := func(s Register) {
		VPERMPS(Mem{Base: s}, idx, acc)
		for j := 1; j < step; j++ {
			if avx512 {
				VPERMPS(Mem{Base: s, Disp: j * width}, idx, ks[j-1], acc)
			} else {
				VPERMPS(Mem{Base: s, Disp: j * width}, idx, tmp)
				VBLENDVPS(ms[j-1], tmp, acc, acc)
			}
		}
	}

	d, s, n := GP64(), GP64(), GP64()
	Label(name + "_row")
	MOVQ(dst, d)
	MOVQ(src, s)
	MOVQ(full, n)
	TESTQ(n, n)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_vec")
	vector(s)
	VMOVUPS(acc, Mem{Base: d})
	ADDQ(U32(width), d)
	ADDQ(U32(step*width), s)
	DECQ(n)
	JNZ(LabelRef(name + "_vec"))
	Label(name + "_tail")
	TESTQ(tail, tail)
	JZ(LabelRef(name + "_next"))
	vector(s)
	if avx512 {
		VMOVUPS(acc, K7, Mem{Base: d})
	} else {
		VMASKMOVPS(acc, tailMaskV, Mem{Base: d})
	}
	Label(name + "_next")
	ADDQ(ldd, dst)
	ADDQ(lds, src)
	DECQ(rows)
	JNZ(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
}

// tailTable holds eight all-ones lanes followed by eight zero lanes: the
// eight lanes starting at lane 8−r are a mask of the first r lanes.
var tailTable Mem

func bitsOf(n int) uint64 {
	b := uint64(0)
	for 1<<b < n {
		b++
	}
	return b
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

// prefetch emits
//
//	func prefetchT0(p *byte, n int)
//
// which asks for every 64-byte line of [p, p+n) to be brought into all
// cache levels, n > 0. A strided walk down an image plane reads only a
// few rows at a time, too little for the hardware prefetcher to run far
// enough ahead; asking for the rows a few steps ahead hides the latency.
func prefetch() {
	TEXT("prefetchT0", NOSPLIT, "func(p *byte, n int)")
	Doc("prefetchT0 prefetches every cache line of the n > 0 bytes at p.")
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	end := GP64()
	LEAQ(Mem{Base: p, Index: n, Scale: 1}, end)
	ANDQ(I32(-64), p)
	Label("prefetchT0_loop")
	PREFETCHT0(Mem{Base: p})
	ADDQ(U32(64), p)
	CMPQ(p, end)
	JB(LabelRef("prefetchT0_loop"))
	RET()
}

// addWiden emits
//
//	func addWidenF32AVX512(dst *float64, src *float32, n int)
//
// which adds the n float32 values at src into the n float64 values at dst,
// n a positive multiple of 16: the flush of a float32 partial sum into its
// float64 total, a conversion and an addition per value, eight to a vector,
// where the scalar loop converts one value at a time.
func addWiden() {
	TEXT("addWidenF32AVX512", NOSPLIT, "func(dst *float64, src *float32, n int)")
	Doc("addWidenF32AVX512 adds the n float32 values at src (n a positive multiple of 16) into the float64 values at dst.")
	d := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	Label("addWidenF32AVX512_loop")
	VCVTPS2PD(Mem{Base: src}, Z0)
	VCVTPS2PD(Mem{Base: src, Disp: 32}, Z1)
	VADDPD(Mem{Base: d}, Z0, Z0)
	VADDPD(Mem{Base: d, Disp: 64}, Z1, Z1)
	VMOVUPD(Z0, Mem{Base: d})
	VMOVUPD(Z1, Mem{Base: d, Disp: 64})
	ADDQ(U8(64), src)
	ADDQ(U32(128), d)
	SUBQ(U8(16), n)
	JNZ(LabelRef("addWidenF32AVX512_loop"))
	VZEROUPPER()
	RET()
}

// finite emits
//
//	func finite<F32|F64><ISA>(p *T, n int) bool
//
// which reports whether all n values at p (n a positive multiple of four
// vectors) are finite. Every finite v has v·0 = 0, and NaN or ±Inf give
// NaN, so the products are summed in four accumulators and the sum tested
// once at the end: no branch per element, and the loop runs at the speed
// of the loads.
func finite(avx512 bool, size int) {
	isaName, width := "AVX2", 32
	regs := []VecPhysical{Y0, Y1, Y2, Y3}
	zero := VecPhysical(Y4)
	if avx512 {
		isaName, width = "AVX512", 64
		regs = []VecPhysical{Z0, Z1, Z2, Z3}
		zero = Z4
	}
	elem, suffix := "float32", "F32"
	mulp, addp := VMULPS, VADDPS
	if size == 8 {
		elem, suffix = "float64", "F64"
		mulp, addp = VMULPD, VADDPD
	}
	name := "finite" + suffix + isaName
	TEXT(name, NOSPLIT, fmt.Sprintf("func(p *%s, n int) bool", elem))
	Doc(fmt.Sprintf("%s reports whether the n values at p, a positive multiple of %d, are all finite.", name, 4*width/size))
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	if avx512 {
		VPXORD(zero, zero, zero)
	} else {
		VPXOR(zero, zero, zero)
	}
	for _, r := range regs {
		VMOVUPS(zero, r)
	}
	Label(name + "_loop")
	tmp := []VecPhysical{Y5, Y6, Y7, Y8}
	if avx512 {
		tmp = []VecPhysical{Z5, Z6, Z7, Z8}
	}
	for i, r := range regs {
		mulp(Mem{Base: p, Disp: i * width}, zero, tmp[i])
		addp(tmp[i], r, r)
	}
	ADDQ(U32(4*width), p)
	SUBQ(U32(4*width/size), n)
	JNZ(LabelRef(name + "_loop"))
	addp(regs[1], regs[0], regs[0])
	addp(regs[3], regs[2], regs[2])
	addp(regs[2], regs[0], regs[0])
	// The sum is all zeros exactly when every product was zero: compare it
	// with zero (an unordered NaN compares unequal) and test all lanes.
	ok := GP64()
	if avx512 {
		if size == 4 {
			VCMPPS(U8(0), zero, regs[0], K1) // EQ_OQ
		} else {
			VCMPPD(U8(0), zero, regs[0], K1)
		}
		KMOVW(K1, ok.As32())
		XORQ(U32(1<<(width/size)-1), ok)
	} else {
		if size == 4 {
			VCMPPS(U8(0), zero, regs[0], regs[1])
			VMOVMSKPS(regs[1], ok.As32())
		} else {
			VCMPPD(U8(0), zero, regs[0], regs[1])
			VMOVMSKPD(regs[1], ok.As32())
		}
		XORQ(U32(1<<(width/size)-1), ok)
	}
	res := GP8()
	SETEQ(res)
	Store(res, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// maxStripLanes is the widest strip the strip kernels copy: eight
// float64 partial sums fill one vector.
const maxStripLanes = 8

// stripWords is the size of one strip descriptor (gather.Strip) in
// 8-byte words: Src, Dst, Col, Lanes, Masks.
const stripWords = 5

// stripRows emits
//
//	func stripRows<F32|F64>AVX512(dst *T, ldd int, src *T, delta, step, n int, strips *Strip, count int, masks *uint8, shift *T, sum *float64)
//
// which runs count ≥ 1 strips (see gather.StripRows for the contract; n ≥
// 1). A strip is a few values that are neighbours in the source row and
// in the destination row alike (the taps of a window row, which land in
// neighbouring lanes of a panel): each window of a strip is moved by one
// masked load, subtraction and store, where a value at a time costs a
// load and a store each. The load's mask is the window's byte of masks:
// lanes that read padding (or a row outside the image) load nothing and
// store −shift. Masked-off lanes are neither read nor written, so their
// addresses may lie anywhere.
func stripRows(f64 bool) {
	name, elem, sh := "stripRowsF32AVX512", "float32", U8(2)
	if f64 {
		name, elem, sh = "stripRowsF64AVX512", "float64", U8(3)
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst *%[1]s, ldd int, src *%[1]s, delta, step, n int, strips *int, count int, masks *uint16, shift *%[1]s, sums *float64)", elem))
	Doc(fmt.Sprintf("%s copies count strips of n windows of at most %d lanes from src to dst under per-window load masks, minus shift, adding them into sums.", name, maxStripLanes))
	dst0 := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	src0 := Load(Param("src"), GP64())
	step := Load(Param("step"), GP64())
	mb := Load(Param("masks"), GP64())
	t := GP64()
	Load(Param("delta"), t)
	SHLQ(sh, t)
	ADDQ(t, src0)
	SHLQ(sh, ldd)
	SHLQ(sh, step)
	// end: past the last strip descriptor.
	end := Load(Param("count"), GP64())
	IMUL3Q(U32(stripWords*8), end, end)
	sp := Load(Param("strips"), GP64())
	ADDQ(sp, end)

	// The loop body stays in Y registers for float32 (port 1 then works
	// too); the float32 block sums are widened once per block.
	val := []VecPhysical{Y4, Y5}
	acc := []VecPhysical{Y2, Y3}
	shiftV := VecPhysical(Y1)
	if f64 {
		val = []VecPhysical{Z4, Z5}
		acc = []VecPhysical{Z2, Z3}
		shiftV = Z1
	}

	// The windows go in blocks of 1<<stripBlockLog (usually the whole
	// run), all strips over one block before the next: each strip reads
	// its source row once, front to back, and the strips that follow it
	// write the neighbouring lanes of the same destination lines, which
	// are still in L1 (see stripBlockLog). A strip's float64 sums live in
	// its own 64 bytes of sums, read and written whole: a block's load of
	// them never waits on a store still in flight (a masked store cannot
	// forward), as the previous block's is long done.
	srcp, dstp, mp, j := GP64(), GP64(), GP64(), GP64()
	// pf: bytes from a window's source to the next block's.
	pf := GP64()
	MOVQ(step, pf)
	SHLQ(U8(stripBlockLog), pf)
	Label(name + "_block")
	Load(Param("strips"), sp)
	Load(Param("sums"), j)
	sums := GP64()
	MOVQ(j, sums)
	// The block's windows, min(block, windows left), kept in count's
	// slot (count is spent: end marks the last strip).
	Load(Param("n"), j)
	MOVQ(U32(1<<stripBlockLog), t)
	CMPQ(j, t)
	CMOVQGT(t, j)
	MOVQ(j, paramAddr("count"))

	Label(name + "_strip")
	// K1: the strip's lanes.
	MOVQ(Mem{Base: sp, Disp: 3 * 8}, t)
	MOVL(U32(1), mp.As32())
	SHLXL(t.As32(), mp.As32(), mp.As32())
	DECL(mp.As32())
	KMOVW(mp.As32(), K1)
	// Its source, destination and masks for this block.
	MOVQ(Mem{Base: sp}, srcp)
	SHLQ(sh, srcp)
	ADDQ(src0, srcp)
	MOVQ(Mem{Base: sp, Disp: 8}, dstp)
	SHLQ(sh, dstp)
	ADDQ(dst0, dstp)
	MOVQ(Mem{Base: sp, Disp: 4 * 8}, mp)
	SHLQ(U8(1), mp)
	ADDQ(mb, mp)
	// Ask for the source of the block of the strip stripAhead places on
	// (the last strip's, near the end): all its lines, as they are read
	// only once, front to back, and each from its own channel plane.
	ahead := GP64()
	MOVQ(sp, ahead)
	ADDQ(U32(stripAhead*stripWords*8), ahead)
	last := GP64()
	LEAQ(Mem{Base: end, Disp: -stripWords * 8}, last)
	CMPQ(ahead, last)
	CMOVQGT(last, ahead)
	pfp := GP64()
	MOVQ(Mem{Base: ahead}, pfp)
	SHLQ(sh, pfp)
	ADDQ(src0, pfp)
	// pfEnd: past the block's last window's first value, at most
	// stripPrefetchMax bytes on (steps far apart, whose product may even
	// wrap, read lines prefetching would not serve; a prefetch never
	// faults, so only the count of lines needs a bound).
	pfEnd := GP64()
	MOVQ(paramAddr("count"), pfEnd)
	IMULQ(step, pfEnd)
	MOVQ(U32(stripPrefetchMax), t)
	CMPQ(pfEnd, t)
	CMOVQHI(t, pfEnd)
	ADDQ(pfp, pfEnd)
	Label(name + "_prefetch")
	PREFETCHT0(Mem{Base: pfp})
	ADDQ(U8(64), pfp)
	CMPQ(pfp, pfEnd)
	JBE(LabelRef(name + "_prefetch"))
	// Its shift.
	MOVQ(Mem{Base: sp, Disp: 2 * 8}, t)
	Load(Param("shift"), j)
	if f64 {
		VMOVUPD_Z(Mem{Base: j, Index: t, Scale: 8}, K1, shiftV)
		VPXORQ(acc[0], acc[0], acc[0])
		VPXORQ(acc[1], acc[1], acc[1])
	} else {
		VMOVUPS_Z(Mem{Base: j, Index: t, Scale: 4}, K1, shiftV)
		VXORPS(acc[0], acc[0], acc[0])
		VXORPS(acc[1], acc[1], acc[1])
	}
	// j: the block's windows.
	MOVQ(paramAddr("count"), j)

	// body emits the window loop and the fold into sums for vectors of
	// the given registers; label prefixes its labels.
	body := func(label string, val, acc []VecPhysical, shiftV VecPhysical, fold func()) {
		one := func(i int) {
			KMOVW(Mem{Base: mp}, K2)
			KANDW(K1, K2, K2)
			if f64 {
				VMOVUPD_Z(Mem{Base: srcp}, K2, val[i])
				VSUBPD(shiftV, val[i], val[i])
				VMOVUPD(val[i], K1, Mem{Base: dstp})
				VADDPD(val[i], acc[i], acc[i])
			} else {
				VMOVUPS_Z(Mem{Base: srcp}, K2, val[i])
				VSUBPS(shiftV, val[i], val[i])
				VMOVUPS(val[i], K1, Mem{Base: dstp})
				VADDPS(val[i], acc[i], acc[i])
			}
			ADDQ(step, srcp)
			ADDQ(ldd, dstp)
			ADDQ(U8(2), mp)
		}
		// Eight windows at a time, then pairs, then the last one.
		Label(label + "_eight")
		CMPQ(j, U8(8))
		JL(LabelRef(label + "_pair"))
		for u := 0; u < 8; u++ {
			one(u % 2)
		}
		SUBQ(U8(8), j)
		JMP(LabelRef(label + "_eight"))
		Label(label + "_pair")
		CMPQ(j, U8(2))
		JL(LabelRef(label + "_last"))
		one(0)
		one(1)
		SUBQ(U8(2), j)
		JMP(LabelRef(label + "_pair"))
		Label(label + "_last")
		TESTQ(j, j)
		JZ(LabelRef(label + "_done"))
		one(0)
		Label(label + "_done")
		fold()
	}
	next := func() {
		ADDQ(U8(64), sums)
		ADDQ(U32(stripWords*8), sp)
		CMPQ(sp, end)
		JB(LabelRef(name + "_strip"))
		JMP(LabelRef(name + "_nextBlock"))
	}
	if !f64 {
		// Strips of at most four lanes (the taps of a 3-wide window row)
		// move in X registers: the narrower masked accesses cost less.
		MOVQ(Mem{Base: sp, Disp: 3 * 8}, t)
		CMPQ(t, U8(4))
		JA(LabelRef(name + "_wide"))
		body(name+"_narrow", []VecPhysical{X4, X5}, []VecPhysical{X2, X3}, X1, func() {
			VADDPS(X3, X2, X2)
			VCVTPS2PD(X2, Y2)
			VADDPD(Mem{Base: sums}, Y2, Y2)
			VMOVUPD(Y2, Mem{Base: sums})
		})
		next()
		Label(name + "_wide")
	}
	body(name, val, acc, shiftV, func() {
		if f64 {
			VADDPD(acc[1], acc[0], Z2)
		} else {
			VADDPS(acc[1], acc[0], Y2)
			VCVTPS2PD(Y2, Z2)
		}
		VADDPD(Mem{Base: sums}, Z2, Z2)
		VMOVUPD(Z2, Mem{Base: sums})
	})
	next()

	Label(name + "_nextBlock")
	// The next block of windows.
	ADDQ(pf, src0)
	MOVQ(ldd, t)
	SHLQ(U8(stripBlockLog), t)
	ADDQ(t, dst0)
	ADDQ(U8(2<<stripBlockLog), mb)
	SUBQ(U8(1<<stripBlockLog), paramAddr("n"))
	JG(LabelRef(name + "_block"))
	VZEROUPPER()
	RET()
}

// stripBlockLog is log₂ of the windows per block of stripRows: a block
// holds a whole row of windows of the usual layers (43 for 128 pixels at
// stride 3), so each strip reads its source row front to back once, in one
// visit. The rows of the strips of one window run lie in as many channel
// planes, whose power-of-two spacing maps them to the same cache sets: a
// row left half read for the next block would be evicted before it. The
// destination lines of a strip are shared with the strips that follow it
// (neighbouring lanes), so they stay in L1 meanwhile.
const stripBlockLog = 6

// stripAhead is how many strips ahead stripRows prefetches a strip's
// source: enough for the lines to come from memory while the strips
// between run, few enough that lines of strips of the same tap row (in the
// same L1 sets) do not evict each other before they are read.
const stripAhead = 4

// stripPrefetchMax bounds the bytes of a strip's block that stripRows
// prefetches: a row of 1024 float32 values.
const stripPrefetchMax = 4096

// paramAddr is the stack address of an argument, for instructions that
// work on it in memory.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
