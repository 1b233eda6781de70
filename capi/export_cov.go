package main

/*
#include "internal.h"
*/
import "C"

import (
	"unsafe"
)

// The first versions' sizes of the parameter structs.
const (
	covParamsV1        = C.sizeof_deconv_cov_params
	covLinearParamsV1  = C.sizeof_deconv_cov_linear_params
	covChannelParamsV1 = C.sizeof_deconv_cov_channel_params
)

func covPlanOf(p *C.deconv__ccov_plan) (*covPlan, error) {
	return handleValue[*covPlan]((*C.deconv__handle)(unsafe.Pointer(p)), C.DECONV__MAGIC_COV_PLAN, "deconv_cov_plan")
}

func covStatsOf(p *C.deconv__ccov_stats, name string) (*covStats, error) {
	return handleValue[*covStats]((*C.deconv__handle)(unsafe.Pointer(p)), C.DECONV__MAGIC_COV_STATS, name)
}

//export deconv_cov_params_default
func deconv_cov_params_default(p *C.deconv_cov_params, batch, channels, height, width, kernel C.int) {
	defer quiet()
	if p == nil {
		return
	}
	*p = C.deconv_cov_params{struct_size: C.sizeof_deconv_cov_params, batch: batch, channels: channels,
		height: height, width: width, groups: 1, sampling: 3, block: 64,
		grouping: C.DECONV_GROUPING_INTERLEAVED, eps: 1e-5}
	squareGeometry(&p.geometry, kernel)
}

//export deconv_cov_linear_params_default
func deconv_cov_linear_params_default(p *C.deconv_cov_linear_params, batch, features C.int) {
	defer quiet()
	if p == nil {
		return
	}
	*p = C.deconv_cov_linear_params{struct_size: C.sizeof_deconv_cov_linear_params, batch: batch,
		features: features, block: 512, eps: 1e-5}
}

//export deconv_cov_channel_params_default
func deconv_cov_channel_params_default(p *C.deconv_cov_channel_params, batch, channels, height, width, block C.int) {
	defer quiet()
	if p == nil {
		return
	}
	*p = C.deconv_cov_channel_params{struct_size: C.sizeof_deconv_cov_channel_params, batch: batch,
		channels: channels, height: height, width: width, block: block, sampling: 3, eps: 1e-2}
}

// newCovHandle stores a plan (or the error that prevented it) in *out.
func newCovHandle(pl *covPlan, err error, out **C.deconv_cov_plan) error {
	if err != nil {
		return err
	}
	h, err := newHandle(C.DECONV__MAGIC_COV_PLAN, pl)
	if err != nil {
		return err
	}
	*out = (*C.deconv_cov_plan)(unsafe.Pointer(h))
	return nil
}

//export deconv_cov_plan_create
func deconv_cov_plan_create(params *C.deconv__ccov_params, out **C.deconv_cov_plan, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if params == nil || out == nil {
		return report(e, errNull(pick(params == nil, "params", "out")))
	}
	p := params
	if err := checkStructSize("deconv_cov_params", uint64(p.struct_size), covParamsV1, C.sizeof_deconv_cov_params,
		structTail(unsafe.Pointer(p), C.sizeof_deconv_cov_params)); err != nil {
		return report(e, err)
	}
	pl, err := newCovPlan(covParams{
		Batch: int(p.batch), Channels: int(p.channels), Height: int(p.height), Width: int(p.width),
		Geometry: goGeometry(&p.geometry), Groups: int(p.groups), Sampling: int(p.sampling), Block: int(p.block),
		Grouping: int(p.grouping), Eps: float64(p.eps), Workers: int(p.workers),
	})
	return report(e, newCovHandle(pl, err, out))
}

//export deconv_cov_plan_create_linear
func deconv_cov_plan_create_linear(params *C.deconv__ccov_linear_params, out **C.deconv_cov_plan, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if params == nil || out == nil {
		return report(e, errNull(pick(params == nil, "params", "out")))
	}
	p := params
	if err := checkStructSize("deconv_cov_linear_params", uint64(p.struct_size), covLinearParamsV1, C.sizeof_deconv_cov_linear_params,
		structTail(unsafe.Pointer(p), C.sizeof_deconv_cov_linear_params)); err != nil {
		return report(e, err)
	}
	pl, err := newCovLinearPlan(covLinearParams{Batch: int(p.batch), Features: int(p.features), Block: int(p.block),
		Eps: float64(p.eps), Workers: int(p.workers)})
	return report(e, newCovHandle(pl, err, out))
}

//export deconv_cov_plan_create_channel
func deconv_cov_plan_create_channel(params *C.deconv__ccov_channel_params, out **C.deconv_cov_plan, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if params == nil || out == nil {
		return report(e, errNull(pick(params == nil, "params", "out")))
	}
	p := params
	if err := checkStructSize("deconv_cov_channel_params", uint64(p.struct_size), covChannelParamsV1, C.sizeof_deconv_cov_channel_params,
		structTail(unsafe.Pointer(p), C.sizeof_deconv_cov_channel_params)); err != nil {
		return report(e, err)
	}
	pl, err := newCovChannelPlan(covChannelParams{
		Batch: int(p.batch), Channels: int(p.channels), Height: int(p.height), Width: int(p.width),
		Block: int(p.block), Sampling: int(p.sampling), Uncentred: p.uncentred != 0, Eps: float64(p.eps), Workers: int(p.workers),
	})
	return report(e, newCovHandle(pl, err, out))
}

