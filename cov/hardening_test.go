package cov

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/im2col"
)

func isSentinel(err error) bool {
	for _, e := range deconv.Errors() {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// TestHugeGeometryAgreesWithIm2col: for paddings, strides and dilations
// around 2³¹ and 2⁶² on tiny images, cov and im2col either both fail
// with a sentinel, or cov's statistics are those of im2col's rows. (An
// int32 offset table once wrapped here and gave a zero mean with a nil
// error.)
func TestHugeGeometryAgreesWithIm2col(t *testing.T) {
	computed := 0
	defer func() {
		if computed < 10 {
			t.Errorf("only %d geometries were valid", computed)
		}
		t.Logf("%d valid geometries", computed)
	}()
	for _, big := range []int{1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 + 3, 1<<62 - 1, 1 << 62, math.MaxInt / 2, math.MaxInt} {
		for _, g := range []deconv.Geometry{
			{KernelH: 2, KernelW: 3, PadH: big, PadW: big, StrideH: big, StrideW: big},
			{KernelH: 2, KernelW: 2, PadH: big / 2, PadW: 1, DilationH: big, StrideH: big},
			{KernelH: 3, KernelW: 2, PadH: big / 3, PadW: big / 4, DilationH: big / 3, DilationW: big / 4, StrideH: big / 2, StrideW: big / 3},
			{KernelH: 2, KernelW: 2, PadH: 1, PadW: big/2 - 3, StrideW: big / 2, DilationW: 3},
			// padding + stride beyond the int range (each within it)
			{KernelH: 2, KernelW: 2, PadW: 1<<62 - 2, StrideW: math.MaxInt - big%1000},
			{KernelH: 2, KernelW: 3, PadH: 1<<62 - 2, StrideH: math.MaxInt - big%1000, PadW: 1<<62 - 3, StrideW: 1 << 62},
		} {
			p := Params{Batch: 2, Channels: 2, Height: 3, Width: 2, Block: 2, Geometry: g}
			ip := im2col.Params{Batch: 2, Channels: 2, Height: 3, Width: 2, Geometry: g}
			pl, err := NewPlan(p)
			ipl, ierr := im2col.NewPlan(ip)
			if (err == nil) != (ierr == nil) {
				t.Fatalf("%+v: cov says %v, im2col says %v", g, err, ierr)
			}
			if err != nil {
				if !isSentinel(err) || !isSentinel(ierr) {
					t.Fatalf("%+v: errors %v, %v are not sentinels", g, err, ierr)
				}
				continue
			}
			computed++
			if ipl.DstLen() > 1<<20 {
				continue
			}
			x := make([]float64, pl.SrcLen())
			for i := range x {
				x[i] = float64(i%5) + 0.25*float64(i)
			}
			rows := make([]float64, ipl.DstLen())
			if err := im2col.Im2col(ipl, rows, x); err != nil {
				t.Fatal(err)
			}
			F := ipl.Cols()
			var r [][]float64
			for i := 0; i < ipl.NumRows(); i++ {
				r = append(r, rows[i*F:(i+1)*F])
			}
			wm, wc := oracleMoments(r, p.Eps, false)
			mean, c := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
			if err := Compute(pl, mean, c, x); err != nil {
				t.Fatalf("%+v: %v", g, err)
			}
			if e := relFrob(mean, wm); !(e <= 1e-12) && absFrob(mean, wm) > 1e-12 {
				t.Fatalf("%+v: mean %v, im2col's rows give %v", g, mean, wm)
			}
			if absFrob(c, wc) > 1e-9*(1+absFrob(c, make([]float64, len(c)))) {
				t.Fatalf("%+v: cov differs from im2col's rows", g)
			}
		}
	}
}

// TestLimits: constructors refuse, before allocating, plans whose tables
// or covariances exceed the documented limits (a 300×300 kernel on one
// channel used to plan a 8·10⁹-value covariance that NewStats then tried
// to allocate).
func TestLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"covariance over MaxCovLen", func() error {
			_, err := NewPlan(Params{Batch: 1, Channels: 1, Height: 1, Width: 1, Geometry: deconv.Square(300, 1, 150, 1)})
			return err
		}()},
		{"window over MaxWindow", func() error {
			_, err := NewPlan(Params{Batch: 1, Channels: 1 << 12, Height: 1, Width: 1, Block: 1, Geometry: deconv.Square(65, 1, 32, 1)})
			return err
		}()},
		{"input over MaxInputLen", func() error {
			_, err := NewPlan(Params{Batch: 1 << 16, Channels: 1 << 16, Height: 1, Width: 1, Geometry: deconv.Square(1, 1, 0, 1)})
			return err
		}()},
		{"linear features over MaxWindow", func() error {
			_, err := NewLinearPlan(LinearParams{Batch: 1, Features: MaxWindow + 1})
			return err
		}()},
		{"linear block over MaxCovLen", func() error {
			_, err := NewLinearPlan(LinearParams{Batch: 1, Features: 1 << 16, Block: 1 << 16})
			return err
		}()},
		{"channel block over MaxCovLen", func() error {
			_, err := NewChannelPlan(ChannelParams{Batch: 1, Channels: 1 << 16, Height: 1, Width: 1, Block: 1 << 16})
			return err
		}()},
	} {
		if !errors.Is(c.err, deconv.ErrOverflow) {
			t.Errorf("%s: %v, want ErrOverflow", c.name, c.err)
		}
	}
	// The largest covariance side with one group is accepted.
	if _, err := NewLinearPlan(LinearParams{Batch: 1, Features: 46340, Block: 46340}); err != nil {
		t.Errorf("F = 46340: %v", err)
	}
}

