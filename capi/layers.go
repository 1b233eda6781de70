package main

// The calls into package fold: folding, the folded convolution and linear
// layers, and the layers FastDeconv, Delinear and ChannelDeconv. Nothing
// else in this package imports it.

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/fold"
)

// errDtype is the error of a _f32 call on a float64 handle, or the reverse.
func errDtype[T elem](what string) error {
	var z T
	if _, f32 := any(z).(float32); f32 {
		return fmt.Errorf("%w: %s holds float64 values, called through an _f32 function", deconv.ErrParam, what)
	}
	return fmt.Errorf("%w: %s holds float32 values, called through an _f64 function", deconv.ErrParam, what)
}

// layerOf returns the layer of element type T, or the mismatch error.
func layerOf[L any](v any, what string, mismatch func(string) error) (L, error) {
	l, ok := v.(L)
	if !ok {
		var z L
		return z, mismatch(what)
	}
	return l, nil
}

// Folding over flat buffers.

type blockingParams struct{ Features, Block, Grouping int }

func (p blockingParams) blocking() (fold.Blocking, error) {
	if err := enumArg("grouping", p.Grouping, int(deconv.Contiguous)); err != nil {
		return fold.Blocking{}, err
	}
	return fold.Blocking{Features: p.Features, Block: p.Block, Grouping: deconv.Grouping(p.Grouping)}, nil
}

func foldRun[T elem](wOut, biasOut, w, bias []T, rows int, bp blockingParams, d, mean []T) error {
	bl, err := bp.blocking()
	if err != nil {
		return err
	}
	if overlap(wOut, biasOut) {
		return errOverlap("w_out", "bias_out")
	}
	return fold.Fold(wOut, biasOut, w, bias, rows, bl, d, mean)
}

func restoreRun[T elem](w, bias, wFolded, biasFolded []T, rows int, bp blockingParams, d, mean []T) error {
	bl, err := bp.blocking()
	if err != nil {
		return err
	}
	if overlap(w, bias) {
		return errOverlap("w", "bias")
	}
	return fold.Restore(w, bias, wFolded, biasFolded, rows, bl, d, mean)
}

// The folded layers: immutable, so no busy flag.

type convHandle struct {
	geom fold.ConvGeom
	c    any // *fold.Conv2d[float32] or [float64]
}

type linearHandle struct {
	in, out int
	l       any // *fold.Linear[float32] or [float64]
}

type convParams struct {
	InChannels, OutChannels int
	Geometry                deconv.Geometry
	Groups, Workers         int
}

func newConv[T elem](p convParams, weight, bias []T) (*convHandle, error) {
	if p.Workers < 0 {
		return nil, fmt.Errorf("%w: %d workers", deconv.ErrParam, p.Workers)
	}
	g := fold.ConvGeom{InChannels: p.InChannels, OutChannels: p.OutChannels, Geometry: p.Geometry, Groups: p.Groups}
	if len(bias) == 0 {
		bias = nil // no bias
	}
	c, err := fold.NewConv2d(g, weight, bias)
	if err != nil {
		return nil, err
	}
	c.Workers = p.Workers
	return &convHandle{geom: c.Geom(), c: c}, nil
}

func convForward[T elem](h *convHandle, dst, x []T, n, hh, w int) error {
	c, err := layerOf[*fold.Conv2d[T]](h.c, "conv2d", errDtype[T])
	if err != nil {
		return err
	}
	return c.Forward(dst, x, n, hh, w)
}

func convOutputSize(h *convHandle, hh, w int) (int, int, error) { return h.geom.OutputSize(hh, w) }

// convBuffer returns a copy of the named buffer of a folded convolution or
// linear layer ("weight" or "bias"; a layer without bias has a bias of 0
// values).
func foldedBuffer[T elem](weight, bias func() []T, name string) ([]T, error) {
	switch name {
	case "weight":
		return weight(), nil
	case "bias":
		return bias(), nil
	}
	return nil, errName(name)
}

func errName(name string) error { return fmt.Errorf("%w: no buffer named %q", deconv.ErrParam, name) }

