//go:build amd64 && gc && !purego

package gather

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

//go:generate sh -c "cd ../_gen && go run ./gather -pkg gather -out ../gather/strided_amd64.s -stubs ../gather/strided_stub_amd64.go"

// permKernel is the signature of the generated permute kernels.
type permKernel func(dst, src *byte, rows, lanes, ldd, lds int, idx *int32, masks *uint32)

var (
	permKernelsAVX512 = [maxPermStep + 1]permKernel{2: permRows2AVX512, 3: permRows3AVX512,
		4: permRows4AVX512, 5: permRows5AVX512, 6: permRows6AVX512, 7: permRows7AVX512}
	permKernelsAVX2 = [maxPermStep + 1]permKernel{2: permRows2AVX2, 3: permRows3AVX2,
		4: permRows4AVX2, 5: permRows5AVX2, 6: permRows6AVX2, 7: permRows7AVX2}
)

// maxPermStep is the longest step the permute kernels handle; longer steps
// take the generic loop.
const maxPermStep = 7

// permTable is what a permute kernel needs for one step, element size and
// vector width: the lane permutation and, per source vector after the
// first, the lanes it fills (a bit mask for AVX-512, a vector of all-ones
// lanes for AVX2).
type permTable struct {
	idx   [16]int32
	masks [(maxPermStep - 1) * 8]uint32
}

// permTables[elemIs64][isAVX512][step], built once at start-up and only
// read after.
var permTables [2][2][maxPermStep + 1]permTable

func init() {
	for e64 := range 2 {
		for wide := range 2 {
			for step := 2; step <= maxPermStep; step++ {
				permTables[e64][wide][step] = buildPermTable(step, 1+e64, 8+8*wide, wide == 1)
			}
		}
	}
}

// buildPermTable lays out a gather of every step-th element, each element
// being sub 32-bit lanes, for vectors of lanes 32-bit lanes.
func buildPermTable(step, sub, lanes int, bitMasks bool) permTable {
	var t permTable
	elems := lanes / sub
	for i := range elems {
		j, m := i*step/elems, i*step%elems // source vector and element
		for k := range sub {
			l := i*sub + k
			t.idx[l] = int32(m*sub + k)
			if j == 0 {
				continue
			}
			if bitMasks {
				t.masks[j-1] |= 1 << l
			} else {
				t.masks[(j-1)*8+l] = 0xFFFFFFFF
			}
		}
	}
	return t
}

// permKit is one family's permute kernels for one element type.
type permKit struct {
	elems, sub int // elements per vector, 32-bit lanes per element
	tabs       *[maxPermStep + 1]permTable
	kernels    *[maxPermStep + 1]permKernel
}

var (
	permF32AVX512 = permKit{16, 1, &permTables[0][1], &permKernelsAVX512}
	permF64AVX512 = permKit{8, 2, &permTables[1][1], &permKernelsAVX512}
	permF32AVX2   = permKit{8, 1, &permTables[0][0], &permKernelsAVX2}
	permF64AVX2   = permKit{4, 2, &permTables[1][0], &permKernelsAVX2}
)

func strided2D32(f isa.Family) func(dst []float32, ldd int, src []float32, lds, rows, n, step int) {
	switch f {
	case isa.AVX512:
		return func(dst []float32, ldd int, src []float32, lds, rows, n, step int) {
			permStrided2D(dst, ldd, src, lds, rows, n, step, &permF32AVX512)
		}
	case isa.AVX2:
		return func(dst []float32, ldd int, src []float32, lds, rows, n, step int) {
			permStrided2D(dst, ldd, src, lds, rows, n, step, &permF32AVX2)
		}
	}
	return nil
}

func strided2D64(f isa.Family) func(dst []float64, ldd int, src []float64, lds, rows, n, step int) {
	switch f {
	case isa.AVX512:
		return func(dst []float64, ldd int, src []float64, lds, rows, n, step int) {
			permStrided2D(dst, ldd, src, lds, rows, n, step, &permF64AVX512)
		}
	case isa.AVX2:
		return func(dst []float64, ldd int, src []float64, lds, rows, n, step int) {
			permStrided2D(dst, ldd, src, lds, rows, n, step, &permF64AVX2)
		}
	}
	return nil
}

