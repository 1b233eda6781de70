// Command winout writes internal/winograd/out_amd64.s: the AVX-512 output
// transform of F(4×4, 3×3), fused with the bias and the scatter into the
// NCHW output. Run it from the repository root through
// `go generate ./internal/winograd` (or `make generate`).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The tile: m×m outputs from α×α products.
const (
	m     = 4
	alpha = 6
	lanes = 16 // float32 lanes of a zmm vector: tiles per vector
)

func main() {
	ConstraintExpr("amd64,gc,!purego")
	permIdx = GLOBL("outPermIdx", RODATA|NOPTR)
	for v, tab := range permTables() {
		for l, x := range tab {
			DATA(64*v+4*l, U32(x))
		}
	}
	outTransform()
	Generate()
}

// permIdx holds the four index vectors of the interleave (permTables).
var permIdx Mem

// permTables returns the lane indices of the two levels of two-source
// permutes (VPERMI2PS: index bit 4 picks the second table) that turn the
// four column vectors y₀…y₃ of one output row, yⱼ[t] the output at
// column 4t+j of tile t, into the row's 64 contiguous outputs:
//
//	level 1: P_lo[2t+j] = yⱼ[t], P_hi[2t+j] = yⱼ[8+t]  (j = 0, 1; t < 8),
//	         Q_lo, Q_hi likewise from y₂, y₃;
//	level 2: o[4s+j] = P[2s+j] (j < 2) or Q[2s+j−2] (j ≥ 2), tiles s
//	         of the lower half (o₀ from the lo pair, o₂ from the hi
//	         pair) or of the upper half (index + 8: o₁, o₃).
func permTables() [4][lanes]uint32 {
	var t [4][lanes]uint32
	for l := 0; l < lanes; l++ {
		t[0][l] = uint32(l/2 + 16*(l%2))
		t[1][l] = uint32(8 + l/2 + 16*(l%2))
		s, j := l/4, l%4
		if j < 2 {
			t[2][l] = uint32(2*s + j)
		} else {
			t[2][l] = uint32(16 + 2*s + j - 2)
		}
		t[3][l] = t[2][l] + 8
	}
	return t
}

