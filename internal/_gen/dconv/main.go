// Command dconv writes internal/dconv/dconv_amd64.s: the AVX-512 float32
// kernel of a direct grouped convolution that keeps a block of output
// channels × output rows in registers. Run it from the repository root
// through `go generate ./internal/dconv` (or `make generate`).
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!purego")
	kernel()
	Generate()
}

// channels is the number of output channels one call computes: their
// weights for a tap sit in four registers, and each input vector loaded
// feeds all four.
const channels = 4

// rowBlock is the largest number of output rows one pass computes: 6 rows
// × 4 channels are 24 accumulators, with the 4 weights and the input
// vector 29 of the 32 registers. Per tap a pass loads 4 weights and 6
// input vectors for 24 multiply-adds, so the kernel is bound by its
// multiply-adds, not by its loads (the taps kernel's 4×4 block needs 8
// loads per 16).
const rowBlock = 6

// kernel emits
//
//	func dconvF32AVX512(dst, src, w *float32, offs *int64, ntap, rows, vecs, mask, ldd, lds, ldc int, bias *float32)
//
// which computes, for c < 4 output channels (planes ldc bytes apart),
// r < rows and the columns x of vecs whole vectors of 16 and then, when
// mask ≠ 0, one vector whose lanes are the set bits of mask (a prefix),
//
//	dst[c·ldc + r·ldd + x] = bias[c] + Σ_{t<ntap} w[4t + c] · src[r·lds + offs[t] + x]
//
// or, when bias is nil, the same sum added to dst's values,
// where offs holds ntap byte offsets, each in the first of two words
// (so that offs and w advance by 16 bytes per term, through one index),
// and ldd, lds, ldc are in bytes; the
// terms are added in order of t, whatever the block of rows. With a mask,
// the inputs of the last vector are read through it too, so nothing past
// the last column of a row is touched.
func kernel() {
	const name = "dconvF32AVX512"
	TEXT(name, NOSPLIT, "func(dst, src, w *float32, offs *int64, ntap, rows, vecs, mask, ldd, lds, ldc int, bias *float32)")
	Doc(name + " computes 4 output channels × rows × (vecs vectors and a masked one) of a direct convolution (see the generator for the contract).")
	Pragma("noescape")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	// The row and vector counters live on the stack: the term loop needs
	// every register it can get.
	rows, vecs := AllocLocal(8), AllocLocal(8)
	r := Load(Param("rows"), GP64())
	MOVQ(r, rows)
	lds := Load(Param("lds"), GP64())
	// Rows 3 and 5 of a block are addressed through 3·lds and 5·lds, so
	// that no row costs an address computation per term.
	lds3, lds5 := GP64(), GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	LEAQ(Mem{Base: lds, Index: lds, Scale: 4}, lds5)
	mk := GP64()
	Load(Param("mask"), mk)
	KMOVW(mk.As32(), K1)
	// offs and w are both read 16 bytes per term, through one index that
	// runs from −16·ntap up to 0 from the tables' ends.
	span := Load(Param("ntap"), GP64())
	SHLQ(U8(4), span)
	offs := Load(Param("offs"), GP64())
	ADDQ(span, offs)
	wbase := Load(Param("w"), GP64())
	ADDQ(span, wbase)
	kStart := AllocLocal(8)
	NEGQ(span)
	MOVQ(span, kStart)

	zs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28}
	acc := func(i, c int) VecPhysical { return zs[i*channels+c] }
	wv := func(c int) VecPhysical { return zs[rowBlock*channels+c] }
	in := zs[rowBlock*channels+channels]

	// vector emits one output vector of nr rows × 4 channels at dd (row 0,
	// channel 0) from the inputs at sp (row 0), through the mask or not.
	vector := func(nr int, masked bool, dd, sp Register, label string) {
		// walk visits channel c's rows from dd + c·ldc.
		walk := func(f func(i, c int, m Mem)) {
			t, q := GP64(), GP64()
			ldd, ldc := Load(Param("ldd"), GP64()), Load(Param("ldc"), GP64())
			MOVQ(dd, t)
			for c := range channels {
				MOVQ(t, q)
				for i := range nr {
					var m Mem
					switch {
					case i == 0:
						m = Mem{Base: q}
					case i%2 == 1:
						m = Mem{Base: q, Index: ldd, Scale: 1}
					default:
						LEAQ(Mem{Base: q, Index: ldd, Scale: 2}, q)
						m = Mem{Base: q}
					}
					f(i, c, m)
				}
				if c < channels-1 {
					ADDQ(ldc, t)
				}
			}
		}
		// The accumulators start from the bias, or with no bias (nil)
		// from dst, so that a layer's terms can be added in parts.
		bp := Load(Param("bias"), GP64())
		TESTQ(bp, bp)
		JZ(LabelRef(label + "_load"))
		for c := range channels {
			VBROADCASTSS(Mem{Base: bp, Disp: 4 * c}, wv(c))
		}
		for i := range nr {
			for c := range channels {
				VMOVAPS(wv(c), acc(i, c))
			}
		}
		JMP(LabelRef(label + "_start"))
		Label(label + "_load")
		walk(func(i, c int, m Mem) {
			if masked {
				VMOVUPS_Z(m, K1, acc(i, c))
			} else {
				VMOVUPS(m, acc(i, c))
			}
		})
		Label(label + "_start")
		k, q := GP64(), GP64()
		MOVQ(kStart, k)
		Label(label)
		MOVQ(Mem{Base: offs, Index: k, Scale: 1}, q)
		ADDQ(sp, q)
		for c := range channels {
			VBROADCASTSS(Mem{Base: wbase, Index: k, Scale: 1, Disp: 4 * c}, wv(c))
		}
		for i := range nr {
			m := []Mem{
				{Base: q}, {Base: q, Index: lds, Scale: 1}, {Base: q, Index: lds, Scale: 2},
				{Base: q, Index: lds3, Scale: 1}, {Base: q, Index: lds, Scale: 4}, {Base: q, Index: lds5, Scale: 1},
			}[i]
			if masked {
				VMOVUPS_Z(m, K1, in)
			} else {
				VMOVUPS(m, in)
			}
			for c := range channels {
				VFMADD231PS(in, wv(c), acc(i, c))
			}
		}
		ADDQ(U8(16), k)
		JNZ(LabelRef(label))
		walk(func(i, c int, m Mem) {
			if masked {
				VMOVUPS(acc(i, c), K1, m)
			} else {
				VMOVUPS(acc(i, c), m)
			}
		})
	}

	// block emits the passes over one block of nr rows at dst, src: the
	// whole vectors, then the masked one.
	block := func(nr int, label string) {
		dd, sp, v := GP64(), GP64(), GP64()
		MOVQ(dst, dd)
		MOVQ(src, sp)
		Load(Param("vecs"), v)
		MOVQ(v, vecs)
		TESTQ(v, v)
		JZ(LabelRef(label + "_tail"))
		Label(label + "_vec")
		vector(nr, false, dd, sp, label+"_tap")
		ADDQ(U8(64), dd)
		ADDQ(U8(64), sp)
		DECQ(vecs)
		JNZ(LabelRef(label + "_vec"))
		Label(label + "_tail")
		m := Load(Param("mask"), GP64())
		TESTQ(m, m)
		JZ(LabelRef(label + "_done"))
		vector(nr, true, dd, sp, label+"_mtap")
		Label(label + "_done")
	}

	// advance moves dst and src down nr rows.
	advance := func(nr int) {
		ldd := Load(Param("ldd"), GP64())
		for range nr {
			ADDQ(ldd, dst)
			ADDQ(lds, src)
		}
	}

	// Blocks of rowBlock rows while that many remain; then the remainder
	// (1 to rowBlock−1 rows) in one pass of its own size.
	Label(name + "_blocks")
	CMPQ(rows, U8(rowBlock))
	JL(LabelRef(name + "_rest"))
	block(rowBlock, name+"_b6")
	advance(rowBlock)
	SUBQ(U8(rowBlock), rows)
	JMP(LabelRef(name + "_blocks"))

	Label(name + "_rest")
	for nr := rowBlock - 1; nr >= 1; nr-- {
		next := name + "_rest" + string(rune('0'+nr-1))
		if nr == 1 {
			next = name + "_end"
		}
		CMPQ(rows, U8(nr))
		JNE(LabelRef(next))
		block(nr, name+"_b"+string(rune('0'+nr)))
		JMP(LabelRef(name + "_end"))
		if nr > 1 {
			Label(next)
		}
	}

	Label(name + "_end")
	VZEROUPPER()
	RET()
}
