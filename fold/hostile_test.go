package fold

import (
	"errors"
	"math"
	"runtime"
	"testing"
	"unsafe"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/isqrt"
)

// allocated returns the bytes f allocated (TotalAlloc delta).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestMaxFeaturesIsTheIsqrtLimit keeps MaxFeatures equal to the largest
// matrix the isqrt package accepts.
func TestMaxFeaturesIsTheIsqrtLimit(t *testing.T) {
	if _, err := isqrt.NewPlan[float32](MaxFeatures, isqrt.Options{}); err != nil {
		t.Errorf("isqrt rejects MaxFeatures = %d: %v", MaxFeatures, err)
	}
	if _, err := isqrt.NewPlan[float32](MaxFeatures+1, isqrt.Options{}); err == nil {
		t.Errorf("isqrt accepts MaxFeatures+1; raise MaxFeatures to its limit")
	}
}

// TestHostileConfigs: configurations whose buffers cannot exist, or whose
// parameters are out of range, are refused with the right sentinel before
// anything sizeable is allocated (the old code panicked, ran out of
// memory, or accepted them).
func TestHostileConfigs(t *testing.T) {
	fd := func(mod func(*FastDeconvConfig)) FastDeconvConfig {
		c := NewFastDeconvConfig(4, 2, 3)
		mod(&c)
		return c
	}
	dl := func(mod func(*DelinearConfig)) DelinearConfig {
		c := NewDelinearConfig(8, 2)
		mod(&c)
		return c
	}
	cd := func(mod func(*ChannelDeconvConfig)) ChannelDeconvConfig {
		c := NewChannelDeconvConfig(3)
		mod(&c)
		return c
	}
	// Weights of the right length, allocated outside the measurement, so
	// that only the constructors' own allocations count.
	w64k := make([]float32, 64*64*64)       // NewFastDeconvConfig(64, 1, 64): F = 64·64·64
	wRect := make([]float32, 2*1*1*(1<<16)) // 1×65536 kernel over one channel
	w4 := make([]float32, 2*4*9)
	b2 := make([]float32, 2)
	w8 := make([]float32, 16)
	nan, inf := math.NaN(), math.Inf(1)
	type tc struct {
		name string
		call func() error
		want error
	}
	fdErr := func(cfg FastDeconvConfig, w, b []float32) func() error {
		return func() error { _, err := NewFastDeconv(cfg, w, b); return err }
	}
	dlErr := func(cfg DelinearConfig, w, b []float32) func() error {
		return func() error { _, err := NewDelinear(cfg, w, b); return err }
	}
	cdErr := func(cfg ChannelDeconvConfig) func() error {
		return func() error { _, err := NewChannelDeconv[float32](cfg); return err }
	}
	cases := []tc{
		{"FastDeconv F = 64·64·64 > MaxFeatures", fdErr(NewFastDeconvConfig(64, 1, 64), w64k, make([]float32, 1)), deconv.ErrOverflow},
		{"FastDeconv rectangular 1×65536 kernel", fdErr(fd(func(c *FastDeconvConfig) {
			c.InChannels, c.KernelH, c.KernelW = 1, 1, 1<<16
		}), wRect, b2), deconv.ErrOverflow},
		{"FastDeconv weight size overflows", fdErr(fd(func(c *FastDeconvConfig) {
			c.InChannels, c.OutChannels, c.KernelH, c.KernelW = 1<<30, 1<<30, 1<<10, 1<<10
		}), nil, b2), deconv.ErrOverflow},
		{"FastDeconv kernel·block overflows", fdErr(fd(func(c *FastDeconvConfig) {
			c.InChannels, c.OutChannels, c.KernelH, c.KernelW, c.Block = 1<<20, 1, 1<<21, 1<<21, 1<<20
		}), nil, b2), deconv.ErrOverflow},
		{"FastDeconv stride·sampling overflows", fdErr(fd(func(c *FastDeconvConfig) { c.StrideH = math.MaxInt / 2 }), w4, b2), deconv.ErrOverflow},
		{"FastDeconv 10·freeze_iter overflows", fdErr(fd(func(c *FastDeconvConfig) { c.FreezeIter = math.MaxInt / 5 }), w4, b2), deconv.ErrOverflow},
		{"FastDeconv negative Workers", fdErr(fd(func(c *FastDeconvConfig) { c.Workers = -1 }), w4, b2), deconv.ErrParam},
		{"FastDeconv unknown Grouping", fdErr(fd(func(c *FastDeconvConfig) { c.Grouping = 7 }), w4, b2), deconv.ErrParam},
		{"FastDeconv NaN eps", fdErr(fd(func(c *FastDeconvConfig) { c.Eps = nan }), w4, b2), deconv.ErrParam},
		{"FastDeconv Inf eps", fdErr(fd(func(c *FastDeconvConfig) { c.Eps = inf }), w4, b2), deconv.ErrParam},
		{"FastDeconv negative eps", fdErr(fd(func(c *FastDeconvConfig) { c.Eps = -1e-5 }), w4, b2), deconv.ErrParam},
		{"FastDeconv NaN momentum", fdErr(fd(func(c *FastDeconvConfig) { c.Momentum = nan }), w4, b2), deconv.ErrParam},
		{"FastDeconv Inf momentum", fdErr(fd(func(c *FastDeconvConfig) { c.Momentum = inf }), w4, b2), deconv.ErrParam},
		{"FastDeconv zero iterations", fdErr(fd(func(c *FastDeconvConfig) { c.NIter = 0 }), w4, b2), deconv.ErrParam},
		{"FastDeconv zero sampling", fdErr(fd(func(c *FastDeconvConfig) { c.SamplingStride = 0 }), w4, b2), deconv.ErrParam},
		{"FastDeconv negative block", fdErr(fd(func(c *FastDeconvConfig) { c.Block = -1 }), w4, b2), deconv.ErrParam},
		{"FastDeconv negative freeze_iter", fdErr(fd(func(c *FastDeconvConfig) { c.FreezeIter = -1 }), w4, b2), deconv.ErrParam},
		{"FastDeconv freeze after 0", fdErr(fd(func(c *FastDeconvConfig) { c.Freeze, c.FreezeIter = true, 0 }), w4, b2), deconv.ErrParam},
		{"FastDeconv negative stride", fdErr(fd(func(c *FastDeconvConfig) { c.StrideW = -2 }), w4, b2), deconv.ErrParam},
		{"FastDeconv zero kernel", fdErr(fd(func(c *FastDeconvConfig) { c.KernelW = 0 }), w4, b2), deconv.ErrShape},
		{"FastDeconv bias mismatch", fdErr(fd(func(*FastDeconvConfig) {}), w4, nil), deconv.ErrParam},
		{"FastDeconv short weight", fdErr(fd(func(*FastDeconvConfig) {}), w4[:5], b2), deconv.ErrShape},

		{"Delinear block above MaxFeatures", dlErr(dl(func(c *DelinearConfig) { c.InFeatures, c.OutFeatures, c.Block = 1<<20, 1, 1<<20 }), nil, make([]float32, 1)), deconv.ErrOverflow},
		{"Delinear weight size overflows", dlErr(NewDelinearConfig(1<<40, 1<<40), nil, b2), deconv.ErrOverflow},
		{"Delinear negative Workers", dlErr(dl(func(c *DelinearConfig) { c.Workers = -3 }), w8, b2), deconv.ErrParam},
		{"Delinear NaN eps", dlErr(dl(func(c *DelinearConfig) { c.Eps = nan }), w8, b2), deconv.ErrParam},
		{"Delinear NaN momentum", dlErr(dl(func(c *DelinearConfig) { c.Momentum = nan }), w8, b2), deconv.ErrParam},
		{"Delinear momentum above 1", dlErr(dl(func(c *DelinearConfig) { c.Momentum = 1.5 }), w8, b2), deconv.ErrParam},
		{"Delinear negative block", dlErr(dl(func(c *DelinearConfig) { c.Block = -1 }), w8, b2), deconv.ErrParam},
		{"Delinear zero features", dlErr(dl(func(c *DelinearConfig) { c.InFeatures = 0 }), w8, b2), deconv.ErrParam},

		{"ChannelDeconv block 2³²", cdErr(NewChannelDeconvConfig(1 << 32)), deconv.ErrOverflow},
		{"ChannelDeconv block MaxFeatures+1", cdErr(NewChannelDeconvConfig(MaxFeatures + 1)), deconv.ErrOverflow},
		{"ChannelDeconv zero block", cdErr(NewChannelDeconvConfig(0)), deconv.ErrParam},
		{"ChannelDeconv negative Workers", cdErr(cd(func(c *ChannelDeconvConfig) { c.Workers = -1 })), deconv.ErrParam},
		{"ChannelDeconv Inf eps", cdErr(cd(func(c *ChannelDeconvConfig) { c.Eps = inf })), deconv.ErrParam},
		{"ChannelDeconv NaN momentum", cdErr(cd(func(c *ChannelDeconvConfig) { c.Momentum = nan })), deconv.ErrParam},
		{"ChannelDeconv zero sampling", cdErr(cd(func(c *ChannelDeconvConfig) { c.SamplingStride = 0 })), deconv.ErrParam},

		{"Conv2d weight size overflows", func() error {
			_, err := NewConv2d[float32](ConvGeom{InChannels: 1 << 40, OutChannels: 1 << 40, Geometry: deconv.Square(3, 1, 0, 1)}, nil, nil)
			return err
		}, deconv.ErrOverflow},
		{"Conv2d negative groups", func() error {
			_, err := NewConv2d[float32](ConvGeom{InChannels: 4, OutChannels: 2, Groups: -2, Geometry: deconv.Square(3, 1, 0, 1)}, w4, nil)
			return err
		}, deconv.ErrParam},
		{"Conv2d negative dilation", func() error {
			_, err := NewConv2d[float32](ConvGeom{InChannels: 4, OutChannels: 2, Geometry: deconv.Geometry{KernelH: 3, KernelW: 3, DilationW: -1}}, w4, nil)
			return err
		}, deconv.ErrParam},
		{"Conv2d short weight", func() error {
			_, err := NewConv2d[float32](ConvGeom{InChannels: 4, OutChannels: 2, Geometry: deconv.Square(3, 1, 0, 1)}, w4[:70], nil)
			return err
		}, deconv.ErrShape},
		{"Linear weight size overflows", func() error { _, err := NewLinear[float32](1<<40, 1<<40, nil, nil); return err }, deconv.ErrOverflow},
		{"Linear zero features", func() error { _, err := NewLinear[float32](0, 3, nil, nil); return err }, deconv.ErrParam},

		{"Fold unknown grouping", func() error {
			return Fold(w8, nil, w8, nil, 2, Blocking{Features: 8, Block: 4, Grouping: 5}, make([]float32, 16), make([]float32, 4))
		}, deconv.ErrParam},
		{"Fold zero block", func() error {
			return Fold(w8, nil, w8, nil, 2, Blocking{Features: 8, Block: 0}, make([]float32, 16), make([]float32, 4))
		}, deconv.ErrParam},
		{"Fold rows·features overflow", func() error {
			return Fold(w8, nil, w8, nil, 1<<40, Blocking{Features: 1 << 40, Block: 1 << 40}, make([]float32, 16), make([]float32, 4))
		}, deconv.ErrOverflow},
		{"Restore rows·features overflow", func() error {
			return Restore(w8, nil, w8, nil, 1<<40, Blocking{Features: 1 << 40, Block: 1 << 40}, make([]float32, 16), make([]float32, 4))
		}, deconv.ErrOverflow},
	}
	if !raceEnabled {
		// F·F wraps to 0 for F = 2³²: the old code divided by it. The
		// weights must have rows·F values to get there; a slice header
		// of that length over a small array is enough, since nothing is
		// read before the sizes are checked. (checkptr, on under the
		// race detector, rejects such a header.)
		var small [16]float32
		huge := unsafe.Slice(&small[0], 1<<32)
		cases = append(cases,
			tc{"Fold F·F wraps to 0", func() error {
				return Fold(huge, nil, huge, nil, 1, Blocking{Features: 1 << 32, Block: 1 << 32}, make([]float32, 16), make([]float32, 4))
			}, deconv.ErrOverflow},
			tc{"Restore F·F wraps to 0", func() error {
				return Restore(huge, nil, huge, nil, 1, Blocking{Features: 1 << 32, Block: 1 << 32}, make([]float32, 16), make([]float32, 4))
			}, deconv.ErrOverflow})
	}
	for _, c := range cases {
		var err error
		bytes := allocated(func() { err = c.call() })
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if bytes > 1<<20 {
			t.Errorf("%s: allocated %d bytes before failing", c.name, bytes)
		}
	}
}