// permStrided2D runs a permute kernel over the rows. The kernel computes a
// row's last, partial vector whole, reading a window of elems·step elements
// from the vector's start; rows whose window would run past src are done
// by whole vectors in the kernel and the generic loop for the rest.
func permStrided2D[T Float](dst []T, ldd int, src []T, lds, rows, n, step int, kit *permKit) {
	if step == 1 || step > maxPermStep || rows == 0 || n == 0 {
		Strided2D(dst, ldd, src, lds, rows, n, step)
		return
	}
	checkStrided2D(len(dst), ldd, len(src), lds, rows, n, step)
	window := (n + kit.elems - 1) / kit.elems * kit.elems * step
	safe := rows // rows whose whole window lies in src
	for safe > 0 && (safe-1)*lds+window > len(src) {
		safe--
	}
	tab, kernel := &kit.tabs[step], kit.kernels[step]
	var zero T
	size := int(unsafe.Sizeof(zero))
	if safe > 0 {
		if race.Enabled {
			for r := 0; r < safe; r++ {
				race.Read(unsafe.Pointer(&src[r*lds]), window*size)
				race.Write(unsafe.Pointer(&dst[r*ldd]), n*size)
			}
		}
		kernel(bytePtr(dst, 0), bytePtr(src, 0), safe, n*kit.sub, ldd*size, lds*size, &tab.idx[0], &tab.masks[0])
	}
	for r := safe; r < rows; r++ {
		d, s := dst[r*ldd:r*ldd+n], src[r*lds:]
		whole := n / kit.elems * kit.elems
		if whole > 0 {
			if race.Enabled {
				race.Read(unsafe.Pointer(&s[0]), ((whole-1)*step+1)*size)
				race.Write(unsafe.Pointer(&d[0]), whole*size)
			}
			kernel(bytePtr(d, 0), bytePtr(s, 0), 1, whole*kit.sub, 0, 0, &tab.idx[0], &tab.masks[0])
		}
		if whole < n {
			Strided(d[whole:], s[whole*step:], step)
		}
	}
}

func bytePtr[T Float](s []T, i int) *byte { return (*byte)(unsafe.Pointer(&s[i])) }

// streamMin is the smallest copy worth streaming: below it the alignment
// head and tail and the closing fence dominate.
const streamMin = 2048

func streamCopy[T Float](f isa.Family) CopyFunc[T] {
	switch f {
	case isa.AVX512:
		return func(dst, src []T) { streamAsm(dst, src, 64, streamAVX512) }
	case isa.AVX2:
		return func(dst, src []T) { streamAsm(dst, src, 32, streamAVX2) }
	}
	return nil
}

// streamAsm copies the unaligned head and the tail of dst with copy and the
// aligned middle, a multiple of four vectors, with the kernel.
func streamAsm[T Float](dst, src []T, align int, kernel func(dst, src *byte, n int)) {
	src = src[:len(dst)]
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(dst)*size < streamMin {
		copy(dst, src)
		return
	}
	head := int(-uintptr(unsafe.Pointer(&dst[0]))&uintptr(align-1)) / size
	copy(dst[:head], src[:head])
	body := ((len(dst) - head) * size) &^ (4*align - 1)
	if race.Enabled && body > 0 {
		race.Read(unsafe.Pointer(&src[head]), body)
		race.Write(unsafe.Pointer(&dst[head]), body)
	}
	kernel((*byte)(unsafe.Pointer(&dst[head])), (*byte)(unsafe.Pointer(&src[head])), body)
	rest := head + body/size
	copy(dst[rest:], src[rest:])
}

func prefetch(p unsafe.Pointer, n int) { prefetchT0((*byte)(p), n) }

