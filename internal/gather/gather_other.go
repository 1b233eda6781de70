//go:build !amd64 || !gc || purego

package gather

import (
	"unsafe"

	"github.com/netdeconv/deconv/internal/isa"
)

// Builds without assembly have the generic kernels only.
func strided2D32(isa.Family) func([]float32, int, []float32, int, int, int, int) { return nil }
func strided2D64(isa.Family) func([]float64, int, []float64, int, int, int, int) { return nil }

func streamCopy[T Float](isa.Family) CopyFunc[T] { return nil }

func prefetch(unsafe.Pointer, int) {}

func finiteKernel[T Float](isa.Family) FiniteFunc[T] { return nil }

func stripRowsKernel[T Float](isa.Family) StripRowsFunc[T] { return nil }

func tableKernel[T Float](isa.Family) TableFunc[T] { return nil }

func addWidenKernel[T Float](isa.Family) AddWidenFunc[T] { return nil }
