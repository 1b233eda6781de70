// Command winin writes internal/winograd/in_amd64.s: the AVX-512 kernels
// of the Winograd input transform V = Bᵀ·d·B for 6×6 tiles (F(4×4, 3×3)
// and every other algorithm with α = 6 and m = 4), on gathered tiles and
// fused with the gather. Run it from the repository root
// through `go generate ./internal/winograd` (or `make generate`).
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,gc,!purego")
	inputF32()
	gatherF32()
	Generate()
}

// alpha is the tile side the kernel is written for.
const alpha = 6

// block is the number of vectors (of 16 tiles) one pass holds: the 6·block
// inputs of one row or column, block accumulators and one broadcast
// coefficient take 6·4+4+1 = 29 of the 32 vector registers, and each
// broadcast serves block multiply-adds.
const block = 4

// inputF32 emits
//
//	func inputF32AVX512(dst, src *float32, rs, vecs int, bt *float32)
//
// which transforms vecs vectors of 16 tiles: the 36 positions k = u·6+v
// of a tile are 36 rows rs bytes apart (element k of the vector's tiles at
// src + k·rs), and the transformed positions are written to dst in the
// same layout. bt holds Bᵀ (6×6, row-major). The transform is separable:
//
//	W[u][b] = Σ_v Bᵀ[b][v]·d[u][v]   (rows, written to dst)
//	V[a][b] = Σ_u Bᵀ[a][u]·W[u][b]   (columns, read back from dst)
//
// 2·6·36 multiply-adds per tile instead of the 36·36 of the Kronecker
// matrix Bᵀ⊗Bᵀ. Every pass loads all its inputs before it stores, so dst
// may be src (the transform runs in place). The coefficients are read from
// memory, so any Bᵀ of side 6 works; nothing assumes its zeros.
func inputF32() {
	TEXT("inputF32AVX512", NOSPLIT, "func(dst, src *float32, rs, vecs int, bt *float32)")
	Doc("inputF32AVX512 computes V = Bᵀ·d·B for vecs vectors of 16 tiles whose 36 positions are rows rs bytes apart (see the generator for the contract).")
	Pragma("noescape")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rs := Load(Param("rs"), GP64())
	n := Load(Param("vecs"), GP64())
	bt := Load(Param("bt"), GP64())
	rs3, rs5, rs6 := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	LEAQ(Mem{Base: rs, Index: rs, Scale: 4}, rs5)
	LEAQ(Mem{Base: rs5, Index: rs, Scale: 1}, rs6)
	p, q := GP64(), GP64() // the current row's (or column's) source and destination

	zs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	in := func(i, j int) VecPhysical { return zs[i*block+j] }
	acc := func(j int) VecPhysical { return zs[alpha*block+j] }
	coef := zs[alpha*block+block]

	// rowAt is position v of a row starting at base: base + v·rs.
	rowAt := func(base Register, v, disp int) Mem { return strideAt(base, rs, rs3, rs5, v, disp) }
	// colAt is position u of a column starting at base: base + u·6·rs,
	// with base3 = base + 3·6·rs.
	colAt := func(base, base3 Register, u, disp int) Mem {
		switch u {
		case 0:
			return Mem{Base: base, Disp: disp}
		case 1:
			return Mem{Base: base, Index: rs6, Scale: 1, Disp: disp}
		case 2:
			return Mem{Base: base, Index: rs6, Scale: 2, Disp: disp}
		case 3:
			return Mem{Base: base3, Disp: disp}
		case 4:
			return Mem{Base: base, Index: rs6, Scale: 4, Disp: disp}
		}
		return Mem{Base: base3, Index: rs6, Scale: 2, Disp: disp}
	}
	// transform loads the six inputs of nb vectors through load(i, disp),
	// and stores output o = Σ_i Bᵀ[o][i]·input_i through store(o, disp).
	transform := func(nb int, load func(i, disp int) Mem, store func(o, disp int) Mem) {
		transformVectors(nb, bt, coef, in, acc, load, func(o, j int) { VMOVUPS(acc(j), store(o, 64*j)) })
	}
	q3 := GP64()
	// pass emits the transform of nb vectors at src, dst and advances them.
	pass := func(nb int) {
		// Rows: row u of the tile is positions 6u … 6u+5.
		MOVQ(src, p)
		MOVQ(dst, q)
		for u := range alpha {
			transform(nb,
				func(v, disp int) Mem { return rowAt(p, v, disp) },
				func(b, disp int) Mem { return rowAt(q, b, disp) })
			if u < alpha-1 {
				ADDQ(rs6, p)
				ADDQ(rs6, q)
			}
		}
		// Columns, in dst: column b is positions b, b+6, …, b+30.
		MOVQ(dst, q)
		for b := range alpha {
			LEAQ(Mem{Base: q, Index: rs6, Scale: 2}, q3)
			ADDQ(rs6, q3)
			transform(nb,
				func(u, disp int) Mem { return colAt(q, q3, u, disp) },
				func(a, disp int) Mem { return colAt(q, q3, a, disp) })
			if b < alpha-1 {
				ADDQ(rs, q)
			}
		}
		ADDQ(U32(64*nb), src)
		ADDQ(U32(64*nb), dst)
	}

	Label("inputF32AVX512_blocks")
	CMPQ(n, U8(block))
	JL(LabelRef("inputF32AVX512_single"))
	pass(block)
	SUBQ(U8(block), n)
	JMP(LabelRef("inputF32AVX512_blocks"))

	Label("inputF32AVX512_single")
	TESTQ(n, n)
	JZ(LabelRef("inputF32AVX512_end"))
	pass(1)
	DECQ(n)
	JMP(LabelRef("inputF32AVX512_single"))

	Label("inputF32AVX512_end")
	VZEROUPPER()
	RET()
}

