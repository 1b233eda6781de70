package gemm

import "github.com/netdeconv/deconv/internal/isa"

// Float is the set of element types the engine multiplies.
type Float interface {
	float32 | float64
}

// microKernel computes one MR×NR tile of C from a packed A panel (k×MR,
// a[p*MR+i]) and k rows of NR elements of B, ldb apart (a packed panel has
// ldb = NR; a row-major operand can be read in place):
//
//	C[i*ldc+j] = alpha*Σ_p a[p*MR+i]*b[p*ldb+j]                    load == 0
//	C[i*ldc+j] = alpha*Σ_p a[p*MR+i]*b[p*ldb+j] + beta*C[i*ldc+j]  load != 0
//
// With load == 0 C is not read, so β = 0 never propagates NaNs from C.
type microKernel[T Float] func(k int, a, b *T, ldb int, c *T, ldc int, alpha, beta T, load int)

// kernel is one entry of the kernel table: a micro-kernel and the blocking
// that suits it.
type kernel[T Float] struct {
	fam    isa.Family
	mr, nr int // register tile: rows (broadcast) × columns (vector)
	kc     int // depth of packed panels: an A panel KC×MR stays in L1
	mc     int // rows of the packed A block (multiple of mr), L3-resident
	nc     int // columns of the packed B block (multiple of nr), L2-resident
	fn     microKernel[T]
}

// Tile and blocking of the portable kernel: 4×4 accumulators fit the 16
// floating-point registers the Go compiler uses on amd64 and arm64.
const (
	genericMR = 4
	genericNR = 4
)

var (
	genericF32 = kernel[float32]{fam: isa.Generic, mr: genericMR, nr: genericNR, kc: 256, mc: 256, nc: 512, fn: kernGeneric[float32]}
	genericF64 = kernel[float64]{fam: isa.Generic, mr: genericMR, nr: genericNR, kc: 256, mc: 256, nc: 256, fn: kernGeneric[float64]}
)

// kernelFor returns the kernel of family f for element type T, falling
// back to lower families that this build or table lacks.
func kernelFor[T Float](f isa.Family) *kernel[T] {
	var z T
	switch any(z).(type) {
	case float32:
		return any(kernelF32(f)).(*kernel[T])
	default:
		return any(kernelF64(f)).(*kernel[T])
	}
}

// kernGeneric is the portable micro-kernel (genericMR×genericNR) with the
// microKernel contract. It is compiled on every platform so that tests
// compare it with the assembly kernels in one binary.
func kernGeneric[T Float](k int, a, b *T, ldb int, c *T, ldc int, alpha, beta T, load int) {
	// A packed panel is the strided case with rows genericMR apart.
	kernGenericS(k, a, genericMR, b, ldb, c, ldc, alpha, beta, load)
}
