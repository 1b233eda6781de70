/* One translation unit with the hand-written deconv.h and the header cgo
 * generates from the //export functions (build/libdeconv.h): a prototype
 * that disagrees between the two is a compile error ("conflicting types").
 * Compiled, never run. */
#include "deconv.h"
#include "libdeconv.h"

/* Take every function's address through the public prototype, so that
 * each is declared by both headers and a missing export fails to link. */
typedef void (*deconv_any_fn)(void);
#define F(name) (deconv_any_fn)(void (*)(void))name

const deconv_any_fn deconv_abi_functions[] = {
    F(deconv_version_number), F(deconv_version_string), F(deconv_status_message),
    F(deconv_isa_name), F(deconv_set_isa), F(deconv_set_threads), F(deconv_threads),
    F(deconv_im2col_params_default), F(deconv_im2col_plan_create), F(deconv_im2col_plan_free),
    F(deconv_im2col_plan_src_len), F(deconv_im2col_plan_dst_len), F(deconv_im2col_plan_rows),
    F(deconv_im2col_plan_cols), F(deconv_im2col_plan_out_h), F(deconv_im2col_plan_out_w),
    F(deconv_im2col_f32), F(deconv_im2col_f64), F(deconv_col2im_f32), F(deconv_col2im_f64),
    F(deconv_cov_params_default), F(deconv_cov_linear_params_default),
    F(deconv_cov_channel_params_default), F(deconv_cov_plan_create),
    F(deconv_cov_plan_create_linear), F(deconv_cov_plan_create_channel), F(deconv_cov_plan_free),
    F(deconv_cov_plan_src_len), F(deconv_cov_plan_mean_len), F(deconv_cov_plan_cov_len),
    F(deconv_cov_plan_features), F(deconv_cov_plan_groups), F(deconv_cov_plan_block),
    F(deconv_cov_plan_rows), F(deconv_cov_compute_f32), F(deconv_cov_compute_f64),
    F(deconv_cov_stats_create), F(deconv_cov_stats_free), F(deconv_cov_stats_reset),
    F(deconv_cov_stats_accumulate_f32), F(deconv_cov_stats_accumulate_f64),
    F(deconv_cov_stats_merge), F(deconv_cov_stats_count), F(deconv_cov_stats_sums_len),
    F(deconv_cov_stats_ref_len), F(deconv_cov_stats_export), F(deconv_cov_stats_import),
    F(deconv_cov_stats_finalize_f32), F(deconv_cov_stats_finalize_f64), F(deconv_cov_stats_rest),
    F(deconv_isqrt_config_default), F(deconv_isqrt_create), F(deconv_isqrt_free), F(deconv_isqrt_n),
    F(deconv_isqrt_trace_len), F(deconv_isqrt_compute_f32), F(deconv_isqrt_compute_f64),
    F(deconv_isqrt_compute_batch_f32), F(deconv_isqrt_compute_batch_f64),
    F(deconv_fold_f32), F(deconv_fold_f64), F(deconv_restore_f32), F(deconv_restore_f64),
    F(deconv_conv2d_config_default), F(deconv_conv2d_create_f32), F(deconv_conv2d_create_f64),
    F(deconv_conv2d_free), F(deconv_conv2d_dtype), F(deconv_conv2d_output_size),
    F(deconv_conv2d_forward_f32), F(deconv_conv2d_forward_f64), F(deconv_conv2d_len),
    F(deconv_conv2d_get_f32), F(deconv_conv2d_get_f64), F(deconv_linear_config_default),
    F(deconv_linear_create_f32), F(deconv_linear_create_f64), F(deconv_linear_free),
    F(deconv_linear_dtype), F(deconv_linear_forward_f32), F(deconv_linear_forward_f64),
    F(deconv_linear_len), F(deconv_linear_get_f32), F(deconv_linear_get_f64),
    F(deconv_fastdeconv_config_default), F(deconv_fastdeconv_create_f32),
    F(deconv_fastdeconv_create_f64), F(deconv_fastdeconv_free), F(deconv_fastdeconv_dtype),
    F(deconv_fastdeconv_set_training), F(deconv_fastdeconv_output_size),
    F(deconv_fastdeconv_forward_f32), F(deconv_fastdeconv_forward_f64), F(deconv_fastdeconv_folded),
    F(deconv_fastdeconv_len), F(deconv_fastdeconv_get_f32), F(deconv_fastdeconv_get_f64),
    F(deconv_fastdeconv_set_f32), F(deconv_fastdeconv_set_f64), F(deconv_fastdeconv_get_int),
    F(deconv_fastdeconv_set_int), F(deconv_delinear_config_default), F(deconv_delinear_create_f32),
    F(deconv_delinear_create_f64), F(deconv_delinear_free), F(deconv_delinear_dtype),
    F(deconv_delinear_set_training), F(deconv_delinear_forward_f32), F(deconv_delinear_forward_f64),
    F(deconv_delinear_folded), F(deconv_delinear_len), F(deconv_delinear_get_f32),
    F(deconv_delinear_get_f64), F(deconv_delinear_set_f32), F(deconv_delinear_set_f64),
    F(deconv_delinear_get_int), F(deconv_delinear_set_int), F(deconv_channeldeconv_config_default),
    F(deconv_channeldeconv_create_f32), F(deconv_channeldeconv_create_f64),
    F(deconv_channeldeconv_free), F(deconv_channeldeconv_dtype),
    F(deconv_channeldeconv_set_training), F(deconv_channeldeconv_forward_f32),
    F(deconv_channeldeconv_forward_f64), F(deconv_channeldeconv_len),
    F(deconv_channeldeconv_get_f32), F(deconv_channeldeconv_get_f64),
    F(deconv_channeldeconv_set_f32), F(deconv_channeldeconv_set_f64),
    F(deconv_channeldeconv_get_int), F(deconv_channeldeconv_set_int),
    /* 0.2: the backward passes */
    F(deconv_cov_backward_f32), F(deconv_cov_backward_f64), F(deconv_isqrt_backward_f32),
    F(deconv_isqrt_backward_f64), F(deconv_isqrt_backward_batch_f32),
    F(deconv_isqrt_backward_batch_f64), F(deconv_fold_backward_f32), F(deconv_fold_backward_f64),
    F(deconv_conv2d_backward_f32), F(deconv_conv2d_backward_f64), F(deconv_linear_backward_f32),
    F(deconv_linear_backward_f64), F(deconv_fastdeconv_backward_f32),
    F(deconv_fastdeconv_backward_f64), F(deconv_delinear_backward_f32),
    F(deconv_delinear_backward_f64), F(deconv_channeldeconv_backward_f32),
    F(deconv_channeldeconv_backward_f64),
};
