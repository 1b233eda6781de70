package gemm

import (
	"errors"
	"fmt"

	"github.com/netdeconv/deconv/internal/isa"
)

// Transpose says whether an operand is used as stored or transposed.
type Transpose uint8

const (
	// NoTrans uses the operand as stored.
	NoTrans Transpose = iota
	// Trans uses the transpose of the stored operand.
	Trans
)

// Uplo says which triangle of a symmetric result a SYRK writes.
type Uplo uint8

const (
	// Upper computes the elements on and above the diagonal and leaves the
	// others untouched.
	Upper Uplo = iota
	// Lower computes the elements on and below the diagonal and leaves the
	// others untouched.
	Lower
	// Full computes the upper triangle and mirrors it into the lower, so
	// the whole symmetric result is filled. The input below the diagonal
	// is ignored (β scales the upper triangle's values).
	Full
)

// Sgemm computes C = α·op(A)·op(B) + β·C in float32, where op(A) is m×k,
// op(B) is k×n and C is m×n, all row-major: A is stored m×k with leading
// dimension lda (k×m when tA is Trans), B k×n with ldb (n×k when tB is
// Trans), C with ldc. With β = 0, C is not read. It returns an error for
// invalid dimensions, leading dimensions or slices too short, and
// isa.Err() when the requested instruction set cannot be honoured.
func Sgemm(tA, tB Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	return gemmDense(isa.Selected(), Threads(), tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmDense is Sgemm and Dgemm for either element type, on at most threads
// goroutines (threads ≤ 0: Threads()). Callers that already run products in
// parallel, one per goroutine, pass 1 so the engine does not split them
// again.
func GemmDense[T Float](threads int, tA, tB Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	if threads <= 0 {
		threads = Threads()
	}
	return gemmDense(isa.Selected(), threads, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm in float64.
func Dgemm(tA, tB Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) error {
	return gemmDense(isa.Selected(), Threads(), tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Ssyrk computes C = α·AᵀA + β·C in float32 for A stored k×n row-major
// with leading dimension lda and C n×n with leading dimension ldc, writing
// the triangle uplo names (Full: the upper one, mirrored). The covariance
// of k samples of n features is Ssyrk with A holding one sample per row.
func Ssyrk(uplo Uplo, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) error {
	return syrkDense(isa.Selected(), Threads(), uplo, n, k, alpha, a, lda, beta, c, ldc)
}

// Dsyrk is Ssyrk in float64.
func Dsyrk(uplo Uplo, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) error {
	return syrkDense(isa.Selected(), Threads(), uplo, n, k, alpha, a, lda, beta, c, ldc)
}

// SyrkDense is Ssyrk or Dsyrk for either element type, run on at most
// workers goroutines (workers ≤ 0 means Threads()). Callers that already
// spread independent products over their own goroutines (one chunk of
// samples each) pass 1, so that the engine does not split a product that
// is already one worker's share.
func SyrkDense[T Float](workers int, uplo Uplo, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) error {
	if workers <= 0 {
		workers = Threads()
	}
	return syrkDense(isa.Selected(), workers, uplo, n, k, alpha, a, lda, beta, c, ldc)
}

// Gemm computes C = α·A·B + β·C for operands given as Packers: A must be
// m×k and B k×n, and C is m×n row-major with leading dimension ldc. It is
// the entry point for operands that are not plain matrices, such as
// Im2col.
func Gemm[T Float](alpha T, a, b Packer[T], beta T, c []T, ldc int) error {
	if a == nil || b == nil {
		return errors.New("gemm: nil operand")
	}
	m, k := a.Dims()
	kb, n := b.Dims()
	if kb != k {
		return fmt.Errorf("gemm: A is %d×%d but B is %d×%d", m, k, kb, n)
	}
	if err := checkMatrix("C", c, m, n, ldc); err != nil {
		return err
	}
	if err := isa.Err(); err != nil {
		return err
	}
	cl := getCall[T]()
	cl.setup(m, n, k, alpha, a, b, beta, c, ldc, whole, false)
	cl.run(isa.Selected(), Threads())
	putCall(cl)
	return nil
}

// Syrk computes C = α·XᵀX + β·C for an operand X of r×n given as a Packer
// (for example the rows of an im2col matrix), with C n×n row-major with
// leading dimension ldc, writing the triangle uplo names.
func Syrk[T Float](uplo Uplo, alpha T, x Packer[T], beta T, c []T, ldc int) error {
	if x == nil {
		return errors.New("gemm: nil operand")
	}
	if err := isa.Err(); err != nil {
		return err
	}
	return syrk(isa.Selected(), Threads(), uplo, alpha, x, beta, c, ldc, nil)
}

func (cl *call[T]) setup(m, n, k int, alpha T, a, b Packer[T], beta T, c []T, ldc int, tri triangle, mirror bool) {
	cl.m, cl.n, cl.k = m, n, k
	cl.alpha, cl.beta = alpha, beta
	cl.a, cl.b = a, b
	cl.c, cl.ldc = c, ldc
	cl.tri, cl.mirror = tri, mirror
}

func gemmDense[T Float](fam isa.Family, nthreads int, tA, tB Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	if err := isa.Err(); err != nil {
		return err
	}
	if tA > Trans || tB > Trans {
		return fmt.Errorf("gemm: invalid transpose %d, %d", tA, tB)
	}
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("gemm: negative dimension m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if tA == Trans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB == Trans {
		br, bc = n, k
	}
	if err := checkMatrix("A", a, ar, ac, lda); err != nil {
		return err
	}
	if err := checkMatrix("B", b, br, bc, ldb); err != nil {
		return err
	}
	if err := checkMatrix("C", c, m, n, ldc); err != nil {
		return err
	}
	cl := getCall[T]()
	cl.da = Dense[T]{data: a, rows: m, cols: k, stride: lda, trans: tA == Trans}
	cl.db = Dense[T]{data: b, rows: k, cols: n, stride: ldb, trans: tB == Trans}
	cl.setup(m, n, k, alpha, &cl.da, &cl.db, beta, c, ldc, whole, false)
	cl.run(fam, nthreads)
	putCall(cl)
	return nil
}

func syrkDense[T Float](fam isa.Family, nthreads int, uplo Uplo, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) error {
	if err := isa.Err(); err != nil {
		return err
	}
	if n < 0 || k < 0 {
		return fmt.Errorf("gemm: negative dimension n=%d k=%d", n, k)
	}
	if err := checkMatrix("A", a, k, n, lda); err != nil {
		return err
	}
	cl := getCall[T]()
	cl.da = Dense[T]{data: a, rows: k, cols: n, stride: lda}
	err := syrk(fam, nthreads, uplo, alpha, &cl.da, beta, c, ldc, cl)
	putCall(cl)
	return err
}

// syrk runs a SYRK on a validated operand; cl, when not nil, is a call the
// caller already holds (its adapters may be in use by x).
func syrk[T Float](fam isa.Family, nthreads int, uplo Uplo, alpha T, x Packer[T], beta T, c []T, ldc int, cl *call[T]) error {
	if uplo > Full {
		return fmt.Errorf("gemm: invalid triangle %d", uplo)
	}
	k, n := x.Dims()
	if err := checkMatrix("C", c, n, n, ldc); err != nil {
		return err
	}
	own := cl == nil
	if own {
		cl = getCall[T]()
	}
	// A = Xᵀ: its row panels are X's column panels.
	cl.ta = transposed[T]{x: x}
	tri := upper
	if uplo == Lower {
		tri = lower
	}
	cl.setup(n, n, k, alpha, &cl.ta, x, beta, c, ldc, tri, uplo == Full)
	cl.run(fam, nthreads)
	if own {
		putCall(cl)
	}
	return nil
}
