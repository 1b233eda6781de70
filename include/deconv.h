/*
 * deconv.h: the C interface of libdeconv, optimized kernels for network
 * deconvolution (Ye et al., "Network Deconvolution", ICLR 2020).
 *
 * This header is the contract; it is written by hand. Build the library
 * with `make lib` (build/libdeconv.so, build/libdeconv.a), install it with
 * `make install`, and compile against it with
 *
 *     cc prog.c $(pkg-config --cflags --libs deconv)
 *
 * Conventions
 * -----------
 * - Every function that can fail returns an int status: DECONV_OK (0) or
 *   one of the non-zero deconv_status values below. Such functions take a
 *   last argument `deconv_error *err`, which may be NULL; when it is not,
 *   the library writes the status and a message with the details into it
 *   (on success the status 0 and an empty message). The struct belongs to
 *   the caller: nothing to free, and there is no thread-local or global
 *   "last error", so one deconv_error per thread (or per call) is safe.
 * - A failing call changes nothing: its output buffers, the handles it was
 *   given and the process-wide settings are left as they were. Only *err
 *   is written. (One exception, the forward passes' dst after
 *   DECONV_E_NONFINITE, is described under "Layers: common rules".)
 * - Buffers belong to the caller. Each is passed as a pointer and its
 *   length in elements (not bytes), and the length must be exactly what the
 *   plan needs (the *_len query functions say how much); a NULL pointer, a
 *   length that is wrong or whose size in bytes overflows is answered with
 *   a status, never a crash. The library never keeps a pointer to caller
 *   memory after the call returns and never hands the caller a pointer to
 *   memory it would have to free, apart from the handles, which are freed
 *   with their *_free function.
 * - A pointer that is not NULL must point to at least as many elements as
 *   its length says; the library cannot check that, as no C library can.
 * - Destinations must not overlap the inputs of the same call
 *   (DECONV_E_OVERLAP), except where a function says otherwise.
 * - Parameter structs begin with `size_t struct_size`, which the caller
 *   sets to sizeof the struct (the *_default fillers do). A later version
 *   may add fields at the end; the library then accepts the old, smaller
 *   size and gives the missing fields their defaults.
 * - Handles are opaque pointers created by *_create and released by
 *   *_free; free(NULL) does nothing. Using a handle after freeing it is
 *   undefined behaviour, as with any C library (the library detects some
 *   such uses, not all). Each handle type states its thread-safety.
 * - Element types: functions ending in _f32 take float, _f64 double.
 *   Sizes in parameter structs are int (negative values are errors);
 *   buffer lengths are size_t.
 * - Go panics inside the library are recovered at the boundary and become
 *   DECONV_E_INTERNAL. Memory exhaustion inside the Go runtime cannot be
 *   recovered (the Go runtime aborts the process); DECONV_E_NOMEM reports
 *   allocations the library makes with malloc.
 */
#ifndef DECONV_H
#define DECONV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef DECONV_API
#  if defined(__GNUC__) && (__GNUC__ >= 4)
#    define DECONV_API __attribute__((visibility("default")))
#  else
#    define DECONV_API
#  endif
#endif

/* ---- Version ------------------------------------------------------------ */

#define DECONV_VERSION_MAJOR 0
#define DECONV_VERSION_MINOR 2
#define DECONV_VERSION_PATCH 0
#define DECONV_VERSION_NUMBER \
    (DECONV_VERSION_MAJOR * 10000 + DECONV_VERSION_MINOR * 100 + DECONV_VERSION_PATCH)

#define DECONV_QUOTE_(s) #s
#define DECONV_EXPAND_AND_QUOTE_(s) DECONV_QUOTE_(s)
#define DECONV_VERSION_STRING                                                \
    DECONV_EXPAND_AND_QUOTE_(DECONV_VERSION_MAJOR) "."                       \
    DECONV_EXPAND_AND_QUOTE_(DECONV_VERSION_MINOR) "."                       \
    DECONV_EXPAND_AND_QUOTE_(DECONV_VERSION_PATCH)

/* The version of the library loaded at run time, to compare with
 * DECONV_VERSION_NUMBER of the header a program was compiled with: the
 * major versions must be equal and the library's minor version at least
 * the header's. Minor versions add functions and struct fields, never
 * change them: 0.2 added the backward passes (the *_backward_* functions)
 * and deconv_isqrt_config.grad. */
DECONV_API unsigned deconv_version_number(void);
/* The same as a string, "MAJOR.MINOR.PATCH" (static storage). */
DECONV_API const char *deconv_version_string(void);

/* ---- Status ------------------------------------------------------------- */

/* The status codes. Values are pinned: they never change meaning. Codes 1
 * to 99 correspond one to one with the Go package's error sentinels, in the
 * order of deconv.Errors(); new ones will be appended. */
typedef enum deconv_status {
    DECONV_OK = 0,
    /* A size, length or count does not fit the plan. */
    DECONV_E_SHAPE = 1,
    /* A parameter is out of its range, a pointer is NULL, or a handle is
     * not of the expected type. */
    DECONV_E_PARAM = 2,
    /* A size overflows or exceeds a documented limit. */
    DECONV_E_OVERFLOW = 3,
    /* An input holds a NaN or an infinity. */
    DECONV_E_NONFINITE = 4,
    /* A matrix that must be symmetric is not. */
    DECONV_E_NOT_SYMMETRIC = 5,
    /* A matrix that must be positive definite is not. */
    DECONV_E_NOT_POSITIVE_DEFINITE = 6,
    /* An iteration's residual grew without bound. */
    DECONV_E_DIVERGED = 7,
    /* An iteration did not reach the requested tolerance. */
    DECONV_E_NOT_CONVERGED = 8,
    /* Statistics were asked of an accumulator with no samples. */
    DECONV_E_EMPTY = 9,
    /* A handle that is not safe for concurrent use was called while another
     * call on it was in progress. */
    DECONV_E_BUSY = 10,
    /* A destination overlaps an input. */
    DECONV_E_OVERLAP = 11,
    /* The instruction-set family cannot run on this CPU or build. */
    DECONV_E_UNSUPPORTED = 12,
    /* The library could not allocate memory. */
    DECONV_E_NOMEM = 100,
    /* A bug in the library (a recovered panic); please report it. */
    DECONV_E_INTERNAL = 101
} deconv_status;

/* A short English description of a status (static storage, never NULL;
 * "unknown status" for a value that is not a deconv_status). */
DECONV_API const char *deconv_status_message(int status);

#define DECONV_ERROR_MESSAGE_SIZE 256

/* Details of a failure, filled by the function that failed. The message is
 * always NUL-terminated, in UTF-8, truncated on a character boundary. */
typedef struct deconv_error {
    int status;
    char message[DECONV_ERROR_MESSAGE_SIZE];
} deconv_error;

/* ---- Process-wide settings ---------------------------------------------- */

/* The kernel family in use: "generic", "avx2" or "avx512" (static storage). */
DECONV_API const char *deconv_isa_name(void);

