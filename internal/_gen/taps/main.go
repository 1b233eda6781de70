// Command taps writes internal/taps/taps_amd64.s: the AVX2 and AVX-512
// kernels of a direct convolution that is vectorised over output columns
// (depthwise and small-group layers). Run it from the repository root
// through `go generate ./internal/taps` (or `make generate`).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!purego")
	for _, avx512 := range []bool{true, false} {
		for _, f64 := range []bool{false, true} {
			taps(avx512, f64)
			tapsCo(avx512, f64)
		}
	}
	Generate()
}

// rowBlock is the number of output rows one pass computes: their
// accumulators are independent FMA chains, and each broadcast weight is
// used rowBlock times.
const rowBlock = 4

// taps emits
//
//	func taps<T><ISA>(dst, src *T, rows, vecs, ldd, lds int, tab *int64, nbytes int, bias T)
//
// which computes, for r < rows and the first vecs vectors of each row,
//
//	dst[r·ldd + x] = bias + Σ_t w_t · src[r·lds + off_t + x]
//
// where tab holds nbytes/16 taps of two words each: the byte offset off_t
// and the weight w_t (its bits in the low bytes of the second word), and
// ldd and lds are in bytes: the taps of a stride-1 convolution
// over one or more zero-padded input planes. Rows go rowBlock at a time
// (then one at a time), each output vector's taps in order, so the sum is
// the same whatever the row's block.
func taps(avx512, f64 bool) {
	isaName, width := "AVX2", 32
	if avx512 {
		isaName, width = "AVX512", 64
	}
	typ := "float32"
	if f64 {
		typ = "float64"
	}
	name := fmt.Sprintf("taps%s%s", map[bool]string{false: "F32", true: "F64"}[f64], isaName)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src *%s, rows, vecs, ldd, lds int, tab *int64, nbytes int, bias %s)", typ, typ))
	Doc(fmt.Sprintf("%s computes rows×vecs vectors of a stride-1 direct convolution from the taps in tab (see the generator for the contract).", name))
	Pragma("noescape")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rows := Load(Param("rows"), GP64())
	ldd := Load(Param("ldd"), GP64())
	lds := Load(Param("lds"), GP64())
	tab := Load(Param("tab"), GP64())

	var accs []VecPhysical
	var wv, bv VecPhysical
	if avx512 {
		accs = []VecPhysical{Z0, Z1, Z2, Z3}
		wv, bv = Z4, Z5
	} else {
		accs = []VecPhysical{Y0, Y1, Y2, Y3}
		wv, bv = Y4, Y5
	}
	bx := XMM()
	if f64 {
		Load(Param("bias"), bx)
		VBROADCASTSD(bx, bv)
	} else {
		Load(Param("bias"), bx)
		VBROADCASTSS(bx, bv)
	}
	bcast := func(m Mem, v VecPhysical) {
		if f64 {
			VBROADCASTSD(m, v)
		} else {
			VBROADCASTSS(m, v)
		}
	}
	fma := func(m Mem, w, acc VecPhysical) {
		if f64 {
			VFMADD231PD(m, w, acc)
		} else {
			VFMADD231PS(m, w, acc)
		}
	}
	store := func(acc VecPhysical, m Mem) {
		if f64 {
			VMOVUPD(acc, m)
		} else {
			VMOVUPS(acc, m)
		}
	}
	mov := func(a, b VecPhysical) {
		if f64 {
			VMOVAPD(a, b)
		} else {
			VMOVAPS(a, b)
		}
	}

	// block emits the loop over one block of nr rows starting at dst, src.
	block := func(nr int, label string) {
		ss := make([]Register, nr) // the rows' source pointers at the current vector
		for i := range nr {
			ss[i] = GP64()
			if i == 0 {
				MOVQ(src, ss[0])
			} else {
				LEAQ(Mem{Base: ss[i-1], Index: lds, Scale: 1}, ss[i])
			}
		}
		dd, v, t, off := GP64(), GP64(), GP64(), GP64()
		MOVQ(dst, dd)
		Load(Param("vecs"), v)
		TESTQ(v, v)
		JZ(LabelRef(label + "_done"))
		Label(label + "_vec")
		for i := range nr {
			mov(bv, accs[i])
		}
		XORQ(t, t)
		Label(label + "_tap")
		MOVQ(Mem{Base: tab, Index: t, Scale: 1}, off)
		bcast(Mem{Base: tab, Index: t, Scale: 1, Disp: 8}, wv)
		for i := range nr {
			fma(Mem{Base: ss[i], Index: off, Scale: 1}, wv, accs[i])
		}
		ADDQ(U8(16), t)
		CMPQ(t, NewParamAddr("nbytes", 56))
		JL(LabelRef(label + "_tap"))
		for i := range nr {
			switch i {
			case 0:
				store(accs[i], Mem{Base: dd})
			case 1:
				store(accs[i], Mem{Base: dd, Index: ldd, Scale: 1})
			case 2:
				LEAQ(Mem{Base: dd, Index: ldd, Scale: 2}, off)
				store(accs[i], Mem{Base: off})
			case 3:
				store(accs[i], Mem{Base: off, Index: ldd, Scale: 1})
			}
			ADDQ(U32(width), ss[i])
		}
		ADDQ(U32(width), dd)
		DECQ(v)
		JNZ(LabelRef(label + "_vec"))
		Label(label + "_done")
	}

	rowLoop(name, rows, dst, src, ldd, lds, block)
}

