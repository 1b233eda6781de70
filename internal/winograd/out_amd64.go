//go:build amd64 && gc && !purego

package winograd

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

//go:generate sh -c "cd ../_gen && go run ./winout -pkg winograd -out ../winograd/out_amd64.s -stubs ../winograd/out_stub_amd64.go"

func hasOutputKernel(fam isa.Family) bool {
	return fam >= isa.AVX512 && isa.Supported(isa.AVX512)
}

// outputKernel runs outF32AVX512 on each tile row of the span, all
// output channels per call, and reports whether all outputs are finite.
// T is float32 (HasOutputKernel).
func outputKernel[T Float](t *Tile, dst, y []T, rs, ld int, bias []T, cout, oh, ow, th, tw, row0, row1 int, stream bool) bool {
	d32, y32 := any(dst).([]float32), any(y).([]float32)
	var b32 []float32
	if bias != nil {
		b32 = any(bias).([]float32)[:cout]
	}
	a2 := t.Alpha * t.Alpha
	nt := (row1 - row0) * tw
	// Every product and output the kernel touches lies in the slices
	// (the loads past a row's last tile are masked off). Slicing, not
	// indexing: an index would read an output another worker writes.
	_ = y32[:(a2-1)*rs+(cout-1)*ld+nt]
	_ = d32[:((row1-1)/th+1)*cout*oh*ow]

	coef := outputCoef(t)
	full := ow / 64
	vecs := (tw + 15) / 16
	masks := outputMasks(tw, ow, full)
	var zero float32
	bp, bstride := &zero, 0
	if b32 != nil {
		bp, bstride = &b32[0], 4
	}
	plane := oh * ow
	// Non-temporal stores need every whole vector 64-byte aligned: the
	// batch's start, and rows (hence planes) a multiple of 16 long.
	ntStores := 0
	if stream && ow%16 == 0 && uintptr(unsafe.Pointer(&d32[0]))%64 == 0 {
		ntStores = 1
	}
	finite := true
	for row := row0; row < row1; row++ {
		img, ty := row/th, row%th
		rows := min(4, oh-ty*4)
		src := y32[(row-row0)*tw:]
		out := d32[img*cout*plane+ty*4*ow:]
		if race.Enabled {
			raceOutput(out, src, rs, ld, a2, cout, plane, ow, rows, tw)
		}
		if !outF32AVX512(&out[0], &src[0], &coef[0], bp, &masks[0], cout, ld*4, plane*4, bstride, rs*4, ow*4, rows, full, vecs, ntStores) {
			finite = false
		}
	}
	return finite
}

// raceOutput tells the race detector what one kernel call reads (tw
// products per position and channel) and writes (rows output rows per
// channel).
func raceOutput(out, src []float32, rs, ld, a2, cout, plane, ow, rows, tw int) {
	for co := 0; co < cout; co++ {
		for k := 0; k < a2; k++ {
			race.Read(unsafe.Pointer(&src[k*rs+co*ld]), tw*4)
		}
		for i := 0; i < rows; i++ {
			race.Write(unsafe.Pointer(&out[co*plane+i*ow]), ow*4)
		}
	}
}