func convGet[T elem](h *convHandle, name string, buf []T) error {
	c, err := layerOf[*fold.Conv2d[T]](h.c, "conv2d", errDtype[T])
	if err != nil {
		return err
	}
	v, err := foldedBuffer(c.Weight, c.Bias, name)
	if err != nil {
		return err
	}
	return copyOut(name, buf, v)
}

func convLen(h *convHandle, name string) (int, error) {
	switch name {
	case "weight":
		return h.geom.WeightLen(), nil
	case "bias":
		switch c := h.c.(type) {
		case *fold.Conv2d[float32]:
			return len(c.Bias()), nil
		case *fold.Conv2d[float64]:
			return len(c.Bias()), nil
		}
	}
	return 0, errName(name)
}

// copyOut copies v into buf after checking its length.
func copyOut[T elem](name string, buf, v []T) error {
	if len(buf) != len(v) {
		return fmt.Errorf("%w: %s has %d values, the buffer %d", deconv.ErrShape, name, len(v), len(buf))
	}
	copy(buf, v)
	return nil
}

type linearParams struct{ InFeatures, OutFeatures, Workers int }

func newLinear[T elem](p linearParams, weight, bias []T) (*linearHandle, error) {
	if p.Workers < 0 {
		return nil, fmt.Errorf("%w: %d workers", deconv.ErrParam, p.Workers)
	}
	if len(bias) == 0 {
		bias = nil
	}
	l, err := fold.NewLinear(p.InFeatures, p.OutFeatures, weight, bias)
	if err != nil {
		return nil, err
	}
	l.Workers = p.Workers
	return &linearHandle{in: p.InFeatures, out: p.OutFeatures, l: l}, nil
}

func linearForward[T elem](h *linearHandle, dst, x []T, batch int) error {
	l, err := layerOf[*fold.Linear[T]](h.l, "linear", errDtype[T])
	if err != nil {
		return err
	}
	return l.Forward(dst, x, batch)
}

func linearGet[T elem](h *linearHandle, name string, buf []T) error {
	l, err := layerOf[*fold.Linear[T]](h.l, "linear", errDtype[T])
	if err != nil {
		return err
	}
	v, err := foldedBuffer(l.Weight, l.Bias, name)
	if err != nil {
		return err
	}
	return copyOut(name, buf, v)
}

func linearLen(h *linearHandle, name string) (int, error) {
	switch name {
	case "weight":
		return h.in * h.out, nil
	case "bias":
		switch l := h.l.(type) {
		case *fold.Linear[float32]:
			return len(l.Bias()), nil
		case *fold.Linear[float64]:
			return len(l.Bias()), nil
		}
	}
	return 0, errName(name)
}

// The layers. Each handle has a busy flag that every call claims, so that
// the accessors, which the Go layers leave unguarded, are covered too.

// layerHandle is the Go value behind a deconv_fastdeconv, deconv_delinear
// or deconv_channeldeconv: the layer (*fold.FastDeconv[T], ...) and its
// flag.
type layerHandle struct {
	busy
	what string
	l    any
}

// claim acquires the handle and returns its layer as L, or an error.
func claim[L any, T elem](h *layerHandle) (L, error) {
	var z L
	if err := h.acquire(h.what); err != nil {
		return z, err
	}
	l, err := layerOf[L](h.l, h.what, errDtype[T])
	if err != nil {
		h.release()
		return z, err
	}
	return l, nil
}

type fastDeconvParams struct {
	InChannels, OutChannels int
	Geometry                deconv.Geometry
	Groups                  int
	Bias                    bool
	Eps                     float64
	NIter                   int
	Momentum                float64
	Block, SamplingStride   int
	Freeze                  bool
	FreezeIter, Grouping    int
	Workers                 int
}

