package gemm

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// TransposeCopy writes the rows×cols matrix src (leading dimension lds) as
// the cols×rows matrix dst (leading dimension ldd), with the kernels of
// family f:
//
//	dst[j*ldd+i] = src[i*lds+j]    i < rows, j < cols
//
// It is the transposing packer's core (packStrided) and serves callers
// that lay out an operand in the order a product reads it. The AVX-512
// family transposes 16×16 (float32) or 8×8 (float64) blocks in registers;
// the columns past the last whole block, and the other families, take
// the portable loop.
func TransposeCopy[T Float](f isa.Family, dst []T, ldd int, src []T, lds, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	_ = src[(rows-1)*lds+cols-1]
	_ = dst[(cols-1)*ldd+rows-1]
	kern, v := transposeKernel[T](f)
	if kern == nil {
		transposeGeneric(dst, ldd, src, lds, rows, cols)
		return
	}
	if testHookAsm != nil {
		testHookAsm()
	}
	nb := cols / v
	for i0 := 0; i0 < rows; i0 += v {
		nr := min(v, rows-i0)
		if nb > 0 {
			if race.Enabled {
				raceTranspose(dst[i0:], ldd, src[i0*lds:], lds, nr, nb*v)
			}
			kern(&dst[i0], ldd, &src[i0*lds], lds, nr, nb)
		}
		if rest := cols - nb*v; rest > 0 {
			transposeGeneric(dst[nb*v*ldd+i0:], ldd, src[i0*lds+nb*v:], lds, nr, rest)
		}
	}
}

// RegisterTransposes reports whether family f transposes in registers
// (TransposeCopy, packStrided) and copies short runs by masked moves
// (Shifted) on this CPU and build, for callers that choose between a
// formulation that transposes and one that does not.
func RegisterTransposes(f isa.Family) bool {
	k, _ := transposeKernel[float32](f)
	return k != nil
}

// raceTranspose tells the race detector what a transpose kernel call
// reads and writes.
func raceTranspose[T Float](dst []T, ldd int, src []T, lds, rows, cols int) {
	sz := sizeOf[T]()
	for i := 0; i < rows; i++ {
		race.Read(unsafe.Pointer(&src[i*lds]), cols*sz)
	}
	for j := 0; j < cols; j++ {
		race.Write(unsafe.Pointer(&dst[j*ldd]), rows*sz)
	}
}

// transposeGeneric is TransposeCopy in portable Go: square tiles of 16, so
// that the tile being written stays in L1 while its rows are read.
func transposeGeneric[T Float](dst []T, ldd int, src []T, lds, rows, cols int) {
	const tile = 16
	for i0 := 0; i0 < rows; i0 += tile {
		i1 := min(i0+tile, rows)
		for j0 := 0; j0 < cols; j0 += tile {
			j1 := min(j0+tile, cols)
			for i := i0; i < i1; i++ {
				s := src[i*lds+j0 : i*lds+j1]
				d := dst[j0*ldd+i:]
				for jj, v := range s {
					d[jj*ldd] = v
				}
			}
		}
	}
}

// copyRuns copies m runs of n elements, lds apart in src, to places ldd
// apart in dst: dst[p*ldd : p*ldd+n] = src[p*lds : p*lds+n] for p < m,
// with family f's masked moves where it has them.
func copyRuns[T Float](f isa.Family, dst []T, ldd int, src []T, lds, m, n int) {
	if m <= 0 || n <= 0 {
		return
	}
	_ = dst[(m-1)*ldd+n-1]
	_ = src[(m-1)*lds+n-1]
	if kern := copyRunsKernel[T](f, n); kern != nil {
		if testHookAsm != nil {
			testHookAsm()
		}
		if race.Enabled {
			sz := sizeOf[T]()
			for p := 0; p < m; p++ {
				race.Read(unsafe.Pointer(&src[p*lds]), n*sz)
				race.Write(unsafe.Pointer(&dst[p*ldd]), n*sz)
			}
		}
		kern(&dst[0], ldd, &src[0], lds, m, n)
		return
	}
	for p := 0; p < m; p++ {
		copyShort(dst[p*ldd:p*ldd+n], src[p*lds:p*lds+n])
	}
}