/* Selects the kernel family by name ("generic", "avx2", "avx512";
 * case-insensitive). An unknown name is DECONV_E_PARAM, one this CPU cannot
 * run DECONV_E_UNSUPPORTED; either way nothing changes. Plans created
 * afterwards use the new family; existing plans keep theirs. Thread-safe. */
DECONV_API int deconv_set_isa(const char *name, deconv_error *err);

/* Sets how many threads one call uses when a `workers` field is 0:
 * n = 0 means one per core; more than the cores is clamped to them; a
 * negative n is DECONV_E_PARAM. Thread-safe; calls in progress keep their
 * count. */
DECONV_API int deconv_set_threads(int n, deconv_error *err);

/* The number of threads a call with workers = 0 uses. */
DECONV_API int deconv_threads(void);

/* ---- Shared parameter types --------------------------------------------- */

/* The patch geometry of a 2-D convolution, per axis, as torch.nn.Conv2d
 * takes it. Stride and dilation 0 mean 1. */
typedef struct deconv_geometry {
    int kernel_h, kernel_w;     /* kernel size (positive) */
    int stride_h, stride_w;     /* convolution stride (0 means 1) */
    int pad_h, pad_w;           /* zero padding on each side (>= 0) */
    int dilation_h, dilation_w; /* kernel dilation (0 means 1) */
} deconv_geometry;

/* Which features of the (channel, ki, kj) flattening of a patch form a
 * block when blocks of channels share one covariance. */
typedef enum deconv_grouping {
    DECONV_GROUPING_INTERLEAVED = 0, /* the reference's: feature f goes to block f mod G */
    DECONV_GROUPING_CONTIGUOUS = 1   /* channels g*B .. (g+1)*B-1 form block g */
} deconv_grouping;

/* ---- im2col and col2im ---------------------------------------------------
 *
 * deconv_im2col_plan: immutable once created; one plan may be used by any
 * number of threads at once.
 */

typedef enum deconv_layout {
    /* (batch*positions) rows of channels*kernel_h*kernel_w values, the
     * channel slowest: the data matrix of the paper. */
    DECONV_LAYOUT_ROWS = 0,
    /* batch x cols x positions: torch.nn.functional.unfold's layout. */
    DECONV_LAYOUT_UNFOLD = 1
} deconv_layout;

typedef struct deconv_im2col_params {
    size_t struct_size;                /* sizeof(deconv_im2col_params) */
    int batch, channels, height, width; /* the NCHW input */
    deconv_geometry geometry;
    int sampling;      /* keep every sampling-th position per axis (0 means 1) */
    int flat_sampling; /* nonzero: the reference's flat rule for 1x1 kernels */
    int layout;        /* a deconv_layout */
    int workers;       /* threads per call; 0: deconv_threads() */
} deconv_im2col_params;

/* Fills *p for a kernel x kernel convolution with stride 1, no padding,
 * dilation 1, every position kept, the rows layout. NULL does nothing. */
DECONV_API void deconv_im2col_params_default(deconv_im2col_params *p, int batch, int channels,
                                             int height, int width, int kernel);

typedef struct deconv_im2col_plan_s deconv_im2col_plan;

/* Validates *params and creates a plan in *out (left unchanged on failure). */
DECONV_API int deconv_im2col_plan_create(const deconv_im2col_params *params,
                                         deconv_im2col_plan **out, deconv_error *err);
DECONV_API void deconv_im2col_plan_free(deconv_im2col_plan *plan);

/* The plan's sizes (0 for a NULL plan): the length of the NCHW image, of
 * the patch matrix, its rows and columns, and the kept positions per axis. */
DECONV_API size_t deconv_im2col_plan_src_len(const deconv_im2col_plan *plan);
DECONV_API size_t deconv_im2col_plan_dst_len(const deconv_im2col_plan *plan);
DECONV_API size_t deconv_im2col_plan_rows(const deconv_im2col_plan *plan);
DECONV_API size_t deconv_im2col_plan_cols(const deconv_im2col_plan *plan);
DECONV_API size_t deconv_im2col_plan_out_h(const deconv_im2col_plan *plan);
DECONV_API size_t deconv_im2col_plan_out_w(const deconv_im2col_plan *plan);

/* Writes the patches of the image src (src_len = src_len of the plan) into
 * dst (dst_len = dst_len of the plan), every element of dst. */
DECONV_API int deconv_im2col_f32(const deconv_im2col_plan *plan, float *dst, size_t dst_len,
                                 const float *src, size_t src_len, deconv_error *err);
DECONV_API int deconv_im2col_f64(const deconv_im2col_plan *plan, double *dst, size_t dst_len,
                                 const double *src, size_t src_len, deconv_error *err);

/* The adjoint of im2col: overwrites the image dst (the plan's src_len) with
 * the patches of cols (the plan's dst_len) added back where they came from. */
DECONV_API int deconv_col2im_f32(const deconv_im2col_plan *plan, float *dst, size_t dst_len,
                                 const float *cols, size_t cols_len, deconv_error *err);
DECONV_API int deconv_col2im_f64(const deconv_im2col_plan *plan, double *dst, size_t dst_len,
                                 const double *cols, size_t cols_len, deconv_error *err);

/* ---- Covariance ------------------------------------------------------------
 *
 * deconv_cov_plan: immutable once created; one plan may be used by any
 * number of threads at once (by compute and by any number of stats).
 * deconv_cov_stats: a mutable accumulator; use each from one thread at a
 * time. A call made while another call on the same stats is in progress
 * fails with DECONV_E_BUSY and changes nothing. Give each thread its own
 * stats and merge them.
 */

/* The statistics of a convolution's input (the reference's FastDeconv). */
typedef struct deconv_cov_params {
    size_t struct_size;                 /* sizeof(deconv_cov_params) */
    int batch, channels, height, width; /* the NCHW input */
    deconv_geometry geometry;           /* of the convolution it feeds */
    int groups;   /* convolution groups; one covariance per group (0 means 1) */
    int sampling; /* subsampling stride S (0 means 1) */
    int block;    /* requested block size B (0 means 64), adjusted by the reference's rule */
    int grouping; /* a deconv_grouping */
    double eps;   /* added to the diagonal (>= 0) */
    int workers;  /* threads per call; 0: deconv_threads() */
} deconv_cov_params;

/* Fills *p with the reference layer's defaults for a kernel x kernel
 * convolution: stride 1, no padding, dilation 1, groups 1, sampling 3,
 * block 64, interleaved grouping, eps 1e-5. NULL does nothing. */
DECONV_API void deconv_cov_params_default(deconv_cov_params *p, int batch, int channels,
                                          int height, int width, int kernel);

/* The statistics of a fully-connected layer's input (the reference's
 * Delinear): rows of `features` values cut into chunks of `block`. */
typedef struct deconv_cov_linear_params {
    size_t struct_size; /* sizeof(deconv_cov_linear_params) */
    int batch, features;
    int block;   /* requested chunk length (0 means 512) */
    double eps;  /* >= 0 */
    int workers;
} deconv_cov_linear_params;

/* Block 512, eps 1e-5. NULL does nothing. */
DECONV_API void deconv_cov_linear_params_default(deconv_cov_linear_params *p, int batch,
                                                 int features);

