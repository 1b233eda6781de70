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
	kernel("dconvF32AVX512", 4, 6)
	kernel("dconvF32AVX512x8", 8, 3)
	Generate()
}

// Two kernels, of the same 24 accumulators in two shapes:
//
//   - dconvF32AVX512: 4 channels × 6 rows. The 4 channels' weights of a
//     term sit in four registers, and each input vector loaded feeds all
//     four (24 accumulators, 4 weights and the input vector: 29 of the 32
//     registers). Per term: 4 weight and 6 input loads for 24
//     multiply-adds.
//   - dconvF32AVX512x8: 8 channels × 3 rows. The 3 rows' input vectors of a
//     term sit in three registers, and each channel's weight, broadcast
//     into one register, feeds all three (24 accumulators, 3 inputs, 1
//     weight: 28 registers). Per term: 3 input and 8 weight loads for 24
//     multiply-adds: half the input vectors per multiply-add. Measured
//     in fold (blockedWideMaxChannels), it is 4–14% faster than the 4 × 6
//     kernel with up to 32 input channels per group and ties with 64,
//     also where a group's input exceeds L1, so the input's L2 traffic
//     is not what it saves; fold takes it only up to 32 channels per
//     group. Its weights are those of two 4-channel blocks, so both
//     kernels read one packing.
//
// Both are bound by their multiply-adds, not by their loads (the taps
// kernel's 4×4 block needs 8 loads per 16).

// kernel emits
//
//	func name(dst, src, w *float32, offs *int64, ntap, rows, vecs, mask, ldd, lds, ldc int, bias *float32)
//
// (the 8-channel kernel with a last argument, wld int),
// which computes, for c < channels output channels (planes ldc bytes apart),
// r < rows and the columns x of vecs whole vectors of 16 and then, when
// mask ≠ 0, one vector whose lanes are the set bits of mask (a prefix),
//
//	dst[c·ldc + r·ldd + x] = bias[c] + Σ_{t<ntap} w[4t + c] · src[r·lds + offs[t] + x]
//
// for c < 4, and for c ≥ 4 (the 8-channel kernel) the weight at
// w[wld/4 + 4t + c − 4]: two blocks of 4 channels packed alike,
//
// or, when bias is nil, the same sum added to dst's values,
// where offs holds ntap byte offsets, each in the first of two words
// (so that offs and w advance by 16 bytes per term, through one index),
// and ldd, lds, ldc are in bytes; the
// terms are added in order of t, whatever the block of rows. With a mask,
// the inputs of the last vector are read through it too, so nothing past
// the last column of a row is touched.
// rowBlock is the largest number of output rows one pass computes;
// channels is 4 (weights in registers) or 8 (inputs in registers).
func kernel(name string, channels, rowBlock int) {
	inputsInRegs := channels == 8
	sig := "func(dst, src, w *float32, offs *int64, ntap, rows, vecs, mask, ldd, lds, ldc int, bias *float32)"
	if inputsInRegs {
		sig = "func(dst, src, w *float32, offs *int64, ntap, rows, vecs, mask, ldd, lds, ldc int, bias *float32, wld int)"
	}
	TEXT(name, NOSPLIT, sig)
	Doc(name + " computes " + string(rune('0'+channels)) + " output channels × rows × (vecs vectors and a masked one) of a direct convolution (see the generator for the contract).")
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
	// runs from −16·ntap up to 0 from the tables' ends; the 8-channel
	// kernel reads its channels 4 to 7 from a second block of packed
	// weights, wld bytes after the first.
	span := Load(Param("ntap"), GP64())
	SHLQ(U8(4), span)
	offs := Load(Param("offs"), GP64())
	ADDQ(span, offs)
	wbase := Load(Param("w"), GP64())
	ADDQ(span, wbase)
	whigh := wbase
	if inputsInRegs {
		whigh = Load(Param("wld"), GP64())
		ADDQ(wbase, whigh)
	}
	kStart := AllocLocal(8)
	NEGQ(span)
	MOVQ(span, kStart)

	zs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28}
	acc := func(i, c int) VecPhysical { return zs[i*channels+c] }
	// Weights in registers: channel c's in wv(c), one input register.
	// Inputs in registers: row i's in ins(i), one weight register.
	wv := func(c int) VecPhysical { return zs[rowBlock*channels+c] }
	var in VecPhysical
	if inputsInRegs {
		wv = func(int) VecPhysical { return zs[rowBlock*channels+rowBlock] }
	} else {
		in = zs[rowBlock*channels+channels]
	}
	ins := func(i int) VecPhysical { return zs[rowBlock*channels+i] }

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
			for i := range nr {
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
		row := func(i int, v VecPhysical) {
			m := []Mem{
				{Base: q}, {Base: q, Index: lds, Scale: 1}, {Base: q, Index: lds, Scale: 2},
				{Base: q, Index: lds3, Scale: 1}, {Base: q, Index: lds, Scale: 4}, {Base: q, Index: lds5, Scale: 1},
			}[i]
			if masked {
				VMOVUPS_Z(m, K1, v)
			} else {
				VMOVUPS(m, v)
			}
		}
		weight := func(c int) {
			if c < 4 {
				VBROADCASTSS(Mem{Base: wbase, Index: k, Scale: 1, Disp: 4 * c}, wv(c))
			} else {
				VBROADCASTSS(Mem{Base: whigh, Index: k, Scale: 1, Disp: 4 * (c - 4)}, wv(c))
			}
		}
		if inputsInRegs {
			for i := range nr {
				row(i, ins(i))
			}
			for c := range channels {
				weight(c)
				for i := range nr {
					VFMADD231PS(ins(i), wv(c), acc(i, c))
				}
			}
		} else {
			for c := range channels {
				weight(c)
			}
			for i := range nr {
				row(i, in)
				for c := range channels {
					VFMADD231PS(in, wv(c), acc(i, c))
				}
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
	block(rowBlock, name+"_b"+string(rune('0'+rowBlock)))
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