func newFastDeconv[T elem](p fastDeconvParams, weight, bias []T) (*layerHandle, error) {
	if err := enumArg("grouping", p.Grouping, int(deconv.Contiguous)); err != nil {
		return nil, err
	}
	if !p.Bias && len(bias) > 0 {
		return nil, fmt.Errorf("%w: the config has no bias but a bias of %d values was given", deconv.ErrParam, len(bias))
	}
	if p.Bias && bias == nil {
		bias = []T{} // a missing bias is a length error, not "no bias"
	}
	if !p.Bias && len(bias) == 0 {
		bias = nil
	}
	l, err := fold.NewFastDeconv(fold.FastDeconvConfig{
		InChannels: p.InChannels, OutChannels: p.OutChannels, Geometry: p.Geometry, Groups: p.Groups, Bias: p.Bias,
		Eps: p.Eps, NIter: p.NIter, Momentum: p.Momentum, Block: p.Block, SamplingStride: p.SamplingStride,
		Freeze: p.Freeze, FreezeIter: p.FreezeIter, Grouping: deconv.Grouping(p.Grouping), Workers: p.Workers,
	}, weight, bias)
	if err != nil {
		return nil, err
	}
	return &layerHandle{what: "fastdeconv", l: l}, nil
}

// weighted is what FastDeconv and Delinear share: weights, bias and the
// two running buffers, under the reference's names.
type weighted[T elem] interface {
	Weight() []T
	Bias() []T
	RunningMean() []T
	RunningDeconv() []T
	SetWeights(weight, bias []T) error
	SetRunningStats(mean, deconv []T) error
}

// weightedBuf returns a copy of a named buffer.
func weightedBuf[T elem](l weighted[T], name string) ([]T, error) {
	switch name {
	case "weight":
		return l.Weight(), nil
	case "bias":
		return l.Bias(), nil
	case "running_mean":
		return l.RunningMean(), nil
	case "running_deconv":
		return l.RunningDeconv(), nil
	}
	return nil, errName(name)
}

// weightedSet replaces a named buffer; v must have its exact length.
func weightedSet[T elem](l weighted[T], name string, v []T) error {
	cur, err := weightedBuf(l, name)
	if err != nil {
		return err
	}
	if len(v) != len(cur) {
		return fmt.Errorf("%w: %s needs %d values, %d given", deconv.ErrShape, name, len(cur), len(v))
	}
	switch name {
	case "weight":
		return l.SetWeights(v, l.Bias())
	case "bias":
		if len(v) == 0 {
			return nil
		}
		return l.SetWeights(l.Weight(), v)
	case "running_mean":
		return l.SetRunningStats(v, l.RunningDeconv())
	default:
		return l.SetRunningStats(l.RunningMean(), v)
	}
}

type delinearParams struct {
	InFeatures, OutFeatures int
	Bias                    bool
	Eps                     float64
	NIter                   int
	Momentum                float64
	Block, Workers          int
}

func newDelinear[T elem](p delinearParams, weight, bias []T) (*layerHandle, error) {
	if !p.Bias && len(bias) > 0 {
		return nil, fmt.Errorf("%w: the config has no bias but a bias of %d values was given", deconv.ErrParam, len(bias))
	}
	if p.Bias && bias == nil {
		bias = []T{}
	}
	if !p.Bias && len(bias) == 0 {
		bias = nil
	}
	l, err := fold.NewDelinear(fold.DelinearConfig{InFeatures: p.InFeatures, OutFeatures: p.OutFeatures, Bias: p.Bias,
		Eps: p.Eps, NIter: p.NIter, Momentum: p.Momentum, Block: p.Block, Workers: p.Workers}, weight, bias)
	if err != nil {
		return nil, err
	}
	return &layerHandle{what: "delinear", l: l}, nil
}

type channelDeconvParams struct {
	Block          int
	Eps            float64
	NIter          int
	Momentum       float64
	SamplingStride int
	Uncentred      bool
	Workers        int
}

func newChannelDeconv[T elem](p channelDeconvParams) (*layerHandle, error) {
	l, err := fold.NewChannelDeconv[T](fold.ChannelDeconvConfig{Block: p.Block, Eps: p.Eps, NIter: p.NIter,
		Momentum: p.Momentum, SamplingStride: p.SamplingStride, Uncentred: p.Uncentred, Workers: p.Workers})
	if err != nil {
		return nil, err
	}
	return &layerHandle{what: "channeldeconv", l: l}, nil
}

func channelDeconvBuf[T elem](l *fold.ChannelDeconv[T], name string) ([]T, error) {
	m1, dm, m2, v := l.RunningStats()
	switch name {
	case "running_mean1":
		return m1, nil
	case "running_deconv":
		return dm, nil
	case "running_mean2":
		return []T{m2}, nil
	case "running_var":
		return []T{v}, nil
	}
	return nil, errName(name)
}

