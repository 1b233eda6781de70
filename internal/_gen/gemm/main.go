// Command gemm writes the GEMM micro-kernels of package internal/gemm
// (kernel_amd64.s and its Go declarations, kernel_amd64.go).
//
// Run it through `go generate` in internal/gemm. Every kernel has the same
// contract, for an MR×NR tile of a row-major C with leading dimension ldc:
//
//	acc[i][j] = Σ_p a[p*MR+i] * b[p*ldb+j]         p < k
//	C[i][j]   = alpha*acc[i][j]                     load == 0 (C is not read)
//	C[i][j]   = alpha*acc[i][j] + beta*C[i][j]      load != 0
//
// A is a packed panel; B is a packed panel (ldb = NR) or, when the right
// operand is stored row-major, the operand itself read in place.
//
// Each kernel has a strided twin (name suffix S) with an extra argument lda
// after a: the A panel's rows are lda elements apart, a[p*lda+i], so the
// small-matrix path reads a transposed operand where it lies (lda = MR is
// the packed panel). Its arithmetic is the packed kernel's, operation for
// operation.
//
// The masked kernels (name suffix M, AVX-512 float32, strided A) take two
// more arguments, rows and mask, and write only rows 0…rows−1 and the
// columns whose bit is set in mask (bit j for column j, the low ones set):
// B is loaded under the mask (columns past the operand's end are never
// read) and C loaded and stored under it, so the small-matrix path writes
// an edge tile straight into C. The rows past rows are computed from
// whatever the A panel holds there and dropped.
//
// The vector dimension runs along the rows of C (NR, contiguous in memory),
// the broadcast dimension down its columns (MR): each step of p loads NR/V
// vectors of the packed B panel, broadcasts MR values of the packed A panel
// and issues MR*NR/V FMAs into accumulators that stay in registers for the
// whole k loop.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// spec describes one micro-kernel.
type spec struct {
	name   string
	f64    bool // element type float64 (else float32)
	zmm    bool // AVX-512 (else AVX2+FMA)
	mr, nr int  // tile rows (broadcast) and columns (vector)
	unroll int  // k-loop unroll factor
	// strideA: the A panel's rows are lda elements apart (an extra
	// argument) instead of MR: the small-matrix path reads a transposed
	// operand where it lies.
	strideA bool
	// masked: the rows and mask arguments bound what is stored (see the
	// package comment); AVX-512 float32 with strideA only.
	masked bool
}

func (s spec) elem() int {
	if s.f64 {
		return 8
	}
	return 4
}

func (s spec) lanes() int {
	w := 32
	if s.zmm {
		w = 64
	}
	return w / s.elem()
}

func (s spec) vec(i int) VecPhysical {
	if s.zmm {
		return zmm[i]
	}
	return ymm[i]
}

var zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
var ymm = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

func (s spec) movu(src, dst Op) {
	if s.f64 {
		VMOVUPD(src, dst)
	} else {
		VMOVUPS(src, dst)
	}
}

func (s spec) bcast(src, dst Op) {
	if s.f64 {
		VBROADCASTSD(src, dst)
	} else {
		VBROADCASTSS(src, dst)
	}
}

func (s spec) fma(x, y, acc Op) {
	if s.f64 {
		VFMADD231PD(x, y, acc)
	} else {
		VFMADD231PS(x, y, acc)
	}
}

func (s spec) mul(x, y, dst Op) {
	if s.f64 {
		VMULPD(x, y, dst)
	} else {
		VMULPS(x, y, dst)
	}
}

func (s spec) xor(r VecPhysical) {
	if s.f64 {
		VXORPD(r, r, r)
	} else {
		VXORPS(r, r, r)
	}
}

