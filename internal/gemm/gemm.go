package gemm

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/parallel"
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
// Trans), C with ldc. With β = 0, C is not read. It returns an error
// wrapping errs.ErrParam for a negative dimension or an unknown transpose,
// errs.ErrShape for a leading dimension below its row or a slice too short
// (slices may be longer: only the elements named are touched), and
// isa.Err() when the requested instruction set cannot be honoured. C must
// not overlap A or B; that is not checked.
//
// Sgemm, Dgemm, Ssyrk and Dsyrk run on the process-wide default worker
// count, parallel.Workers(0) (deconv.SetThreads); GemmDense and SyrkDense
// take the caller's.
func Sgemm(tA, tB Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	return gemmDense(isa.Selected(), parallel.Workers(0), tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmDense is Sgemm and Dgemm for either element type, on at most workers
// goroutines: parallel.Workers(workers), so workers ≤ 0 means the process
// default and a count above the cores is clamped to them. Callers that
// already run products in parallel, one per goroutine, pass 1 so the
// engine does not split them again.
func GemmDense[T Float](workers int, tA, tB Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	// A product too small for a second worker runs on one whatever the
	// count (see plan): resolving the count, which reads GOMAXPROCS under
	// the scheduler's lock, would cost more than a small product.
	nt := 1
	if float64(m)*float64(n)*float64(k) >= minWorkPerThread {
		nt = parallel.Workers(workers)
	}
	return gemmDense(isa.Selected(), nt, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm in float64.
func Dgemm(tA, tB Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) error {
	return gemmDense(isa.Selected(), parallel.Workers(0), tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Ssyrk computes C = α·AᵀA + β·C in float32 for A stored k×n row-major
// with leading dimension lda and C n×n with leading dimension ldc, writing
// the triangle uplo names (Full: the upper one, mirrored). The covariance
// of k samples of n features is Ssyrk with A holding one sample per row.
func Ssyrk(uplo Uplo, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) error {
	return syrkDense(isa.Selected(), parallel.Workers(0), uplo, n, k, alpha, a, lda, beta, c, ldc)
}

// Dsyrk is Ssyrk in float64.
func Dsyrk(uplo Uplo, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) error {
	return syrkDense(isa.Selected(), parallel.Workers(0), uplo, n, k, alpha, a, lda, beta, c, ldc)
}

// SyrkDense is Ssyrk or Dsyrk for either element type, run on at most
// parallel.Workers(workers) goroutines (workers ≤ 0 means the process
// default). Callers that already spread independent products over their
// own goroutines (one chunk of samples each) pass 1, so that the engine
// does not split a product that is already one worker's share.
func SyrkDense[T Float](workers int, uplo Uplo, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) error {
	return syrkDense(isa.Selected(), parallel.Workers(workers), uplo, n, k, alpha, a, lda, beta, c, ldc)
}

// Gemm computes C = α·A·B + β·C for operands given as Packers, on at most
// parallel.Workers(workers) goroutines: A must be m×k and B k×n, and C is
// m×n row-major with leading dimension ldc. It is the entry point for
// operands that are not plain matrices.
func Gemm[T Float](workers int, alpha T, a, b Packer[T], beta T, c []T, ldc int) error {
	if a == nil || b == nil {
		return fmt.Errorf("%w: gemm: nil operand", errs.ErrParam)
	}
	m, k := a.Dims()
	kb, n := b.Dims()
	if kb != k {
		return fmt.Errorf("%w: gemm: A is %d×%d but B is %d×%d", errs.ErrShape, m, k, kb, n)
	}
	if err := checkMatrix("C", c, m, n, ldc); err != nil {
		return err
	}
	if err := isa.Err(); err != nil {
		return err
	}
	cl := getCall[T]()
	cl.setup(m, n, k, alpha, a, b, beta, c, ldc, whole, false)
	cl.run(isa.Selected(), parallel.Workers(workers))
	putCall(cl)
	return nil
}

// Syrk computes C = α·XᵀX + β·C for an operand X of r×n given as a Packer,
// with C n×n row-major with leading dimension ldc, writing the triangle
// uplo names, on at most parallel.Workers(workers) goroutines.
func Syrk[T Float](workers int, uplo Uplo, alpha T, x Packer[T], beta T, c []T, ldc int) error {
	if x == nil {
		return fmt.Errorf("%w: gemm: nil operand", errs.ErrParam)
	}
	if err := isa.Err(); err != nil {
		return err
	}
	return syrk(isa.Selected(), parallel.Workers(workers), uplo, alpha, x, beta, c, ldc, nil)
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
		return fmt.Errorf("%w: gemm: invalid transpose %d, %d", errs.ErrParam, tA, tB)
	}
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("%w: gemm: negative dimension m=%d n=%d k=%d", errs.ErrParam, m, n, k)
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
	if cl.small(nthreads) {
		cl.runSmall(fam) // small.go
	} else {
		cl.run(fam, nthreads)
	}
	putCall(cl)
	return nil
}

func syrkDense[T Float](fam isa.Family, nthreads int, uplo Uplo, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) error {
	if err := isa.Err(); err != nil {
		return err
	}
	if n < 0 || k < 0 {
		return fmt.Errorf("%w: gemm: negative dimension n=%d k=%d", errs.ErrParam, n, k)
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
		return fmt.Errorf("%w: gemm: invalid triangle %d", errs.ErrParam, uplo)
	}
	k, n := x.Dims()
	if err := checkMatrix("C", c, n, n, ldc); err != nil {
		return err
	}
	own := cl == nil
	if own {
		cl = getCall[T]()
	}
	// A dense X packs with the copiers of fam, on the call's own copy.
	x = withFamily(x, &cl.db, fam)
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