func channelDeconvSet[T elem](l *fold.ChannelDeconv[T], name string, v []T) error {
	cur, err := channelDeconvBuf(l, name)
	if err != nil {
		return err
	}
	if len(v) != len(cur) {
		return fmt.Errorf("%w: %s needs %d values, %d given", deconv.ErrShape, name, len(cur), len(v))
	}
	m1, dm, m2, vr := l.RunningStats()
	switch name {
	case "running_mean1":
		m1 = v
	case "running_deconv":
		dm = v
	case "running_mean2":
		m2 = v[0]
	default:
		vr = v[0]
	}
	return l.SetRunningStats(m1, dm, m2, vr)
}

// The generic entry points of the three layers, by name.

func layerBuf[T elem](h *layerHandle, name string) ([]T, error) {
	switch l := h.l.(type) {
	case weighted[T]: // FastDeconv, Delinear
		return weightedBuf(l, name)
	case *fold.ChannelDeconv[T]:
		return channelDeconvBuf(l, name)
	}
	return nil, errDtype[T](h.what)
}

func layerGet[T elem](h *layerHandle, name string, buf []T) error {
	if err := h.acquire(h.what); err != nil {
		return err
	}
	defer h.release()
	v, err := layerBuf[T](h, name)
	if err != nil {
		return err
	}
	return copyOut(name, buf, v)
}

func layerSet[T elem](h *layerHandle, name string, v []T) error {
	if err := h.acquire(h.what); err != nil {
		return err
	}
	defer h.release()
	switch l := h.l.(type) {
	case weighted[T]: // FastDeconv, Delinear
		return weightedSet(l, name, v)
	case *fold.ChannelDeconv[T]:
		return channelDeconvSet(l, name, v)
	}
	return errDtype[T](h.what)
}

// layerLen is the length of a named buffer, whatever the element type.
func layerLen(h *layerHandle, name string) (int, error) {
	if err := h.acquire(h.what); err != nil {
		return 0, err
	}
	defer h.release()
	if h.isF32() {
		v, err := layerBuf[float32](h, name)
		return len(v), err
	}
	v, err := layerBuf[float64](h, name)
	return len(v), err
}

func (h *layerHandle) isF32() bool {
	switch h.l.(type) {
	case *fold.FastDeconv[float32], *fold.Delinear[float32], *fold.ChannelDeconv[float32]:
		return true
	}
	return false
}

// Integer properties: "training" (all), "counter" and "block",
// "num_features" (FastDeconv), "block" (Delinear, ChannelDeconv),
// "num_batches_tracked" (ChannelDeconv). Settable: "training", "counter",
// "num_batches_tracked".
type intProps interface {
	Training() bool
	Train(bool) error
}