// The finiteness checks are package-level values so that looking one up
// allocates nothing.
var (
	finiteF32Wide   = FiniteFunc[float32](func(s []float32) bool { return finiteAsm(s, 64, finiteF32AVX512) })
	finiteF64Wide   = FiniteFunc[float64](func(s []float64) bool { return finiteAsm(s, 32, finiteF64AVX512) })
	finiteF32Narrow = FiniteFunc[float32](func(s []float32) bool { return finiteAsm(s, 32, finiteF32AVX2) })
	finiteF64Narrow = FiniteFunc[float64](func(s []float64) bool { return finiteAsm(s, 16, finiteF64AVX2) })
)

func finiteKernel[T Float](f isa.Family) FiniteFunc[T] {
	var zero T
	_, is32 := any(zero).(float32)
	switch {
	case f == isa.AVX512 && is32:
		return any(finiteF32Wide).(FiniteFunc[T])
	case f == isa.AVX512:
		return any(finiteF64Wide).(FiniteFunc[T])
	case f == isa.AVX2 && is32:
		return any(finiteF32Narrow).(FiniteFunc[T])
	case f == isa.AVX2:
		return any(finiteF64Narrow).(FiniteFunc[T])
	}
	return nil
}

// finiteAsm checks whole blocks of block values with the kernel and the
// rest with the generic loop.
func finiteAsm[T Float](s []T, block int, kernel func(p *T, n int) bool) bool {
	n := len(s) - len(s)%block
	if race.Enabled && n > 0 {
		var z T
		race.Read(unsafe.Pointer(&s[0]), n*int(unsafe.Sizeof(z)))
	}
	if n > 0 && !kernel(&s[0], n) {
		return false
	}
	return Finite(s[n:])
}

// The strip kernels, as package-level values so that looking one up
// allocates nothing.
var (
	stripRowsF32 = StripRowsFunc[float32](func(dst []float32, ldd int, src []float32, delta, step, n int, strips []Strip, masks []uint16, shift []float32, sums []float64) {
		stripRowsAsm(dst, ldd, src, delta, step, n, strips, masks, shift, sums, stripRowsF32AVX512)
	})
	stripRowsF64 = StripRowsFunc[float64](func(dst []float64, ldd int, src []float64, delta, step, n int, strips []Strip, masks []uint16, shift []float64, sums []float64) {
		stripRowsAsm(dst, ldd, src, delta, step, n, strips, masks, shift, sums, stripRowsF64AVX512)
	})
)

func stripRowsKernel[T Float](f isa.Family) StripRowsFunc[T] {
	if f != isa.AVX512 || !isa.Supported(isa.AVX512) {
		return nil
	}
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(stripRowsF32).(StripRowsFunc[T])
	}
	return any(stripRowsF64).(StripRowsFunc[T])
}

// stripRowsAsm checks the call and runs the kernel.
func stripRowsAsm[T Float](dst []T, ldd int, src []T, delta, step, n int, strips []Strip, masks []uint16, shift []T, sums []float64,
	kernel func(dst *T, ldd int, src *T, delta, step, n int, strips *int, count int, masks *uint16, shift *T, sums *float64)) {
	if n <= 0 || len(strips) == 0 {
		return
	}
	checkStripRows(len(dst), ldd, len(src), delta, step, n, strips, masks, len(shift), len(sums))
	if race.Enabled {
		var z T
		size := int(unsafe.Sizeof(z))
		for k, s := range strips {
			for j := 0; j < n; j++ {
				for u := 0; u < s.Lanes; u++ {
					if masks[s.Masks+j]>>u&1 != 0 {
						race.Read(unsafe.Pointer(&src[delta+s.Src+j*step+u]), size)
					}
				}
				race.Write(unsafe.Pointer(&dst[s.Dst+j*ldd]), s.Lanes*size)
			}
			race.Read(unsafe.Pointer(&shift[s.Col]), s.Lanes*size)
			race.Read(unsafe.Pointer(&sums[8*k]), 64)
			race.Write(unsafe.Pointer(&sums[8*k]), 64)
		}
	}
	kernel(&dst[0], ldd, &src[0], delta, step, n, &strips[0].Src, len(strips), &masks[0], &shift[0], &sums[0])
}
