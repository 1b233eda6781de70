package gemm

import (
	"fmt"
	"unsafe"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
	"github.com/netdeconv/deconv/internal/size"
)

// testHookAsm, when set (by tests only), is called once per packing call
// that runs an assembly copier, so tests can assert that a product asked
// of the generic family runs none.
var testHookAsm func()

// Packer is an operand of a product: a logical rows×cols matrix that can
// copy blocks of itself into the panel layouts the micro-kernels read.
//
// Both methods receive a block X[r0:r0+nr, c0:c0+nc] and a panel width w,
// and are called once per packed block (many panels), so an implementation
// pays one interface call per block and runs its per-element loop as
// ordinary, inlinable code. Elements beyond the block in a partial last
// panel must be written as zero. Implementations must be safe for
// concurrent calls: several workers pack disjoint or overlapping blocks of
// the same operand at once.
type Packer[T Float] interface {
	// Dims returns the logical size of the matrix.
	Dims() (rows, cols int)
	// PackRows writes panels of w rows (the left operand's layout):
	//
	//	for q, p, i:  dst[q*nc*w + p*w + i] = X[r0+q*w+i][c0+p]   (0 if q*w+i ≥ nr)
	//
	// for q < ceil(nr/w), p < nc, i < w.
	PackRows(dst []T, r0, nr, c0, nc, w int)
	// PackCols writes panels of w columns (the right operand's layout):
	//
	//	for q, p, j:  dst[q*nr*w + p*w + j] = X[r0+p][c0+q*w+j]   (0 if q*w+j ≥ nc)
	//
	// for q < ceil(nc/w), p < nr, j < w.
	PackCols(dst []T, r0, nr, c0, nc, w int)
}

// Dense is a row-major matrix in a slice, read as is or transposed, as a
// Packer. Build it with NewDense.
type Dense[T Float] struct {
	data       []T
	rows, cols int // logical size, after transposition
	stride     int // distance between consecutive stored rows
	trans      bool
	// fam is the family whose copiers pack the operand; a product sets it
	// on its own copy of the operand (see withFamily). The zero value,
	// isa.Generic, packs with portable Go only.
	fam isa.Family
}

// NewDense returns the rows×cols matrix X with X[i][j] = data[i*stride+j],
// or, with trans, X[i][j] = data[j*stride+i] (data then stores Xᵀ, a
// cols×rows matrix). It returns an error when data is too short or the
// stride is smaller than a stored row.
func NewDense[T Float](data []T, rows, cols, stride int, trans bool) (*Dense[T], error) {
	sr, sc := rows, cols
	if trans {
		sr, sc = cols, rows
	}
	if err := checkMatrix("data", data, sr, sc, stride); err != nil {
		return nil, err
	}
	return &Dense[T]{data: data, rows: rows, cols: cols, stride: stride, trans: trans}, nil
}

// Reset makes d the matrix NewDense(data, rows, cols, stride, trans)
// would return, without allocating, so that a caller can reuse one Dense
// for many products. On error d is unchanged.
func (d *Dense[T]) Reset(data []T, rows, cols, stride int, trans bool) error {
	sr, sc := rows, cols
	if trans {
		sr, sc = cols, rows
	}
	if err := checkMatrix("data", data, sr, sc, stride); err != nil {
		return err
	}
	*d = Dense[T]{data: data, rows: rows, cols: cols, stride: stride, trans: trans}
	return nil
}

// checkMatrix validates a stored sr×sc row-major matrix.
func checkMatrix[T Float](name string, data []T, sr, sc, stride int) error {
	if sr < 0 || sc < 0 {
		return fmt.Errorf("%w: gemm: %s: negative dimension %d×%d", errs.ErrParam, name, sr, sc)
	}
	if stride < max(1, sc) {
		return fmt.Errorf("%w: gemm: %s: leading dimension %d < max(1, %d)", errs.ErrShape, name, stride, sc)
	}
	if sr > 0 && sc > 0 {
		need, ok := size.MulAdd(sr-1, stride, sc)
		if !ok {
			return fmt.Errorf("%w: gemm: %s: %d×%d with leading dimension %d", errs.ErrOverflow, name, sr, sc, stride)
		}
		if len(data) < need {
			return fmt.Errorf("%w: gemm: %s: %d elements, %d×%d with leading dimension %d needs %d", errs.ErrShape, name, len(data), sr, sc, stride, need)
		}
	}
	return nil
}

