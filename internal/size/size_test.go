package size

import (
	"math"
	"testing"
)

func TestMul(t *testing.T) {
	for _, c := range []struct {
		fs   []int
		want int
		ok   bool
	}{
		{nil, 1, true},
		{[]int{3, 4, 5}, 60, true},
		{[]int{0, math.MaxInt}, 0, true},
		{[]int{math.MaxInt, 1}, math.MaxInt, true},
		{[]int{math.MaxInt/2 + 1, 2}, 0, false},
		{[]int{1 << 32, 1 << 32}, 0, false},
		{[]int{-1, 2}, 0, false},
	} {
		got, ok := Mul(c.fs...)
		if got != c.want || ok != c.ok {
			t.Errorf("Mul(%v) = %d, %v; want %d, %v", c.fs, got, ok, c.want, c.ok)
		}
	}
	if _, ok := MulAdd(math.MaxInt/2, 2, 2); ok {
		t.Error("MulAdd overflow not reported")
	}
	if v, ok := MulAdd(7, 6, 5); v != 47 || !ok {
		t.Errorf("MulAdd(7, 6, 5) = %d, %v", v, ok)
	}
}