/* The statistics of the reference's ChannelDeconv (channel whitening). */
typedef struct deconv_cov_channel_params {
    size_t struct_size; /* sizeof(deconv_cov_channel_params) */
    int batch, channels, height, width;
    int block;     /* features of the whitened part, 1 <= block <= channels */
    int sampling;  /* sampling stride (0 means 1) */
    int uncentred; /* nonzero: the reference's uncentred second moment */
    double eps;    /* >= 0 */
    int workers;
} deconv_cov_channel_params;

/* Sampling 3, eps 1e-2, centred. NULL does nothing. */
DECONV_API void deconv_cov_channel_params_default(deconv_cov_channel_params *p, int batch,
                                                  int channels, int height, int width,
                                                  int block);

typedef struct deconv_cov_plan_s deconv_cov_plan;
typedef struct deconv_cov_stats_s deconv_cov_stats;

DECONV_API int deconv_cov_plan_create(const deconv_cov_params *params, deconv_cov_plan **out,
                                      deconv_error *err);
DECONV_API int deconv_cov_plan_create_linear(const deconv_cov_linear_params *params,
                                             deconv_cov_plan **out, deconv_error *err);
DECONV_API int deconv_cov_plan_create_channel(const deconv_cov_channel_params *params,
                                              deconv_cov_plan **out, deconv_error *err);
DECONV_API void deconv_cov_plan_free(deconv_cov_plan *plan);

/* The plan's sizes (0 for a NULL plan): values of one input batch; of the
 * mean (groups*features) and of the covariances (groups*features^2); the
 * side F of each covariance, the number of covariances, the block size
 * after the reference's rule, and the samples one batch gives. */
DECONV_API size_t deconv_cov_plan_src_len(const deconv_cov_plan *plan);
DECONV_API size_t deconv_cov_plan_mean_len(const deconv_cov_plan *plan);
DECONV_API size_t deconv_cov_plan_cov_len(const deconv_cov_plan *plan);
DECONV_API size_t deconv_cov_plan_features(const deconv_cov_plan *plan);
DECONV_API size_t deconv_cov_plan_groups(const deconv_cov_plan *plan);
DECONV_API size_t deconv_cov_plan_block(const deconv_cov_plan *plan);
DECONV_API size_t deconv_cov_plan_rows(const deconv_cov_plan *plan);

/* One batch: writes the mean and the covariances plus eps*I (row-major
 * F x F matrices, one after another) of the samples of x. */
DECONV_API int deconv_cov_compute_f32(const deconv_cov_plan *plan, float *mean, size_t mean_len,
                                      float *cov, size_t cov_len, const float *x, size_t x_len,
                                      deconv_error *err);
DECONV_API int deconv_cov_compute_f64(const deconv_cov_plan *plan, double *mean, size_t mean_len,
                                      double *cov, size_t cov_len, const double *x, size_t x_len,
                                      deconv_error *err);

/* Differentiates deconv_cov_compute: given dmean (mean_len values) and
 * dcov (cov_len values), the gradients of a scalar loss with respect to
 * the mean and the covariances that deconv_cov_compute returned for x, and
 * mean, that call's mean, ADDS the gradient with respect to x into dx
 * (src_len values), so that the gradients of several uses of x add up.
 * dmean or dcov may be NULL with length 0: a zero gradient. dx must not
 * overlap any input. On failure dx is unchanged. */
DECONV_API int deconv_cov_backward_f32(const deconv_cov_plan *plan, float *dx, size_t dx_len,
                                       const float *dmean, size_t dmean_len, const float *dcov,
                                       size_t dcov_len, const float *x, size_t x_len,
                                       const float *mean, size_t mean_len, deconv_error *err);
DECONV_API int deconv_cov_backward_f64(const deconv_cov_plan *plan, double *dx, size_t dx_len,
                                       const double *dmean, size_t dmean_len, const double *dcov,
                                       size_t dcov_len, const double *x, size_t x_len,
                                       const double *mean, size_t mean_len, deconv_error *err);

/* An empty accumulator of the plan's statistics (count, mean and centred
 * cross-products, in double). It does not keep the plan: the plan may be
 * freed first. */
DECONV_API int deconv_cov_stats_create(const deconv_cov_plan *plan, deconv_cov_stats **out,
                                       deconv_error *err);
DECONV_API void deconv_cov_stats_free(deconv_cov_stats *stats);
/* Empties the accumulator. */
DECONV_API int deconv_cov_stats_reset(deconv_cov_stats *stats, deconv_error *err);

/* Adds the statistics of one batch x (the plan's src_len values) to stats,
 * which must come from a plan of the same shape. */
DECONV_API int deconv_cov_stats_accumulate_f32(deconv_cov_stats *stats, const deconv_cov_plan *plan,
                                               const float *x, size_t x_len, deconv_error *err);
DECONV_API int deconv_cov_stats_accumulate_f64(deconv_cov_stats *stats, const deconv_cov_plan *plan,
                                               const double *x, size_t x_len, deconv_error *err);

/* Adds the statistics of src to dst (src unchanged; dst may be src). The
 * update is exact pairwise merging, so partials merge in any order. */
DECONV_API int deconv_cov_stats_merge(deconv_cov_stats *dst, const deconv_cov_stats *src,
                                      deconv_error *err);

/* The number of samples accumulated into each covariance. */
DECONV_API int deconv_cov_stats_count(const deconv_cov_stats *stats, double *count,
                                      deconv_error *err);

/* Lengths of the sums vector and of the reference point (0 for NULL). */
DECONV_API size_t deconv_cov_stats_sums_len(const deconv_cov_stats *stats);
DECONV_API size_t deconv_cov_stats_ref_len(const deconv_cov_stats *stats);

/* Writes the statistics as plain sums about the reference point ref:
 *   [ n, sum(x-r) (groups*F), sum (x-r)(x-r)^T (groups*F^2), rest: n, sum, sum of squares ]
 * Sums of disjoint data add, so the vectors of all replicas can be combined
 * by an ordinary SUM all-reduce and read back with deconv_cov_stats_import
 * and the same ref. ref may be NULL with ref_len 0 (the origin); otherwise
 * ref_len is deconv_cov_stats_ref_len. It should be near the data's mean
 * (the shared running mean is the natural choice). */
DECONV_API int deconv_cov_stats_export(const deconv_cov_stats *stats, const double *ref,
                                       size_t ref_len, double *sums, size_t sums_len,
                                       deconv_error *err);
/* Replaces the statistics by those the sums describe. */
DECONV_API int deconv_cov_stats_import(deconv_cov_stats *stats, const double *ref, size_t ref_len,
                                       const double *sums, size_t sums_len, deconv_error *err);

/* Writes the mean and Cov = M2/n + eps*I (plus mean*mean^T for an uncentred
 * channel plan). DECONV_E_EMPTY when nothing was accumulated. */
DECONV_API int deconv_cov_stats_finalize_f32(const deconv_cov_stats *stats, float *mean,
                                             size_t mean_len, float *cov, size_t cov_len,
                                             deconv_error *err);
