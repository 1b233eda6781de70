//go:build cgo

package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/netdeconv/deconv"
)

// The statuses of deconv.h and the Go mapping agree: one per sentinel in
// the order of deconv.Errors(), then out-of-memory and internal error.
func TestStatusesMatchHeader(t *testing.T) {
	hs := headerStatuses()
	sentinels := deconv.Errors()
	if len(hs) != len(sentinels)+2 {
		t.Fatalf("deconv.h has %d failure statuses, Go has %d sentinels plus 2", len(hs), len(sentinels))
	}
	for i, e := range sentinels {
		if got := statusOf(e); got != hs[i] || got != i+1 {
			t.Errorf("%v: status %d, deconv.h says %d", e, got, hs[i])
		}
		if got := statusOf(fmt.Errorf("wrapped: %w", e)); got != hs[i] {
			t.Errorf("wrapped %v: status %d, want %d", e, got, hs[i])
		}
	}
	if got := statusOf(errNoMem); got != hs[len(hs)-2] || got != statusNoMem {
		t.Errorf("out of memory: status %d, deconv.h says %d", got, hs[len(hs)-2])
	}
	if got := statusOf(errors.New("unexpected")); got != hs[len(hs)-1] || got != statusInternal {
		t.Errorf("unknown error: status %d, deconv.h says %d", got, hs[len(hs)-1])
	}
	seen := map[string]bool{}
	for _, s := range append([]int{0}, hs...) {
		m := headerMessage(s)
		if m == "" || m == "unknown status" || seen[m] {
			t.Errorf("status %d: message %q", s, m)
		}
		seen[m] = true
	}
	for _, s := range []int{-1, 13, 99, 102, math.MaxInt32} {
		if m := headerMessage(s); m != "unknown status" {
			t.Errorf("status %d: message %q", s, m)
		}
	}
	if n, s := headerVersion(); fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100) != s {
		t.Errorf("version number %d and string %q disagree", n, s)
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, s := range []string{"", "abc", "shape: 3×3 kernel", strings.Repeat("é", 200), strings.Repeat("a€", 100), "a\x00b", "\xff\xfe"} {
		for max := 0; max <= len(s)+1; max++ {
			got := truncateUTF8(s, max)
			if len(got) > max || !strings.HasPrefix(s, got) || strings.ContainsRune(got, 0) {
				t.Fatalf("truncateUTF8(%q, %d) = %q", s, max, got)
			}
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("truncateUTF8(%q, %d) = %q cuts a character", s, max, got)
			}
		}
	}
}

func TestSliceAt(t *testing.T) {
	buf := make([]float32, 8)
	p := unsafe.Pointer(&buf[0])
	cases := []struct {
		p    unsafe.Pointer
		n    uint64
		want int
		len  int
	}{
		{nil, 0, 0, 0},
		{nil, 1, statusOf(deconv.ErrParam), 0},
		{p, 0, 0, 0},
		{p, 8, 0, 8},
		{p, 1 << 46, statusOf(deconv.ErrOverflow), 0},
		{p, math.MaxUint64, statusOf(deconv.ErrOverflow), 0},
	}
	for _, c := range cases {
		s, err := sliceAt[float32](c.p, c.n, "x")
		if statusOf(err) != c.want || len(s) != c.len {
			t.Errorf("sliceAt(%v, %d) = len %d, %v", c.p, c.n, len(s), err)
		}
	}
}

func TestFits(t *testing.T) {
	if err := fits(math.MaxUint64-3, 2, 4, "x"); !errors.Is(err, deconv.ErrOverflow) {
		t.Errorf("a buffer past the end of the address space: %v", err)
	}
	if err := fits(4096, 1<<20, 8, "x"); err != nil {
		t.Error(err)
	}
}

func TestStructSize(t *testing.T) {
	tail := make([]byte, 16)
	view := func(n int) []byte { return tail[:n] }
	for _, c := range []struct {
		given uint64
		want  error
	}{{0, deconv.ErrParam}, {39, deconv.ErrParam}, {40, nil}, {56, nil}, {40 + maxStructTail + 1, deconv.ErrParam}} {
		if err := checkStructSize("p", c.given, 40, 40, view); !errors.Is(err, c.want) && (err != nil || c.want != nil) {
			t.Errorf("struct_size %d: %v, want %v", c.given, err, c.want)
		}
	}
	tail[3] = 1
	if err := checkStructSize("p", 56, 40, 40, view); !errors.Is(err, deconv.ErrUnsupported) {
		t.Errorf("unknown nonzero field: %v", err)
	}
}