func kernel(s spec) {
	typ := "float32"
	if s.f64 {
		typ = "float64"
	}
	if s.masked && (!s.strideA || !s.zmm || s.f64) {
		panic(s.name + ": masked kernels are AVX-512 float32 with a strided A")
	}
	if s.masked {
		TEXT(s.name, NOSPLIT, fmt.Sprintf("func(k int, a *%[1]s, lda int, b *%[1]s, ldb int, c *%[1]s, ldc int, alpha, beta %[1]s, load, rows int, mask uint32)", typ))
		Doc(fmt.Sprintf("%s computes one %d×%d tile of C from an A panel whose rows are lda elements apart and stores its first rows rows, the columns set in mask (see the generator for the contract).", s.name, s.mr, s.nr))
	} else if s.strideA {
		TEXT(s.name, NOSPLIT, fmt.Sprintf("func(k int, a *%[1]s, lda int, b *%[1]s, ldb int, c *%[1]s, ldc int, alpha, beta %[1]s, load int)", typ))
		Doc(fmt.Sprintf("%s computes one %d×%d tile of C from an A panel whose rows are lda elements apart (see the generator for the contract).", s.name, s.mr, s.nr))
	} else {
		TEXT(s.name, NOSPLIT, fmt.Sprintf("func(k int, a, b *%[1]s, ldb int, c *%[1]s, ldc int, alpha, beta %[1]s, load int)", typ))
		Doc(fmt.Sprintf("%s computes one %d×%d tile of C from packed panels (see the generator for the contract).", s.name, s.mr, s.nr))
	}
	Pragma("noescape")
	lanes := s.lanes()
	nv := s.nr / lanes // vectors per row of the tile
	nacc := s.mr * nv
	nregs := 16
	if s.zmm {
		nregs = 32
	}
	if nacc+nv+2 > nregs {
		panic(fmt.Sprintf("%s: %d accumulators + %d B vectors do not fit", s.name, nacc, nv))
	}
	acc := func(i, v int) VecPhysical { return s.vec(i*nv + v) }
	bv := func(v int) VecPhysical { return s.vec(nacc + v) }
	// Broadcast registers rotate through what is left, so consecutive
	// broadcasts do not wait on each other's consumers.
	nbc := nregs - nacc - nv
	bc := func(i int) VecPhysical { return s.vec(nacc + nv + i%nbc) }

	k, aPtr, bPtr, cPtr, ldc, ldb, ldb8 := RAX, RSI, RDI, RDX, RCX, R9, R10
	shift := U8(map[bool]uint8{false: 2, true: 3}[s.f64])
	Load(Param("k"), k)
	Load(Param("a"), aPtr)
	Load(Param("b"), bPtr)
	Load(Param("ldb"), ldb)
	SHLQ(shift, ldb)
	// aStep: bytes from one row of the A panel to the next.
	aStep := R11
	if s.strideA {
		Load(Param("lda"), aStep)
		SHLQ(shift, aStep)
	}
	Load(Param("c"), cPtr)
	Load(Param("ldc"), ldc)
	SHLQ(shift, ldc)
	// ldb8 = prefetchSteps rows of B ahead.
	MOVQ(ldb, ldb8)
	SHLQ(U8(3), ldb8)

	// The column masks of the tile's vectors (16 lanes each), and the rows
	// to store.
	kmask := []Op{K1, K2}
	rows := R12
	if s.masked {
		if nv != 2 {
			panic(s.name + ": masked kernels are two vectors wide")
		}
		Load(Param("mask"), R13L)
		KMOVW(R13L, K1)
		SHRL(U8(16), R13L)
		KMOVW(R13L, K2)
		Load(Param("rows"), rows)
	}

	Comment("Warm the C tile while the k loop runs.")
	row := R8
	MOVQ(cPtr, row)
	for i := 0; i < s.mr; i++ {
		PREFETCHT0(Mem{Base: row})
		if s.nr*s.elem() > 64 {
			PREFETCHT0(Mem{Base: row, Disp: s.nr*s.elem() - 1})
		}
		ADDQ(ldc, row)
	}

	Comment("Zero the accumulators.")
	for i := 0; i < nacc; i++ {
		s.xor(s.vec(i))
	}

	// One step of k: B rows are ldb apart (NR in a packed panel, the
	// source's leading dimension when B is read in place).
	step := func(u int) {
		ao := u * s.mr * s.elem()
		if s.strideA {
			ao = 0 // aPtr advances by aStep after each step
		}
		for v := 0; v < nv; v++ {
			if s.masked {
				VMOVUPS_Z(Mem{Base: bPtr, Disp: v * lanes * s.elem()}, kmask[v], bv(v))
				continue
			}
			s.movu(Mem{Base: bPtr, Disp: v * lanes * s.elem()}, bv(v))
		}
		for i := 0; i < s.mr; i++ {
			r := bc(i)
			s.bcast(Mem{Base: aPtr, Disp: ao + i*s.elem()}, r)
			for v := 0; v < nv; v++ {
				s.fma(bv(v), r, acc(i, v))
			}
		}
	}

	Comment(fmt.Sprintf("Main loop, %d steps of k per iteration.", s.unroll))
	Label(s.name + "_loop")
	CMPQ(k, U8(s.unroll))
	JL(LabelRef(s.name + "_tail"))
	for u := 0; u < s.unroll; u++ {
		// Fetch the B panel's lines from L2 a few steps ahead; the A panel
		// is in L1 after its first B panel.
		for off := 0; off < s.nr*s.elem(); off += 64 {
			PREFETCHT0(Mem{Base: bPtr, Index: ldb8, Scale: 1, Disp: off})
		}
		step(u)
		ADDQ(ldb, bPtr)
		if s.strideA {
			ADDQ(aStep, aPtr)
		}
	}
	if !s.strideA {
		ADDQ(U32(s.unroll*s.mr*s.elem()), aPtr)
	}
	SUBQ(U8(s.unroll), k)
	JMP(LabelRef(s.name + "_loop"))

	Comment("Remaining steps of k, one at a time.")
	Label(s.name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(s.name + "_store"))
	step(0)
	if s.strideA {
		ADDQ(aStep, aPtr)
	} else {
		ADDQ(U32(s.mr*s.elem()), aPtr)
	}
	ADDQ(ldb, bPtr)
	DECQ(k)
	JMP(LabelRef(s.name + "_tail"))

	Label(s.name + "_store")
	Comment("Scale by alpha.")
	al := bc(0)
	s.bcast(paramAddr("alpha"), al)
	for i := 0; i < nacc; i++ {
		s.mul(al, s.vec(i), s.vec(i))
	}
	load := RBX
	Load(Param("load"), load)
	TESTQ(load, load)
	JE(LabelRef(s.name + "_overwrite"))

	Comment("C = alpha*acc + beta*C.")
	be := bc(1)
	s.bcast(paramAddr("beta"), be)
	if s.masked {
		// Row by row, under the column masks, until rows are stored.
		for i := 0; i < s.mr; i++ {
			if i > 0 {
				CMPQ(rows, U8(i))
				JE(LabelRef(s.name + "_done"))
			}
			for v := 0; v < nv; v++ {
				m := Mem{Base: cPtr, Disp: v * lanes * s.elem()}
				VMOVUPS_Z(m, kmask[v], bv(v))
				s.fma(bv(v), be, acc(i, v))
				VMOVUPS(acc(i, v), kmask[v], m)
			}
			ADDQ(ldc, cPtr)
		}
		VZEROUPPER()
		RET()
		Comment("C = alpha*acc; C is not read.")
		Label(s.name + "_overwrite")
		for i := 0; i < s.mr; i++ {
			if i > 0 {
				CMPQ(rows, U8(i))
				JE(LabelRef(s.name + "_done"))
			}
			for v := 0; v < nv; v++ {
				VMOVUPS(acc(i, v), kmask[v], Mem{Base: cPtr, Disp: v * lanes * s.elem()})
			}
			ADDQ(ldc, cPtr)
		}
		Label(s.name + "_done")
		VZEROUPPER()
		RET()
		return
	}
	for i := 0; i < s.mr; i++ {
		for v := 0; v < nv; v++ {
			m := Mem{Base: cPtr, Disp: v * lanes * s.elem()}
			s.fma(m, be, acc(i, v))
			s.movu(acc(i, v), m)
		}
		ADDQ(ldc, cPtr)
	}
	VZEROUPPER()
	RET()

	Comment("C = alpha*acc; C is not read.")
	Label(s.name + "_overwrite")
	for i := 0; i < s.mr; i++ {
		for v := 0; v < nv; v++ {
			s.movu(acc(i, v), Mem{Base: cPtr, Disp: v * lanes * s.elem()})
		}
		ADDQ(ldc, cPtr)
	}
	VZEROUPPER()
	RET()
}

