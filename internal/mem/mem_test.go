package mem

import "testing"

func TestOverlap(t *testing.T) {
	buf := make([]float32, 100)
	other := make([]float32, 10)
	for _, c := range []struct {
		a, b []float32
		want bool
	}{
		{buf[:10], buf[10:20], false},
		{buf[:11], buf[10:20], true},
		{buf[10:20], buf[:11], true},
		{buf[5:6], buf[:100], true},
		{buf[:0], buf, false},
		{nil, buf, false},
		{other, buf, false},
		{buf, buf, true},
	} {
		if got := Overlap(c.a, c.b); got != c.want {
			t.Errorf("Overlap(len %d, len %d) = %v, want %v", len(c.a), len(c.b), got, c.want)
		}
	}
	if !Same(buf[:10], buf[:10]) || Same(buf[:10], buf[1:11]) || Same(buf[:10], buf[:9]) {
		t.Error("Same is wrong")
	}
}