// CoBlock is the number of output channels one tapsCo call computes: each
// input vector loaded serves them all (AVX2 has half the registers).
func coBlock(avx512 bool) int {
	if avx512 {
		return 4
	}
	return 2
}

// tapsCo emits
//
//	func tapsCo<T><ISA>(dst, src *T, rows, vecs, ldd, lds, ldc int, tab *int64, nbytes int)
//
// the multi-channel form of taps: for c < coBlock output channels (planes
// ldc bytes apart), r < rows and the first vecs vectors of each row,
//
//	dst[c·ldc + r·ldd + x] = dst[c·ldc + r·ldd + x] + Σ_t w_{t,c} · src[r·lds + off_t + x]
//
// where tab holds nbytes/(8·(coBlock+1)) entries of coBlock+1 words: the
// byte offset off_t and the coBlock weights (each in the low bytes of its
// word). The destination is read first (it holds the bias), so a layer
// with more taps than one call holds can accumulate. Each input vector is
// loaded once for all the channels: 4 rows × coBlock channels of
// accumulators make it FMA-bound rather than load-bound.
func tapsCo(avx512, f64 bool) {
	isaName, width := "AVX2", 32
	if avx512 {
		isaName, width = "AVX512", 64
	}
	typ := "float32"
	if f64 {
		typ = "float64"
	}
	nco := coBlock(avx512)
	entry := 8 * (nco + 1)
	name := fmt.Sprintf("tapsCo%s%s", map[bool]string{false: "F32", true: "F64"}[f64], isaName)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src *%s, rows, vecs, ldd, lds, ldc int, tab *int64, nbytes int)", typ))
	Doc(fmt.Sprintf("%s adds the taps in tab to rows×vecs vectors of %d output channels (see the generator for the contract).", name, nco))
	Pragma("noescape")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rows := Load(Param("rows"), GP64())
	ldd := Load(Param("ldd"), GP64())
	lds := Load(Param("lds"), GP64())
	tab := Load(Param("tab"), GP64())

	vec := func(i int) VecPhysical {
		if avx512 {
			return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23}[i]
		}
		return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
	}
	bcast := func(m Mem, v VecPhysical) {
		if f64 {
			VBROADCASTSD(m, v)
		} else {
			VBROADCASTSS(m, v)
		}
	}
	load := func(m Mem, v VecPhysical) {
		if f64 {
			VMOVUPD(m, v)
		} else {
			VMOVUPS(m, v)
		}
	}
	fma := func(a, w, acc VecPhysical) {
		if f64 {
			VFMADD231PD(a, w, acc)
		} else {
			VFMADD231PS(a, w, acc)
		}
	}
	store := func(v VecPhysical, m Mem) {
		if f64 {
			VMOVUPD(v, m)
		} else {
			VMOVUPS(v, m)
		}
	}
	ldcAddr := NewParamAddr("ldc", 48)
	nbAddr := NewParamAddr("nbytes", 64)

	block := func(nr int, label string) {
		// acc(i, c) = vec(i*nco + c); weights vec(nr*nco + c); input vec(nr*nco + nco).
		acc := func(i, c int) VecPhysical { return vec(i*nco + c) }
		wv := func(c int) VecPhysical { return vec(nr*nco + c) }
		in := vec(nr*nco + nco)
		ss := make([]Register, nr)
		for i := range nr {
			ss[i] = GP64()
			if i == 0 {
				MOVQ(src, ss[0])
			} else {
				LEAQ(Mem{Base: ss[i-1], Index: lds, Scale: 1}, ss[i])
			}
		}
		dd, v, t, off := GP64(), GP64(), GP64(), GP64()
		MOVQ(dst, dd)
		Load(Param("vecs"), v)
		TESTQ(v, v)
		JZ(LabelRef(label + "_done"))
		// addrs walks the (channel, row) places of the current vector:
		// dd + c·ldc + i·ldd, through t (channel base) and off.
		walk := func(f func(i, c int, m Mem)) {
			MOVQ(dd, t)
			for c := range nco {
				for i := range nr {
					switch i {
					case 0:
						f(i, c, Mem{Base: t})
					case 1:
						f(i, c, Mem{Base: t, Index: ldd, Scale: 1})
					case 2:
						LEAQ(Mem{Base: t, Index: ldd, Scale: 2}, off)
						f(i, c, Mem{Base: off})
					case 3:
						f(i, c, Mem{Base: off, Index: ldd, Scale: 1})
					}
				}
				if c < nco-1 {
					ADDQ(ldcAddr, t)
				}
			}
		}
		Label(label + "_vec")
		walk(func(i, c int, m Mem) { load(m, acc(i, c)) })
		XORQ(t, t)
		Label(label + "_tap")
		MOVQ(Mem{Base: tab, Index: t, Scale: 1}, off)
		for c := range nco {
			bcast(Mem{Base: tab, Index: t, Scale: 1, Disp: 8 * (c + 1)}, wv(c))
		}
		for i := range nr {
			load(Mem{Base: ss[i], Index: off, Scale: 1}, in)
			for c := range nco {
				fma(in, wv(c), acc(i, c))
			}
		}
		ADDQ(U8(entry), t)
		CMPQ(t, nbAddr)
		JL(LabelRef(label + "_tap"))
		walk(func(i, c int, m Mem) { store(acc(i, c), m) })
		for i := range nr {
			ADDQ(U32(width), ss[i])
		}
		ADDQ(U32(width), dd)
		DECQ(v)
		JNZ(LabelRef(label + "_vec"))
		Label(label + "_done")
	}

	rowLoop(name, rows, dst, src, ldd, lds, block)
}

// rowLoop ends a kernel: it runs block over the output rows, rowBlock rows
// at a time while that many remain and then one at a time, advancing dst
// and src by a row (ldd, lds) after each, and returns.
func rowLoop(name string, rows, dst, src, ldd, lds Register, block func(n int, label string)) {
	Label(name + "_blocks")
	CMPQ(rows, U8(rowBlock))
	JL(LabelRef(name + "_single"))
	block(rowBlock, name+"_b4")
	for range rowBlock {
		ADDQ(ldd, dst)
		ADDQ(lds, src)
	}
	SUBQ(U8(rowBlock), rows)
	JMP(LabelRef(name + "_blocks"))

	Label(name + "_single")
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_end"))
	block(1, name+"_b1")
	ADDQ(ldd, dst)
	ADDQ(lds, src)
	DECQ(rows)
	JMP(LabelRef(name + "_single"))

	Label(name + "_end")
	VZEROUPPER()
	RET()
}