DECONV_API int deconv_cov_stats_finalize_f64(const deconv_cov_stats *stats, double *mean,
                                             size_t mean_len, double *cov, size_t cov_len,
                                             deconv_error *err);

/* A channel plan's statistics of the channels beyond the last whole block:
 * their mean and unbiased variance. DECONV_E_EMPTY when the plan has no such
 * channels or nothing was accumulated. */
DECONV_API int deconv_cov_stats_rest(const deconv_cov_stats *stats, double *mean,
                                     double *variance, deconv_error *err);

/* ---- Inverse square root -----------------------------------------------------
 *
 * deconv_isqrt: owns workspaces, so use each from one thread at a time; a
 * call made while another call on the same handle is in progress fails
 * with DECONV_E_BUSY. Create one per thread.
 */

typedef enum deconv_isqrt_method {
    /* The coupled Newton-Schulz iteration, computed fast (the default). */
    DECONV_ISQRT_COUPLED = 0,
    /* The coupled iteration exactly as the reference computes it. */
    DECONV_ISQRT_COUPLED_REFERENCE = 1,
    /* The uncoupled iteration (unstable beyond about 20 iterations). */
    DECONV_ISQRT_UNCOUPLED = 2,
    /* The exact V diag(1/sqrt(lambda)) V^T from an eigendecomposition. */
    DECONV_ISQRT_EXACT = 3
} deconv_isqrt_method;

typedef enum deconv_isqrt_scaling {
    DECONV_ISQRT_SCALE_FROBENIUS = 0, /* divide by the Frobenius norm (the reference) */
    DECONV_ISQRT_SCALE_SPECTRAL = 1   /* divide by a tighter bound on the largest eigenvalue */
} deconv_isqrt_scaling;

typedef struct deconv_isqrt_config {
    size_t struct_size;  /* sizeof(deconv_isqrt_config) */
    int method;          /* a deconv_isqrt_method */
    int iterations;      /* iterations, or their maximum with tol (0 means 5) */
    int scaling;         /* a deconv_isqrt_scaling */
    double tol;          /* > 0: stop at this residual, DECONV_E_NOT_CONVERGED if never */
    double symmetry_tol; /* accepted asymmetry (0 means 1e-3, negative: no check) */
    int workers;         /* threads of a batched call; 0: deconv_threads() */
    /* Since 0.2. Nonzero: the handle keeps what deconv_isqrt_backward_*
     * needs to differentiate its last computation (the iterates), in memory
     * it owns and reuses. On x86-64 and arm64 this field takes what was the
     * tail padding of the 0.1 struct, so struct_size does not change: a 0.1
     * caller that filled the struct with deconv_isqrt_config_default or
     * zeroed it reads as grad 0, and a nonzero value there only costs
     * memory, it never changes a result. */
    int grad;
} deconv_isqrt_config;

/* The reference's behaviour: coupled, 5 iterations, Frobenius scaling,
 * no gradient. */
DECONV_API void deconv_isqrt_config_default(deconv_isqrt_config *cfg);

/* What one inverse square root took. The caller sets struct_size. */
typedef struct deconv_isqrt_result {
    size_t struct_size;   /* sizeof(deconv_isqrt_result) */
    int iterations;       /* iterations done (0 for the exact method) */
    double scale;         /* the pre-scaling constant c */
    double residual;      /* the last residual computed as a by-product (NaN for exact) */
    size_t trace_written; /* entries of the trace written (iterations + 1, or 0) */
} deconv_isqrt_result;

typedef struct deconv_isqrt_s deconv_isqrt;

/* A handle for n x n matrices; cfg NULL means the defaults. */
DECONV_API int deconv_isqrt_create(size_t n, const deconv_isqrt_config *cfg, deconv_isqrt **out,
                                   deconv_error *err);
DECONV_API void deconv_isqrt_free(deconv_isqrt *h);

/* The matrix size n, and the length a trace buffer must have: the maximum
 * iterations + 1 (0 for NULL). */
DECONV_API size_t deconv_isqrt_n(const deconv_isqrt *h);
DECONV_API size_t deconv_isqrt_trace_len(const deconv_isqrt *h);

/* Writes A^(-1/2) of the symmetric positive definite row-major n x n matrix
 * a into dst (both n*n values; dst may be a or overlap it). trace, when not
 * NULL, receives the true residual ||Z_k Z_k A/c - I||_F of every iterate
 * (trace_len = deconv_isqrt_trace_len; entries not reached are NaN; the
 * exact method writes none). result, when not NULL, receives what the
 * iteration took. On failure dst, trace and result are unchanged
 * (DECONV_E_DIVERGED and DECONV_E_NOT_CONVERGED included). */
DECONV_API int deconv_isqrt_compute_f32(deconv_isqrt *h, float *dst, size_t dst_len,
                                        const float *a, size_t a_len, double *trace,
                                        size_t trace_len, deconv_isqrt_result *result,
                                        deconv_error *err);
DECONV_API int deconv_isqrt_compute_f64(deconv_isqrt *h, double *dst, size_t dst_len,
                                        const double *a, size_t a_len, double *trace,
                                        size_t trace_len, deconv_isqrt_result *result,
                                        deconv_error *err);

/* The inverse square roots of count n x n matrices stored one after another
 * (the groups of a grouped layer), spread over the configured workers. On
 * failure (the first failing matrix's status) dst is unchanged. */
DECONV_API int deconv_isqrt_compute_batch_f32(deconv_isqrt *h, size_t count, float *dst,
                                              size_t dst_len, const float *a, size_t a_len,
                                              deconv_error *err);
DECONV_API int deconv_isqrt_compute_batch_f64(deconv_isqrt *h, size_t count, double *dst,
                                              size_t dst_len, const double *a, size_t a_len,
                                              deconv_error *err);

/* Differentiates the handle's last successful deconv_isqrt_compute_* call
 * (of the same element type): given dd, the gradient of a scalar loss with
 * respect to the result D (n*n values), writes da, the gradient with
 * respect to the input A (n*n values), exactly as reverse-mode automatic
 * differentiation of the iteration the forward ran (every iteration and
 * the pre-scaling). The handle must have been created with cfg->grad set;
 * otherwise, before any computation, after one of the other element type
 * or after a batch, DECONV_E_PARAM. da must not overlap dd. The handle
 * keeps its forward state, so backward may be called again with another
 * dd. */
DECONV_API int deconv_isqrt_backward_f32(deconv_isqrt *h, float *da, size_t da_len,
                                         const float *dd, size_t dd_len, deconv_error *err);
DECONV_API int deconv_isqrt_backward_f64(deconv_isqrt *h, double *da, size_t da_len,
                                         const double *dd, size_t dd_len, deconv_error *err);

/* The same for the last successful deconv_isqrt_compute_batch_* call of
 * count matrices (count must be that call's), stored one after another. */
DECONV_API int deconv_isqrt_backward_batch_f32(deconv_isqrt *h, size_t count, float *da,
                                               size_t da_len, const float *dd, size_t dd_len,
                                               deconv_error *err);
DECONV_API int deconv_isqrt_backward_batch_f64(deconv_isqrt *h, size_t count, double *da,
                                               size_t da_len, const double *dd, size_t dd_len,
                                               deconv_error *err);