// Dims returns the logical size.
func (d *Dense[T]) Dims() (rows, cols int) { return d.rows, d.cols }

// PackRows implements Packer.
func (d *Dense[T]) PackRows(dst []T, r0, nr, c0, nc, w int) {
	if d.trans {
		// X[r][c] = data[c*stride+r]: each p reads w consecutive elements.
		packContig(dst, d.data, d.stride, c0, nc, r0, nr, w, d.fam)
		return
	}
	packStrided(dst, d.data, d.stride, r0, nr, c0, nc, w, d.fam)
}

// PackCols implements Packer.
func (d *Dense[T]) PackCols(dst []T, r0, nr, c0, nc, w int) {
	if d.trans {
		packStrided(dst, d.data, d.stride, c0, nc, r0, nr, w, d.fam)
		return
	}
	packContig(dst, d.data, d.stride, r0, nr, c0, nc, w, d.fam)
}

// packContig packs panels whose w elements are consecutive in memory:
//
//	dst[q*np*w + p*w + j] = src[(p0+p)*ld + j0+q*w+j]   (0 beyond nj)
//
// Reading p-major walks each source row once, front to back. Whole
// panels are moved by the assembly chunk copier of family fam, when it has
// one for w elements, and by copyShort otherwise.
func packContig[T Float](dst, src []T, ld, p0, np, j0, nj, w int, fam isa.Family) {
	nq := (nj + w - 1) / w
	stride := np * w
	full := nj / w
	var z T
	size := int(unsafe.Sizeof(z))
	chunks := chunkCopier(fam, w*size)
	if chunks != nil && testHookAsm != nil {
		testHookAsm()
	}
	for p := 0; p < np; p++ {
		row := src[(p0+p)*ld+j0 : (p0+p)*ld+j0+nj]
		q := 0
		if chunks != nil && full > 0 {
			_ = dst[(full-1)*stride+p*w+w-1] // the last chunk written
			if race.Enabled {
				race.Read(unsafe.Pointer(&row[0]), full*w*size)
				for c := 0; c < full; c++ {
					race.Write(unsafe.Pointer(&dst[c*stride+p*w]), w*size)
				}
			}
			chunks((*byte)(unsafe.Pointer(&dst[p*w])), (*byte)(unsafe.Pointer(&row[0])), full, stride*size)
			q = full
		}
		for ; q*w+w <= nj; q++ {
			copyShort(dst[q*stride+p*w:q*stride+p*w+w], row[q*w:q*w+w])
		}
		if q < nq {
			d := dst[q*stride+p*w : q*stride+p*w+w]
			n := copy(d, row[q*w:])
			clear(d[n:])
		}
	}
}