func layerGetInt(h *layerHandle, name string) (int64, error) {
	if err := h.acquire(h.what); err != nil {
		return 0, err
	}
	defer h.release()
	if name == "training" {
		if l, ok := h.l.(intProps); ok {
			return b2i(l.Training()), nil
		}
	}
	switch l := h.l.(type) {
	case *fold.FastDeconv[float32]:
		return fastDeconvInt(l, name)
	case *fold.FastDeconv[float64]:
		return fastDeconvInt(l, name)
	case *fold.Delinear[float32]:
		return delinearInt(l, name)
	case *fold.Delinear[float64]:
		return delinearInt(l, name)
	case *fold.ChannelDeconv[float32]:
		return channelDeconvInt(l, name)
	case *fold.ChannelDeconv[float64]:
		return channelDeconvInt(l, name)
	}
	return 0, errIntName(name)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func errIntName(name string) error {
	return fmt.Errorf("%w: no integer property named %q", deconv.ErrParam, name)
}

func fastDeconvInt[T elem](l *fold.FastDeconv[T], name string) (int64, error) {
	switch name {
	case "counter":
		return int64(l.Counter()), nil
	case "block":
		return int64(l.Block()), nil
	case "num_features":
		return int64(l.NumFeatures()), nil
	}
	return 0, errIntName(name)
}

func delinearInt[T elem](l *fold.Delinear[T], name string) (int64, error) {
	if name == "block" {
		return int64(l.Config().Block), nil
	}
	return 0, errIntName(name)
}

func channelDeconvInt[T elem](l *fold.ChannelDeconv[T], name string) (int64, error) {
	switch name {
	case "num_batches_tracked":
		return int64(l.NumBatchesTracked()), nil
	case "block":
		return int64(l.Config().Block), nil
	}
	return 0, errIntName(name)
}

func layerSetInt(h *layerHandle, name string, v int64) error {
	if err := h.acquire(h.what); err != nil {
		return err
	}
	defer h.release()
	if name == "training" {
		if v != 0 && v != 1 {
			return fmt.Errorf("%w: training %d, 0 or 1 expected", deconv.ErrParam, v)
		}
		if l, ok := h.l.(intProps); ok {
			return l.Train(v == 1)
		}
	}
	n, err := intArg(name, uint64(v))
	if v < 0 {
		return fmt.Errorf("%w: %s %d", deconv.ErrParam, name, v)
	}
	if err != nil {
		return err
	}
	type counter interface{ SetCounter(int) error }
	type tracked interface{ SetNumBatchesTracked(int) error }
	switch l := h.l.(type) {
	case counter:
		if name == "counter" {
			return l.SetCounter(n)
		}
	case tracked:
		if name == "num_batches_tracked" {
			return l.SetNumBatchesTracked(n)
		}
	}
	return fmt.Errorf("%w: no settable integer property named %q", deconv.ErrParam, name)
}

func fastDeconvForward[T elem](h *layerHandle, dst, x []T, n, hh, w int) error {
	l, err := claim[*fold.FastDeconv[T], T](h)
	if err != nil {
		return err
	}
	defer h.release()
	return l.Forward(dst, x, n, hh, w)
}

func fastDeconvOutputSize(h *layerHandle, hh, w int) (int, int, error) {
	if err := h.acquire(h.what); err != nil {
		return 0, 0, err
	}
	defer h.release()
	switch l := h.l.(type) {
	case *fold.FastDeconv[float32]:
		return l.OutputSize(hh, w)
	case *fold.FastDeconv[float64]:
		return l.OutputSize(hh, w)
	}
	return 0, 0, fmt.Errorf("%w: not a fastdeconv", deconv.ErrParam)
}

func fastDeconvFolded(h *layerHandle) (*convHandle, error) {
	if err := h.acquire(h.what); err != nil {
		return nil, err
	}
	defer h.release()
	switch l := h.l.(type) {
	case *fold.FastDeconv[float32]:
		c, err := l.Folded()
		if err != nil {
			return nil, err
		}
		return &convHandle{geom: c.Geom(), c: c}, nil
	case *fold.FastDeconv[float64]:
		c, err := l.Folded()
		if err != nil {
			return nil, err
		}
		return &convHandle{geom: c.Geom(), c: c}, nil
	}
	return nil, fmt.Errorf("%w: not a fastdeconv", deconv.ErrParam)
}

func delinearForward[T elem](h *layerHandle, dst, x []T, batch int) error {
	l, err := claim[*fold.Delinear[T], T](h)
	if err != nil {
		return err
	}
	defer h.release()
	return l.Forward(dst, x, batch)
}

func delinearFolded(h *layerHandle) (*linearHandle, error) {
	if err := h.acquire(h.what); err != nil {
		return nil, err
	}
	defer h.release()
	switch l := h.l.(type) {
	case *fold.Delinear[float32]:
		f, err := l.Folded()
		if err != nil {
			return nil, err
		}
		return &linearHandle{in: l.Config().InFeatures, out: l.Config().OutFeatures, l: f}, nil
	case *fold.Delinear[float64]:
		f, err := l.Folded()
		if err != nil {
			return nil, err
		}
		return &linearHandle{in: l.Config().InFeatures, out: l.Config().OutFeatures, l: f}, nil
	}
	return nil, fmt.Errorf("%w: not a delinear", deconv.ErrParam)
}

func channelDeconvForward[T elem](h *layerHandle, dst, x []T, n, c, hh, w int) error {
	l, err := claim[*fold.ChannelDeconv[T], T](h)
	if err != nil {
		return err
	}
	defer h.release()
	return l.Forward(dst, x, n, c, hh, w)
}