/* ---- Folding -----------------------------------------------------------------
 *
 * Whitening folded into weights: for `rows` weight rows of
 * blocking.features values, W'[r] = W[r] D (each block of the row times D)
 * and b'[r] = b[r] - sum over blocks of W'[r]_block . mu. d holds q
 * matrices of block x block and mean q vectors of block values; the rows
 * split into q equal consecutive groups (the groups of a grouped
 * convolution), group i using D_i and mu_i.
 */
typedef struct deconv_blocking {
    int features; /* values per weight row */
    int block;    /* features per whitening block (divides features) */
    int grouping; /* a deconv_grouping: how the row's features form blocks */
} deconv_blocking;

/* Writes the folded weights (w_out_len = rows * features) and, when bias_out
 * is not NULL, the folded bias (rows values). bias NULL (length 0) is a zero
 * bias. The outputs may be the inputs (w_out = w, bias_out = bias) but must
 * not overlap each other. DECONV_E_NONFINITE for a NaN or infinity in an
 * input or a result. */
DECONV_API int deconv_fold_f32(float *w_out, size_t w_out_len, float *bias_out, size_t bias_out_len,
                               const float *w, size_t w_len, const float *bias, size_t bias_len,
                               size_t rows, const deconv_blocking *blocking, const float *d,
                               size_t d_len, const float *mean, size_t mean_len, deconv_error *err);
DECONV_API int deconv_fold_f64(double *w_out, size_t w_out_len, double *bias_out,
                               size_t bias_out_len, const double *w, size_t w_len,
                               const double *bias, size_t bias_len, size_t rows,
                               const deconv_blocking *blocking, const double *d, size_t d_len,
                               const double *mean, size_t mean_len, deconv_error *err);

/* Undoes deconv_fold: W = W' D^-1 and, when bias is not NULL, b = b' +
 * sum W'.mu (which needs bias_folded). D must be symmetric positive
 * definite (DECONV_E_NOT_SYMMETRIC, DECONV_E_NOT_POSITIVE_DEFINITE). The
 * outputs may be the inputs but must not overlap each other. */
DECONV_API int deconv_restore_f32(float *w, size_t w_len, float *bias, size_t bias_len,
                                  const float *w_folded, size_t w_folded_len,
                                  const float *bias_folded, size_t bias_folded_len, size_t rows,
                                  const deconv_blocking *blocking, const float *d, size_t d_len,
                                  const float *mean, size_t mean_len, deconv_error *err);
DECONV_API int deconv_restore_f64(double *w, size_t w_len, double *bias, size_t bias_len,
                                  const double *w_folded, size_t w_folded_len,
                                  const double *bias_folded, size_t bias_folded_len, size_t rows,
                                  const deconv_blocking *blocking, const double *d, size_t d_len,
                                  const double *mean, size_t mean_len, deconv_error *err);

/* Differentiates deconv_fold: given dw_out and dbias_out, the gradients of
 * a scalar loss with respect to W' and b' (dbias_out NULL with length 0:
 * a zero gradient), writes the gradients with respect to W (dw, rows *
 * features), b (dbias, rows), D (dd, as d) and mu (dmean, as mean).
 * Destinations that are NULL (length 0) are not computed; the others are
 * overwritten. w, d and mean are the forward's inputs. No destination may
 * overlap another or an input. */
DECONV_API int deconv_fold_backward_f32(float *dw, size_t dw_len, float *dbias, size_t dbias_len,
                                        float *dd, size_t dd_len, float *dmean, size_t dmean_len,
                                        const float *dw_out, size_t dw_out_len,
                                        const float *dbias_out, size_t dbias_out_len,
                                        const float *w, size_t w_len, size_t rows,
                                        const deconv_blocking *blocking, const float *d,
                                        size_t d_len, const float *mean, size_t mean_len,
                                        deconv_error *err);
DECONV_API int deconv_fold_backward_f64(double *dw, size_t dw_len, double *dbias, size_t dbias_len,
                                        double *dd, size_t dd_len, double *dmean, size_t dmean_len,
                                        const double *dw_out, size_t dw_out_len,
                                        const double *dbias_out, size_t dbias_out_len,
                                        const double *w, size_t w_len, size_t rows,
                                        const deconv_blocking *blocking, const double *d,
                                        size_t d_len, const double *mean, size_t mean_len,
                                        deconv_error *err);

/* ---- Layers: common rules ------------------------------------------------------
 *
 * Element type. Every layer handle holds float or double values, fixed by
 * the function that created it (*_create_f32 or *_create_f64, or the type
 * of the layer it was folded from). Its _f32 functions work on float
 * handles only, its _f64 functions on double handles only; the other type
 * is DECONV_E_PARAM. deconv_*_dtype says which (DECONV_DTYPE_F32 or
 * DECONV_DTYPE_F64; -1 for NULL).
 *
 * Buffers by name. The layers' parameters and running buffers are read
 * and written by the reference implementation's names, with the exact
 * length deconv_*_len reports: get copies the buffer into the caller's,
 * set replaces it with a copy of the caller's after checking it (lengths,
 * finiteness; a running deconvolution matrix must be symmetric positive
 * definite). An unknown name is DECONV_E_PARAM. A layer without bias has a
 * "bias" of length 0.
 *
 * Forward passes. Shapes are checked before anything is written; a NaN or
 * infinity in the input, or an output that overflows, is
 * DECONV_E_NONFINITE, found while computing, so that dst may then be
 * partly written (the one exception to "a failing call changes nothing";
 * the layer itself is always left unchanged).
 *
 * Threads. deconv_conv2d and deconv_linear are immutable: any number of
 * threads may call their functions at once on one handle. deconv_fastdeconv,
 * deconv_delinear and deconv_channeldeconv are mutable and own workspaces:
 * use each from one thread at a time; a call made while another call on
 * the same handle is in progress fails with DECONV_E_BUSY and changes
 * nothing. Distinct handles may be used concurrently.
 *
 * Backward passes (since 0.2). deconv_*_backward_* compute, from dy (the
 * gradient of a scalar loss with respect to a forward's output, of the
 * output's length), the gradients with respect to the input (dx, of x's
 * length), the weights (dw) and the bias (db). A destination that is NULL
 * with length 0 is not computed; the others are overwritten, never
 * accumulated. x is the forward's input, given again: the library keeps
 * no pointer to it. For deconv_fastdeconv, deconv_delinear and
 * deconv_channeldeconv the backward differentiates the handle's last
 * forward, which must have been called with that same x: in training mode
 * through the batch statistics (the mean and the deconvolution matrix,
 * exactly as autograd of the reference), in evaluation mode or frozen with
 * the running buffers as constants. Between the forward and its backward
 * the handle must not run another forward or change a buffer, a property
 * or the mode; callers that need several forwards in flight (a module
 * applied twice in one graph) keep one handle per forward. A handle with
 * no forward to differentiate (none yet, or the last one failed, or its
 * running buffers were set since) answers DECONV_E_PARAM. Destinations
 * must not overlap each other or the inputs (DECONV_E_OVERLAP). Shapes are
 * checked before anything is written; DECONV_E_NONFINITE is found while
 * computing, so the destinations may then be partly written (as for the
 * forward passes); the handle itself never changes.
 */