// gatherF32 emits
//
//	func gatherF32AVX512(dst *float32, rs int, band *float32, bs, vecs int, tail uint16, bt *float32, idx *int32) (finite bool)
//
// the input transform fused with the gather, for one channel and one row
// of tiles with m = 4 (tiles 4 columns apart). band holds the 6 padded
// input rows of the tile row, tile t's column v at element 4t+v, bs bytes
// apart: bs covers at least the 64·vecs+16 columns the column pass
// rewrites in place, and row 5 has 64·vecs+17 readable columns (the
// deinterleave's last read reaches one past them). The kernel writes V[a][b] of tile t to
// dst + (6a+b)·rs + 4t bytes for the 16·vecs tiles, the last vector under
// the lane mask tail (its low 16 bits). bt holds Bᵀ (6×6, row-major), idx
// the two lane permutations of the deinterleave (see below). The band is
// overwritten.
//
// The columns first: Z[a] = Σ_u Bᵀ[a][u]·row_u is a transform of whole
// rows, computed in place on the band 4 columns a tile (neighbouring
// tiles share two columns) instead of 6. Then for each a, the columns
// 4t+v of Z[a] are deinterleaved into six vectors of 16 tiles by two
// two-table permutes, two 128-bit shuffles and two lane shifts, and the
// rows finish V[a][b] = Σ_v Bᵀ[b][v]·Z[a][4t+v], written once.
//
// finite reports whether every Z[0] was finite, which checks the input
// for free: Z[0] is computed with all six coefficients, zeros included,
// and 0·NaN and 0·±Inf are NaN, so a NaN or ±Inf anywhere in the band
// makes its column of Z[0] NaN (a transform that overflows gives false
// too).
func gatherF32() {
	const name = "gatherF32AVX512"
	TEXT(name, NOSPLIT, "func(dst *float32, rs int, band *float32, bs, vecs int, tail uint16, bt *float32, idx *int32) (finite bool)")
	Doc(name + " transforms one row of 6×6 input tiles from its padded input rows in band (see the generator for the contract).")
	Pragma("noescape")
	zs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	bt := Load(Param("bt"), GP64())

	// Columns, in place on the band: 4·vecs+1 vectors of each row.
	{
		band := Load(Param("band"), GP64())
		bs := Load(Param("bs"), GP64())
		n := Load(Param("vecs"), GP64())
		SHLQ(U8(2), n)
		INCQ(n)
		bs3, bs5 := GP64(), GP64()
		LEAQ(Mem{Base: bs, Index: bs, Scale: 2}, bs3)
		LEAQ(Mem{Base: bs, Index: bs, Scale: 4}, bs5)
		at := func(v, disp int) Mem { return strideAt(band, bs, bs3, bs5, v, disp) }
		in := func(i, j int) VecPhysical { return zs[i*block+j] }
		acc := func(j int) VecPhysical { return zs[alpha*block+j] }
		coef := zs[alpha*block+block]
		zero, probe := zs[alpha*block+block+1], zs[alpha*block+block+2]
		VXORPS(zero, zero, zero)
		VXORPS(probe, probe, probe)
		pass := func(nb int) {
			transformVectors(nb, bt, coef, in, acc, at, func(o, j int) {
				if o == 0 {
					VFMADD231PS(acc(j), zero, probe) // probe stays 0 while finite
				}
				VMOVUPS(acc(j), at(o, 64*j))
			})
			ADDQ(U32(64*nb), band)
		}
		Label(name + "_cblocks")
		CMPQ(n, U8(block))
		JL(LabelRef(name + "_clast"))
		pass(block)
		SUBQ(U8(block), n)
		JMP(LabelRef(name + "_cblocks"))
		Label(name + "_clast")
		pass(1) // 4·vecs+1 vectors: always one after the blocks
		// NaN lanes compare unordered with themselves.
		VCMPPS(U8(3), probe, probe, K2)
		KORTESTW(K2, K2)
		ok := GP8()
		SETEQ(ok)
		Store(ok, ReturnIndex(0))
	}

	// Rows: for each a, deinterleave Z[a] and transform.
	const nbMax = 2
	ph := func(v, j int) VecPhysical { return zs[v*nbMax+j] }
	acc := func(j int) VecPhysical { return zs[alpha*nbMax+j] }
	coef := zs[alpha*nbMax+nbMax]
	idx01, idx23 := zs[alpha*nbMax+nbMax+1], zs[alpha*nbMax+nbMax+2]
	idx := Load(Param("idx"), GP64())
	VMOVUPS(Mem{Base: idx}, idx01)
	VMOVUPS(Mem{Base: idx, Disp: 64}, idx23)
	KMOVW(NewParamAddr("tail", 40), K1)

	rs := Load(Param("rs"), GP64())
	rs3, rs5 := GP64(), GP64()
	LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	LEAQ(Mem{Base: rs, Index: rs, Scale: 4}, rs5)
	za := Load(Param("band"), GP64())
	qa := Load(Param("dst"), GP64())
	a := GP64()
	MOVQ(U32(alpha), a)
	z, q, n := GP64(), GP64(), GP64()
	rowAt := func(base Register, v, disp int) Mem { return strideAt(base, rs, rs3, rs5, v, disp) }
	// vectors emits the deinterleave and transform of nb vectors of tiles
	// at z (Z[a]) into q; masked stores the last of them under K1.
	vectors := func(nb int, masked bool) {
		for j := range nb {
			zd := 256 * j // 64 columns a vector of tiles
			// lo: phases of columns 0–31, hi: of columns 32–63.
			VMOVUPS(Mem{Base: z, Disp: zd}, ph(2, j))
			VPERMT2PS(Mem{Base: z, Disp: zd + 64}, idx01, ph(2, j))
			VMOVUPS(Mem{Base: z, Disp: zd + 128}, ph(3, j))
			VPERMT2PS(Mem{Base: z, Disp: zd + 192}, idx01, ph(3, j))
			VSHUFF32X4(U8(0x44), ph(3, j), ph(2, j), ph(0, j))
			VSHUFF32X4(U8(0xEE), ph(3, j), ph(2, j), ph(1, j))
			VMOVUPS(Mem{Base: z, Disp: zd}, ph(4, j))
			VPERMT2PS(Mem{Base: z, Disp: zd + 64}, idx23, ph(4, j))
			VMOVUPS(Mem{Base: z, Disp: zd + 128}, ph(5, j))
			VPERMT2PS(Mem{Base: z, Disp: zd + 192}, idx23, ph(5, j))
			VSHUFF32X4(U8(0x44), ph(5, j), ph(4, j), ph(2, j))
			VSHUFF32X4(U8(0xEE), ph(5, j), ph(4, j), ph(3, j))
			// Columns 4t+4 and 4t+5: phases 0 and 1 one tile on, the
			// last lane from columns 64 and 65.
			VMOVUPS(Mem{Base: z, Disp: zd + 256}, ph(4, j))
			VALIGND(U8(1), ph(0, j), ph(4, j), ph(4, j))
			VMOVUPS(Mem{Base: z, Disp: zd + 260}, ph(5, j))
			VALIGND(U8(1), ph(1, j), ph(5, j), ph(5, j))
		}
		for b := range alpha {
			for v := range alpha {
				VBROADCASTSS(Mem{Base: bt, Disp: 4 * (b*alpha + v)}, coef)
				for j := range nb {
					if v == 0 {
						VMULPS(ph(v, j), coef, acc(j))
					} else {
						VFMADD231PS(ph(v, j), coef, acc(j))
					}
				}
			}
			for j := range nb {
				if masked && j == nb-1 {
					VMOVUPS(acc(j), K1, rowAt(q, b, 64*j))
				} else {
					VMOVUPS(acc(j), rowAt(q, b, 64*j))
				}
			}
		}
		ADDQ(U32(256*nb), z)
		ADDQ(U32(64*nb), q)
	}
	Label(name + "_row")
	MOVQ(za, z)
	MOVQ(qa, q)
	Load(Param("vecs"), n)
	// Pairs of vectors (each broadcast serves both), the row's last pair
	// or single vector with its last vector under the mask.
	Label(name + "_rblocks")
	CMPQ(n, U8(nbMax))
	JLE(LabelRef(name + "_rtail"))
	vectors(nbMax, false)
	SUBQ(U8(nbMax), n)
	JMP(LabelRef(name + "_rblocks"))
	Label(name + "_rtail")
	CMPQ(n, U8(1))
	JE(LabelRef(name + "_rlast"))
	vectors(nbMax, true)
	JMP(LabelRef(name + "_rnext"))
	Label(name + "_rlast")
	vectors(1, true)
	Label(name + "_rnext")
	ADDQ(NewParamAddr("bs", 24), za)
	LEAQ(Mem{Base: qa, Index: rs3, Scale: 2}, qa)
	DECQ(a)
	JNZ(LabelRef(name + "_row"))

	VZEROUPPER()
	RET()
}