// deconv_isqrt_config.grad (0.2) lies in what was the 0.1 struct's tail
// padding: sizeof did not change, so a 0.1 caller's struct_size is still
// accepted and deconv_isqrt_config_default writes no byte beyond a 0.1
// struct. (On a target whose doubles align to 4 bytes the struct would
// grow; the library is built for 64-bit targets only.)
func TestIsqrtConfigGrowth(t *testing.T) {
	size, grad := isqrtConfigLayout()
	v1 := (grad + 7) &^ 7 // the 0.1 struct: workers, then padding to the doubles' alignment
	if size != v1 || isqrtConfigV1 != uint64(grad) {
		t.Errorf("sizeof %d, grad at %d: the 0.1 struct had %d bytes", size, grad, v1)
	}
	h, err := newIsqrt(3, isqrtConfig{Method: 0, Iterations: 5})
	if err != nil {
		t.Fatal(err)
	}
	a := []float64{2, 0.1, 0, 0.1, 2, 0.1, 0, 0.1, 2}
	if _, err := isqrtCompute(h, make([]float64, 9), a, nil); err != nil {
		t.Fatal(err)
	}
	if err := isqrtBackward(h, make([]float64, 9), a, false, 1); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("backward without grad: %v", err)
	}
}

// A stats or isqrt handle in use answers DECONV_E_BUSY and changes nothing.
func TestBusy(t *testing.T) {
	pl, err := newCovLinearPlan(covLinearParams{Batch: 4, Features: 3, Block: 3})
	if err != nil {
		t.Fatal(err)
	}
	s := newCovStats(pl)
	s.flag.Store(true)
	if err := covStatsAccumulate(s, pl, make([]float32, 12)); !errors.Is(err, deconv.ErrBusy) {
		t.Errorf("accumulate on a busy stats: %v", err)
	}
	if s.s.Count() != 0 {
		t.Error("a busy stats changed")
	}
	s.flag.Store(false)
	if err := covStatsMerge(s, s); err != nil {
		t.Errorf("merging a stats into itself: %v", err)
	}
	h, err := newIsqrt(2, defaultIsqrtConfig())
	if err != nil {
		t.Fatal(err)
	}
	h.flag.Store(true)
	if _, err := isqrtCompute(h, make([]float64, 4), []float64{2, 0, 0, 2}, nil); !errors.Is(err, deconv.ErrBusy) {
		t.Errorf("isqrt on a busy handle: %v", err)
	}
}

// A panic in a body becomes DECONV_E_INTERNAL with its message; long
// messages are cut on a character boundary and always terminated.
func TestBoundary(t *testing.T) {
	st, es, msg := callForTest(func() error { var m map[string]int; m["x"] = 1; return nil })
	if st != statusInternal || es != st || !strings.Contains(msg, "panic") {
		t.Errorf("panic: status %d, struct %d, message %q", st, es, msg)
	}
	st, es, msg = callForTest(func() error { return nil })
	if st != 0 || es != 0 || msg != "" {
		t.Errorf("success: status %d, struct %d, message %q", st, es, msg)
	}
	long := fmt.Errorf("%w: %s", deconv.ErrShape, strings.Repeat("é€", 200))
	st, es, msg = callForTest(func() error { return long })
	if st != 1 || es != 1 || len(msg) > 255 || len(msg) < 250 || !utf8.ValidString(msg) || !strings.HasPrefix(long.Error(), msg) {
		t.Errorf("long message: status %d, struct %d, %d bytes, valid %v", st, es, len(msg), utf8.ValidString(msg))
	}
}

// A layer handle in use answers DECONV_E_BUSY for every call, accessors
// included, and changes nothing.
func TestLayerBusy(t *testing.T) {
	l, err := newChannelDeconv[float64](channelDeconvParams{Block: 2, Eps: 1e-2, NIter: 5, Momentum: 0.1, SamplingStride: 1})
	if err != nil {
		t.Fatal(err)
	}
	l.flag.Store(true)
	x := make([]float64, 2*3*2*2)
	for i := range x {
		x[i] = float64(i % 5)
	}
	calls := map[string]error{
		"forward": channelDeconvForward(l, make([]float64, len(x)), x, 2, 3, 2, 2),
		"get":     layerGet(l, "running_mean1", make([]float64, 2)),
		"set":     layerSet(l, "running_mean1", []float64{1, 2}),
		"set_int": layerSetInt(l, "training", 0),
	}
	_, calls["len"] = layerLen(l, "running_var")
	_, calls["get_int"] = layerGetInt(l, "num_batches_tracked")
	for name, err := range calls {
		if !errors.Is(err, deconv.ErrBusy) {
			t.Errorf("%s on a busy layer: %v", name, err)
		}
	}
	l.flag.Store(false)
	if n, _ := layerGetInt(l, "num_batches_tracked"); n != 0 {
		t.Errorf("a busy layer changed: num_batches_tracked %d", n)
	}
	if on, _ := layerGetInt(l, "training"); on != 1 {
		t.Error("a busy layer left training mode")
	}
}