//export deconv_cov_plan_free
func deconv_cov_plan_free(p *C.deconv_cov_plan) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(p)), C.DECONV__MAGIC_COV_PLAN)
}

func covSize(p *C.deconv__ccov_plan, i int) (n C.size_t) {
	defer quiet()
	pl, err := covPlanOf(p)
	if err != nil {
		return 0
	}
	return C.size_t(covSizes(pl)[i])
}

//export deconv_cov_plan_src_len
func deconv_cov_plan_src_len(p *C.deconv__ccov_plan) C.size_t { return covSize(p, 0) }

//export deconv_cov_plan_mean_len
func deconv_cov_plan_mean_len(p *C.deconv__ccov_plan) C.size_t { return covSize(p, 1) }

//export deconv_cov_plan_cov_len
func deconv_cov_plan_cov_len(p *C.deconv__ccov_plan) C.size_t { return covSize(p, 2) }

//export deconv_cov_plan_features
func deconv_cov_plan_features(p *C.deconv__ccov_plan) C.size_t { return covSize(p, 3) }

//export deconv_cov_plan_groups
func deconv_cov_plan_groups(p *C.deconv__ccov_plan) C.size_t { return covSize(p, 4) }

//export deconv_cov_plan_block
func deconv_cov_plan_block(p *C.deconv__ccov_plan) C.size_t { return covSize(p, 5) }

//export deconv_cov_plan_rows
func deconv_cov_plan_rows(p *C.deconv__ccov_plan) C.size_t { return covSize(p, 6) }

func covComputeCall[T elem](p *C.deconv__ccov_plan, mean unsafe.Pointer, meanLen C.size_t, c unsafe.Pointer, covLen C.size_t,
	x unsafe.Pointer, xLen C.size_t) error {
	pl, err := covPlanOf(p)
	if err != nil {
		return err
	}
	m, err := sliceAt[T](mean, uint64(meanLen), "mean")
	if err != nil {
		return err
	}
	cv, err := sliceAt[T](c, uint64(covLen), "cov")
	if err != nil {
		return err
	}
	xs, err := sliceAt[T](x, uint64(xLen), "x")
	if err != nil {
		return err
	}
	return covCompute(pl, m, cv, xs)
}

//export deconv_cov_compute_f32
func deconv_cov_compute_f32(p *C.deconv__ccov_plan, mean *C.float, meanLen C.size_t, c *C.float, covLen C.size_t,
	x *C.deconv__cfloat, xLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covComputeCall[float32](p, unsafe.Pointer(mean), meanLen, unsafe.Pointer(c), covLen, unsafe.Pointer(x), xLen))
}

//export deconv_cov_compute_f64
func deconv_cov_compute_f64(p *C.deconv__ccov_plan, mean *C.double, meanLen C.size_t, c *C.double, covLen C.size_t,
	x *C.deconv__cdouble, xLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covComputeCall[float64](p, unsafe.Pointer(mean), meanLen, unsafe.Pointer(c), covLen, unsafe.Pointer(x), xLen))
}

//export deconv_cov_stats_create
func deconv_cov_stats_create(p *C.deconv__ccov_plan, out **C.deconv_cov_stats, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if out == nil {
		return report(e, errNull("out"))
	}
	pl, err := covPlanOf(p)
	if err != nil {
		return report(e, err)
	}
	h, err := newHandle(C.DECONV__MAGIC_COV_STATS, newCovStats(pl))
	if err != nil {
		return report(e, err)
	}
	*out = (*C.deconv_cov_stats)(unsafe.Pointer(h))
	return report(e, nil)
}

//export deconv_cov_stats_free
func deconv_cov_stats_free(s *C.deconv_cov_stats) {
	defer quiet()
	freeHandle((*C.deconv__handle)(unsafe.Pointer(s)), C.DECONV__MAGIC_COV_STATS)
}

//export deconv_cov_stats_reset
func deconv_cov_stats_reset(s *C.deconv_cov_stats, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	cs, err := covStatsOf((*C.deconv__ccov_stats)(s), "stats")
	if err != nil {
		return report(e, err)
	}
	return report(e, covStatsReset(cs))
}

func covAccumulateCall[T elem](s *C.deconv_cov_stats, p *C.deconv__ccov_plan, x unsafe.Pointer, xLen C.size_t) error {
	cs, err := covStatsOf((*C.deconv__ccov_stats)(s), "stats")
	if err != nil {
		return err
	}
	pl, err := covPlanOf(p)
	if err != nil {
		return err
	}
	xs, err := sliceAt[T](x, uint64(xLen), "x")
	if err != nil {
		return err
	}
	return covStatsAccumulate(cs, pl, xs)
}