typedef enum deconv_dtype {
    DECONV_DTYPE_F32 = 0,
    DECONV_DTYPE_F64 = 1
} deconv_dtype;

/* ---- Convolution and linear layers (folded or plain) ------------------------- */

typedef struct deconv_conv2d_config {
    size_t struct_size;            /* sizeof(deconv_conv2d_config) */
    int in_channels, out_channels;
    deconv_geometry geometry;
    int groups;                    /* 0 means 1; divides both channel counts */
    int workers;                   /* threads per call; 0: deconv_threads() */
} deconv_conv2d_config;

/* kernel x kernel, stride 1, no padding, dilation 1, one group. NULL does
 * nothing. */
DECONV_API void deconv_conv2d_config_default(deconv_conv2d_config *cfg, int in_channels,
                                             int out_channels, int kernel);

typedef struct deconv_conv2d_s deconv_conv2d;

/* A convolution (cross-correlation, as PyTorch's) with copies of weight
 * (out_channels x in_channels/groups x kernel_h x kernel_w) and bias
 * (out_channels values, or NULL with length 0 for none). */
DECONV_API int deconv_conv2d_create_f32(const deconv_conv2d_config *cfg, const float *weight,
                                        size_t weight_len, const float *bias, size_t bias_len,
                                        deconv_conv2d **out, deconv_error *err);
DECONV_API int deconv_conv2d_create_f64(const deconv_conv2d_config *cfg, const double *weight,
                                        size_t weight_len, const double *bias, size_t bias_len,
                                        deconv_conv2d **out, deconv_error *err);
DECONV_API void deconv_conv2d_free(deconv_conv2d *c);
DECONV_API int deconv_conv2d_dtype(const deconv_conv2d *c);

/* The output height and width for an h x w input. */
DECONV_API int deconv_conv2d_output_size(const deconv_conv2d *c, int h, int w, int *out_h,
                                         int *out_w, deconv_error *err);

/* dst (n x out_channels x out_h x out_w) = conv(x) + bias for the NCHW
 * batch x (n x in_channels x h x w). Thread-safe on a shared handle. */
DECONV_API int deconv_conv2d_forward_f32(const deconv_conv2d *c, float *dst, size_t dst_len,
                                         const float *x, size_t x_len, int n, int h, int w,
                                         deconv_error *err);
DECONV_API int deconv_conv2d_forward_f64(const deconv_conv2d *c, double *dst, size_t dst_len,
                                         const double *x, size_t x_len, int n, int h, int w,
                                         deconv_error *err);

/* The gradients of deconv_conv2d_forward for the batch x (n x in_channels
 * x h x w) given dy (n x out_channels x out_h x out_w): dx (x's length),
 * dw (the weight's length) and db (out_channels values, for a convolution
 * without bias the gradient of the bias it does not have). Thread-safe on
 * a shared handle. */
DECONV_API int deconv_conv2d_backward_f32(const deconv_conv2d *c, float *dx, size_t dx_len,
                                          float *dw, size_t dw_len, float *db, size_t db_len,
                                          const float *dy, size_t dy_len, const float *x,
                                          size_t x_len, int n, int h, int w, deconv_error *err);
DECONV_API int deconv_conv2d_backward_f64(const deconv_conv2d *c, double *dx, size_t dx_len,
                                          double *dw, size_t dw_len, double *db, size_t db_len,
                                          const double *dy, size_t dy_len, const double *x,
                                          size_t x_len, int n, int h, int w, deconv_error *err);

/* The buffers "weight" and "bias". */
DECONV_API int deconv_conv2d_len(const deconv_conv2d *c, const char *name, size_t *len,
                                 deconv_error *err);
DECONV_API int deconv_conv2d_get_f32(const deconv_conv2d *c, const char *name, float *buf,
                                     size_t len, deconv_error *err);
DECONV_API int deconv_conv2d_get_f64(const deconv_conv2d *c, const char *name, double *buf,
                                     size_t len, deconv_error *err);

typedef struct deconv_linear_config {
    size_t struct_size; /* sizeof(deconv_linear_config) */
    int in_features, out_features;
    int workers;        /* threads per call; 0: deconv_threads() */
} deconv_linear_config;

DECONV_API void deconv_linear_config_default(deconv_linear_config *cfg, int in_features,
                                             int out_features);

typedef struct deconv_linear_s deconv_linear;

/* y = x W^T + b, as torch.nn.Linear: weight out_features x in_features,
 * bias out_features values or NULL with length 0. */
DECONV_API int deconv_linear_create_f32(const deconv_linear_config *cfg, const float *weight,
                                        size_t weight_len, const float *bias, size_t bias_len,
                                        deconv_linear **out, deconv_error *err);
DECONV_API int deconv_linear_create_f64(const deconv_linear_config *cfg, const double *weight,
                                        size_t weight_len, const double *bias, size_t bias_len,
                                        deconv_linear **out, deconv_error *err);
DECONV_API void deconv_linear_free(deconv_linear *l);
DECONV_API int deconv_linear_dtype(const deconv_linear *l);

/* dst (batch x out_features) from x (batch x in_features). Thread-safe on a
 * shared handle. */
DECONV_API int deconv_linear_forward_f32(const deconv_linear *l, float *dst, size_t dst_len,
                                         const float *x, size_t x_len, int batch,
                                         deconv_error *err);
DECONV_API int deconv_linear_forward_f64(const deconv_linear *l, double *dst, size_t dst_len,
                                         const double *x, size_t x_len, int batch,
                                         deconv_error *err);

/* The gradients of deconv_linear_forward given dy (batch x out_features):
 * dx (batch x in_features), dw (out_features x in_features), db
 * (out_features, as for deconv_conv2d_backward_f32). Thread-safe on a
 * shared handle. */
DECONV_API int deconv_linear_backward_f32(const deconv_linear *l, float *dx, size_t dx_len,
                                          float *dw, size_t dw_len, float *db, size_t db_len,
                                          const float *dy, size_t dy_len, const float *x,
                                          size_t x_len, int batch, deconv_error *err);
DECONV_API int deconv_linear_backward_f64(const deconv_linear *l, double *dx, size_t dx_len,
                                          double *dw, size_t dw_len, double *db, size_t db_len,
                                          const double *dy, size_t dy_len, const double *x,
                                          size_t x_len, int batch, deconv_error *err);

/* The buffers "weight" and "bias". */
DECONV_API int deconv_linear_len(const deconv_linear *l, const char *name, size_t *len,
                                 deconv_error *err);
DECONV_API int deconv_linear_get_f32(const deconv_linear *l, const char *name, float *buf,
                                     size_t len, deconv_error *err);
DECONV_API int deconv_linear_get_f64(const deconv_linear *l, const char *name, double *buf,
                                     size_t len, deconv_error *err);

