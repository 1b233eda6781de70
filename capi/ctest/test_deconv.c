/* The C test program of libdeconv: results against values the Go packages
 * computed (fixture.h, written by TestWriteFixture), every error path's
 * status with its outputs left untouched, the version handshake, the ISA
 * and thread settings, threads sharing one covariance plan, the layers
 * (FastDeconv, Delinear, ChannelDeconv) and their folded forms, two layers
 * trained on two threads at once and one folded convolution shared by
 * four.
 *
 * Built with -std=c99 -Wall -Wextra -Werror, run plainly, under valgrind
 * memcheck and with -fsanitize=address,undefined. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconv.h"
#include "fixture.h"

#include "check.h"

/* ---- comparisons and guard values -------------------------------------- */

static float *to_f32(const double *v, size_t n) {
    float *f = malloc(n * sizeof *f + 1);
    size_t i;
    for (i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

static double *copy_f64(const double *v, size_t n) {
    double *d = malloc(n * sizeof *d + 1);
    if (n) memcpy(d, v, n * sizeof *d);
    return d;
}

/* Largest |got - want| / (1 + |want|). */
static double err_f32(const float *got, const double *want, size_t n) {
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / (1 + fabs(want[i]));
        if (!(d <= m)) m = d; /* NaN propagates */
    }
    return m;
}

static double err_f64(const double *got, const double *want, size_t n) {
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]) / (1 + fabs(want[i]));
        if (!(d <= m)) m = d;
    }
    return m;
}

static int all_f32(const float *v, size_t n, float x) {
    size_t i;
    for (i = 0; i < n; i++)
        if (memcmp(&v[i], &x, sizeof x) != 0) return 0;
    return 1;
}

static int all_f64(const double *v, size_t n, double x) {
    size_t i;
    for (i = 0; i < n; i++)
        if (memcmp(&v[i], &x, sizeof x) != 0) return 0;
    return 1;
}

static void fill_f32(float *v, size_t n, float x) {
    size_t i;
    for (i = 0; i < n; i++) v[i] = x;
}

static void fill_f64(double *v, size_t n, double x) {
    size_t i;
    for (i = 0; i < n; i++) v[i] = x;
}

static const float GUARD32 = -12345.5f;
static const double GUARD64 = -54321.25;

/* ---- version, statuses, settings ----------------------------------------- */

static void test_version(void) {
    char buf[32];
    CHECK(deconv_version_number() == DECONV_VERSION_NUMBER);
    CHECK(strcmp(deconv_version_string(), DECONV_VERSION_STRING) == 0);
    snprintf(buf, sizeof buf, "%u.%u.%u", deconv_version_number() / 10000,
             deconv_version_number() / 100 % 100, deconv_version_number() % 100);
    CHECK(strcmp(buf, deconv_version_string()) == 0);
}

static void test_status_messages(void) {
    static const int statuses[] = {
        DECONV_OK, DECONV_E_SHAPE, DECONV_E_PARAM, DECONV_E_OVERFLOW, DECONV_E_NONFINITE,
        DECONV_E_NOT_SYMMETRIC, DECONV_E_NOT_POSITIVE_DEFINITE, DECONV_E_DIVERGED,
        DECONV_E_NOT_CONVERGED, DECONV_E_EMPTY, DECONV_E_BUSY, DECONV_E_OVERLAP,
        DECONV_E_UNSUPPORTED, DECONV_E_NOMEM, DECONV_E_INTERNAL};
    size_t i, j;
    /* The pinned values. */
    CHECK(DECONV_OK == 0 && DECONV_E_SHAPE == 1 && DECONV_E_PARAM == 2 && DECONV_E_OVERFLOW == 3);
    CHECK(DECONV_E_UNSUPPORTED == 12 && DECONV_E_NOMEM == 100 && DECONV_E_INTERNAL == 101);
    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        const char *m = deconv_status_message(statuses[i]);
        CHECK(m != NULL && m[0] != '\0' && strcmp(m, "unknown status") != 0);
        for (j = 0; j < i; j++) CHECK(strcmp(m, deconv_status_message(statuses[j])) != 0);
        /* Static storage: the same pointer every time. */
        CHECK(m == deconv_status_message(statuses[i]));
    }
    CHECK(strcmp(deconv_status_message(-1), "unknown status") == 0);
    CHECK(strcmp(deconv_status_message(13), "unknown status") == 0);
    CHECK(strcmp(deconv_status_message(102), "unknown status") == 0);
}

static int isa_is(const char *name) { return strcmp(deconv_isa_name(), name) == 0; }

static void test_settings(void) {
    char before[16];
    int threads, st;
    deconv_error e;
    snprintf(before, sizeof before, "%s", deconv_isa_name());
    CHECK(isa_is("generic") || isa_is("avx2") || isa_is("avx512"));

    EXPECT(deconv_set_isa("generic", ERR), DECONV_OK);
    CHECK(isa_is("generic"));
    EXPECT(deconv_set_isa("sse9", ERR), DECONV_E_PARAM);
    CHECK(isa_is("generic"));
    EXPECT(deconv_set_isa(NULL, ERR), DECONV_E_PARAM);
    EXPECT(deconv_set_isa("", ERR), DECONV_E_PARAM);
    CHECK(isa_is("generic"));
    st = deconv_set_isa("avx512", &e);
    CHECK(st == DECONV_OK || st == DECONV_E_UNSUPPORTED);
    CHECK(st == DECONV_OK ? isa_is("avx512") : isa_is("generic"));
    CHECK(deconv_set_isa("AVX2", NULL) == DECONV_OK || isa_is("generic") || isa_is("avx512"));
    CHECK(deconv_set_isa(before, NULL) == DECONV_OK);
    CHECK(isa_is(before));

    CHECK(deconv_threads() >= 1);
    EXPECT(deconv_set_threads(1, ERR), DECONV_OK);
    CHECK(deconv_threads() == 1);
    EXPECT(deconv_set_threads(-1, ERR), DECONV_E_PARAM);
    CHECK(deconv_threads() == 1);
    EXPECT(deconv_set_threads(0, ERR), DECONV_OK);
    threads = deconv_threads();
    CHECK(threads >= 1);
    EXPECT(deconv_set_threads(1 << 20, ERR), DECONV_OK);
    CHECK(deconv_threads() == threads); /* clamped to the cores */
    CHECK(deconv_set_threads(0, NULL) == DECONV_OK);
}

/* ---- im2col -------------------------------------------------------------- */

static void im2col_params_from(deconv_im2col_params *p, const int *v) {
    deconv_im2col_params_default(p, v[0], v[1], v[2], v[3], 1);
    p->geometry.kernel_h = v[4];
    p->geometry.kernel_w = v[5];
    p->geometry.stride_h = v[6];
    p->geometry.stride_w = v[7];
    p->geometry.pad_h = v[8];
    p->geometry.pad_w = v[9];
    p->geometry.dilation_h = v[10];
    p->geometry.dilation_w = v[11];
    p->sampling = v[12];
    p->layout = v[13];
}

