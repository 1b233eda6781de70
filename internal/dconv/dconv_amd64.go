//go:build amd64 && gc && !purego

package dconv

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

func available(fam isa.Family) bool { return fam >= isa.AVX512 && isa.Supported(isa.AVX512) }

// kernel runs dconvF32AVX512 (ch 4) or dconvF32AVX512x8 (ch 8) on
// checked arguments: whole vectors, then the row's last columns through a
// mask.
func kernel(ch int, dst []float32, ldd, ldc int, src []float32, lds, rows, cols int, w []float32, wld int, o *Offsets, terms, maxOff int, bias []float32) {
	vecs, rest := cols/Lanes, cols%Lanes
	mask := (1 << rest) - 1
	if race.Enabled {
		race.Read(unsafe.Pointer(&src[0]), ((rows-1)*lds+maxOff+cols)*4)
		race.Read(unsafe.Pointer(&w[0]), Channels*terms*4)
		if ch == WideChannels {
			race.Read(unsafe.Pointer(&w[wld]), Channels*terms*4)
		}
		if bias != nil {
			race.Read(unsafe.Pointer(&bias[0]), ch*4)
		}
		// The offsets' words as the kernel indexes them: two per term.
		race.Read(unsafe.Pointer(&o.bytes[0]), 2*terms*8)
		for c := range ch {
			for r := range rows {
				race.Read(unsafe.Pointer(&dst[c*ldc+r*ldd]), cols*4)
				race.Write(unsafe.Pointer(&dst[c*ldc+r*ldd]), cols*4)
			}
		}
	}
	var bp *float32
	if bias != nil {
		bp = &bias[0]
	}
	if ch == WideChannels {
		dconvF32AVX512x8(&dst[0], &src[0], &w[0], &o.bytes[0], terms, rows, vecs, mask, ldd*4, lds*4, ldc*4, bp, wld*4)
		return
	}
	dconvF32AVX512(&dst[0], &src[0], &w[0], &o.bytes[0], terms, rows, vecs, mask, ldd*4, lds*4, ldc*4, bp)
}
