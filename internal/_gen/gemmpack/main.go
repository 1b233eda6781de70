// Command gemmpack writes the AVX-512 packing kernels of package
// internal/gemm (pack_amd64.s and its Go declarations, pack_stub_amd64.go):
// in-register transposes for operands whose rows run along the product's
// depth, and masked copies of short runs for operands stored channels
// innermost. Run it through `go generate` in internal/gemm.
//
//	func transpose16F32AVX512(dst *float32, ldd int, src *float32, lds, rows, nb int)
//	func transpose8F64AVX512(dst *float64, ldd int, src *float64, lds, rows, nb int)
//
// transpose the rows×V block at src (rows ≤ V, V = 16 float32 or 8
// float64 lanes, rows lds elements apart) into the V×rows block at dst
// (rows ldd elements apart), nb times, block b starting V·b columns into
// src and V·b rows into dst:
//
//	dst[(V*b+j)*ldd + i] = src[i*lds + V*b+j]    i < rows, j < V, b < nb
//
// Rows past rows are neither read nor written. The transposes are the
// usual three (float64) or four (float32) rounds of unpack and 128-bit
// lane shuffles, V·log2(V) shuffles for V² elements, against V² scalar
// loads and stores.
//
//	func copyRunsF32AVX512(dst *float32, ldd int, src *float32, lds, m int, mask uint32)
//	func copyRunsF64AVX512(dst *float64, ldd int, src *float64, lds, m int, mask uint16)
//
// copy m runs: run p is the elements of src + p·lds whose bit is set in
// mask (the low n bits, n ≤ 32 float32 or 16 float64: two vectors), to
// dst + p·ldd, by masked loads and stores (masked-off elements are never
// touched, so a run may end at the end of its slice).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!purego")
	transpose(false)
	transpose(true)
	copyRuns(false)
	copyRuns(true)
	Generate()
}

var zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}