// peak writes a register-resident FMA loop used to measure the machine's
// floating-point peak: chains independent accumulators, n iterations.
func peak(name string, zmmRegs bool, chains int) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(fmt.Sprintf("%s runs n iterations of %d independent float32 FMA chains (a peak-rate probe).", name, chains))
	n := RAX
	Load(Param("n"), n)
	s := spec{zmm: zmmRegs}
	x, y := s.vec(chains), s.vec(chains+1)
	for i := 0; i < chains+2; i++ {
		s.xor(s.vec(i))
	}
	Label(name + "_loop")
	for i := 0; i < chains; i++ {
		VFMADD231PS(x, y, s.vec(i))
	}
	DECQ(n)
	JNE(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

func main() {
	ConstraintExpr("amd64,gc,!purego")
	for _, s := range []spec{
		{name: "kernF32AVX512", zmm: true, mr: mrF32AVX512, nr: 32, unroll: 4},
		{name: "kernF64AVX512", f64: true, zmm: true, mr: mrF64AVX512, nr: 16, unroll: 4},
		{name: "kernF32AVX2", mr: 6, nr: 16, unroll: 4},
		{name: "kernF64AVX2", f64: true, mr: 6, nr: 8, unroll: 4},
		// The same tiles with a strided A panel, for the small-matrix path.
		{name: "kernF32AVX512S", zmm: true, mr: mrF32AVX512, nr: 32, unroll: 4, strideA: true},
		{name: "kernF64AVX512S", f64: true, zmm: true, mr: mrF64AVX512, nr: 16, unroll: 4, strideA: true},
		{name: "kernF32AVX2S", mr: 6, nr: 16, unroll: 4, strideA: true},
		{name: "kernF64AVX2S", f64: true, mr: 6, nr: 8, unroll: 4, strideA: true},
		// The single-layout panel kernels (gemm.Panels): A is read from the
		// B panels themselves (lda = NR), so NR is a multiple of MR and a
		// tile's rows never straddle two panels. A producer that writes
		// its operand once, in one layout, saves a store per value; the
		// tiles are as wide as the registers allow with MR = 8 (AVX-512:
		// 24 accumulators, 3 B vectors). NR = 48 (float32) also keeps the
		// three taps of a 3-wide window row in one panel.
		{name: "kernF32AVX512P", zmm: true, mr: 8, nr: 48, unroll: 4, strideA: true},
		{name: "kernF64AVX512P", f64: true, zmm: true, mr: 8, nr: 24, unroll: 4, strideA: true},
		{name: "kernF32AVX2P", mr: 4, nr: 16, unroll: 4, strideA: true},
		{name: "kernF64AVX2P", f64: true, mr: 4, nr: 8, unroll: 4, strideA: true},

		// Masked strided tiles for the small-matrix path in float32: two
		// heights, so that the rows of a small product are cut with less
		// waste (27 = 2·14 − 1, 48 = 4·12).
		{name: "kernF32AVX512M12", zmm: true, mr: 12, nr: 32, unroll: 4, strideA: true, masked: true},
		{name: "kernF32AVX512M14", zmm: true, mr: 14, nr: 32, unroll: 4, strideA: true, masked: true},
	} {
		kernel(s)
	}
	peak("fmaPeakAVX512", true, 24)
	peak("fmaPeakAVX2", false, 12)
	for _, bytes := range []int{24, 48, 96, 128} {
		copyChunks(bytes)
	}
	Generate()
}

// Tile heights of the AVX-512 kernels; they must match the table in
// internal/gemm (kernels_amd64.go).
const (
	// prefetchSteps is how many k steps ahead the B panel is prefetched.
	prefetchSteps = 8

	mrF32AVX512 = 12
	mrF64AVX512 = 12
)

// paramAddr is the stack address of a scalar argument, for instructions
// that read it straight from memory.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// copyChunks emits
//
//	func copyChunks<bytes>(dst, src *byte, n, stride int)
//
// which copies n > 0 consecutive chunks of bytes bytes from src to dst,
// chunk q going to dst + q·stride: the inner loop of packing a row-major
// row into MR- or NR-wide panels (24, 48, 96 or 128 bytes). With the chunk
// size fixed, each chunk is a few full-width moves instead of a call and a
// word-by-word copy. Only AVX (VEX) moves are used, so both kernel
// families can call it.
func copyChunks(bytes int) {
	name := fmt.Sprintf("copyChunks%d", bytes)
	TEXT(name, NOSPLIT, "func(dst, src *byte, n, stride int)")
	Doc(fmt.Sprintf("%s copies n chunks of %d bytes from consecutive places at src to places stride bytes apart at dst.", name, bytes))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	stride := Load(Param("stride"), GP64())
	Label(name + "_loop")
	switch bytes {
	case 24:
		t := GP64()
		VMOVDQU(Mem{Base: src}, X0)
		MOVQ(Mem{Base: src, Disp: 16}, t)
		VMOVDQU(X0, Mem{Base: dst})
		MOVQ(t, Mem{Base: dst, Disp: 16})
	case 48:
		VMOVDQU(Mem{Base: src}, Y0)
		VMOVDQU(Mem{Base: src, Disp: 32}, X1)
		VMOVDQU(Y0, Mem{Base: dst})
		VMOVDQU(X1, Mem{Base: dst, Disp: 32})
	case 96, 128:
		regs := []VecPhysical{Y0, Y1, Y2, Y3}[:bytes/32]
		for i, r := range regs {
			VMOVDQU(Mem{Base: src, Disp: 32 * i}, r)
		}
		for i, r := range regs {
			VMOVDQU(r, Mem{Base: dst, Disp: 32 * i})
		}
	}
	ADDQ(U32(bytes), src)
	ADDQ(stride, dst)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