/* ---- FastDeconv ----------------------------------------------------------------
 *
 * The reference's FastDeconv: a convolution whose input is deconvolved
 * with the batch's statistics in training and the running ones in
 * evaluation, folded into the weights. Buffers: "weight"
 * (out_channels x in_channels/groups x kernel_h x kernel_w), "bias"
 * (out_channels, or 0 without bias), "running_mean" (F values, or
 * groups x F with groups), "running_deconv" (F x F, or groups of them),
 * where F = kernel_h * kernel_w * block ("num_features"). Integer
 * properties: "training" (0 or 1, settable), "counter" (the freeze
 * counter, settable), "block" and "num_features".
 */
typedef struct deconv_fastdeconv_config {
    size_t struct_size;            /* sizeof(deconv_fastdeconv_config) */
    int in_channels, out_channels;
    deconv_geometry geometry;      /* per axis, as torch.nn.Conv2d */
    int groups;                    /* 0 means 1 */
    int bias;                      /* nonzero: the layer has a bias */
    double eps;                    /* added to the covariance's diagonal */
    int n_iter;                    /* coupled Newton-Schulz iterations */
    double momentum;               /* r <- (1-m) r + m batch */
    int block;                     /* requested block size (adjusted by the reference's rule) */
    int sampling_stride;           /* statistics use every S*stride-th position */
    int freeze;                    /* nonzero: stop updating after freeze_iter steps */
    int freeze_iter;
    int grouping;                  /* a deconv_grouping */
    int workers;                   /* threads per call; 0: deconv_threads() */
} deconv_fastdeconv_config;

/* The reference's defaults for in -> out channels and a kernel x kernel
 * convolution: stride 1, padding 0, dilation 1, groups 1, bias, eps 1e-5,
 * n_iter 5, momentum 0.1, block 64, sampling_stride 3, freeze off,
 * freeze_iter 100, interleaved grouping. NULL does nothing. */
DECONV_API void deconv_fastdeconv_config_default(deconv_fastdeconv_config *cfg, int in_channels,
                                                 int out_channels, int kernel);

typedef struct deconv_fastdeconv_s deconv_fastdeconv;

/* A layer in training mode with copies of weight and bias (NULL with
 * length 0 exactly when cfg->bias is 0); running_mean zero and
 * running_deconv the identity. */
DECONV_API int deconv_fastdeconv_create_f32(const deconv_fastdeconv_config *cfg,
                                            const float *weight, size_t weight_len,
                                            const float *bias, size_t bias_len,
                                            deconv_fastdeconv **out, deconv_error *err);
DECONV_API int deconv_fastdeconv_create_f64(const deconv_fastdeconv_config *cfg,
                                            const double *weight, size_t weight_len,
                                            const double *bias, size_t bias_len,
                                            deconv_fastdeconv **out, deconv_error *err);
DECONV_API void deconv_fastdeconv_free(deconv_fastdeconv *l);
DECONV_API int deconv_fastdeconv_dtype(const deconv_fastdeconv *l);

/* Training (1) or evaluation (0) mode; a new layer trains. */
DECONV_API int deconv_fastdeconv_set_training(deconv_fastdeconv *l, int on, deconv_error *err);

DECONV_API int deconv_fastdeconv_output_size(const deconv_fastdeconv *l, int h, int w, int *out_h,
                                             int *out_w, deconv_error *err);

/* dst (n x out_channels x out_h x out_w) from the NCHW batch x. In training
 * mode the running buffers and the counter are updated, only when the
 * whole call succeeds. */
DECONV_API int deconv_fastdeconv_forward_f32(deconv_fastdeconv *l, float *dst, size_t dst_len,
                                             const float *x, size_t x_len, int n, int h, int w,
                                             deconv_error *err);
DECONV_API int deconv_fastdeconv_forward_f64(deconv_fastdeconv *l, double *dst, size_t dst_len,
                                             const double *x, size_t x_len, int n, int h, int w,
                                             deconv_error *err);

/* The gradients of the layer's last forward (on this x, n x in_channels x
 * h x w) given dy (n x out_channels x out_h x out_w): dx (x's length), dw
 * ("weight"'s length), db ("bias"'s length; NULL with length 0 for none or
 * when not wanted). See "Backward passes" above. */
DECONV_API int deconv_fastdeconv_backward_f32(deconv_fastdeconv *l, float *dx, size_t dx_len,
                                              float *dw, size_t dw_len, float *db, size_t db_len,
                                              const float *dy, size_t dy_len, const float *x,
                                              size_t x_len, int n, int h, int w,
                                              deconv_error *err);
DECONV_API int deconv_fastdeconv_backward_f64(deconv_fastdeconv *l, double *dx, size_t dx_len,
                                              double *dw, size_t dw_len, double *db, size_t db_len,
                                              const double *dy, size_t dy_len, const double *x,
                                              size_t x_len, int n, int h, int w,
                                              deconv_error *err);

/* A new convolution computing what the layer computes in evaluation mode
 * (the running statistics folded into its weights): immutable and safe
 * to share between threads; free it with deconv_conv2d_free. */
DECONV_API int deconv_fastdeconv_folded(deconv_fastdeconv *l, deconv_conv2d **out,
                                        deconv_error *err);

DECONV_API int deconv_fastdeconv_len(deconv_fastdeconv *l, const char *name, size_t *len,
                                     deconv_error *err);
DECONV_API int deconv_fastdeconv_get_f32(deconv_fastdeconv *l, const char *name, float *buf,
                                         size_t len, deconv_error *err);
DECONV_API int deconv_fastdeconv_get_f64(deconv_fastdeconv *l, const char *name, double *buf,
                                         size_t len, deconv_error *err);
DECONV_API int deconv_fastdeconv_set_f32(deconv_fastdeconv *l, const char *name, const float *buf,
                                         size_t len, deconv_error *err);
DECONV_API int deconv_fastdeconv_set_f64(deconv_fastdeconv *l, const char *name,
                                         const double *buf, size_t len, deconv_error *err);
DECONV_API int deconv_fastdeconv_get_int(deconv_fastdeconv *l, const char *name, long long *value,
                                         deconv_error *err);
DECONV_API int deconv_fastdeconv_set_int(deconv_fastdeconv *l, const char *name, long long value,
                                         deconv_error *err);

/* ---- Delinear -------------------------------------------------------------------
 *
 * The reference's Delinear: a fully connected layer whose input rows are
 * whitened in chunks of block features. Buffers: "weight" (out_features x
 * in_features), "bias", "running_mean" (block), "running_deconv" (block x
 * block). Integer properties: "training" (settable), "block" (after the
 * reference's rule).
 */
typedef struct deconv_delinear_config {
    size_t struct_size; /* sizeof(deconv_delinear_config) */
    int in_features, out_features;
    int bias;           /* nonzero: the layer has a bias */
    double eps;
    int n_iter;
    double momentum;
    int block;          /* chunk length (0 means 512; adjusted by the reference's rule) */
    int workers;
} deconv_delinear_config;

/* Bias, eps 1e-5, n_iter 5, momentum 0.1, block 512. NULL does nothing. */
DECONV_API void deconv_delinear_config_default(deconv_delinear_config *cfg, int in_features,
                                               int out_features);

typedef struct deconv_delinear_s deconv_delinear;

