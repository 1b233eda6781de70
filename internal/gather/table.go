package gather

import (
	"fmt"
	"math"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
)

// A Table is a gather through one list of offsets shared by many planes:
// dst[p·N+i] = src[p·PlaneLen+idx[i]], or 0 where idx[i] is negative. On
// a small image every output element of an im2col plane has its own
// source offset (or is padding), the same for every channel, so one table
// replaces the many short strided runs of a plane, each of which costs a
// call and its setup.
//
// NewTable also compiles the table, for each element size, into a program
// of vector permutes for the AVX-512 kernel: the sources of one output
// vector lie in a few short windows of the plane, so a vector costs a few
// masked loads and permutes (hardware gathers cost a load per lane, and
// far more on CPUs whose microcode slows them down). A Table is immutable
// and safe for concurrent use.
type Table struct {
	n, planeLen int
	idx         []int32
	progs       [2]tableProgram // float32, float64
}

// tableProgram is a table compiled for vectors of 16 32-bit lanes, each
// element sub lanes wide: counts[v] entries of prog build output vector v.
type tableProgram struct {
	prog   []tableEntry
	counts []int32
	last   int // lanes stored of the last vector, 1 … 16
}

// tableEntry is one masked load of 16 lanes starting at lane off of the
// plane, permuted by idx into the lanes of merge (the layout the kernel
// reads: 18 words).
type tableEntry struct {
	off         int32
	load, merge uint16
	idx         [16]int32
}

// MaxTableLen bounds the tables NewTable accepts: a table and its two
// programs take about 17 bytes per entry (an im2col plane of 8100
// outputs: 140 KB), built once per plan.
const MaxTableLen = 1 << 16

// NewTable validates idx (every entry below planeLen, at most MaxTableLen
// entries, at least one) and compiles it. The Table keeps its own copy.
func NewTable(idx []int32, planeLen int) (*Table, error) {
	if len(idx) == 0 || len(idx) > MaxTableLen || planeLen < 1 || planeLen > math.MaxInt32/2 {
		return nil, fmt.Errorf("%w: table of %d entries over planes of %d", errs.ErrShape, len(idx), planeLen)
	}
	for i, o := range idx {
		if int(o) >= planeLen {
			return nil, fmt.Errorf("%w: table entry %d is %d, outside a plane of %d", errs.ErrShape, i, o, planeLen)
		}
	}
	t := &Table{n: len(idx), planeLen: planeLen, idx: append([]int32(nil), idx...)}
	t.progs[0] = compileTable(t.idx, 1)
	t.progs[1] = compileTable(t.idx, 2)
	return t, nil
}

// Len returns the number of entries, the output elements of one plane.
func (t *Table) Len() int { return t.n }

// PlaneLen returns the elements of one source plane.
func (t *Table) PlaneLen() int { return t.planeLen }

// compileTable cuts each output vector's sources into windows of 16 lanes,
// greedily from the lowest offset (which covers the sources with the
// fewest windows), one entry per window.
func compileTable(idx []int32, sub int) tableProgram {
	elems := 16 / sub
	vecs := (len(idx) + elems - 1) / elems
	p := tableProgram{counts: make([]int32, vecs), last: (len(idx) - (vecs-1)*elems) * sub}
	for v := range vecs {
		out := idx[v*elems : min((v+1)*elems, len(idx))]
		done := uint32(0) // elements of out already placed
		for i, o := range out {
			if o < 0 {
				done |= 1 << i
			}
		}
		for done != 1<<len(out)-1 {
			lo := int32(math.MaxInt32)
			for i, o := range out {
				if done>>i&1 == 0 {
					lo = min(lo, o)
				}
			}
			var e tableEntry
			e.off = lo * int32(sub)
			for i, o := range out {
				if done>>i&1 != 0 || o >= lo+int32(elems) {
					continue
				}
				done |= 1 << i
				q := int(o - lo)
				for s := range sub {
					e.load |= 1 << (q*sub + s)
					e.merge |= 1 << (i*sub + s)
					e.idx[i*sub+s] = int32(q*sub + s)
				}
			}
			p.prog = append(p.prog, e)
			p.counts[v]++
		}
	}
	if len(p.prog) == 0 {
		// All padding: no entry is read, but the kernel takes the
		// program's address.
		p.prog = make([]tableEntry, 1)
	}
	return p
}

// TableFunc runs a Table over whole planes: with planes = len(dst)/t.Len(),
//
//	for p := 0; p < planes; p++ {
//		for i := 0; i < t.Len(); i++ {
//			dst[p*t.Len()+i] = src[p*t.PlaneLen()+idx[i]]  // 0 where idx[i] < 0
//		}
//	}
//
// len(dst) must be a multiple of t.Len() and src must hold at least
// planes·t.PlaneLen() elements; a call that breaks this panics, like an
// index out of range, before anything is written.
type TableFunc[T Float] func(dst, src []T, t *Table)

// TableGather is the generic TableFunc.
func TableGather[T Float](dst, src []T, t *Table) {
	planes := t.check(len(dst), len(src))
	n, pl := t.n, t.planeLen
	for p := 0; p < planes; p++ {
		d := dst[p*n : (p+1)*n]
		s := src[p*pl : (p+1)*pl]
		for i, o := range t.idx {
			if o >= 0 {
				d[i] = s[o]
			} else {
				d[i] = 0
			}
		}
	}
}

// check panics unless dst and src fit the table and returns the number
// of planes.
func (t *Table) check(dstLen, srcLen int) int {
	if dstLen%t.n != 0 || dstLen/t.n*t.planeLen > srcLen {
		panic("gather: table gather outside its slices")
	}
	return dstLen / t.n
}

// The generic table gathers as package-level values, so that looking one
// up allocates nothing.
var (
	table32 TableFunc[float32] = TableGather[float32]
	table64 TableFunc[float64] = TableGather[float64]
)

// TableFor returns the TableFunc of family f for element type T. It
// allocates nothing.
func TableFor[T Float](f isa.Family) TableFunc[T] {
	if k := tableKernel[T](f); k != nil {
		return k
	}
	var z T
	if _, ok := any(z).(float32); ok {
		return any(table32).(TableFunc[T])
	}
	return any(table64).(TableFunc[T])
}