// transpose emits the V×V block transpose (see the package comment).
func transpose(f64 bool) {
	v, esz, typ, name := 16, 4, "float32", "transpose16F32AVX512"
	if f64 {
		v, esz, typ, name = 8, 8, "float64", "transpose8F64AVX512"
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst *%[1]s, ldd int, src *%[1]s, lds, rows, nb int)", typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s transposes nb blocks of rows×%d elements (rows ≤ %d) from src into dst (see the generator for the contract).", name, v, v))
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	rows := Load(Param("rows"), GP64())
	nb := Load(Param("nb"), GP64())
	SHLQ(U8(log2(esz)), ldd)
	SHLQ(U8(log2(esz)), lds)
	// K1 holds the low rows bits: the lanes of an output row that exist.
	one, mask := GP64(), GP64()
	MOVQ(U32(1), one)
	SHLXQ(rows, one, mask)
	DECQ(mask)
	KMOVW(mask.As32(), K1)
	TESTQ(nb, nb)
	JZ(LabelRef(name + "_done"))

	r := zmm[:v] // the block's rows, then its columns
	t := zmm[v:] // temporaries
	if f64 {
		t = zmm[8:24]
	}
	Label(name + "_block")
	// Load the rows that exist; the others are zero (never stored).
	s := GP64()
	MOVQ(src, s)
	for i := 0; i < v; i++ {
		VXORPS(r[i], r[i], r[i])
	}
	for i := 0; i < v; i++ {
		CMPQ(rows, U8(i))
		JLE(LabelRef(name + "_loaded"))
		VMOVUPS(Mem{Base: s}, r[i])
		ADDQ(lds, s)
	}
	Label(name + "_loaded")
	var cols []VecPhysical
	if f64 {
		cols = transpose8(r, t)
	} else {
		cols = transpose16(r, t)
	}
	d := GP64()
	MOVQ(dst, d)
	for j := 0; j < v; j++ {
		if f64 {
			VMOVUPD(cols[j], K1, Mem{Base: d})
		} else {
			VMOVUPS(cols[j], K1, Mem{Base: d})
		}
		if j < v-1 {
			ADDQ(ldd, d)
		}
	}
	ADDQ(ldd, d)
	MOVQ(d, dst)
	ADDQ(U8(64), src)
	DECQ(nb)
	JNZ(LabelRef(name + "_block"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// transpose16 transposes the 16×16 float32 block in r (row i in r[i]),
// using the 16 temporaries t, and returns the registers holding its
// columns in order.
func transpose16(r, t []VecPhysical) []VecPhysical {
	// Round 1: interleave pairs of rows: t[2i] = (r2i[0], r2i+1[0], r2i[1], r2i+1[1]) per lane.
	for i := 0; i < 8; i++ {
		VUNPCKLPS(r[2*i+1], r[2*i], t[2*i])
		VUNPCKHPS(r[2*i+1], r[2*i], t[2*i+1])
	}
	// Round 2: interleave pairs of pairs; u[4g+j] holds, in each 128-bit
	// lane L, column 4L+j of rows 4g…4g+3.
	u := r
	for g := 0; g < 4; g++ {
		a, b := t[4*g], t[4*g+1]   // rows 4g,4g+1: low and high halves of each lane
		c, e := t[4*g+2], t[4*g+3] // rows 4g+2,4g+3
		VUNPCKLPD(c, a, u[4*g+0])
		VUNPCKHPD(c, a, u[4*g+1])
		VUNPCKLPD(e, b, u[4*g+2])
		VUNPCKHPD(e, b, u[4*g+3])
	}
	// Round 3: gather lanes 0,1 and 2,3 of row groups (0,1) and (2,3).
	for j := 0; j < 4; j++ {
		VSHUFF32X4(U8(0x44), u[4+j], u[j], t[4*j+0])
		VSHUFF32X4(U8(0xEE), u[4+j], u[j], t[4*j+1])
		VSHUFF32X4(U8(0x44), u[12+j], u[8+j], t[4*j+2])
		VSHUFF32X4(U8(0xEE), u[12+j], u[8+j], t[4*j+3])
	}
	// Round 4: column 4L+j takes lane L of each row group.
	cols := make([]VecPhysical, 16)
	for j := 0; j < 4; j++ {
		va, vb, wa, wb := t[4*j], t[4*j+1], t[4*j+2], t[4*j+3]
		VSHUFF32X4(U8(0x88), wa, va, r[4*j+0])
		VSHUFF32X4(U8(0xDD), wa, va, r[4*j+1])
		VSHUFF32X4(U8(0x88), wb, vb, r[4*j+2])
		VSHUFF32X4(U8(0xDD), wb, vb, r[4*j+3])
		cols[0+j] = r[4*j+0]
		cols[4+j] = r[4*j+1]
		cols[8+j] = r[4*j+2]
		cols[12+j] = r[4*j+3]
	}
	return cols
}

// transpose8 transposes the 8×8 float64 block in r (row i in r[i]) with
// temporaries t and returns the registers holding its columns in order.
func transpose8(r, t []VecPhysical) []VecPhysical {
	// Round 1: t[2i+j] holds, in each 128-bit lane L, column 2L+j of rows 2i, 2i+1.
	for i := 0; i < 4; i++ {
		VUNPCKLPD(r[2*i+1], r[2*i], t[2*i])
		VUNPCKHPD(r[2*i+1], r[2*i], t[2*i+1])
	}
	// Round 2: lanes 0,1 and 2,3 of row pairs (0,1) with (2,3), (4,5) with (6,7).
	for j := 0; j < 2; j++ {
		VSHUFF64X2(U8(0x44), t[2+j], t[j], t[8+4*j+0])
		VSHUFF64X2(U8(0xEE), t[2+j], t[j], t[8+4*j+1])
		VSHUFF64X2(U8(0x44), t[6+j], t[4+j], t[8+4*j+2])
		VSHUFF64X2(U8(0xEE), t[6+j], t[4+j], t[8+4*j+3])
	}
	// Round 3: column 2L+j takes lane L of each row pair.
	cols := make([]VecPhysical, 8)
	for j := 0; j < 2; j++ {
		va, vb, wa, wb := t[8+4*j], t[8+4*j+1], t[8+4*j+2], t[8+4*j+3]
		VSHUFF64X2(U8(0x88), wa, va, r[4*j+0])
		VSHUFF64X2(U8(0xDD), wa, va, r[4*j+1])
		VSHUFF64X2(U8(0x88), wb, vb, r[4*j+2])
		VSHUFF64X2(U8(0xDD), wb, vb, r[4*j+3])
		cols[0+j] = r[4*j+0]
		cols[2+j] = r[4*j+1]
		cols[4+j] = r[4*j+2]
		cols[6+j] = r[4*j+3]
	}
	return cols
}

// copyRuns emits the masked run copy (see the package comment).
func copyRuns(f64 bool) {
	v, esz, typ, mtyp, name := 16, 4, "float32", "uint32", "copyRunsF32AVX512"
	if f64 {
		v, esz, typ, mtyp, name = 8, 8, "float64", "uint16", "copyRunsF64AVX512"
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst *%[1]s, ldd int, src *%[1]s, lds, m int, mask %[2]s)", typ, mtyp))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies m runs of the elements set in mask from places lds apart at src to places ldd apart at dst (see the generator for the contract).", name))
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	m := Load(Param("m"), GP64())
	mk := GP64()
	if f64 {
		MOVWQZX(paramAddr("mask"), mk)
	} else {
		MOVLQZX(paramAddr("mask"), mk)
	}
	SHLQ(U8(log2(esz)), ldd)
	SHLQ(U8(log2(esz)), lds)
	lo, hi := GP64(), GP64()
	MOVQ(mk, lo)
	MOVQ(mk, hi)
	SHRQ(U8(v), hi)
	if f64 {
		KMOVB(lo.As32(), K1)
		KMOVB(hi.As32(), K2)
	} else {
		KMOVW(lo.As32(), K1)
		KMOVW(hi.As32(), K2)
	}
	TESTQ(m, m)
	JZ(LabelRef(name + "_done"))
	mov := func(a, k, b Op) {
		if f64 {
			VMOVUPD(a, k, b)
		} else {
			VMOVUPS(a, k, b)
		}
	}
	movz := func(a, k, b Op) {
		if f64 {
			VMOVUPD_Z(a, k, b)
		} else {
			VMOVUPS_Z(a, k, b)
		}
	}
	// One vector per run when the mask fits one, two otherwise.
	TESTQ(hi, hi)
	JNZ(LabelRef(name + "_two"))
	// Four runs per iteration while four remain.
	for _, two := range []bool{false, true} {
		pre := name + "_one"
		if two {
			pre = name + "_two"
			Label(pre)
		}
		CMPQ(m, U8(4))
		JL(LabelRef(pre + "_tail"))
		Label(pre + "_four")
		s, d := GP64(), GP64()
		MOVQ(src, s)
		MOVQ(dst, d)
		for p := 0; p < 4; p++ {
			movz(Mem{Base: s}, K1, zmm[2*p])
			if two {
				movz(Mem{Base: s, Disp: 64}, K2, zmm[2*p+1])
			}
			if p < 3 {
				ADDQ(lds, s)
			}
		}
		for p := 0; p < 4; p++ {
			mov(zmm[2*p], K1, Mem{Base: d})
			if two {
				mov(zmm[2*p+1], K2, Mem{Base: d, Disp: 64})
			}
			if p < 3 {
				ADDQ(ldd, d)
			}
		}
		ADDQ(lds, s)
		ADDQ(ldd, d)
		MOVQ(s, src)
		MOVQ(d, dst)
		SUBQ(U8(4), m)
		CMPQ(m, U8(4))
		JGE(LabelRef(pre + "_four"))
		Label(pre + "_tail")
		TESTQ(m, m)
		JZ(LabelRef(name + "_done"))
		movz(Mem{Base: src}, K1, zmm[0])
		if two {
			movz(Mem{Base: src, Disp: 64}, K2, zmm[1])
		}
		mov(zmm[0], K1, Mem{Base: dst})
		if two {
			mov(zmm[1], K2, Mem{Base: dst, Disp: 64})
		}
		ADDQ(lds, src)
		ADDQ(ldd, dst)
		DECQ(m)
		JMP(LabelRef(pre + "_tail"))
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// paramAddr is the stack address of a scalar argument.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}