static void check_im2col_case(const int *params, const double *src, size_t src_len,
                              const double *want, size_t want_len) {
    deconv_im2col_params p;
    deconv_im2col_plan *plan = NULL;
    float *s32, *d32, *back32;
    double *d64, *back64, *y;
    double lhs = 0, rhs = 0;
    size_t i;

    im2col_params_from(&p, params);
    EXPECT(deconv_im2col_plan_create(&p, &plan, ERR), DECONV_OK);
    if (!plan) return;
    CHECK(deconv_im2col_plan_src_len(plan) == src_len);
    CHECK(deconv_im2col_plan_dst_len(plan) == want_len);
    CHECK(deconv_im2col_plan_rows(plan) * deconv_im2col_plan_cols(plan) == want_len);
    CHECK(deconv_im2col_plan_cols(plan) == (size_t)(params[1] * params[4] * params[5]));
    CHECK(deconv_im2col_plan_out_h(plan) >= 1 && deconv_im2col_plan_out_w(plan) >= 1);

    s32 = to_f32(src, src_len);
    d32 = malloc(want_len * sizeof *d32);
    d64 = malloc(want_len * sizeof *d64);
    EXPECT(deconv_im2col_f32(plan, d32, want_len, s32, src_len, ERR), DECONV_OK);
    EXPECT(deconv_im2col_f64(plan, d64, want_len, src, src_len, ERR), DECONV_OK);
    CHECK(err_f64(d64, want, want_len) == 0);
    CHECK(err_f32(d32, want, want_len) < 1e-7);

    /* col2im is the adjoint: <im2col(x), y> = <x, col2im(y)>. */
    y = copy_f64(want, want_len);
    for (i = 0; i < want_len; i++) y[i] = sin(0.3 * (double)i);
    back64 = malloc(src_len * sizeof *back64);
    back32 = malloc(src_len * sizeof *back32);
    EXPECT(deconv_col2im_f64(plan, back64, src_len, y, want_len, ERR), DECONV_OK);
    for (i = 0; i < want_len; i++) lhs += d64[i] * y[i];
    for (i = 0; i < src_len; i++) rhs += src[i] * back64[i];
    CHECK(fabs(lhs - rhs) < 1e-9 * (1 + fabs(lhs)));
    EXPECT(deconv_col2im_f32(plan, back32, src_len, d32, want_len, ERR), DECONV_OK);

    /* Errors leave dst untouched. */
    fill_f32(d32, want_len, GUARD32);
    EXPECT(deconv_im2col_f32(plan, d32, want_len - 1, s32, src_len, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_im2col_f32(plan, d32, want_len, s32, src_len + 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_im2col_f32(plan, NULL, want_len, s32, src_len, ERR), DECONV_E_PARAM);
    EXPECT(deconv_im2col_f32(plan, d32, want_len, NULL, src_len, ERR), DECONV_E_PARAM);
    EXPECT(deconv_im2col_f32(plan, NULL, 0, s32, src_len, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_im2col_f32(NULL, d32, want_len, s32, src_len, ERR), DECONV_E_PARAM);
    EXPECT(deconv_im2col_f32(plan, d32, (size_t)-1, s32, src_len, ERR), DECONV_E_OVERFLOW);
    EXPECT(deconv_im2col_f32((const deconv_im2col_plan *)(const void *)&p, d32, want_len, s32, src_len, ERR),
           DECONV_E_PARAM); /* not a plan */
    CHECK(all_f32(d32, want_len, GUARD32));
    /* Overlap: dst inside src. */
    if (want_len <= src_len) {
        float *big = to_f32(src, src_len);
        EXPECT(deconv_im2col_f32(plan, big, want_len, big, src_len, ERR), DECONV_E_OVERLAP);
        free(big);
    }
    fill_f64(back64, src_len, GUARD64);
    EXPECT(deconv_col2im_f64(plan, back64, src_len, y, want_len + 1, ERR), DECONV_E_SHAPE);
    if (want_len <= src_len) EXPECT(deconv_col2im_f64(plan, back64, src_len, back64, want_len, ERR), DECONV_E_OVERLAP);
    CHECK(all_f64(back64, src_len, GUARD64));
    /* err may be NULL. */
    CHECK(deconv_im2col_f32(plan, d32, 1, s32, src_len, NULL) == DECONV_E_SHAPE);

    free(s32);
    free(d32);
    free(d64);
    free(y);
    free(back32);
    free(back64);
    deconv_im2col_plan_free(plan);
}

static void test_im2col(void) {
    deconv_im2col_params p;
    deconv_im2col_plan *plan = NULL, *untouched = (deconv_im2col_plan *)(void *)&p;

    check_im2col_case(FX_IM2COL_0_PARAMS, FX_IM2COL_0_SRC, FX_IM2COL_0_SRC_LEN, FX_IM2COL_0_DST,
                      FX_IM2COL_0_DST_LEN);
    check_im2col_case(FX_IM2COL_1_PARAMS, FX_IM2COL_1_SRC, FX_IM2COL_1_SRC_LEN, FX_IM2COL_1_DST,
                      FX_IM2COL_1_DST_LEN);

    /* Parameter errors, and *out unchanged. */
    deconv_im2col_params_default(&p, 1, 2, 4, 4, 3);
    EXPECT(deconv_im2col_plan_create(&p, NULL, ERR), DECONV_E_PARAM);
    EXPECT(deconv_im2col_plan_create(NULL, &plan, ERR), DECONV_E_PARAM);
    p.struct_size = 0;
    EXPECT(deconv_im2col_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
    deconv_im2col_params_default(&p, 1, 2, 4, 4, 3);
    p.layout = 7;
    EXPECT(deconv_im2col_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
    p.layout = 256; /* would wrap to 0 in a uint8 */
    EXPECT(deconv_im2col_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
    deconv_im2col_params_default(&p, 1, 2, 4, 4, 0);
    EXPECT(deconv_im2col_plan_create(&p, &untouched, ERR), DECONV_E_SHAPE);
    deconv_im2col_params_default(&p, 1, 2, 4, 4, 5);
    EXPECT(deconv_im2col_plan_create(&p, &untouched, ERR), DECONV_E_SHAPE);
    deconv_im2col_params_default(&p, 1, 2, 4, 4, 3);
    p.geometry.stride_w = -1;
    EXPECT(deconv_im2col_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
    deconv_im2col_params_default(&p, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1);
    EXPECT(deconv_im2col_plan_create(&p, &untouched, ERR), DECONV_E_OVERFLOW);
    CHECK(untouched == (deconv_im2col_plan *)(void *)&p);
    CHECK(deconv_im2col_plan_src_len(NULL) == 0 && deconv_im2col_plan_dst_len(NULL) == 0);
    deconv_im2col_params_default(NULL, 1, 1, 1, 1, 1); /* no-op */
    deconv_im2col_plan_free(NULL);                     /* no-op */
}

/* ---- covariance ----------------------------------------------------------- */

static deconv_cov_plan *fixture_cov_plan(int workers) {
    deconv_cov_params p;
    deconv_cov_plan *plan = NULL;
    const int *v = FX_COV_PARAMS;
    deconv_cov_params_default(&p, v[0], v[1], v[2], v[3], v[4]);
    p.geometry.pad_h = p.geometry.pad_w = 1;
    p.sampling = v[5];
    p.block = v[6];
    p.eps = 1e-3;
    p.workers = workers;
    EXPECT(deconv_cov_plan_create(&p, &plan, ERR), DECONV_OK);
    return plan;
}

static void test_cov(void) {
    deconv_cov_plan *plan = fixture_cov_plan(0), *other = NULL;
    deconv_cov_stats *a = NULL, *b = NULL, *c = NULL, *d = NULL, *odd = NULL;
    size_t ml = FX_COV_MEAN1_LEN, cl = FX_COV_COV1_LEN, xl = FX_COV_X1_LEN, sl, rl, i;
    double mean[FX_COV_MEAN1_LEN], cov[FX_COV_COV1_LEN], count = -1;
    float mean32[FX_COV_MEAN1_LEN], cov32[FX_COV_COV1_LEN];
    float *x32 = to_f32(FX_COV_X1, xl);
    double *sa, *sb, *ref, *bad;
    deconv_cov_linear_params lp;
    deconv_cov_channel_params chp;

    if (!plan) return;
    CHECK(deconv_cov_plan_src_len(plan) == xl);
    CHECK(deconv_cov_plan_mean_len(plan) == ml && deconv_cov_plan_cov_len(plan) == cl);
    CHECK(deconv_cov_plan_features(plan) == 18 && deconv_cov_plan_groups(plan) == 1);
    CHECK(deconv_cov_plan_block(plan) == 2 && deconv_cov_plan_rows(plan) > 0);

    /* One batch. */
    EXPECT(deconv_cov_compute_f64(plan, mean, ml, cov, cl, FX_COV_X1, xl, ERR), DECONV_OK);
    CHECK(err_f64(mean, FX_COV_MEAN1, ml) < 1e-13 && err_f64(cov, FX_COV_COV1, cl) < 1e-13);
    EXPECT(deconv_cov_compute_f32(plan, mean32, ml, cov32, cl, x32, xl, ERR), DECONV_OK);
    CHECK(err_f32(mean32, FX_COV_MEAN1, ml) < 1e-5 && err_f32(cov32, FX_COV_COV1, cl) < 1e-5);

    /* Errors leave the outputs untouched. */
    fill_f64(mean, ml, GUARD64);
    fill_f64(cov, cl, GUARD64);
    EXPECT(deconv_cov_compute_f64(plan, mean, ml - 1, cov, cl, FX_COV_X1, xl, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_compute_f64(plan, mean, ml, cov, cl, FX_COV_X1, xl - 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_compute_f64(plan, mean, ml, NULL, cl, FX_COV_X1, xl, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_compute_f64(NULL, mean, ml, cov, cl, FX_COV_X1, xl, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_compute_f64(plan, cov, ml, cov + ml, cl - ml, FX_COV_X1, xl, ERR), DECONV_E_SHAPE);
    bad = copy_f64(FX_COV_X1, xl);
    bad[7] = NAN;
    EXPECT(deconv_cov_compute_f64(plan, mean, ml, cov, cl, bad, xl, ERR), DECONV_E_NONFINITE);
    bad[7] = INFINITY;
    EXPECT(deconv_cov_compute_f64(plan, mean, ml, cov, cl, bad, xl, ERR), DECONV_E_NONFINITE);
    CHECK(all_f64(mean, ml, GUARD64) && all_f64(cov, cl, GUARD64));
    {
        double *big = malloc((ml + cl) * sizeof *big);
        EXPECT(deconv_cov_compute_f64(plan, big, ml, big + ml - 1, cl, FX_COV_X1, xl, ERR), DECONV_E_OVERLAP);
        free(big);
    }

    /* Stats: accumulate, merge, export and import, finalize. */
    EXPECT(deconv_cov_stats_create(plan, &a, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_create(plan, &b, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_create(plan, &c, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_create(plan, &d, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_create(plan, NULL, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_stats_create(NULL, &odd, ERR), DECONV_E_PARAM);
    CHECK(odd == NULL);
    fill_f64(mean, ml, GUARD64);
    fill_f64(cov, cl, GUARD64);
    EXPECT(deconv_cov_stats_finalize_f64(a, mean, ml, cov, cl, ERR), DECONV_E_EMPTY);
    CHECK(all_f64(mean, ml, GUARD64) && all_f64(cov, cl, GUARD64));
    EXPECT(deconv_cov_stats_count(a, &count, ERR), DECONV_OK);
    CHECK(count == 0);
    EXPECT(deconv_cov_stats_accumulate_f64(a, plan, FX_COV_X1, xl, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_accumulate_f64(b, plan, FX_COV_X2, xl, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_accumulate_f32(c, plan, x32, xl, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_accumulate_f64(a, plan, bad, xl, ERR), DECONV_E_NONFINITE);
    EXPECT(deconv_cov_stats_accumulate_f64(a, plan, FX_COV_X2, xl - 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_stats_accumulate_f64(a, NULL, FX_COV_X2, xl, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_stats_count(a, &count, ERR), DECONV_OK);
    CHECK(count == (double)deconv_cov_plan_rows(plan)); /* the failures added nothing */
    EXPECT(deconv_cov_stats_finalize_f64(a, mean, ml, cov, cl, ERR), DECONV_OK);
    CHECK(err_f64(mean, FX_COV_MEAN1, ml) < 1e-13 && err_f64(cov, FX_COV_COV1, cl) < 1e-13);
    EXPECT(deconv_cov_stats_finalize_f32(c, mean32, ml, cov32, cl, ERR), DECONV_OK);
    CHECK(err_f32(mean32, FX_COV_MEAN1, ml) < 1e-5 && err_f32(cov32, FX_COV_COV1, cl) < 1e-5);

    /* The all-reduce path: sums of a and b added, imported into d. */
    sl = deconv_cov_stats_sums_len(a);
    rl = deconv_cov_stats_ref_len(a);
    CHECK(sl == 1 + ml + cl && rl == ml);
    sa = malloc(sl * sizeof *sa);
    sb = malloc(sl * sizeof *sb);
    ref = copy_f64(FX_COV_MEAN1, ml);
    EXPECT(deconv_cov_stats_export(a, ref, rl, sa, sl, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_export(b, ref, rl, sb, sl, ERR), DECONV_OK);
    for (i = 0; i < sl; i++) sa[i] += sb[i];
    EXPECT(deconv_cov_stats_import(d, ref, rl, sa, sl, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_finalize_f64(d, mean, ml, cov, cl, ERR), DECONV_OK);
    CHECK(err_f64(mean, FX_COV_MEAN12, ml) < 1e-12 && err_f64(cov, FX_COV_COV12, cl) < 1e-12);
    /* The same with the origin as the reference point. */
    EXPECT(deconv_cov_stats_export(b, NULL, 0, sb, sl, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_import(c, NULL, 0, sb, sl, ERR), DECONV_OK);
    fill_f64(sb, sl, GUARD64);
    EXPECT(deconv_cov_stats_export(b, ref, rl - 1, sb, sl, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_stats_export(b, ref, rl, sb, sl + 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_stats_export(b, NULL, rl, sb, sl, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_stats_export(b, sb, rl, sb, sl, ERR), DECONV_E_OVERLAP);
    CHECK(all_f64(sb, sl, GUARD64));
    sb[3] = NAN;
    EXPECT(deconv_cov_stats_import(c, NULL, 0, sb, sl, ERR), DECONV_E_NONFINITE);

    /* Merging: a += b gives the statistics of both batches. */
    EXPECT(deconv_cov_stats_merge(a, b, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_finalize_f64(a, mean, ml, cov, cl, ERR), DECONV_OK);
    CHECK(err_f64(mean, FX_COV_MEAN12, ml) < 1e-13 && err_f64(cov, FX_COV_COV12, cl) < 1e-13);
    EXPECT(deconv_cov_stats_merge(a, NULL, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_stats_merge(a, a, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_count(a, &count, ERR), DECONV_OK);
    CHECK(count == 4.0 * (double)deconv_cov_plan_rows(plan));
    EXPECT(deconv_cov_stats_rest(a, &mean[0], &mean[1], ERR), DECONV_E_EMPTY);
    EXPECT(deconv_cov_stats_reset(a, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_finalize_f64(a, mean, ml, cov, cl, ERR), DECONV_E_EMPTY);

    /* A stats of another shape cannot merge. */
    deconv_cov_linear_params_default(&lp, FX_LINEAR_PARAMS[0], FX_LINEAR_PARAMS[1]);
    lp.block = FX_LINEAR_PARAMS[2];
    EXPECT(deconv_cov_plan_create_linear(&lp, &other, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_create(other, &odd, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_merge(b, odd, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_stats_accumulate_f64(b, other, FX_LINEAR_X, FX_LINEAR_X_LEN, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_stats_merge((deconv_cov_stats *)(void *)other, b, ERR), DECONV_E_PARAM);
    {
        double lm[FX_LINEAR_MEAN_LEN], lc[FX_LINEAR_COV_LEN];
        EXPECT(deconv_cov_compute_f64(other, lm, FX_LINEAR_MEAN_LEN, lc, FX_LINEAR_COV_LEN, FX_LINEAR_X,
                                      FX_LINEAR_X_LEN, ERR), DECONV_OK);
        CHECK(err_f64(lm, FX_LINEAR_MEAN, FX_LINEAR_MEAN_LEN) < 1e-13);
        CHECK(err_f64(lc, FX_LINEAR_COV, FX_LINEAR_COV_LEN) < 1e-13);
    }
    deconv_cov_stats_free(odd);
    deconv_cov_plan_free(other);
    other = NULL;

    /* A channel plan, with the channels beyond the last block. */
    deconv_cov_channel_params_default(&chp, FX_CHANNEL_PARAMS[0], FX_CHANNEL_PARAMS[1], FX_CHANNEL_PARAMS[2],
                                      FX_CHANNEL_PARAMS[3], FX_CHANNEL_PARAMS[4]);
    chp.sampling = FX_CHANNEL_PARAMS[5];
    EXPECT(deconv_cov_plan_create_channel(&chp, &other, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_create(other, &odd, ERR), DECONV_OK);
    deconv_cov_plan_free(other); /* stats do not keep the plan */
    EXPECT(deconv_cov_plan_create_channel(&chp, &other, ERR), DECONV_OK);
    EXPECT(deconv_cov_stats_accumulate_f64(odd, other, FX_CHANNEL_X, FX_CHANNEL_X_LEN, ERR), DECONV_OK);
    {
        double cm[FX_CHANNEL_MEAN_LEN], cc[FX_CHANNEL_COV_LEN], rest[2];
        EXPECT(deconv_cov_stats_finalize_f64(odd, cm, FX_CHANNEL_MEAN_LEN, cc, FX_CHANNEL_COV_LEN, ERR), DECONV_OK);
        CHECK(err_f64(cm, FX_CHANNEL_MEAN, FX_CHANNEL_MEAN_LEN) < 1e-13);
        CHECK(err_f64(cc, FX_CHANNEL_COV, FX_CHANNEL_COV_LEN) < 1e-13);
        EXPECT(deconv_cov_stats_rest(odd, &rest[0], &rest[1], ERR), DECONV_OK);
        CHECK(err_f64(rest, FX_CHANNEL_REST, 2) < 1e-13);
        EXPECT(deconv_cov_stats_rest(odd, NULL, &rest[1], ERR), DECONV_E_PARAM);
        CHECK(deconv_cov_stats_ref_len(odd) == FX_CHANNEL_MEAN_LEN + 1);
    }
    chp.block = chp.channels + 1;
    EXPECT(deconv_cov_plan_create_channel(&chp, &other, ERR), DECONV_E_PARAM);

    /* Parameter errors. */
    {
        deconv_cov_params p;
        deconv_cov_plan *untouched = (deconv_cov_plan *)(void *)&p;
        deconv_cov_params_default(&p, 2, 4, 6, 6, 3);
        p.eps = NAN;
        EXPECT(deconv_cov_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
        deconv_cov_params_default(&p, 2, 4, 6, 6, 3);
        p.groups = 3;
        EXPECT(deconv_cov_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
        deconv_cov_params_default(&p, 2, 4, 6, 6, 3);
        p.grouping = 2;
        EXPECT(deconv_cov_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
        deconv_cov_params_default(&p, 0, 4, 6, 6, 3);
        EXPECT(deconv_cov_plan_create(&p, &untouched, ERR), DECONV_E_SHAPE);
        deconv_cov_params_default(&p, 2, 4, 6, 6, 3);
        p.struct_size = sizeof p - 1;
        EXPECT(deconv_cov_plan_create(&p, &untouched, ERR), DECONV_E_PARAM);
        EXPECT(deconv_cov_plan_create(NULL, &untouched, ERR), DECONV_E_PARAM);
        deconv_cov_linear_params_default(&lp, 4, -3);
        EXPECT(deconv_cov_plan_create_linear(&lp, &untouched, ERR), DECONV_E_SHAPE);
        CHECK(untouched == (deconv_cov_plan *)(void *)&p);
        CHECK(deconv_cov_plan_mean_len(NULL) == 0 && deconv_cov_stats_sums_len(NULL) == 0);
    }

    free(x32);
    free(bad);
    free(sa);
    free(sb);
    free(ref);
    deconv_cov_stats_free(a);
    deconv_cov_stats_free(b);
    deconv_cov_stats_free(c);
    deconv_cov_stats_free(d);
    deconv_cov_stats_free(odd);
    deconv_cov_stats_free(NULL);
    deconv_cov_plan_free(other);
    deconv_cov_plan_free(plan);
    deconv_cov_plan_free(NULL);
}

/* ---- isqrt ---------------------------------------------------------------- */

static void check_isqrt_method(int method, const double *want, const double *want_trace, size_t want_trace_len,
                               int want_iterations) {
    enum { N = 5 };
    deconv_isqrt_config cfg;
    deconv_isqrt *h = NULL;
    deconv_isqrt_result res;
    double dst[N * N], trace[16];
    float a32[N * N], d32[N * N];
    size_t tl, i;

    deconv_isqrt_config_default(&cfg);
    cfg.method = method;
    EXPECT(deconv_isqrt_create(N, &cfg, &h, ERR), DECONV_OK);
    if (!h) return;
    CHECK(deconv_isqrt_n(h) == N);
    tl = deconv_isqrt_trace_len(h);
    CHECK(tl == 6);
    res.struct_size = sizeof res;
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, FX_ISQRT_A, N * N, trace, tl, &res, ERR), DECONV_OK);
    CHECK(err_f64(dst, want, N * N) < 1e-12);
    CHECK(res.iterations == want_iterations && res.trace_written == want_trace_len);
    CHECK(err_f64(trace, want_trace, want_trace_len) < 1e-9);
    for (i = want_trace_len; i < tl; i++) CHECK(isnan(trace[i]));
    CHECK(res.scale > 0);
    for (i = 0; i < N * N; i++) a32[i] = (float)FX_ISQRT_A[i];
    EXPECT(deconv_isqrt_compute_f32(h, d32, N * N, a32, N * N, NULL, 0, NULL, ERR), DECONV_OK);
    CHECK(err_f32(d32, want, N * N) < 1e-4);
    /* In place. */
    EXPECT(deconv_isqrt_compute_f32(h, a32, N * N, a32, N * N, NULL, 0, NULL, ERR), DECONV_OK);
    CHECK(memcmp(a32, d32, sizeof a32) == 0);
    deconv_isqrt_free(h);
}

static void test_isqrt(void) {
    enum { N = 5 };
    deconv_isqrt_config cfg;
    deconv_isqrt *h = NULL, *untouched = (deconv_isqrt *)(void *)&cfg;
    deconv_isqrt_result res;
    double dst[N * N], a[N * N], trace[6], batch[3 * N * N], bdst[3 * N * N];
    size_t i;
    struct {
        deconv_isqrt_config cfg;
        char newer[8];
    } grown;

    check_isqrt_method(DECONV_ISQRT_COUPLED, FX_ISQRT_COUPLED, FX_ISQRT_COUPLED_TRACE, FX_ISQRT_COUPLED_TRACE_LEN,
                       FX_ISQRT_COUPLED_ITERATIONS);
    check_isqrt_method(DECONV_ISQRT_UNCOUPLED, FX_ISQRT_UNCOUPLED, FX_ISQRT_UNCOUPLED_TRACE,
                       FX_ISQRT_UNCOUPLED_TRACE_LEN, FX_ISQRT_UNCOUPLED_ITERATIONS);
    check_isqrt_method(DECONV_ISQRT_EXACT, FX_ISQRT_EXACT, FX_ISQRT_EXACT_TRACE, FX_ISQRT_EXACT_TRACE_LEN,
                       FX_ISQRT_EXACT_ITERATIONS);

    EXPECT(deconv_isqrt_create(N, NULL, &h, ERR), DECONV_OK);
    if (!h) return;
    /* Batches: three copies of the matrix. */
    for (i = 0; i < 3 * N * N; i++) batch[i] = FX_ISQRT_A[i % (N * N)];
    EXPECT(deconv_isqrt_compute_batch_f64(h, 3, bdst, 3 * N * N, batch, 3 * N * N, ERR), DECONV_OK);
    for (i = 0; i < 3; i++) CHECK(err_f64(bdst + i * N * N, FX_ISQRT_COUPLED, N * N) < 1e-12);
    EXPECT(deconv_isqrt_compute_batch_f64(h, 0, NULL, 0, NULL, 0, ERR), DECONV_OK);
    fill_f64(bdst, 3 * N * N, GUARD64);
    EXPECT(deconv_isqrt_compute_batch_f64(h, 2, bdst, 3 * N * N, batch, 3 * N * N, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_isqrt_compute_batch_f64(h, (size_t)-1, bdst, 3 * N * N, batch, 3 * N * N, ERR), DECONV_E_OVERFLOW);
    batch[N * N + 3] = NAN;
    EXPECT(deconv_isqrt_compute_batch_f64(h, 3, bdst, 3 * N * N, batch, 3 * N * N, ERR), DECONV_E_NONFINITE);
    CHECK(all_f64(bdst, 3 * N * N, GUARD64));

    /* Each failure leaves dst, trace and result untouched. */
    fill_f64(dst, N * N, GUARD64);
    fill_f64(trace, 6, GUARD64);
    memset(&res, 0x77, sizeof res);
    res.struct_size = sizeof res;
    memcpy(a, FX_ISQRT_A, sizeof a);
    a[1] += 1; /* not symmetric */
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, a, N * N, trace, 6, &res, ERR), DECONV_E_NOT_SYMMETRIC);
    memcpy(a, FX_ISQRT_A, sizeof a);
    a[0] = -1; /* not positive definite */
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, a, N * N, trace, 6, &res, ERR), DECONV_E_NOT_POSITIVE_DEFINITE);
    a[0] = NAN;
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, a, N * N, trace, 6, &res, ERR), DECONV_E_NONFINITE);
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, FX_ISQRT_A, N * N, trace, 5, &res, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, FX_ISQRT_A, N * N - 1, NULL, 0, &res, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, FX_ISQRT_A, N * N, NULL, 6, &res, ERR), DECONV_E_PARAM);
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, FX_ISQRT_A, N * N, dst, 6, &res, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_isqrt_compute_f64(NULL, dst, N * N, FX_ISQRT_A, N * N, NULL, 0, &res, ERR), DECONV_E_PARAM);
    res.struct_size = 4;
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, FX_ISQRT_A, N * N, NULL, 0, &res, ERR), DECONV_E_PARAM);
    CHECK(all_f64(dst, N * N, GUARD64) && all_f64(trace, 6, GUARD64) && res.iterations == 0x77777777);
    deconv_isqrt_free(h);
    h = NULL;

    /* A tolerance never reached within the iterations. */
    deconv_isqrt_config_default(&cfg);
    cfg.iterations = 1;
    cfg.tol = 1e-14;
    EXPECT(deconv_isqrt_create(N, &cfg, &h, ERR), DECONV_OK);
    EXPECT(deconv_isqrt_compute_f64(h, dst, N * N, FX_ISQRT_A, N * N, NULL, 0, NULL, ERR), DECONV_E_NOT_CONVERGED);
    CHECK(all_f64(dst, N * N, GUARD64));
    deconv_isqrt_free(h);
    h = NULL;

    /* Configuration errors, and a struct from a newer header. */
    deconv_isqrt_config_default(&cfg);
    cfg.method = 4;
    EXPECT(deconv_isqrt_create(N, &cfg, &untouched, ERR), DECONV_E_PARAM);
    deconv_isqrt_config_default(&cfg);
    cfg.scaling = -1;
    EXPECT(deconv_isqrt_create(N, &cfg, &untouched, ERR), DECONV_E_PARAM);
    deconv_isqrt_config_default(&cfg);
    cfg.iterations = -2;
    EXPECT(deconv_isqrt_create(N, &cfg, &untouched, ERR), DECONV_E_PARAM);
    EXPECT(deconv_isqrt_create(0, NULL, &untouched, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_isqrt_create((size_t)-1, NULL, &untouched, ERR), DECONV_E_OVERFLOW);
    EXPECT(deconv_isqrt_create(N, NULL, NULL, ERR), DECONV_E_PARAM);
    CHECK(untouched == (deconv_isqrt *)(void *)&cfg);
    memset(&grown, 0, sizeof grown);
    deconv_isqrt_config_default(&grown.cfg);
    grown.cfg.struct_size = sizeof grown;
    EXPECT(deconv_isqrt_create(N, &grown.cfg, &h, ERR), DECONV_OK); /* unknown fields zero: fine */
    deconv_isqrt_free(h);
    grown.newer[2] = 1;
    EXPECT(deconv_isqrt_create(N, &grown.cfg, &untouched, ERR), DECONV_E_UNSUPPORTED);
    CHECK(deconv_isqrt_n(NULL) == 0 && deconv_isqrt_trace_len(NULL) == 0);
    deconv_isqrt_free(NULL);
}

/* ---- the error struct ------------------------------------------------------ */

static void test_error_struct(void) {
    deconv_error e;
    deconv_isqrt *h = NULL;
    memset(&e, 'x', sizeof e);
    CHECK(deconv_set_threads(-5, &e) == DECONV_E_PARAM);
    CHECK(e.status == DECONV_E_PARAM && strlen(e.message) > 0 && strlen(e.message) < sizeof e.message);
    CHECK(strstr(e.message, "-5") != NULL);
    CHECK(deconv_isqrt_create(3, NULL, &h, &e) == DECONV_OK);
    CHECK(e.status == DECONV_OK && e.message[0] == '\0');
    deconv_isqrt_free(h);
}

/* ---- threads ------------------------------------------------------------------ */

enum { NTHREADS = 4, ROUNDS = 5 };

struct worker {
    const deconv_cov_plan *plan; /* shared, immutable */
    double mean[FX_COV_MEAN1_LEN], cov[FX_COV_COV1_LEN], isq[FX_ISQRT_A_LEN];
    int status;
};

static void *worker_run(void *arg) {
    struct worker *w = arg;
    deconv_cov_stats *s = NULL;
    deconv_isqrt *h = NULL;
    deconv_error e;
    int r, st = DECONV_OK;
    st |= deconv_cov_stats_create(w->plan, &s, &e);
    st |= deconv_isqrt_create(5, NULL, &h, &e);
    for (r = 0; r < ROUNDS && st == DECONV_OK; r++) {
        st |= deconv_cov_stats_reset(s, &e);
        st |= deconv_cov_stats_accumulate_f64(s, w->plan, FX_COV_X1, FX_COV_X1_LEN, &e);
        st |= deconv_cov_stats_accumulate_f64(s, w->plan, FX_COV_X2, FX_COV_X2_LEN, &e);
        st |= deconv_cov_stats_finalize_f64(s, w->mean, FX_COV_MEAN1_LEN, w->cov, FX_COV_COV1_LEN, &e);
        st |= deconv_cov_compute_f64(w->plan, w->mean, FX_COV_MEAN1_LEN, w->cov, FX_COV_COV1_LEN, FX_COV_X1,
                                     FX_COV_X1_LEN, &e);
        st |= deconv_isqrt_compute_f64(h, w->isq, FX_ISQRT_A_LEN, FX_ISQRT_A, FX_ISQRT_A_LEN, NULL, 0, NULL, &e);
    }
    w->status = st;
    deconv_cov_stats_free(s);
    deconv_isqrt_free(h);
    return NULL;
}

static void test_threads(void) {
    struct worker *ws = calloc(NTHREADS + 1, sizeof *ws);
    pthread_t th[NTHREADS];
    deconv_cov_plan *plan = fixture_cov_plan(1); /* one worker: a deterministic order of sums */
    int i;
    if (!plan || !ws) return;
    /* The sequential result. */
    ws[NTHREADS].plan = plan;
    worker_run(&ws[NTHREADS]);
    CHECK(ws[NTHREADS].status == DECONV_OK);
    for (i = 0; i < NTHREADS; i++) {
        ws[i].plan = plan;
        CHECK(pthread_create(&th[i], NULL, worker_run, &ws[i]) == 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK(ws[i].status == DECONV_OK);
        CHECK(memcmp(ws[i].mean, ws[NTHREADS].mean, sizeof ws[i].mean) == 0);
        CHECK(memcmp(ws[i].cov, ws[NTHREADS].cov, sizeof ws[i].cov) == 0);
        CHECK(memcmp(ws[i].isq, ws[NTHREADS].isq, sizeof ws[i].isq) == 0);
    }
    CHECK(err_f64(ws[0].mean, FX_COV_MEAN1, FX_COV_MEAN1_LEN) < 1e-13);
    deconv_cov_plan_free(plan);
    free(ws);
}

/* ---- fold and restore -------------------------------------------------------- */

static void test_fold(void) {
    const int *P = FX_FOLD_PARAMS;
    deconv_blocking bl = {P[1], P[2], P[3]};
    size_t rows = (size_t)P[0], wl = FX_FOLD_W_LEN, bl_len = FX_FOLD_BIAS_LEN;
    double w[FX_FOLD_W_LEN], b[FX_FOLD_BIAS_LEN], w2[FX_FOLD_W_LEN], b2[FX_FOLD_BIAS_LEN], d[FX_FOLD_D_LEN];
    float w32[FX_FOLD_W_LEN], b32[FX_FOLD_BIAS_LEN], d32[FX_FOLD_D_LEN], m32[FX_FOLD_MEAN_LEN];
    float wo32[FX_FOLD_W_LEN], bo32[FX_FOLD_BIAS_LEN];
    size_t i;

    EXPECT(deconv_fold_f64(w, wl, b, bl_len, FX_FOLD_W, wl, FX_FOLD_BIAS, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN,
                           FX_FOLD_MEAN, FX_FOLD_MEAN_LEN, ERR), DECONV_OK);
    CHECK(err_f64(w, FX_FOLD_WOUT, wl) < 1e-14 && err_f64(b, FX_FOLD_BOUT, bl_len) < 1e-14);
    for (i = 0; i < wl; i++) w32[i] = (float)FX_FOLD_W[i];
    for (i = 0; i < bl_len; i++) b32[i] = (float)FX_FOLD_BIAS[i];
    for (i = 0; i < FX_FOLD_D_LEN; i++) d32[i] = (float)FX_FOLD_D[i];
    for (i = 0; i < FX_FOLD_MEAN_LEN; i++) m32[i] = (float)FX_FOLD_MEAN[i];
    EXPECT(deconv_fold_f32(wo32, wl, bo32, bl_len, w32, wl, b32, bl_len, rows, &bl, d32, FX_FOLD_D_LEN, m32,
                           FX_FOLD_MEAN_LEN, ERR), DECONV_OK);
    CHECK(err_f32(wo32, FX_FOLD_WOUT, wl) < 1e-5 && err_f32(bo32, FX_FOLD_BOUT, bl_len) < 1e-5);
    /* Restore undoes it, in place. */
    memcpy(w2, w, sizeof w);
    memcpy(b2, b, sizeof b);
    EXPECT(deconv_restore_f64(w2, wl, b2, bl_len, w2, wl, b2, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN, FX_FOLD_MEAN,
                              FX_FOLD_MEAN_LEN, ERR), DECONV_OK);
    CHECK(err_f64(w2, FX_FOLD_W, wl) < 1e-12 && err_f64(b2, FX_FOLD_BIAS, bl_len) < 1e-12);
    EXPECT(deconv_restore_f32(wo32, wl, NULL, 0, wo32, wl, NULL, 0, rows, &bl, d32, FX_FOLD_D_LEN, m32,
                              FX_FOLD_MEAN_LEN, ERR), DECONV_OK);
    CHECK(err_f32(wo32, FX_FOLD_W, wl) < 1e-4);
    /* Without bias, no folded bias. */
    EXPECT(deconv_fold_f64(w, wl, NULL, 0, FX_FOLD_W, wl, NULL, 0, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN, FX_FOLD_MEAN,
                           FX_FOLD_MEAN_LEN, ERR), DECONV_OK);
    CHECK(err_f64(w, FX_FOLD_WOUT, wl) < 1e-14);

    /* Errors leave the outputs untouched. */
    fill_f64(w, wl, GUARD64);
    fill_f64(b, bl_len, GUARD64);
#define FOLD64(wo, wol, bo, bol, rows_, blp, dd, dl) \
    deconv_fold_f64(wo, wol, bo, bol, FX_FOLD_W, wl, FX_FOLD_BIAS, bl_len, rows_, blp, dd, dl, FX_FOLD_MEAN, FX_FOLD_MEAN_LEN, ERR)
    EXPECT(FOLD64(w, wl - 1, b, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_SHAPE);
    EXPECT(FOLD64(w, wl, b, bl_len - 1, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_SHAPE);
    EXPECT(FOLD64(w, wl, b, bl_len, rows + 1, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_SHAPE);
    EXPECT(FOLD64(w, wl, b, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN - 1), DECONV_E_SHAPE);
    EXPECT(FOLD64(w, wl, b, bl_len, rows, NULL, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_PARAM);
    EXPECT(FOLD64(NULL, wl, b, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_PARAM);
    EXPECT(FOLD64(w, (size_t)-1, b, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_OVERFLOW);
    EXPECT(FOLD64(w, wl, w + 2, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_OVERLAP);
    bl.grouping = 2;
    EXPECT(FOLD64(w, wl, b, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_PARAM);
    bl.grouping = 256;
    EXPECT(FOLD64(w, wl, b, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_PARAM);
    bl.grouping = P[3];
    bl.block = 4; /* does not divide 6 */
    EXPECT(FOLD64(w, wl, b, bl_len, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN), DECONV_E_PARAM);
    bl.block = P[2];
    memcpy(d, FX_FOLD_D, sizeof d);
    d[4] = INFINITY;
    EXPECT(FOLD64(w, wl, b, bl_len, rows, &bl, d, FX_FOLD_D_LEN), DECONV_E_NONFINITE);
    CHECK(all_f64(w, wl, GUARD64) && all_f64(b, bl_len, GUARD64));
#undef FOLD64
    memcpy(d, FX_FOLD_D, sizeof d);
    d[1] += 1;
    EXPECT(deconv_restore_f64(w, wl, b, bl_len, FX_FOLD_WOUT, wl, FX_FOLD_BOUT, bl_len, rows, &bl, d, FX_FOLD_D_LEN,
                              FX_FOLD_MEAN, FX_FOLD_MEAN_LEN, ERR), DECONV_E_NOT_SYMMETRIC);
    memcpy(d, FX_FOLD_D, sizeof d);
    for (i = 0; i < FX_FOLD_D_LEN; i++) d[i] = -d[i];
    EXPECT(deconv_restore_f64(w, wl, b, bl_len, FX_FOLD_WOUT, wl, FX_FOLD_BOUT, bl_len, rows, &bl, d, FX_FOLD_D_LEN,
                              FX_FOLD_MEAN, FX_FOLD_MEAN_LEN, ERR), DECONV_E_NOT_POSITIVE_DEFINITE);
    EXPECT(deconv_restore_f64(w, wl, b, bl_len, FX_FOLD_WOUT, wl, NULL, 0, rows, &bl, FX_FOLD_D, FX_FOLD_D_LEN,
                              FX_FOLD_MEAN, FX_FOLD_MEAN_LEN, ERR), DECONV_E_SHAPE);
    CHECK(all_f64(w, wl, GUARD64) && all_f64(b, bl_len, GUARD64));
}

/* ---- FastDeconv and its folded convolution --------------------------------------- */

static void fd_config(deconv_fastdeconv_config *cfg) {
    const int *P = FX_FD_PARAMS;
    deconv_fastdeconv_config_default(cfg, P[0], P[1], P[2]);
    cfg->geometry.pad_h = cfg->geometry.pad_w = P[3];
    cfg->block = P[4];
    cfg->sampling_stride = P[5];
    cfg->workers = 1;
}

#define FD_N FX_FD_PARAMS[6]
#define FD_H FX_FD_PARAMS[7]
#define FD_W FX_FD_PARAMS[8]

static deconv_fastdeconv *fd_create64(void) {
    deconv_fastdeconv_config cfg;
    deconv_fastdeconv *l = NULL;
    fd_config(&cfg);
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &l, ERR), DECONV_OK);
    return l;
}

static void test_fastdeconv(void) {
    deconv_fastdeconv_config cfg;
    deconv_fastdeconv *l = fd_create64(), *l32 = NULL, *untouched = (deconv_fastdeconv *)(void *)&cfg;
    deconv_conv2d *c = NULL, *c2 = NULL, *cu = (deconv_conv2d *)(void *)&cfg;
    double y[FX_FD_Y2_LEN], rm[FX_FD_RUNNING_MEAN_LEN], rd[FX_FD_RUNNING_DECONV_LEN], fw[FX_FD_FOLDED_W_LEN];
    double fb[FX_FD_BIAS_LEN], x[FX_FD_X1_LEN];
    float *x32 = to_f32(FX_FD_X1, FX_FD_X1_LEN), *y32 = malloc(FX_FD_Y2_LEN * sizeof *y32);
    float *w32 = to_f32(FX_FD_W, FX_FD_W_LEN), *b32 = to_f32(FX_FD_BIAS, FX_FD_BIAS_LEN);
    size_t n = 0, yl = FX_FD_Y2_LEN, xl = FX_FD_X1_LEN;
    long long v = -1;
    int oh = 0, ow = 0;
    struct {
        deconv_fastdeconv_config cfg;
        char newer[8];
    } grown;

    if (!l) return;
    CHECK(deconv_fastdeconv_dtype(l) == DECONV_DTYPE_F64 && deconv_fastdeconv_dtype(NULL) == -1);
    EXPECT(deconv_fastdeconv_get_int(l, "training", &v, ERR), DECONV_OK);
    CHECK(v == 1);
    EXPECT(deconv_fastdeconv_get_int(l, "num_features", &v, ERR), DECONV_OK);
    CHECK(v == 18);
    EXPECT(deconv_fastdeconv_len(l, "running_deconv", &n, ERR), DECONV_OK);
    CHECK(n == FX_FD_RUNNING_DECONV_LEN);
    EXPECT(deconv_fastdeconv_output_size(l, FD_H, FD_W, &oh, &ow, ERR), DECONV_OK);
    CHECK(oh == FD_H && ow == FD_W);

    /* Two training steps, then evaluation. */
    EXPECT(deconv_fastdeconv_forward_f64(l, y, yl, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_forward_f64(l, y, yl, FX_FD_X2, xl, FD_N, FD_H, FD_W, ERR), DECONV_OK);
    CHECK(err_f64(y, FX_FD_Y2, yl) < 1e-12);
    EXPECT(deconv_fastdeconv_get_f64(l, "running_mean", rm, FX_FD_RUNNING_MEAN_LEN, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_get_f64(l, "running_deconv", rd, FX_FD_RUNNING_DECONV_LEN, ERR), DECONV_OK);
    CHECK(err_f64(rm, FX_FD_RUNNING_MEAN, FX_FD_RUNNING_MEAN_LEN) < 1e-13);
    CHECK(err_f64(rd, FX_FD_RUNNING_DECONV, FX_FD_RUNNING_DECONV_LEN) < 1e-12);
    EXPECT(deconv_fastdeconv_get_int(l, "counter", &v, ERR), DECONV_OK);
    CHECK(v == 2);
    EXPECT(deconv_fastdeconv_set_training(l, 0, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_forward_f64(l, y, yl, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR), DECONV_OK);
    CHECK(err_f64(y, FX_FD_YEVAL, yl) < 1e-12);

    /* The folded convolution computes the same. */
    EXPECT(deconv_fastdeconv_folded(l, &c, ERR), DECONV_OK);
    if (c) {
        deconv_conv2d_config cc;
        CHECK(deconv_conv2d_dtype(c) == DECONV_DTYPE_F64);
        EXPECT(deconv_conv2d_forward_f64(c, y, yl, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR), DECONV_OK);
        CHECK(err_f64(y, FX_FD_YFOLDED, yl) < 1e-12 && err_f64(y, FX_FD_YEVAL, yl) < 1e-9);
        EXPECT(deconv_conv2d_len(c, "weight", &n, ERR), DECONV_OK);
        CHECK(n == FX_FD_FOLDED_W_LEN);
        EXPECT(deconv_conv2d_get_f64(c, "weight", fw, FX_FD_FOLDED_W_LEN, ERR), DECONV_OK);
        CHECK(err_f64(fw, FX_FD_FOLDED_W, FX_FD_FOLDED_W_LEN) < 1e-13);
        EXPECT(deconv_conv2d_get_f64(c, "bias", fb, FX_FD_BIAS_LEN, ERR), DECONV_OK);
        EXPECT(deconv_conv2d_output_size(c, 3, 4, &oh, &ow, ERR), DECONV_OK);
        CHECK(oh == 3 && ow == 4);
        /* The same convolution created directly. */
        deconv_conv2d_config_default(&cc, FX_FD_PARAMS[0], FX_FD_PARAMS[1], FX_FD_PARAMS[2]);
        cc.geometry.pad_h = cc.geometry.pad_w = FX_FD_PARAMS[3];
        EXPECT(deconv_conv2d_create_f64(&cc, fw, FX_FD_FOLDED_W_LEN, fb, FX_FD_BIAS_LEN, &c2, ERR), DECONV_OK);
        fill_f64(y, yl, 0);
        EXPECT(deconv_conv2d_forward_f64(c2, y, yl, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR), DECONV_OK);
        CHECK(err_f64(y, FX_FD_YFOLDED, yl) < 1e-12);
        /* Errors. */
        fill_f64(y, yl, GUARD64);
        EXPECT(deconv_conv2d_forward_f64(c, y, yl - 1, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_conv2d_forward_f64(c, y, yl, FX_FD_X1, xl, FD_N + 1, FD_H, FD_W, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_conv2d_forward_f64(c, y, yl, NULL, xl, FD_N, FD_H, FD_W, ERR), DECONV_E_PARAM);
        EXPECT(deconv_conv2d_forward_f64(NULL, y, yl, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR), DECONV_E_PARAM);
        EXPECT(deconv_conv2d_forward_f32(c, y32, yl, x32, xl, FD_N, FD_H, FD_W, ERR), DECONV_E_PARAM); /* a double handle */
        EXPECT(deconv_conv2d_forward_f64((const deconv_conv2d *)(const void *)l, y, yl, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR),
               DECONV_E_PARAM); /* not a conv2d */
        EXPECT(deconv_conv2d_forward_f64(c, y, yl, y, yl <= xl ? yl : xl, FD_N, FD_H, FD_W, ERR), DECONV_E_SHAPE);
        CHECK(all_f64(y, yl, GUARD64));
        EXPECT(deconv_conv2d_get_f64(c, "weights", fw, FX_FD_FOLDED_W_LEN, ERR), DECONV_E_PARAM);
        EXPECT(deconv_conv2d_get_f64(c, NULL, fw, FX_FD_FOLDED_W_LEN, ERR), DECONV_E_PARAM);
        EXPECT(deconv_conv2d_len(c, "weight", NULL, ERR), DECONV_E_PARAM);
        EXPECT(deconv_conv2d_output_size(c, 1, 1, &oh, NULL, ERR), DECONV_E_PARAM);
        EXPECT(deconv_conv2d_create_f64(&cc, fw, FX_FD_FOLDED_W_LEN - 1, fb, FX_FD_BIAS_LEN, &cu, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_conv2d_create_f64(&cc, fw, FX_FD_FOLDED_W_LEN, fb, 1, &cu, ERR), DECONV_E_SHAPE);
        cc.groups = 3;
        EXPECT(deconv_conv2d_create_f64(&cc, fw, FX_FD_FOLDED_W_LEN, fb, FX_FD_BIAS_LEN, &cu, ERR), DECONV_E_PARAM);
        cc.groups = 1;
        cc.workers = -1;
        EXPECT(deconv_conv2d_create_f64(&cc, fw, FX_FD_FOLDED_W_LEN, fb, FX_FD_BIAS_LEN, &cu, ERR), DECONV_E_PARAM);
        cc.workers = 0;
        cc.struct_size = 8;
        EXPECT(deconv_conv2d_create_f64(&cc, fw, FX_FD_FOLDED_W_LEN, fb, FX_FD_BIAS_LEN, &cu, ERR), DECONV_E_PARAM);
        CHECK(cu == (deconv_conv2d *)(void *)&cfg);
        CHECK(deconv_conv2d_dtype(NULL) == -1);
    }
    deconv_conv2d_free(c);
    deconv_conv2d_free(c2);
    deconv_conv2d_free(NULL);

    /* Buffers: errors change nothing. */
    fill_f64(rm, FX_FD_RUNNING_MEAN_LEN, GUARD64);
    EXPECT(deconv_fastdeconv_get_f64(l, "running_mean", rm, FX_FD_RUNNING_MEAN_LEN + 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_get_f64(l, "running_var", rm, FX_FD_RUNNING_MEAN_LEN, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_get_f32(l, "running_mean", y32, FX_FD_RUNNING_MEAN_LEN, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_get_f64(l, "running_mean", NULL, FX_FD_RUNNING_MEAN_LEN, ERR), DECONV_E_PARAM);
    CHECK(all_f64(rm, FX_FD_RUNNING_MEAN_LEN, GUARD64));
    memcpy(rd, FX_FD_RUNNING_DECONV, sizeof rd);
    rd[1] += 0.5; /* not symmetric */
    EXPECT(deconv_fastdeconv_set_f64(l, "running_deconv", rd, FX_FD_RUNNING_DECONV_LEN, ERR), DECONV_E_NOT_SYMMETRIC);
    rd[1] = NAN;
    EXPECT(deconv_fastdeconv_set_f64(l, "running_deconv", rd, FX_FD_RUNNING_DECONV_LEN, ERR), DECONV_E_NONFINITE);
    EXPECT(deconv_fastdeconv_set_f64(l, "running_deconv", rd, 3, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_set_f64(l, "weight", FX_FD_W, FX_FD_W_LEN - 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_set_int(l, "counter", -1, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_set_int(l, "num_features", 3, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_set_int(l, "training", 2, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_get_int(l, "bogus", &v, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_get_int(l, "counter", NULL, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_set_training(NULL, 1, ERR), DECONV_E_PARAM);
    /* A NaN in the input: the layer is unchanged. */
    EXPECT(deconv_fastdeconv_set_training(l, 1, ERR), DECONV_OK);
    memcpy(x, FX_FD_X1, sizeof x);
    x[7] = NAN;
    EXPECT(deconv_fastdeconv_forward_f64(l, y, yl, x, xl, FD_N, FD_H, FD_W, ERR), DECONV_E_NONFINITE);
    fill_f64(y, yl, GUARD64);
    EXPECT(deconv_fastdeconv_forward_f64(l, y, yl, FX_FD_X1, xl - 1, FD_N, FD_H, FD_W, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_forward_f64(l, y, yl, FX_FD_X1, xl, 0, FD_H, FD_W, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_forward_f32(l, y32, yl, x32, xl, FD_N, FD_H, FD_W, ERR), DECONV_E_PARAM);
    CHECK(all_f64(y, yl, GUARD64));
    EXPECT(deconv_fastdeconv_get_f64(l, "running_mean", rm, FX_FD_RUNNING_MEAN_LEN, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_get_f64(l, "running_deconv", rd, FX_FD_RUNNING_DECONV_LEN, ERR), DECONV_OK);
    CHECK(err_f64(rm, FX_FD_RUNNING_MEAN, FX_FD_RUNNING_MEAN_LEN) < 1e-13);
    CHECK(err_f64(rd, FX_FD_RUNNING_DECONV, FX_FD_RUNNING_DECONV_LEN) < 1e-12);
    EXPECT(deconv_fastdeconv_get_int(l, "counter", &v, ERR), DECONV_OK);
    CHECK(v == 2);
    /* Setting works: counter, running buffers, weights. */
    EXPECT(deconv_fastdeconv_set_int(l, "counter", 7, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_get_int(l, "counter", &v, ERR), DECONV_OK);
    CHECK(v == 7);
    rm[0] += 1;
    EXPECT(deconv_fastdeconv_set_f64(l, "running_mean", rm, FX_FD_RUNNING_MEAN_LEN, ERR), DECONV_OK);
    fill_f64(rm, FX_FD_RUNNING_MEAN_LEN, 0);
    EXPECT(deconv_fastdeconv_get_f64(l, "running_mean", rm, FX_FD_RUNNING_MEAN_LEN, ERR), DECONV_OK);
    CHECK(rm[0] == FX_FD_RUNNING_MEAN[0] + 1);
    EXPECT(deconv_fastdeconv_set_f64(l, "bias", fb, FX_FD_BIAS_LEN, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_get_f64(l, "bias", rm, FX_FD_BIAS_LEN, ERR), DECONV_OK);
    CHECK(memcmp(rm, fb, sizeof fb) == 0);
    EXPECT(deconv_fastdeconv_folded(l, NULL, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_folded(NULL, &cu, ERR), DECONV_E_PARAM);
    CHECK(cu == (deconv_conv2d *)(void *)&cfg);
    deconv_fastdeconv_free(l);

    /* A float layer trains to the same values, to float precision. */
    fd_config(&cfg);
    EXPECT(deconv_fastdeconv_create_f32(&cfg, w32, FX_FD_W_LEN, b32, FX_FD_BIAS_LEN, &l32, ERR), DECONV_OK);
    if (l32) {
        float *x2 = to_f32(FX_FD_X2, xl);
        CHECK(deconv_fastdeconv_dtype(l32) == DECONV_DTYPE_F32);
        EXPECT(deconv_fastdeconv_forward_f32(l32, y32, yl, x32, xl, FD_N, FD_H, FD_W, ERR), DECONV_OK);
        EXPECT(deconv_fastdeconv_forward_f32(l32, y32, yl, x2, xl, FD_N, FD_H, FD_W, ERR), DECONV_OK);
        CHECK(err_f32(y32, FX_FD_Y2, yl) < 1e-3);
        EXPECT(deconv_fastdeconv_forward_f64(l32, y, yl, FX_FD_X1, xl, FD_N, FD_H, FD_W, ERR), DECONV_E_PARAM);
        free(x2);
    }
    deconv_fastdeconv_free(l32);

    /* Configuration errors leave *out untouched. */
    fd_config(&cfg);
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, NULL, 0, &untouched, ERR), DECONV_E_SHAPE);
    cfg.bias = 0;
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &untouched, ERR),
           DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, NULL, 0, &l, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_len(l, "bias", &n, ERR), DECONV_OK);
    CHECK(n == 0);
    deconv_fastdeconv_free(l);
    fd_config(&cfg);
    cfg.grouping = 2;
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &untouched, ERR),
           DECONV_E_PARAM);
    fd_config(&cfg);
    cfg.eps = NAN;
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &untouched, ERR),
           DECONV_E_PARAM);
    fd_config(&cfg);
    cfg.sampling_stride = 0;
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &untouched, ERR),
           DECONV_E_PARAM);
    fd_config(&cfg);
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN - 1, FX_FD_BIAS, FX_FD_BIAS_LEN, &untouched, ERR),
           DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_create_f64(NULL, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &untouched, ERR),
           DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, NULL, ERR),
           DECONV_E_PARAM);
    memset(&grown, 0, sizeof grown);
    fd_config(&grown.cfg);
    grown.cfg.struct_size = sizeof grown;
    grown.newer[0] = 1;
    EXPECT(deconv_fastdeconv_create_f64(&grown.cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &untouched, ERR),
           DECONV_E_UNSUPPORTED);
    CHECK(untouched == (deconv_fastdeconv *)(void *)&cfg);
    deconv_fastdeconv_config_default(NULL, 1, 1, 1);
    deconv_fastdeconv_free(NULL);
    free(x32);
    free(y32);
    free(w32);
    free(b32);
}

/* ---- Delinear and linear ---------------------------------------------------------- */

static void test_delinear(void) {
    const int *P = FX_DL_PARAMS;
    deconv_delinear_config cfg;
    deconv_delinear *l = NULL, *untouched = (deconv_delinear *)(void *)&cfg;
    deconv_linear *f = NULL, *g = NULL, *lu = (deconv_linear *)(void *)&cfg;
    deconv_linear_config lc;
    double y[FX_DL_Y2_LEN], rm[FX_DL_RUNNING_MEAN_LEN], rd[FX_DL_RUNNING_DECONV_LEN], w[FX_DL_W_LEN], b[FX_DL_BIAS_LEN];
    size_t yl = FX_DL_Y2_LEN, xl = FX_DL_X1_LEN, n = 0, i, j;
    long long v = 0;

    deconv_delinear_config_default(&cfg, P[0], P[1]);
    cfg.block = P[2];
    cfg.workers = 1;
    EXPECT(deconv_delinear_create_f64(&cfg, FX_DL_W, FX_DL_W_LEN, FX_DL_BIAS, FX_DL_BIAS_LEN, &l, ERR), DECONV_OK);
    if (!l) return;
    CHECK(deconv_delinear_dtype(l) == DECONV_DTYPE_F64);
    EXPECT(deconv_delinear_get_int(l, "block", &v, ERR), DECONV_OK);
    CHECK(v == P[2]);
    EXPECT(deconv_delinear_forward_f64(l, y, yl, FX_DL_X1, xl, P[3], ERR), DECONV_OK);
    EXPECT(deconv_delinear_forward_f64(l, y, yl, FX_DL_X2, xl, P[3], ERR), DECONV_OK);
    CHECK(err_f64(y, FX_DL_Y2, yl) < 1e-12);
    EXPECT(deconv_delinear_len(l, "running_deconv", &n, ERR), DECONV_OK);
    CHECK(n == FX_DL_RUNNING_DECONV_LEN);
    EXPECT(deconv_delinear_get_f64(l, "running_mean", rm, FX_DL_RUNNING_MEAN_LEN, ERR), DECONV_OK);
    EXPECT(deconv_delinear_get_f64(l, "running_deconv", rd, FX_DL_RUNNING_DECONV_LEN, ERR), DECONV_OK);
    CHECK(err_f64(rm, FX_DL_RUNNING_MEAN, FX_DL_RUNNING_MEAN_LEN) < 1e-13);
    CHECK(err_f64(rd, FX_DL_RUNNING_DECONV, FX_DL_RUNNING_DECONV_LEN) < 1e-12);
    EXPECT(deconv_delinear_set_training(l, 0, ERR), DECONV_OK);
    EXPECT(deconv_delinear_get_int(l, "training", &v, ERR), DECONV_OK);
    CHECK(v == 0);
    EXPECT(deconv_delinear_forward_f64(l, y, yl, FX_DL_X1, xl, P[3], ERR), DECONV_OK);
    CHECK(err_f64(y, FX_DL_YEVAL, yl) < 1e-12);
    EXPECT(deconv_delinear_folded(l, &f, ERR), DECONV_OK);
    if (f) {
        CHECK(deconv_linear_dtype(f) == DECONV_DTYPE_F64);
        EXPECT(deconv_linear_forward_f64(f, y, yl, FX_DL_X1, xl, P[3], ERR), DECONV_OK);
        CHECK(err_f64(y, FX_DL_YEVAL, yl) < 1e-9);
        EXPECT(deconv_linear_len(f, "bias", &n, ERR), DECONV_OK);
        CHECK(n == FX_DL_BIAS_LEN);
        EXPECT(deconv_linear_get_f64(f, "weight", w, FX_DL_W_LEN, ERR), DECONV_OK);
        EXPECT(deconv_linear_get_f64(f, "bias", b, FX_DL_BIAS_LEN, ERR), DECONV_OK);
        /* A plain linear layer with those weights, computed by hand. */
        deconv_linear_config_default(&lc, P[0], P[1]);
        EXPECT(deconv_linear_create_f64(&lc, w, FX_DL_W_LEN, b, FX_DL_BIAS_LEN, &g, ERR), DECONV_OK);
        EXPECT(deconv_linear_forward_f64(g, y, yl, FX_DL_X1, xl, P[3], ERR), DECONV_OK);
        for (i = 0; i < (size_t)P[3]; i++)
            for (j = 0; j < (size_t)P[1]; j++) {
                double s = b[j];
                int k;
                for (k = 0; k < P[0]; k++) s += FX_DL_X1[i * P[0] + k] * w[j * P[0] + k];
                CHECK(fabs(s - y[i * P[1] + j]) < 1e-12 * (1 + fabs(s)));
            }
        fill_f64(y, yl, GUARD64);
        EXPECT(deconv_linear_forward_f64(g, y, yl, FX_DL_X1, xl, P[3] + 1, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_linear_forward_f64(g, y, yl, y, yl, P[3], ERR), DECONV_E_SHAPE);
        EXPECT(deconv_linear_forward_f32(g, NULL, 0, NULL, 0, P[3], ERR), DECONV_E_PARAM);
        EXPECT(deconv_linear_get_f64(g, "running_mean", w, FX_DL_W_LEN, ERR), DECONV_E_PARAM);
        CHECK(all_f64(y, yl, GUARD64));
        EXPECT(deconv_linear_create_f64(&lc, w, FX_DL_W_LEN, b, 2, &lu, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_linear_create_f64(NULL, w, FX_DL_W_LEN, b, FX_DL_BIAS_LEN, &lu, ERR), DECONV_E_PARAM);
        lc.in_features = 0;
        EXPECT(deconv_linear_create_f64(&lc, w, FX_DL_W_LEN, b, FX_DL_BIAS_LEN, &lu, ERR), DECONV_E_PARAM);
        CHECK(lu == (deconv_linear *)(void *)&cfg);
    }
    deconv_linear_free(f);
    deconv_linear_free(g);
    deconv_linear_free(NULL);
    /* Errors. */
    fill_f64(y, yl, GUARD64);
    EXPECT(deconv_delinear_forward_f64(l, y, yl, FX_DL_X1, xl, P[3] - 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_delinear_forward_f32(l, NULL, 0, NULL, 0, P[3], ERR), DECONV_E_PARAM);
    CHECK(all_f64(y, yl, GUARD64));
    EXPECT(deconv_delinear_set_f64(l, "running_mean", rm, 2, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_delinear_set_int(l, "block", 2, ERR), DECONV_E_PARAM);
    EXPECT(deconv_delinear_get_int(l, "counter", &v, ERR), DECONV_E_PARAM);
    deconv_delinear_free(l);
    deconv_delinear_config_default(&cfg, P[0], P[1]);
    cfg.momentum = -1;
    EXPECT(deconv_delinear_create_f64(&cfg, FX_DL_W, FX_DL_W_LEN, FX_DL_BIAS, FX_DL_BIAS_LEN, &untouched, ERR),
           DECONV_E_PARAM);
    deconv_delinear_config_default(&cfg, P[0], P[1]);
    cfg.struct_size = 0;
    EXPECT(deconv_delinear_create_f64(&cfg, FX_DL_W, FX_DL_W_LEN, FX_DL_BIAS, FX_DL_BIAS_LEN, &untouched, ERR),
           DECONV_E_PARAM);
    CHECK(untouched == (deconv_delinear *)(void *)&cfg);
    deconv_delinear_free(NULL);
}

/* ---- ChannelDeconv ------------------------------------------------------------------ */

static void test_channeldeconv(void) {
    const int *P = FX_CD_PARAMS;
    deconv_channeldeconv_config cfg;
    deconv_channeldeconv *l = NULL, *untouched = (deconv_channeldeconv *)(void *)&cfg;
    double y[FX_CD_Y2_LEN], m1[FX_CD_RUNNING_MEAN1_LEN], rd[FX_CD_RUNNING_DECONV_LEN], s;
    size_t yl = FX_CD_Y2_LEN, n = 0;
    long long v = 0;

    deconv_channeldeconv_config_default(&cfg, P[0]);
    cfg.sampling_stride = P[1];
    cfg.workers = 1;
    EXPECT(deconv_channeldeconv_create_f64(&cfg, &l, ERR), DECONV_OK);
    if (!l) return;
    EXPECT(deconv_channeldeconv_forward_f64(l, y, yl, FX_CD_X1, yl, P[2], P[3], P[4], P[5], ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_forward_f64(l, y, yl, FX_CD_X2, yl, P[2], P[3], P[4], P[5], ERR), DECONV_OK);
    CHECK(err_f64(y, FX_CD_Y2, yl) < 1e-12);
    EXPECT(deconv_channeldeconv_get_f64(l, "running_mean1", m1, FX_CD_RUNNING_MEAN1_LEN, ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_get_f64(l, "running_deconv", rd, FX_CD_RUNNING_DECONV_LEN, ERR), DECONV_OK);
    CHECK(err_f64(m1, FX_CD_RUNNING_MEAN1, FX_CD_RUNNING_MEAN1_LEN) < 1e-13);
    CHECK(err_f64(rd, FX_CD_RUNNING_DECONV, FX_CD_RUNNING_DECONV_LEN) < 1e-12);
    EXPECT(deconv_channeldeconv_len(l, "running_var", &n, ERR), DECONV_OK);
    CHECK(n == 1);
    EXPECT(deconv_channeldeconv_get_f64(l, "running_mean2", &s, 1, ERR), DECONV_OK);
    CHECK(err_f64(&s, FX_CD_RUNNING_MEAN2, 1) < 1e-13);
    EXPECT(deconv_channeldeconv_get_f64(l, "running_var", &s, 1, ERR), DECONV_OK);
    CHECK(err_f64(&s, FX_CD_RUNNING_VAR, 1) < 1e-13);
    EXPECT(deconv_channeldeconv_get_int(l, "num_batches_tracked", &v, ERR), DECONV_OK);
    CHECK(v == 2);
    EXPECT(deconv_channeldeconv_set_training(l, 0, ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_forward_f64(l, y, yl, FX_CD_X1, yl, P[2], P[3], P[4], P[5], ERR), DECONV_OK);
    CHECK(err_f64(y, FX_CD_YEVAL, yl) < 1e-12);
    /* Errors. */
    fill_f64(y, yl, GUARD64);
    EXPECT(deconv_channeldeconv_forward_f64(l, y, yl, FX_CD_X1, yl, P[2], 1, P[4], P[5], ERR), DECONV_E_SHAPE);
    EXPECT(deconv_channeldeconv_forward_f64(l, y, yl, y, yl, P[2], P[3], P[4], P[5], ERR), DECONV_E_OVERLAP);
    CHECK(all_f64(y, yl, GUARD64));
    s = -1; /* running_var + eps must be positive */
    EXPECT(deconv_channeldeconv_set_f64(l, "running_var", &s, 1, ERR), DECONV_E_PARAM);
    EXPECT(deconv_channeldeconv_get_f64(l, "running_var", &s, 1, ERR), DECONV_OK);
    CHECK(err_f64(&s, FX_CD_RUNNING_VAR, 1) < 1e-13);
    s = 2;
    EXPECT(deconv_channeldeconv_set_f64(l, "running_var", &s, 1, ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_get_f64(l, "running_var", &s, 1, ERR), DECONV_OK);
    CHECK(s == 2);
    EXPECT(deconv_channeldeconv_set_int(l, "num_batches_tracked", 9, ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_get_int(l, "num_batches_tracked", &v, ERR), DECONV_OK);
    CHECK(v == 9);
    EXPECT(deconv_channeldeconv_set_int(l, "num_batches_tracked", -2, ERR), DECONV_E_PARAM);
    EXPECT(deconv_channeldeconv_get_f64(l, "weight", &s, 1, ERR), DECONV_E_PARAM);
    deconv_channeldeconv_free(l);
    deconv_channeldeconv_config_default(&cfg, 0);
    EXPECT(deconv_channeldeconv_create_f32(&cfg, &untouched, ERR), DECONV_E_PARAM);
    EXPECT(deconv_channeldeconv_create_f32(NULL, &untouched, ERR), DECONV_E_PARAM);
    CHECK(untouched == (deconv_channeldeconv *)(void *)&cfg);
    deconv_channeldeconv_config_default(&cfg, 2);
    EXPECT(deconv_channeldeconv_create_f32(&cfg, &l, ERR), DECONV_OK);
    CHECK(deconv_channeldeconv_dtype(l) == DECONV_DTYPE_F32);
    EXPECT(deconv_channeldeconv_get_f64(l, "running_var", &s, 1, ERR), DECONV_E_PARAM);
    deconv_channeldeconv_free(l);
    deconv_channeldeconv_free(NULL);
}

/* ---- the float entry points of the layers ------------------------------------------- */

static void test_layers_f32(void) {
    const int *P = FX_DL_PARAMS, *Q = FX_CD_PARAMS;
    deconv_delinear_config dc;
    deconv_channeldeconv_config cc;
    deconv_conv2d_config kc;
    deconv_delinear *dl = NULL;
    deconv_channeldeconv *cd = NULL;
    deconv_linear *lin = NULL;
    deconv_conv2d *conv = NULL;
    float *w = to_f32(FX_DL_W, FX_DL_W_LEN), *b = to_f32(FX_DL_BIAS, FX_DL_BIAS_LEN);
    float *x1 = to_f32(FX_DL_X1, FX_DL_X1_LEN), *x2 = to_f32(FX_DL_X2, FX_DL_X2_LEN);
    float *c1 = to_f32(FX_CD_X1, FX_CD_X1_LEN), *c2 = to_f32(FX_CD_X2, FX_CD_X2_LEN);
    float *fw = to_f32(FX_FD_FOLDED_W, FX_FD_FOLDED_W_LEN), *fx = to_f32(FX_FD_X1, FX_FD_X1_LEN);
    float y[FX_DL_Y2_LEN], rd[FX_DL_RUNNING_DECONV_LEN], lw[FX_DL_W_LEN], cy[FX_CD_Y2_LEN], v;
    float *ky = malloc(FX_FD_Y2_LEN * sizeof *ky), kb[FX_FD_BIAS_LEN];
    size_t yl = FX_DL_Y2_LEN, xl = FX_DL_X1_LEN, i;

    deconv_delinear_config_default(&dc, P[0], P[1]);
    dc.block = P[2];
    dc.workers = 1;
    EXPECT(deconv_delinear_create_f32(&dc, w, FX_DL_W_LEN, b, FX_DL_BIAS_LEN, &dl, ERR), DECONV_OK);
    if (dl) {
        CHECK(deconv_delinear_dtype(dl) == DECONV_DTYPE_F32);
        EXPECT(deconv_delinear_forward_f32(dl, y, yl, x1, xl, P[3], ERR), DECONV_OK);
        EXPECT(deconv_delinear_forward_f32(dl, y, yl, x2, xl, P[3], ERR), DECONV_OK);
        CHECK(err_f32(y, FX_DL_Y2, yl) < 1e-4);
        EXPECT(deconv_delinear_get_f32(dl, "running_deconv", rd, FX_DL_RUNNING_DECONV_LEN, ERR), DECONV_OK);
        CHECK(err_f32(rd, FX_DL_RUNNING_DECONV, FX_DL_RUNNING_DECONV_LEN) < 1e-4);
        EXPECT(deconv_delinear_set_f32(dl, "running_deconv", rd, FX_DL_RUNNING_DECONV_LEN, ERR), DECONV_OK);
        EXPECT(deconv_delinear_set_f64(dl, "running_deconv", FX_DL_RUNNING_DECONV, FX_DL_RUNNING_DECONV_LEN, ERR),
               DECONV_E_PARAM);
        EXPECT(deconv_delinear_set_training(dl, 0, ERR), DECONV_OK);
        EXPECT(deconv_delinear_forward_f32(dl, y, yl, x1, xl, P[3], ERR), DECONV_OK);
        CHECK(err_f32(y, FX_DL_YEVAL, yl) < 1e-4);
        EXPECT(deconv_delinear_folded(dl, &lin, ERR), DECONV_OK);
    }
    if (lin) {
        CHECK(deconv_linear_dtype(lin) == DECONV_DTYPE_F32);
        EXPECT(deconv_linear_forward_f32(lin, y, yl, x1, xl, P[3], ERR), DECONV_OK);
        CHECK(err_f32(y, FX_DL_YEVAL, yl) < 1e-4);
        EXPECT(deconv_linear_get_f32(lin, "weight", lw, FX_DL_W_LEN, ERR), DECONV_OK);
        EXPECT(deconv_linear_get_f64(lin, "weight", NULL, 0, ERR), DECONV_E_PARAM);
        deconv_linear_free(lin);
        lin = NULL;
        {
            deconv_linear_config lc;
            deconv_linear_config_default(&lc, P[0], P[1]);
            EXPECT(deconv_linear_create_f32(&lc, lw, FX_DL_W_LEN, NULL, 0, &lin, ERR), DECONV_OK);
            EXPECT(deconv_linear_forward_f32(lin, y, yl, x1, xl, P[3], ERR), DECONV_OK);
            for (i = 0; i < (size_t)P[1]; i++) {
                double s = 0;
                int k;
                for (k = 0; k < P[0]; k++) s += (double)x1[k] * lw[i * P[0] + k];
                CHECK(fabs(s - y[i]) < 1e-5 * (1 + fabs(s)));
            }
        }
    }
    deconv_linear_free(lin);
    deconv_delinear_free(dl);

    deconv_channeldeconv_config_default(&cc, Q[0]);
    cc.sampling_stride = Q[1];
    cc.workers = 1;
    EXPECT(deconv_channeldeconv_create_f32(&cc, &cd, ERR), DECONV_OK);
    if (cd) {
        EXPECT(deconv_channeldeconv_forward_f32(cd, cy, FX_CD_Y2_LEN, c1, FX_CD_X1_LEN, Q[2], Q[3], Q[4], Q[5], ERR),
               DECONV_OK);
        EXPECT(deconv_channeldeconv_forward_f32(cd, cy, FX_CD_Y2_LEN, c2, FX_CD_X2_LEN, Q[2], Q[3], Q[4], Q[5], ERR),
               DECONV_OK);
        CHECK(err_f32(cy, FX_CD_Y2, FX_CD_Y2_LEN) < 1e-4);
        EXPECT(deconv_channeldeconv_get_f32(cd, "running_var", &v, 1, ERR), DECONV_OK);
        CHECK(err_f32(&v, FX_CD_RUNNING_VAR, 1) < 1e-5);
        v = 1.5f;
        EXPECT(deconv_channeldeconv_set_f32(cd, "running_mean2", &v, 1, ERR), DECONV_OK);
        EXPECT(deconv_channeldeconv_forward_f64(cd, NULL, 0, NULL, 0, Q[2], Q[3], Q[4], Q[5], ERR), DECONV_E_PARAM);
    }
    deconv_channeldeconv_free(cd);

    /* A float convolution created directly from the folded weights. */
    deconv_conv2d_config_default(&kc, FX_FD_PARAMS[0], FX_FD_PARAMS[1], FX_FD_PARAMS[2]);
    kc.geometry.pad_h = kc.geometry.pad_w = FX_FD_PARAMS[3];
    for (i = 0; i < FX_FD_BIAS_LEN; i++) kb[i] = 0;
    EXPECT(deconv_conv2d_create_f32(&kc, fw, FX_FD_FOLDED_W_LEN, kb, FX_FD_BIAS_LEN, &conv, ERR), DECONV_OK);
    if (conv && ky) {
        float back[FX_FD_FOLDED_W_LEN];
        CHECK(deconv_conv2d_dtype(conv) == DECONV_DTYPE_F32);
        EXPECT(deconv_conv2d_forward_f32(conv, ky, FX_FD_Y2_LEN, fx, FX_FD_X1_LEN, FD_N, FD_H, FD_W, ERR), DECONV_OK);
        EXPECT(deconv_conv2d_get_f32(conv, "weight", back, FX_FD_FOLDED_W_LEN, ERR), DECONV_OK);
        CHECK(memcmp(back, fw, sizeof back) == 0);
        EXPECT(deconv_conv2d_get_f32(conv, "bias", kb, FX_FD_BIAS_LEN - 1, ERR), DECONV_E_SHAPE);
    }
    deconv_conv2d_free(conv);
    free(w);
    free(b);
    free(x1);
    free(x2);
    free(c1);
    free(c2);
    free(fw);
    free(fx);
    free(ky);
}

/* ---- layers on threads -------------------------------------------------------------- */

struct fd_worker {
    double y[FX_FD_Y2_LEN], rd[FX_FD_RUNNING_DECONV_LEN];
    int status;
};

/* Trains its own FastDeconv for two steps. */
static void *fd_worker_run(void *arg) {
    struct fd_worker *w = arg;
    deconv_fastdeconv_config cfg;
    deconv_fastdeconv *l = NULL;
    deconv_error e;
    int st;
    fd_config(&cfg);
    st = deconv_fastdeconv_create_f64(&cfg, FX_FD_W, FX_FD_W_LEN, FX_FD_BIAS, FX_FD_BIAS_LEN, &l, &e);
    if (st == DECONV_OK) {
        st |= deconv_fastdeconv_forward_f64(l, w->y, FX_FD_Y2_LEN, FX_FD_X1, FX_FD_X1_LEN, FD_N, FD_H, FD_W, &e);
        st |= deconv_fastdeconv_forward_f64(l, w->y, FX_FD_Y2_LEN, FX_FD_X2, FX_FD_X2_LEN, FD_N, FD_H, FD_W, &e);
        st |= deconv_fastdeconv_get_f64(l, "running_deconv", w->rd, FX_FD_RUNNING_DECONV_LEN, &e);
    }
    w->status = st;
    deconv_fastdeconv_free(l);
    return NULL;
}

struct conv_worker {
    const deconv_conv2d *c; /* shared */
    double y[FX_FD_Y2_LEN];
    int status;
};

static void *conv_worker_run(void *arg) {
    struct conv_worker *w = arg;
    deconv_error e;
    int r, st = DECONV_OK;
    for (r = 0; r < ROUNDS; r++)
        st |= deconv_conv2d_forward_f64(w->c, w->y, FX_FD_Y2_LEN, r % 2 ? FX_FD_X2 : FX_FD_X1, FX_FD_X1_LEN, FD_N, FD_H,
                                        FD_W, &e);
    w->status = st;
    return NULL;
}

static void test_layer_threads(void) {
    struct fd_worker *fw = calloc(3, sizeof *fw);
    struct conv_worker *cw = calloc(NTHREADS + 1, sizeof *cw);
    deconv_fastdeconv *l = fd_create64();
    deconv_conv2d *c = NULL;
    pthread_t th[NTHREADS];
    int i;
    if (!fw || !cw || !l) return;
    /* Two layers trained on two threads at once. */
    fd_worker_run(&fw[2]);
    CHECK(fw[2].status == DECONV_OK && err_f64(fw[2].y, FX_FD_Y2, FX_FD_Y2_LEN) < 1e-12);
    for (i = 0; i < 2; i++) CHECK(pthread_create(&th[i], NULL, fd_worker_run, &fw[i]) == 0);
    for (i = 0; i < 2; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK(fw[i].status == DECONV_OK);
        CHECK(memcmp(fw[i].y, fw[2].y, sizeof fw[i].y) == 0 && memcmp(fw[i].rd, fw[2].rd, sizeof fw[i].rd) == 0);
    }
    /* One folded convolution shared by four threads. */
    CHECK(deconv_fastdeconv_forward_f64(l, cw[0].y, FX_FD_Y2_LEN, FX_FD_X1, FX_FD_X1_LEN, FD_N, FD_H, FD_W, NULL) == 0);
    CHECK(deconv_fastdeconv_forward_f64(l, cw[0].y, FX_FD_Y2_LEN, FX_FD_X2, FX_FD_X2_LEN, FD_N, FD_H, FD_W, NULL) == 0);
    EXPECT(deconv_fastdeconv_folded(l, &c, ERR), DECONV_OK);
    if (c) {
        cw[NTHREADS].c = c;
        conv_worker_run(&cw[NTHREADS]);
        CHECK(cw[NTHREADS].status == DECONV_OK);
        for (i = 0; i < NTHREADS; i++) {
            cw[i].c = c;
            CHECK(pthread_create(&th[i], NULL, conv_worker_run, &cw[i]) == 0);
        }
        for (i = 0; i < NTHREADS; i++) {
            CHECK(pthread_join(th[i], NULL) == 0);
            CHECK(cw[i].status == DECONV_OK);
            CHECK(memcmp(cw[i].y, cw[NTHREADS].y, sizeof cw[i].y) == 0);
        }
    }
    deconv_conv2d_free(c);
    deconv_fastdeconv_free(l);
    free(fw);
    free(cw);
}

int main(void) {
    /* The version handshake a program does first. */
    if (deconv_version_number() / 10000 != DECONV_VERSION_MAJOR ||
        deconv_version_number() / 100 % 100 < DECONV_VERSION_MINOR) {
        fprintf(stderr, "libdeconv %s does not match deconv.h %s\n", deconv_version_string(),
                DECONV_VERSION_STRING);
        return 1;
    }
    test_version();
    test_status_messages();
    test_settings();
    test_error_struct();
    test_im2col();
    test_cov();
    test_isqrt();
    test_threads();
    test_fold();
    test_fastdeconv();
    test_delinear();
    test_channeldeconv();
    test_layers_f32();
    test_layer_threads();
    if (failures) {
        fprintf(stderr, "test_deconv: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_deconv: all %d checks passed (libdeconv %s, %s kernels, %d threads)\n", checks,
           deconv_version_string(), deconv_isa_name(), deconv_threads());
    return 0;
}
