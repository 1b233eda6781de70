//go:build amd64 && gc && !purego

package taps

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/race"
)

// vector runs the kernel of family fam on the whole vectors of each row
// and returns the number of columns it computed (0 for the generic family
// or one this CPU lacks).
func vector[T Float](fam isa.Family, dst []T, ldd int, src []T, lds, rows, cols int, p *Taps[T], bias T) int {
	var z T
	size := int(unsafe.Sizeof(z))
	bytes := 0
	switch {
	case fam >= isa.AVX512 && isa.Supported(isa.AVX512):
		bytes = 64
	case fam >= isa.AVX2 && isa.Supported(isa.AVX2):
		bytes = 32
	default:
		return 0
	}
	lanes := bytes / size
	vecs := cols / lanes
	if vecs == 0 || len(p.off) == 0 { // the kernels run at least one tap
		return 0
	}
	if race.Enabled {
		raceRows(dst, ldd, src, lds, rows, vecs*lanes, p.maxOff)
	}
	nb := 16 * len(p.off)
	switch d := any(dst).(type) {
	case []float32:
		s := any(src).([]float32)
		b := float32(any(bias).(float32))
		if bytes == 64 {
			tapsF32AVX512(&d[0], &s[0], rows, vecs, ldd*4, lds*4, &p.tab[0], nb, b)
		} else {
			tapsF32AVX2(&d[0], &s[0], rows, vecs, ldd*4, lds*4, &p.tab[0], nb, b)
		}
	case []float64:
		s := any(src).([]float64)
		b := float64(any(bias).(float64))
		if bytes == 64 {
			tapsF64AVX512(&d[0], &s[0], rows, vecs, ldd*8, lds*8, &p.tab[0], nb, b)
		} else {
			tapsF64AVX2(&d[0], &s[0], rows, vecs, ldd*8, lds*8, &p.tab[0], nb, b)
		}
	}
	return vecs * lanes
}

// coBlock is CoBlock for family f.
func coBlock(f isa.Family) int {
	switch {
	case f >= isa.AVX512 && isa.Supported(isa.AVX512):
		return 4
	case f >= isa.AVX2 && isa.Supported(isa.AVX2):
		return 2
	}
	return 0
}

// vectorCo runs the multi-channel kernel of family fam on the whole
// vectors of each row and returns the number of columns it computed (0
// when fam has no kernel for the list's block).
func vectorCo[T Float](fam isa.Family, dst []T, ldd, ldc int, src []T, lds, rows, cols int, p *CoTaps[T]) int {
	if p.nco == 0 || coBlock(fam) != p.nco {
		return 0
	}
	var z T
	size := int(unsafe.Sizeof(z))
	bytes := 32
	if p.nco == 4 {
		bytes = 64
	}
	lanes := bytes / size
	vecs := cols / lanes
	if vecs == 0 {
		return 0
	}
	if race.Enabled {
		race.Read(unsafe.Pointer(&src[0]), ((rows-1)*lds+p.maxOff+vecs*lanes)*size)
		for c := 0; c < p.nco; c++ {
			d := dst[c*ldc:]
			for r := 0; r < rows; r++ {
				race.Read(unsafe.Pointer(&d[r*ldd]), vecs*lanes*size)
				race.Write(unsafe.Pointer(&d[r*ldd]), vecs*lanes*size)
			}
		}
	}
	nb := 8 * (p.nco + 1) * len(p.off)
	switch d := any(dst).(type) {
	case []float32:
		s := any(src).([]float32)
		if bytes == 64 {
			tapsCoF32AVX512(&d[0], &s[0], rows, vecs, ldd*4, lds*4, ldc*4, &p.tab[0], nb)
		} else {
			tapsCoF32AVX2(&d[0], &s[0], rows, vecs, ldd*4, lds*4, ldc*4, &p.tab[0], nb)
		}
	case []float64:
		s := any(src).([]float64)
		if bytes == 64 {
			tapsCoF64AVX512(&d[0], &s[0], rows, vecs, ldd*8, lds*8, ldc*8, &p.tab[0], nb)
		} else {
			tapsCoF64AVX2(&d[0], &s[0], rows, vecs, ldd*8, lds*8, ldc*8, &p.tab[0], nb)
		}
	}
	return vecs * lanes
}