// outTransform emits
//
//	func outF32AVX512(dst, src, coef, bias *float32, masks *uint16, channels, lds, ldc, bstride, rs, ldo, rows, full, vecs, stream int) bool
//
// which, for each of channels output channels (src, dst and bias advancing
// by lds, ldc and bstride bytes), takes the products of one row of tiles
// 16 tiles per vector: position k = a·α+b of tile t at src + k·rs + 4t
// bytes. For each vector it loads the α² position vectors, applies
// Y = Aᵀ·M·A separably (T = Aᵀ·M over the rows a, then Y = T·A over the
// columns b), the coefficients Aᵀ[i][a] (m×α, row-major at coef)
// broadcast from memory, adds the bias, interleaves the m column vectors
// of each output row into 64 contiguous outputs and stores the first rows
// rows of them, ldo bytes apart, from dst. Vectors [0, full) are whole;
// vectors [full, vecs) (at most one: the row's last) load under masks[0]
// and store output q of a row under masks[1+q]. With stream ≠ 0 the whole
// vectors go out by non-temporal stores (dst and ldo must then keep them
// 64-byte aligned): an output larger than the caches is written without
// first being read in, a third less memory traffic.
//
// It returns whether every value it stored is finite: each stored vector
// is classified (VFPCLASSPS: NaN or ±Inf) under its store mask and the
// lanes collected in K6, so no output is read again to check it.
func outTransform() {
	const name = "outF32AVX512"
	TEXT(name, NOSPLIT, "func(dst, src, coef, bias *float32, masks *uint16, channels, lds, ldc, bstride, rs, ldo, rows, full, vecs, stream int) bool")
	Doc(name + " applies the F(4×4, 3×3) output transform, the bias and the scatter to the products of channels channels of one tile row, 16 tiles per vector.")
	Pragma("noescape")

	// T[i][b] in Z(6i+b); the position loads alternate over three
	// registers; the bias broadcast; Y (then the outputs) of a row, whose
	// registers hold the column of Aᵀ that the loads of T's row a use.
	tr := func(i, b int) VecPhysical { return zmm(alpha*i + b) }
	loads := []VecPhysical{Z24, Z25, Z31}
	biasV := VecPhysical(Z26)
	ys := []VecPhysical{Z27, Z28, Z29, Z30}
	coefV := ys

	coef := Load(Param("coef"), GP64())
	rs := Load(Param("rs"), GP64())
	src, dst := GP64(), GP64()
	// nt: whether the vector's stores are non-temporal.
	nt := GP64()
	KXORW(K6, K6, K6)

	Label(name + "_channel")
	bias := Load(Param("bias"), GP64())
	VBROADCASTSS(Mem{Base: bias}, biasV)
	Load(Param("src"), src)
	Load(Param("dst"), dst)
	v := GP64()
	XORQ(v, v)

	Label(name + "_vector")
	// Masks: all lanes for a whole vector, the table's for the last.
	CMPQ(v, paramAddr("full"))
	JAE(LabelRef(name + "_tailMasks"))
	KXNORW(K1, K1, K1)
	KXNORW(K2, K2, K2)
	KXNORW(K3, K3, K3)
	KXNORW(K4, K4, K4)
	KXNORW(K5, K5, K5)
	Load(Param("stream"), nt)
	JMP(LabelRef(name + "_masked"))
	Label(name + "_tailMasks")
	XORQ(nt, nt)
	mp := Load(Param("masks"), GP64())
	for q, k := range []Op{K1, K2, K3, K4, K5} {
		KMOVW(Mem{Base: mp, Disp: 2 * q}, k)
	}
	Label(name + "_masked")

	// T = Aᵀ·M: row a of M at a time, each product vector loaded once
	// and multiplied into the m rows of T by Aᵀ[i][a], broadcast once per
	// row a into registers (a memory operand would cost a load per
	// multiply-add).
	p, lds := GP64(), GP64()
	MOVQ(src, p)
	Load(Param("lds"), lds)
	for a := 0; a < alpha; a++ {
		for i := 0; i < m; i++ {
			VBROADCASTSS(Mem{Base: coef, Disp: 4 * (i*alpha + a)}, coefV[i])
		}
		for b := 0; b < alpha; b++ {
			x := loads[(a*alpha+b)%len(loads)]
			VMOVUPS_Z(Mem{Base: p}, K1, x)
			PREFETCHT0(Mem{Base: p, Index: lds, Scale: 1})
			if a*alpha+b < alpha*alpha-1 {
				ADDQ(rs, p)
			}
			for i := 0; i < m; i++ {
				if a == 0 {
					VMULPS(coefV[i], x, tr(i, b))
				} else {
					VFMADD231PS(coefV[i], x, tr(i, b))
				}
			}
		}
	}

	// Y = T·A, row i at a time, with the bias; then the interleave and
	// the stores. T's row i is free once its Y is formed: it holds the
	// first level of the interleave.
	d := GP64()
	MOVQ(dst, d)
	for i := 0; i < m; i++ {
		if i > 0 {
			CMPQ(paramAddr("rows"), U8(i))
			JLE(LabelRef(name + "_rowsDone"))
			ADDQ(paramAddr("ldo"), d)
		}
		for j := 0; j < m; j++ {
			VMOVAPS(biasV, ys[j])
			for b := 0; b < alpha; b++ {
				VFMADD231PS_BCST(Mem{Base: coef, Disp: 4 * (j*alpha + b)}, tr(i, b), ys[j])
			}
		}
		pLo, pHi, qLo, qHi := tr(i, 0), tr(i, 1), tr(i, 2), tr(i, 3)
		idx := func(n int) Mem { return permIdx.Offset(64 * n) }
		VMOVUPS(idx(0), pLo)
		VPERMI2PS(ys[1], ys[0], pLo)
		VMOVUPS(idx(1), pHi)
		VPERMI2PS(ys[1], ys[0], pHi)
		VMOVUPS(idx(0), qLo)
		VPERMI2PS(ys[3], ys[2], qLo)
		VMOVUPS(idx(1), qHi)
		VPERMI2PS(ys[3], ys[2], qHi)
		outs := []struct {
			y      VecPhysical
			lo, hi VecPhysical
			n      int
		}{{ys[0], pLo, qLo, 2}, {ys[1], pLo, qLo, 3}, {ys[2], pHi, qHi, 2}, {ys[3], pHi, qHi, 3}}
		for q, o := range outs {
			VMOVUPS(idx(o.n), o.y)
			VPERMI2PS(o.hi, o.lo, o.y)
			k := []Op{K2, K3, K4, K5}[q]
			VFPCLASSPSZ(U8(classNaNInf), o.y, k, K7)
			KORW(K7, K6, K6)
		}
		row := fmt.Sprintf("%s_row%d", name, i)
		TESTQ(nt, nt)
		JNZ(LabelRef(row + "NT"))
		for q, o := range outs {
			VMOVUPS(o.y, []Op{K2, K3, K4, K5}[q], Mem{Base: d, Disp: 64 * q})
		}
		JMP(LabelRef(row + "Stored"))
		Label(row + "NT")
		for q, o := range outs {
			VMOVNTPS(o.y, Mem{Base: d, Disp: 64 * q})
		}
		Label(row + "Stored")
	}
	Label(name + "_rowsDone")

	ADDQ(U8(4*lanes), src)
	ADDQ(U32(4*m*lanes), dst)
	INCQ(v)
	CMPQ(v, paramAddr("vecs"))
	JB(LabelRef(name + "_vector"))

	// The next channel.
	t := GP64()
	Load(Param("lds"), t)
	ADDQ(t, paramAddr("src"))
	Load(Param("ldc"), t)
	ADDQ(t, paramAddr("dst"))
	Load(Param("bstride"), t)
	ADDQ(t, paramAddr("bias"))
	DECQ(paramAddr("channels"))
	JNZ(LabelRef(name + "_channel"))
	// Order the non-temporal stores before any later store, as Go's
	// memory model expects of plain ones.
	SFENCE()
	KMOVW(K6, t.As32())
	TESTL(t.As32(), t.As32())
	ok := GP8()
	SETEQ(ok)
	Store(ok, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// classNaNInf is VFPCLASSPS's class set of quiet and signalling NaNs and
// both infinities.
const classNaNInf = 0x01 | 0x08 | 0x10 | 0x80

func zmm(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}

// paramAddr is the stack address of an argument, for instructions that
// work on it in memory.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
