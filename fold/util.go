package fold

import (
	"fmt"
	"github.com/netdeconv/deconv"
	"math"
	"sync"

	"github.com/netdeconv/deconv/internal/gather"
	"github.com/netdeconv/deconv/internal/isa"
)

// Float is the element type of layers and primitives.
type Float = deconv.Float

// checkFinite returns an deconv.ErrNonFinite error naming what when s holds a NaN
// or an infinity. It runs on the calling goroutine: it is meant for
// weights, biases and statistics; inputs are checked by the forward passes'
// workers as they read them.
func checkFinite[T Float](s []T, what string) error {
	if gather.FiniteFor[T](isa.Selected())(s) {
		return nil
	}
	return nonFinite(s, what, 0)
}

// isFinite reports whether v is neither NaN nor an infinity.
func isFinite[T Float](v T) bool { return v-v == 0 }

// nonFinite builds the error for the first NaN or infinity of s, whose
// element 0 is element base of the value named what.
func nonFinite[T Float](s []T, what string, base int) error {
	for i, v := range s {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: %s[%d] = %v", deconv.ErrNonFinite, what, base+i, v)
		}
	}
	return fmt.Errorf("%w: %s", deconv.ErrNonFinite, what)
}

// Scratch buffers are pooled per element type, so a forward pass at a
// fixed shape allocates nothing after the first.
var scratch32, scratch64 sync.Pool

func getScratch[T Float](n int) *[]T {
	pool := poolFor[T]()
	if v, ok := pool.Get().(*[]T); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]T, n)
	return &s
}

func putScratch[T Float](s *[]T) { poolFor[T]().Put(s) }

func poolFor[T Float]() *sync.Pool {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return &scratch32
	}
	return &scratch64
}

// firstError keeps the first error reported by concurrent workers.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}
