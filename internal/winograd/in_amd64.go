//go:build amd64 && gc && !purego

package winograd

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

//go:generate sh -c "cd ../_gen && go run ./winin -pkg winograd -out ../winograd/in_amd64.s -stubs ../winograd/in_stub_amd64.go"

// inputKernel reports whether InputTransform has a kernel for T and fam.
func inputKernel[T Float](fam isa.Family) bool {
	var z T
	_, f32 := any(z).(float32)
	return f32 && fam >= isa.AVX512 && isa.Supported(isa.AVX512)
}

// inputF32 runs the kernel on c channels of w tiles (a multiple of 16),
// in one call when the channels' rows are contiguous (w = ld) and per
// channel otherwise. The sizes are checked by the caller.
func inputF32(dst, src []float32, rs, c, ld, w int, bt *[36]float32) {
	if race.Enabled {
		span := ((c-1)*ld + w) * 4
		for k := range 36 {
			race.Read(unsafe.Pointer(&src[k*rs]), span)
			race.Write(unsafe.Pointer(&dst[k*rs]), span)
		}
	}
	if w == ld {
		inputF32AVX512(&dst[0], &src[0], rs*4, c*ld/16, &bt[0])
		return
	}
	for ci := range c {
		inputF32AVX512(&dst[ci*ld], &src[ci*ld], rs*4, w/16, &bt[0])
	}
}

// gatherF32 runs the fused kernel on each channel and tile row, after
// copying the row's six padded input rows into band, and reports whether
// every call found its input finite. The sizes are checked by the caller.
func gatherF32(dst []float32, rs, ld int, x []float32, c, h, w, padH, padW, th, tw, row0, row1 int, band []float32, bt *[36]float32) bool {
	finite := true
	bs := fusedLine(tw)
	band = band[:fusedBandLen(tw)]
	vecs := (tw + 15) / 16
	tail := 1<<(tw-16*(vecs-1)) - 1
	ll := 4*tw + 2 // LineLen: the columns the tiles read
	inner := min(w, ll-padW)
	for ci := 0; ci < c; ci++ {
		for row := row0; row < row1; row++ {
			img, ty := row/th, row%th
			plane := x[(img*c+ci)*h*w : (img*c+ci+1)*h*w]
			for u := 0; u < 6; u++ {
				line := band[u*bs : (u+1)*bs]
				iy := ty*4 - padH + u
				if iy < 0 || iy >= h {
					clear(line)
					continue
				}
				clear(line[:padW])
				copy(line[padW:padW+inner], plane[iy*w:iy*w+inner])
				clear(line[padW+inner:])
			}
			col0 := ci*ld + (row-row0)*tw
			if race.Enabled {
				race.Write(unsafe.Pointer(&band[0]), len(band)*4)
				for k := range 36 {
					race.Write(unsafe.Pointer(&dst[k*rs+col0]), tw*4)
				}
			}
			if !gatherF32AVX512(&dst[col0], rs*4, &band[0], bs*4, vecs, uint16(tail), &bt[0], &deinterleave[0]) {
				finite = false
			}
		}
	}
	return finite
}
