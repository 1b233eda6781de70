/* The forward pass of the folded paper layer through the C interface, to
 * compare with the Go benchmark BenchmarkPaperFastDeconvEval (fold/): x of
 * 32 x 64 x 128 x 128 floats, a FastDeconv 64 -> 128 with a 3 x 3 kernel
 * and padding 1 (block 64, sampling stride 3, 5 iterations, bias), its
 * running statistics from one training batch, folded into a deconv_conv2d.
 * Prints the median of the timed runs (`make cbench`; BENCH_RUNS sets how
 * many, 5 by default). The buffers are aligned to 64 bytes, as Go aligns
 * the large slices of the Go benchmark (malloc's 16 would split the
 * kernels' 64-byte stores across cache lines). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deconv.h"

enum { N = 32, CIN = 64, COUT = 128, H = 128, W = 128, K = 3 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float uniform(void) { /* xorshift64*, in [0, 1) */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (float)((rng * 0x2545f4914f6cdd1dull) >> 40) / (float)(1 << 24);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *alloc(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n * sizeof(float)) == 0 ? p : NULL;
}

static int fail(const char *what, const deconv_error *err) {
    fprintf(stderr, "bench_folded: %s: %s\n", what, err->message);
    return 1;
}

int main(void) {
    const size_t xl = (size_t)N * CIN * H * W, yl = (size_t)N * COUT * H * W, wl = (size_t)COUT * CIN * K * K;
    float *x = alloc(xl), *y = alloc(yl), *w = alloc(wl), b[COUT];
    deconv_fastdeconv_config cfg;
    deconv_fastdeconv *l = NULL;
    deconv_conv2d *c = NULL;
    deconv_error err;
    double t[64], mean = 0, gflop = 2.0 * (double)yl * CIN * K * K / 1e9;
    const char *env = getenv("BENCH_RUNS");
    int runs = env ? atoi(env) : 5, i;
    size_t j;

    if (!x || !y || !w) return 1;
    if (runs < 1) runs = 1;
    if (runs > 64) runs = 64;
    for (j = 0; j < xl; j++) x[j] = uniform() + (float)(j / (H * W) % CIN) * 0.01f;
    for (j = 0; j < wl; j++) w[j] = (uniform() - 0.5f) * 0.1f;
    for (j = 0; j < COUT; j++) b[j] = uniform() - 0.5f;

    deconv_fastdeconv_config_default(&cfg, CIN, COUT, K);
    cfg.geometry.pad_h = cfg.geometry.pad_w = 1;
    if (deconv_fastdeconv_create_f32(&cfg, w, wl, b, COUT, &l, &err)) return fail("create", &err);
    if (deconv_fastdeconv_forward_f32(l, y, yl, x, xl, N, H, W, &err)) return fail("training forward", &err);
    if (deconv_fastdeconv_folded(l, &c, &err)) return fail("folded", &err);
    if (deconv_conv2d_forward_f32(c, y, yl, x, xl, N, H, W, &err)) return fail("warm-up", &err);
    for (i = 0; i < runs; i++) {
        double t0 = now();
        if (deconv_conv2d_forward_f32(c, y, yl, x, xl, N, H, W, &err)) return fail("forward", &err);
        t[i] = now() - t0;
    }
    for (i = 0; i < runs; i++) mean += t[i] / runs;
    qsort(t, (size_t)runs, sizeof t[0], cmp);
    printf("bench_folded: folded paper layer forward through the C ABI: median %.1f ms of %d runs "
           "(mean %.1f, min %.1f, max %.1f), %.1f GFLOP/s, %s kernels, %d threads\n",
           1e3 * t[runs / 2], runs, 1e3 * mean, 1e3 * t[0], 1e3 * t[runs - 1], gflop / t[runs / 2], deconv_isa_name(),
           deconv_threads());
    deconv_conv2d_free(c);
    deconv_fastdeconv_free(l);
    free(x);
    free(y);
    free(w);
    return 0;
}