//export deconv_cov_stats_accumulate_f32
func deconv_cov_stats_accumulate_f32(s *C.deconv_cov_stats, p *C.deconv__ccov_plan, x *C.deconv__cfloat, xLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covAccumulateCall[float32](s, p, unsafe.Pointer(x), xLen))
}

//export deconv_cov_stats_accumulate_f64
func deconv_cov_stats_accumulate_f64(s *C.deconv_cov_stats, p *C.deconv__ccov_plan, x *C.deconv__cdouble, xLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covAccumulateCall[float64](s, p, unsafe.Pointer(x), xLen))
}

//export deconv_cov_stats_merge
func deconv_cov_stats_merge(dst *C.deconv_cov_stats, src *C.deconv__ccov_stats, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	d, err := covStatsOf((*C.deconv__ccov_stats)(dst), "dst")
	if err != nil {
		return report(e, err)
	}
	s, err := covStatsOf(src, "src")
	if err != nil {
		return report(e, err)
	}
	return report(e, covStatsMerge(d, s))
}

//export deconv_cov_stats_count
func deconv_cov_stats_count(s *C.deconv__ccov_stats, count *C.double, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if count == nil {
		return report(e, errNull("count"))
	}
	cs, err := covStatsOf(s, "stats")
	if err != nil {
		return report(e, err)
	}
	n, err := covStatsCount(cs)
	if err == nil {
		*count = C.double(n)
	}
	return report(e, err)
}

//export deconv_cov_stats_sums_len
func deconv_cov_stats_sums_len(s *C.deconv__ccov_stats) (n C.size_t) {
	defer quiet()
	cs, err := covStatsOf(s, "stats")
	if err != nil {
		return 0
	}
	return C.size_t(covStatsSumsLen(cs))
}

//export deconv_cov_stats_ref_len
func deconv_cov_stats_ref_len(s *C.deconv__ccov_stats) (n C.size_t) {
	defer quiet()
	cs, err := covStatsOf(s, "stats")
	if err != nil {
		return 0
	}
	return C.size_t(covStatsRefLen(cs))
}

// sumsCall converts the arguments of export and import and runs f.
func sumsCall(s *C.deconv__ccov_stats, ref *C.deconv__cdouble, refLen C.size_t, sums unsafe.Pointer, sumsLen C.size_t,
	f func(s *covStats, ref, sums []float64) error) error {
	cs, err := covStatsOf(s, "stats")
	if err != nil {
		return err
	}
	r, err := sliceAt[float64](unsafe.Pointer(ref), uint64(refLen), "ref")
	if err != nil {
		return err
	}
	v, err := sliceAt[float64](sums, uint64(sumsLen), "sums")
	if err != nil {
		return err
	}
	return f(cs, r, v)
}

//export deconv_cov_stats_export
func deconv_cov_stats_export(s *C.deconv__ccov_stats, ref *C.deconv__cdouble, refLen C.size_t, sums *C.double, sumsLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, sumsCall(s, ref, refLen, unsafe.Pointer(sums), sumsLen, covStatsExport))
}

//export deconv_cov_stats_import
func deconv_cov_stats_import(s *C.deconv_cov_stats, ref *C.deconv__cdouble, refLen C.size_t, sums *C.deconv__cdouble, sumsLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, sumsCall((*C.deconv__ccov_stats)(s), ref, refLen, unsafe.Pointer(sums), sumsLen, covStatsImport))
}

func covFinalizeCall[T elem](s *C.deconv__ccov_stats, mean unsafe.Pointer, meanLen C.size_t, c unsafe.Pointer, covLen C.size_t) error {
	cs, err := covStatsOf(s, "stats")
	if err != nil {
		return err
	}
	m, err := sliceAt[T](mean, uint64(meanLen), "mean")
	if err != nil {
		return err
	}
	cv, err := sliceAt[T](c, uint64(covLen), "cov")
	if err != nil {
		return err
	}
	return covStatsFinalize(cs, m, cv)
}

//export deconv_cov_stats_finalize_f32
func deconv_cov_stats_finalize_f32(s *C.deconv__ccov_stats, mean *C.float, meanLen C.size_t, c *C.float, covLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covFinalizeCall[float32](s, unsafe.Pointer(mean), meanLen, unsafe.Pointer(c), covLen))
}

//export deconv_cov_stats_finalize_f64
func deconv_cov_stats_finalize_f64(s *C.deconv__ccov_stats, mean *C.double, meanLen C.size_t, c *C.double, covLen C.size_t, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	return report(e, covFinalizeCall[float64](s, unsafe.Pointer(mean), meanLen, unsafe.Pointer(c), covLen))
}

//export deconv_cov_stats_rest
func deconv_cov_stats_rest(s *C.deconv__ccov_stats, mean, variance *C.double, e *C.deconv_error) (st C.int) {
	defer guard(&st, e)
	if mean == nil || variance == nil {
		return report(e, errNull(pick(mean == nil, "mean", "variance")))
	}
	cs, err := covStatsOf(s, "stats")
	if err != nil {
		return report(e, err)
	}
	m, v, err := covStatsRest(cs)
	if err == nil {
		*mean, *variance = C.double(m), C.double(v)
	}
	return report(e, err)
}