func smallPlan(t *testing.T, workers int) *Plan {
	t.Helper()
	pl, err := NewPlan(Params{Batch: 2, Channels: 4, Height: 40, Width: 40, Block: 2, Eps: 1e-3, Workers: workers,
		Geometry: deconv.Square(3, 1, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// TestExactLengths: every slice of Compute, Finalize, Sums and SetSums
// must have exactly the length the plan needs; the error names both
// numbers.
func TestExactLengths(t *testing.T) {
	pl := smallPlan(t, 1)
	st := NewStats(pl)
	x := make([]float32, pl.SrcLen())
	if err := Accumulate(pl, st, x); err != nil {
		t.Fatal(err)
	}
	lens := []int{pl.MeanLen(), pl.CovLen(), pl.SrcLen()}
	for arg := range lens {
		for _, d := range []int{-1, 1} {
			l := slices.Clone(lens)
			l[arg] += d
			err := Compute(pl, make([]float32, l[0]), make([]float32, l[1]), make([]float32, l[2]))
			checkShapeErr(t, fmt.Sprintf("Compute arg %d", arg), err, l[arg], lens[arg])
			if arg < 2 {
				err = Finalize(st, make([]float64, l[0]), make([]float64, l[1]))
				checkShapeErr(t, fmt.Sprintf("Finalize arg %d", arg), err, l[arg], lens[arg])
			}
		}
	}
	for _, d := range []int{-1, 1} {
		checkShapeErr(t, "Sums", st.Sums(make([]float64, st.SumsLen()+d), nil), st.SumsLen()+d, st.SumsLen())
		checkShapeErr(t, "SetSums", st.SetSums(nil, make([]float64, st.SumsLen()+d)), st.SumsLen()+d, st.SumsLen())
		checkShapeErr(t, "Sums ref", st.Sums(make([]float64, st.SumsLen()), make([]float64, st.RefLen()+d)), st.RefLen()+d, st.RefLen())
	}
}

func checkShapeErr(t *testing.T, name string, err error, got, want int) {
	t.Helper()
	if !errors.Is(err, deconv.ErrShape) {
		t.Errorf("%s: length %d for %d: %v, want ErrShape", name, got, want, err)
		return
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprint(got)) || !strings.Contains(msg, fmt.Sprint(want)) {
		t.Errorf("%s: %q does not name %d and %d", name, msg, got, want)
	}
}

// TestOverlap: Compute refuses a mean or cov that overlaps the input or
// each other; Finalize a mean overlapping cov; Sums a destination
// overlapping the reference point.
func TestOverlap(t *testing.T) {
	pl := smallPlan(t, 1)
	m, c, n := pl.MeanLen(), pl.CovLen(), pl.SrcLen()
	buf := make([]float64, m+c+n)
	for i := range buf {
		buf[i] = float64(i % 13)
	}
	x := buf[m+c:]
	for name, args := range map[string][3][]float64{
		"mean inside x":     {x[:m], buf[m : m+c], x},
		"cov inside x":      {buf[:m], x[n-c:], x},
		"mean overlaps x":   {buf[m+c-1 : 2*m+c-1], buf[:c], x},
		"mean inside cov":   {buf[m : 2*m], buf[m : m+c], x},
		"cov overlaps mean": {buf[:m], buf[m-1 : m+c-1], x},
	} {
		if err := Compute(pl, args[0], args[1], args[2]); !errors.Is(err, deconv.ErrOverlap) {
			t.Errorf("%s: %v, want ErrOverlap", name, err)
		}
	}
	if err := Compute(pl, buf[:m], buf[m:m+c], x); err != nil {
		t.Errorf("adjacent slices: %v", err)
	}
	st := NewStats(pl)
	if err := Accumulate(pl, st, x); err != nil {
		t.Fatal(err)
	}
	if err := Finalize(st, buf[:m], buf[m-1:m+c-1]); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("Finalize: %v, want ErrOverlap", err)
	}
	sums := make([]float64, st.SumsLen())
	if err := st.Sums(sums, sums[:st.RefLen()]); !errors.Is(err, deconv.ErrOverlap) {
		t.Errorf("Sums: %v, want ErrOverlap", err)
	}
}

// TestSetSumsValidation: impossible sums are refused with the right
// sentinel and change nothing; valid sums round-trip, and Finalize then
// never returns a negative variance.
func TestSetSumsValidation(t *testing.T) {
	for _, channel := range []bool{false, true} {
		var pl *Plan
		var err error
		if channel {
			pl, err = NewChannelPlan(ChannelParams{Batch: 2, Channels: 5, Height: 4, Width: 4, Block: 2, Eps: 1e-3})
		} else {
			pl, err = NewLinearPlan(LinearParams{Batch: 7, Features: 6, Block: 3, Eps: 1e-3})
		}
		if err != nil {
			t.Fatal(err)
		}
		st := NewStats(pl)
		x := make([]float64, pl.SrcLen())
		for i := range x {
			x[i] = math.Sin(float64(i)) + 2
		}
		if err := Accumulate(pl, st, x); err != nil {
			t.Fatal(err)
		}
		ref := make([]float64, st.RefLen())
		for i := range ref {
			ref[i] = 1.5
		}
		good := make([]float64, st.SumsLen())
		if err := st.Sums(good, ref); err != nil {
			t.Fatal(err)
		}
		F := pl.Features()
		diag0 := 1 + F // first M2 diagonal
		rest := len(good) - 3
		type mod struct {
			name string
			edit func(v []float64)
			want error
		}
		mods := []mod{
			{"count 0.5", func(v []float64) { v[0] = 0.5 }, deconv.ErrParam},
			{"count 1e-320", func(v []float64) { v[0] = 1e-320 }, deconv.ErrParam},
			{"count −3", func(v []float64) { v[0] = -3 }, deconv.ErrParam},
			{"count 6.5", func(v []float64) { v[0] = 6.5 }, deconv.ErrParam},
			{"count NaN", func(v []float64) { v[0] = math.NaN() }, deconv.ErrNonFinite},
			{"count +Inf", func(v []float64) { v[0] = math.Inf(1) }, deconv.ErrNonFinite},
			{"sum NaN", func(v []float64) { v[2] = math.NaN() }, deconv.ErrNonFinite},
			{"M2 −Inf", func(v []float64) { v[diag0+3] = math.Inf(-1) }, deconv.ErrNonFinite},
			{"count 0, sums non-zero", func(v []float64) { v[0] = 0 }, deconv.ErrParam},
			{"negative variance", func(v []float64) { v[diag0] = -1 }, deconv.ErrParam},
			{"variance below n·d²", func(v []float64) { v[1] = 1e3 }, deconv.ErrParam},
		}
		if channel {
			mods = append(mods,
				mod{"rest count 0.5", func(v []float64) { v[rest] = 0.5 }, deconv.ErrParam},
				mod{"rest negative variance", func(v []float64) { v[rest+2] = -1 }, deconv.ErrParam},
				mod{"rest count 0, sums non-zero", func(v []float64) { v[rest] = 0 }, deconv.ErrParam})
		}
		for _, m := range mods {
			bad := slices.Clone(good)
			m.edit(bad)
			before := make([]float64, st.SumsLen())
			_ = st.Sums(before, ref)
			if err := st.SetSums(ref, bad); !errors.Is(err, m.want) {
				t.Errorf("channel=%v %s: %v, want %v", channel, m.name, err, m.want)
			}
			after := make([]float64, st.SumsLen())
			_ = st.Sums(after, ref)
			if !slices.Equal(before, after) {
				t.Errorf("channel=%v %s: a failed SetSums changed the statistics", channel, m.name)
			}
		}
		if err := st.SetSums([]float64{math.NaN()}, good); err == nil {
			t.Error("a reference point of the wrong length and NaN accepted")
		}
		badRef := slices.Clone(ref)
		badRef[0] = math.Inf(1)
		if err := st.SetSums(badRef, good); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("infinite reference: %v", err)
		}
		// All zero (an empty replica's contribution) is valid and empty.
		if err := st.SetSums(ref, make([]float64, st.SumsLen())); err != nil {
			t.Errorf("all-zero sums: %v", err)
		}
		if st.Count() != 0 {
			t.Error("all-zero sums: count not 0")
		}
		// A variance that rounding left just below zero is taken as 0.
		tiny := slices.Clone(good)
		d := tiny[1] / tiny[0]
		tiny[diag0] = tiny[0] * d * d * (1 - 1e-14)
		if err := st.SetSums(ref, tiny); err != nil {
			t.Fatalf("channel=%v: rounding-level negative variance: %v", channel, err)
		}
		mean, cv := make([]float64, pl.MeanLen()), make([]float64, pl.CovLen())
		if err := Finalize(st, mean, cv); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < F; i++ {
			if !(cv[i*F+i] >= 1e-3) {
				t.Fatalf("channel=%v: variance %d is %g", channel, i, cv[i*F+i])
			}
		}
		if _, v, ok := st.Rest(); channel && (!ok || v < 0) {
			t.Fatalf("rest variance %g, %v", v, ok)
		}
		// Finalize in float32 of sums too large for it is ErrNonFinite.
		huge := slices.Clone(good)
		for i := range huge[1:] {
			huge[1+i] *= 1e300
		}
		huge[0] = 1
		for i := 0; i < F; i++ {
			huge[1+i] = 1e30
			huge[diag0+i*(F+1)] = 1e300
		}
		if err := st.SetSums(nil, huge); err != nil {
			t.Fatalf("huge sums: %v", err)
		}
		m32, c32 := make([]float32, pl.MeanLen()), make([]float32, pl.CovLen())
		if err := Finalize(st, m32, c32); !errors.Is(err, deconv.ErrNonFinite) {
			t.Errorf("channel=%v: float32 Finalize of 1e300: %v, want ErrNonFinite", channel, err)
		}
	}
}

// TestMergeMismatch: merging statistics of another shape is ErrShape and
// leaves both unchanged.
func TestMergeMismatch(t *testing.T) {
	a, b := NewStats(smallPlan(t, 1)), NewStats(mustLinear(t))
	x := make([]float64, smallPlan(t, 1).SrcLen())
	for i := range x {
		x[i] = float64(i % 7)
	}
	if err := Accumulate(smallPlan(t, 1), a, x); err != nil {
		t.Fatal(err)
	}
	if err := Accumulate(mustLinear(t), b, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); err != nil {
		t.Fatal(err)
	}
	sa, sb := make([]float64, a.SumsLen()), make([]float64, b.SumsLen())
	_, _ = a.Sums(sa, nil), b.Sums(sb, nil)
	for _, err := range []error{a.Merge(b), b.Merge(a), a.Merge(nil)} {
		if !errors.Is(err, deconv.ErrShape) {
			t.Errorf("Merge of mismatched shapes: %v", err)
		}
	}
	ta, tb := make([]float64, a.SumsLen()), make([]float64, b.SumsLen())
	_, _ = a.Sums(ta, nil), b.Sums(tb, nil)
	if !slices.Equal(sa, ta) || !slices.Equal(sb, tb) {
		t.Error("a failed Merge changed the statistics")
	}
}

func mustLinear(t *testing.T) *Plan {
	pl, err := NewLinearPlan(LinearParams{Batch: 2, Features: 6, Block: 3})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// TestWorkersObeyed counts the workers that enter a batch: Workers = 1
// and 2 are obeyed, 0 follows deconv.SetThreads, and a negative count is
// refused by every constructor.
func TestWorkersObeyed(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	var workers atomic.Int64
	testHookWorker = func() { workers.Add(1) }
	defer func() { testHookWorker = nil }()
	check := func(w, want int) {
		t.Helper()
		pl := smallPlan(t, w)
		x := make([]float32, pl.SrcLen())
		for i := range x {
			x[i] = float32(i % 9)
		}
		workers.Store(0)
		if err := Compute(pl, make([]float32, pl.MeanLen()), make([]float32, pl.CovLen()), x); err != nil {
			t.Fatal(err)
		}
		if got := workers.Load(); got != int64(want) {
			t.Errorf("Workers %d: %d workers ran, want %d", w, got, want)
		}
	}
	check(1, 1)
	check(2, 2)
	if err := deconv.SetThreads(1); err != nil {
		t.Fatal(err)
	}
	check(0, 1)
	_ = deconv.SetThreads(2)
	check(0, 2)
	_ = deconv.SetThreads(0)
	if _, err := NewPlan(Params{Batch: 1, Channels: 1, Height: 3, Width: 3, Workers: -1, Geometry: deconv.Square(1, 1, 0, 1)}); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("NewPlan, Workers −1: %v", err)
	}
	if _, err := NewLinearPlan(LinearParams{Batch: 1, Features: 3, Workers: -2}); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("NewLinearPlan, Workers −2: %v", err)
	}
	if _, err := NewChannelPlan(ChannelParams{Batch: 1, Channels: 3, Height: 1, Width: 1, Block: 1, Workers: -3}); !errors.Is(err, deconv.ErrParam) {
		t.Errorf("NewChannelPlan, Workers −3: %v", err)
	}
}