DECONV_API int deconv_delinear_create_f32(const deconv_delinear_config *cfg, const float *weight,
                                          size_t weight_len, const float *bias, size_t bias_len,
                                          deconv_delinear **out, deconv_error *err);
DECONV_API int deconv_delinear_create_f64(const deconv_delinear_config *cfg, const double *weight,
                                          size_t weight_len, const double *bias, size_t bias_len,
                                          deconv_delinear **out, deconv_error *err);
DECONV_API void deconv_delinear_free(deconv_delinear *l);
DECONV_API int deconv_delinear_dtype(const deconv_delinear *l);
DECONV_API int deconv_delinear_set_training(deconv_delinear *l, int on, deconv_error *err);
/* dst (batch x out_features) from x (batch x in_features). */
DECONV_API int deconv_delinear_forward_f32(deconv_delinear *l, float *dst, size_t dst_len,
                                           const float *x, size_t x_len, int batch,
                                           deconv_error *err);
DECONV_API int deconv_delinear_forward_f64(deconv_delinear *l, double *dst, size_t dst_len,
                                           const double *x, size_t x_len, int batch,
                                           deconv_error *err);
/* The gradients of the layer's last forward (on this x, batch x
 * in_features) given dy (batch x out_features): dx, dw, db as for
 * deconv_fastdeconv_backward_f32. */
DECONV_API int deconv_delinear_backward_f32(deconv_delinear *l, float *dx, size_t dx_len,
                                            float *dw, size_t dw_len, float *db, size_t db_len,
                                            const float *dy, size_t dy_len, const float *x,
                                            size_t x_len, int batch, deconv_error *err);
DECONV_API int deconv_delinear_backward_f64(deconv_delinear *l, double *dx, size_t dx_len,
                                            double *dw, size_t dw_len, double *db, size_t db_len,
                                            const double *dy, size_t dy_len, const double *x,
                                            size_t x_len, int batch, deconv_error *err);
/* The evaluation-mode layer as an immutable deconv_linear. */
DECONV_API int deconv_delinear_folded(deconv_delinear *l, deconv_linear **out, deconv_error *err);
DECONV_API int deconv_delinear_len(deconv_delinear *l, const char *name, size_t *len,
                                   deconv_error *err);
DECONV_API int deconv_delinear_get_f32(deconv_delinear *l, const char *name, float *buf,
                                       size_t len, deconv_error *err);
DECONV_API int deconv_delinear_get_f64(deconv_delinear *l, const char *name, double *buf,
                                       size_t len, deconv_error *err);
DECONV_API int deconv_delinear_set_f32(deconv_delinear *l, const char *name, const float *buf,
                                       size_t len, deconv_error *err);
DECONV_API int deconv_delinear_set_f64(deconv_delinear *l, const char *name, const double *buf,
                                       size_t len, deconv_error *err);
DECONV_API int deconv_delinear_get_int(deconv_delinear *l, const char *name, long long *value,
                                       deconv_error *err);
DECONV_API int deconv_delinear_set_int(deconv_delinear *l, const char *name, long long value,
                                       deconv_error *err);

/* ---- ChannelDeconv -----------------------------------------------------------
 *
 * The reference's ChannelDeconv: channel whitening without weights.
 * Buffers: "running_mean1" (block), "running_deconv" (block x block),
 * "running_mean2" and "running_var" (1 value each). Integer properties:
 * "training" (settable), "num_batches_tracked" (settable), "block".
 */
typedef struct deconv_channeldeconv_config {
    size_t struct_size; /* sizeof(deconv_channeldeconv_config) */
    int block;          /* whitened features, 1 <= block <= channels */
    double eps;
    int n_iter;
    double momentum;
    int sampling_stride;
    int uncentred;      /* nonzero: the reference's uncentred covariance */
    int workers;
} deconv_channeldeconv_config;

/* eps 1e-2, n_iter 5, momentum 0.1, sampling_stride 3, centred. NULL does
 * nothing. */
DECONV_API void deconv_channeldeconv_config_default(deconv_channeldeconv_config *cfg, int block);

typedef struct deconv_channeldeconv_s deconv_channeldeconv;

DECONV_API int deconv_channeldeconv_create_f32(const deconv_channeldeconv_config *cfg,
                                               deconv_channeldeconv **out, deconv_error *err);
DECONV_API int deconv_channeldeconv_create_f64(const deconv_channeldeconv_config *cfg,
                                               deconv_channeldeconv **out, deconv_error *err);
DECONV_API void deconv_channeldeconv_free(deconv_channeldeconv *l);
DECONV_API int deconv_channeldeconv_dtype(const deconv_channeldeconv *l);
DECONV_API int deconv_channeldeconv_set_training(deconv_channeldeconv *l, int on,
                                                 deconv_error *err);
/* Whitens the NCHW batch x (n x c x h x w; N x C is n x c x 1 x 1) into dst
 * of the same length. */
DECONV_API int deconv_channeldeconv_forward_f32(deconv_channeldeconv *l, float *dst,
                                                size_t dst_len, const float *x, size_t x_len,
                                                int n, int c, int h, int w, deconv_error *err);
DECONV_API int deconv_channeldeconv_forward_f64(deconv_channeldeconv *l, double *dst,
                                                size_t dst_len, const double *x, size_t x_len,
                                                int n, int c, int h, int w, deconv_error *err);
/* dx (x's length) from dy (the output's, which is x's) for the layer's
 * last forward on this x. See "Backward passes" above. */
DECONV_API int deconv_channeldeconv_backward_f32(deconv_channeldeconv *l, float *dx,
                                                 size_t dx_len, const float *dy, size_t dy_len,
                                                 const float *x, size_t x_len, int n, int c,
                                                 int h, int w, deconv_error *err);
DECONV_API int deconv_channeldeconv_backward_f64(deconv_channeldeconv *l, double *dx,
                                                 size_t dx_len, const double *dy, size_t dy_len,
                                                 const double *x, size_t x_len, int n, int c,
                                                 int h, int w, deconv_error *err);
DECONV_API int deconv_channeldeconv_len(deconv_channeldeconv *l, const char *name, size_t *len,
                                        deconv_error *err);
DECONV_API int deconv_channeldeconv_get_f32(deconv_channeldeconv *l, const char *name, float *buf,
                                            size_t len, deconv_error *err);
DECONV_API int deconv_channeldeconv_get_f64(deconv_channeldeconv *l, const char *name,
                                            double *buf, size_t len, deconv_error *err);
DECONV_API int deconv_channeldeconv_set_f32(deconv_channeldeconv *l, const char *name,
                                            const float *buf, size_t len, deconv_error *err);
DECONV_API int deconv_channeldeconv_set_f64(deconv_channeldeconv *l, const char *name,
                                            const double *buf, size_t len, deconv_error *err);
DECONV_API int deconv_channeldeconv_get_int(deconv_channeldeconv *l, const char *name,
                                            long long *value, deconv_error *err);
DECONV_API int deconv_channeldeconv_set_int(deconv_channeldeconv *l, const char *name,
                                            long long value, deconv_error *err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DECONV_H */