// transformVectors emits the transform of nb vectors shared by both
// kernels: it loads the six inputs of each through load(i, disp) into
// in(i, j), computes output o = Σ_i Bᵀ[o][i]·input_i (Bᵀ at bt, row-major,
// each coefficient broadcast into coef) into acc(j), and hands each
// finished output vector to out(o, j).
func transformVectors(nb int, bt Register, coef VecPhysical, in func(i, j int) VecPhysical, acc func(j int) VecPhysical, load func(i, disp int) Mem, out func(o, j int)) {
	for i := range alpha {
		for j := range nb {
			VMOVUPS(load(i, 64*j), in(i, j))
		}
	}
	for o := range alpha {
		for i := range alpha {
			VBROADCASTSS(Mem{Base: bt, Disp: 4 * (o*alpha + i)}, coef)
			for j := range nb {
				if i == 0 {
					VMULPS(in(i, j), coef, acc(j))
				} else {
					VFMADD231PS(in(i, j), coef, acc(j))
				}
			}
		}
		for j := range nb {
			out(o, j)
		}
	}
}

// strideAt addresses element v (0 … 5) of a run at base with stride s
// bytes, plus disp: base + v·s + disp, with s3 = 3s and s5 = 5s in
// registers for the two multiples an address cannot scale to.
func strideAt(base, s, s3, s5 Register, v, disp int) Mem {
	switch v {
	case 0:
		return Mem{Base: base, Disp: disp}
	case 1:
		return Mem{Base: base, Index: s, Scale: 1, Disp: disp}
	case 2:
		return Mem{Base: base, Index: s, Scale: 2, Disp: disp}
	case 3:
		return Mem{Base: base, Index: s3, Scale: 1, Disp: disp}
	case 4:
		return Mem{Base: base, Index: s, Scale: 4, Disp: disp}
	}
	return Mem{Base: base, Index: s5, Scale: 1, Disp: disp}
}