// packStrided packs panels whose w elements lie in w different source
// rows:
//
//	dst[q*np*w + p*w + i] = src[(i0+q*w+i)*ld + p0+p]   (0 beyond ni)
//
// Each panel is a transpose of the rows×np block of its source rows; the
// AVX-512 family transposes in registers (TransposeCopy). Elsewhere each
// source row is read sequentially and the writes stride by w inside one
// panel, which stays in L1.
func packStrided[T Float](dst, src []T, ld, i0, ni, p0, np, w int, fam isa.Family) {
	nq := (ni + w - 1) / w
	if k, _ := transposeKernel[T](fam); k != nil && np > 0 {
		for q := 0; q < nq; q++ {
			d := dst[q*np*w : (q+1)*np*w]
			rows := min(w, ni-q*w)
			TransposeCopy(fam, d, w, src[(i0+q*w)*ld+p0:], ld, rows, np)
			if rows < w {
				for p := 0; p < np; p++ {
					clear(d[p*w+rows : p*w+w])
				}
			}
		}
		return
	}
	for q := 0; q < nq; q++ {
		d := dst[q*np*w : (q+1)*np*w]
		rows := min(w, ni-q*w)
		i := 0
		// Eight rows at a time: eight read streams and a 32-byte run of
		// dst per p for float32, half the loop overhead of four.
		for ; i+8 <= rows; i += 8 {
			base := (i0 + q*w + i) * ld
			s0 := src[base+p0 : base+p0+np]
			s1 := src[base+ld+p0 : base+ld+p0+np]
			s2 := src[base+2*ld+p0 : base+2*ld+p0+np]
			s3 := src[base+3*ld+p0 : base+3*ld+p0+np]
			s4 := src[base+4*ld+p0 : base+4*ld+p0+np]
			s5 := src[base+5*ld+p0 : base+5*ld+p0+np]
			s6 := src[base+6*ld+p0 : base+6*ld+p0+np]
			s7 := src[base+7*ld+p0 : base+7*ld+p0+np]
			for p := range s0 {
				e := d[p*w+i : p*w+i+8 : p*w+i+8]
				e[0], e[1], e[2], e[3] = s0[p], s1[p], s2[p], s3[p]
				e[4], e[5], e[6], e[7] = s4[p], s5[p], s6[p], s7[p]
			}
		}
		// Then four rows at a time: four read streams, four writes per line of dst.
		for ; i+4 <= rows; i += 4 {
			base := (i0 + q*w + i) * ld
			s0 := src[base+p0 : base+p0+np]
			s1 := src[base+ld+p0 : base+ld+p0+np]
			s2 := src[base+2*ld+p0 : base+2*ld+p0+np]
			s3 := src[base+3*ld+p0 : base+3*ld+p0+np]
			for p := range s0 {
				e := d[p*w+i : p*w+i+4 : p*w+i+4]
				e[0], e[1], e[2], e[3] = s0[p], s1[p], s2[p], s3[p]
			}
		}
		for ; i < rows; i++ {
			s := src[(i0+q*w+i)*ld+p0 : (i0+q*w+i)*ld+p0+np]
			for p, v := range s {
				d[p*w+i] = v
			}
		}
		if rows < w {
			for p := 0; p < np; p++ {
				clear(d[p*w+rows : p*w+w])
			}
		}
	}
}

// transposed presents Xᵀ of another Packer: its row panels are X's column
// panels and the reverse, so no data moves.
type transposed[T Float] struct{ x Packer[T] }

// Dims implements Packer: the transposed sizes.
func (t *transposed[T]) Dims() (rows, cols int) {
	r, c := t.x.Dims()
	return c, r
}

// PackRows implements Packer with the operand's column panels.
func (t *transposed[T]) PackRows(dst []T, r0, nr, c0, nc, w int) {
	t.x.PackCols(dst, c0, nc, r0, nr, w)
}

// PackCols implements Packer with the operand's row panels.
func (t *transposed[T]) PackCols(dst []T, r0, nr, c0, nc, w int) {
	t.x.PackRows(dst, c0, nc, r0, nr, w)
}

// copyShort copies len(d) elements of s into d for the short runs of
// packing (one panel row, typically 6 to 32 elements), where calling
// memmove costs more than the copy: it moves 8-byte words, four loads
// before four stores so the compiler need not assume overlap.
func copyShort[T Float](d, s []T) {
	s = s[:len(d)]
	if len(d) == 0 {
		return
	}
	var z T
	nbytes := len(d) * int(unsafe.Sizeof(z))
	nw := nbytes / 8
	dw := unsafe.Slice((*uint64)(unsafe.Pointer(&d[0])), nw)
	sw := unsafe.Slice((*uint64)(unsafe.Pointer(&s[0])), nw)
	j := 0
	for ; j+4 <= nw; j += 4 {
		x := sw[j : j+4 : j+4]
		a0, a1, a2, a3 := x[0], x[1], x[2], x[3]
		y := dw[j : j+4 : j+4]
		y[0], y[1], y[2], y[3] = a0, a1, a2, a3
	}
	for ; j < nw; j++ {
		dw[j] = sw[j]
	}
	if nbytes%8 != 0 { // an odd count of float32
		d[len(d)-1] = s[len(d)-1]
	}
}
