// Command winin writes internal/winograd/in_amd64.s: the AVX-512 kernel
// of the Winograd input transform V = Bᵀ·d·B for 6×6 tiles (F(4×4, 3×3)
// and every other algorithm with α = 6). Run it from the repository root
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
	rowAt := func(base Register, v, disp int) Mem {
		switch v {
		case 0:
			return Mem{Base: base, Disp: disp}
		case 1:
			return Mem{Base: base, Index: rs, Scale: 1, Disp: disp}
		case 2:
			return Mem{Base: base, Index: rs, Scale: 2, Disp: disp}
		case 3:
			return Mem{Base: base, Index: rs3, Scale: 1, Disp: disp}
		case 4:
			return Mem{Base: base, Index: rs, Scale: 4, Disp: disp}
		}
		return Mem{Base: base, Index: rs5, Scale: 1, Disp: disp}
	}
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
				VMOVUPS(acc(j), store(o, 64*j))
			}
		}
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
