package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// tableEntryWords is the size of one permute-program entry in 32-bit
// words (gather.tableEntry): the source offset in lanes, the load and
// merge masks, and the sixteen lane indices.
const tableEntryWords = 18

// permTable emits
//
//	func permTableAVX512(dst, src *byte, prog, counts *int32, vecs, last, planes, ldd, lds int)
//
// which runs a table gather compiled into vector permutes (see
// gather.Table) over planes ≥ 1 planes, dst advancing by ldd bytes and src
// by lds. A plane's output is vecs ≥ 1 vectors of 16 32-bit lanes, the
// last stored under the mask of its first last lanes. Output vector v is
// built from counts[v] entries of prog, in order: each loads the 16 lanes
// of src that start at its offset, under its load mask (lanes outside
// the mask are neither read nor faulted, so a window may hang over the
// plane's end), and permutes them into the lanes of its merge mask. Lanes
// no entry fills are padding and stay zero.
//
// On a small image (an im2col plane of a 16×16 input has 324 outputs,
// each with its own source) the sources of one output vector lie in a
// few short windows of the plane, so a vector costs a few permutes where
// a hardware gather costs one load per lane (and far more on CPUs whose
// microcode slows gathers down).
func permTable() {
	name := "permTableAVX512"
	TEXT(name, NOSPLIT, "func(dst, src *byte, prog, counts *int32, vecs, last, planes, ldd, lds int)")
	Doc(name + " builds planes planes of vecs vectors each from src by the permute program prog, counts[v] entries for vector v, storing the first last lanes of the last vector.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	prog := Load(Param("prog"), GP64())
	counts := Load(Param("counts"), GP64())
	vecs := Load(Param("vecs"), GP64())
	planes := Load(Param("planes"), GP64())
	ldd := Load(Param("ldd"), GP64())
	lds := Load(Param("lds"), GP64())
	t := GP64()
	Load(Param("last"), t)
	m := GP32()
	MOVL(U32(1), m)
	SHLXL(t.As32(), m, m)
	DECL(m)
	KMOVW(m, K7)

	d, e, cp, v, c, off := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	acc, win, idx := Z0, Z1, Z2
	Label(name + "_plane")
	MOVQ(dst, d)
	MOVQ(prog, e)
	MOVQ(counts, cp)
	MOVQ(vecs, v)
	Label(name + "_vec")
	MOVLQSX(Mem{Base: cp}, c)
	VPXORD(acc, acc, acc)
	TESTQ(c, c)
	JZ(LabelRef(name + "_store"))
	Label(name + "_entry")
	MOVLQSX(Mem{Base: e}, off)
	KMOVW(Mem{Base: e, Disp: 4}, K2)
	KMOVW(Mem{Base: e, Disp: 6}, K1)
	VMOVUPS_Z(Mem{Base: src, Index: off, Scale: 4}, K2, win)
	VMOVDQU32(Mem{Base: e, Disp: 8}, idx)
	VPERMPS(win, idx, K1, acc)
	ADDQ(U32(4*tableEntryWords), e)
	DECQ(c)
	JNZ(LabelRef(name + "_entry"))
	Label(name + "_store")
	ADDQ(U8(4), cp)
	DECQ(v)
	JZ(LabelRef(name + "_last"))
	VMOVUPS(acc, Mem{Base: d})
	ADDQ(U8(64), d)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_last")
	VMOVUPS(acc, K7, Mem{Base: d})
	ADDQ(ldd, dst)
	ADDQ(lds, src)
	DECQ(planes)
	JNZ(LabelRef(name + "_plane"))
	VZEROUPPER()
	RET()
}
