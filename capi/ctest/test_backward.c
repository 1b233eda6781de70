/* The C test program of libdeconv's backward passes (deconv.h 0.2):
 * gradients against simple references on tiny cases (naive loops for the
 * convolution, the linear layer and the covariance; central differences
 * of the library's own forward for the inverse square root, folding and
 * the three layers, in training and in evaluation mode), the float entry
 * points against the double ones, and every error status with the
 * outputs left untouched.
 *
 * Built with -std=c99 -Wall -Wextra -Werror, run plainly, under valgrind
 * memcheck and with -fsanitize=address,undefined. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconv.h"

#include "check.h"

static const double GUARD64 = -54321.25;
static const float GUARD32 = -12345.5f;

/* A deterministic value in [-0.5, 0.5). */
static double rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (double)((*s >> 8) & 0xffff) / 65536.0 - 0.5;
}

static double *vec(size_t n, unsigned seed) {
    double *v = malloc((n ? n : 1) * sizeof *v);
    size_t i;
    if (!v) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < n; i++) v[i] = rnd(&seed);
    return v;
}

static float *vec32(const double *v, size_t n) {
    float *f = malloc((n ? n : 1) * sizeof *f);
    size_t i;
    if (!f) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

static void fill(double *v, size_t n, double x) {
    size_t i;
    for (i = 0; i < n; i++) v[i] = x;
}

static int all64(const double *v, size_t n, double x) {
    size_t i;
    for (i = 0; i < n; i++)
        if (v[i] != x) return 0;
    return 1;
}

static int all32(const float *v, size_t n, float x) {
    size_t i;
    for (i = 0; i < n; i++)
        if (v[i] != x) return 0;
    return 1;
}

/* max |got - want| / max |want| (want not all zero). */
static double rel(const double *got, const double *want, size_t n) {
    double e = 0, m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        if (fabs(got[i] - want[i]) > e || got[i] != got[i]) e = got[i] != got[i] ? INFINITY : fabs(got[i] - want[i]);
        if (fabs(want[i]) > m) m = fabs(want[i]);
    }
    return m > 0 ? e / m : e;
}

static double rel32(const float *got, const double *want, size_t n) {
    double *g = malloc((n ? n : 1) * sizeof *g), r;
    size_t i;
    if (!g) exit(2);
    for (i = 0; i < n; i++) g[i] = got[i];
    r = rel(g, want, n);
    free(g);
    return r;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Central differences of f with respect to v[0..n): g[i] = (f(v + h e_i) -
 * f(v - h e_i)) / 2h. */
typedef double (*loss_fn)(void *ctx);

static void numgrad(double *g, double *v, size_t n, double h, loss_fn f, void *ctx) {
    size_t i;
    for (i = 0; i < n; i++) {
        double s = v[i], lp, lm;
        v[i] = s + h;
        lp = f(ctx);
        v[i] = s - h;
        lm = f(ctx);
        v[i] = s;
        g[i] = (lp - lm) / (2 * h);
    }
}

/* The same for a symmetric matrix (n x n) perturbed symmetrically: g[i,j]
 * for i <= j is the derivative along E_ij + E_ji (E_ii on the diagonal),
 * which is what a gradient G gives as G_ij + G_ji (G_ii). */
static void numgrad_sym(double *g, double *m, size_t n, double h, loss_fn f, void *ctx) {
    size_t i, j;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++) {
            double a = m[i * n + j], b = m[j * n + i], lp, lm;
            m[i * n + j] = a + h;
            if (i != j) m[j * n + i] = b + h;
            lp = f(ctx);
            m[i * n + j] = a - h;
            if (i != j) m[j * n + i] = b - h;
            lm = f(ctx);
            m[i * n + j] = a;
            m[j * n + i] = b;
            g[i * n + j] = (lp - lm) / (2 * h);
        }
}

/* G folded onto its upper triangle as numgrad_sym measures it. */
static void sym_upper(double *dst, const double *g, size_t n) {
    size_t i, j;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++) dst[i * n + j] = i == j ? g[i * n + i] : g[i * n + j] + g[j * n + i];
}

static double rel_upper(const double *got, const double *want, size_t n) {
    double e = 0, m = 0;
    size_t i, j;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++) {
            double d = fabs(got[i * n + j] - want[i * n + j]);
            if (d > e || d != d) e = d != d ? INFINITY : d;
            if (fabs(want[i * n + j]) > m) m = fabs(want[i * n + j]);
        }
    return m > 0 ? e / m : e;
}

/* ---- conv2d: naive loops -------------------------------------------------- */

enum { CN = 2, CCI = 3, CCO = 2, CH = 5, CW = 5, CK = 3, CS = 2, CP = 1, COH = 3, COW = 3 };

static void conv_ref(double *dx, double *dw, double *db, const double *dy, const double *x, const double *w) {
    int n, o, c, i, j, ki, kj;
    fill(dx, (size_t)CN * CCI * CH * CW, 0);
    fill(dw, (size_t)CCO * CCI * CK * CK, 0);
    fill(db, CCO, 0);
    for (n = 0; n < CN; n++)
        for (o = 0; o < CCO; o++)
            for (i = 0; i < COH; i++)
                for (j = 0; j < COW; j++) {
                    double g = dy[((n * CCO + o) * COH + i) * COW + j];
                    db[o] += g;
                    for (c = 0; c < CCI; c++)
                        for (ki = 0; ki < CK; ki++)
                            for (kj = 0; kj < CK; kj++) {
                                int ih = i * CS - CP + ki, iw = j * CS - CP + kj;
                                size_t xi, wi;
                                if (ih < 0 || ih >= CH || iw < 0 || iw >= CW) continue;
                                xi = ((size_t)(n * CCI + c) * CH + ih) * CW + iw;
                                wi = ((size_t)(o * CCI + c) * CK + ki) * CK + kj;
                                dx[xi] += w[wi] * g;
                                dw[wi] += x[xi] * g;
                            }
                }
}

static void test_conv2d(void) {
    const size_t nx = (size_t)CN * CCI * CH * CW, ny = (size_t)CN * CCO * COH * COW, nw = (size_t)CCO * CCI * CK * CK;
    double *x = vec(nx, 1), *w = vec(nw, 2), *b = vec(CCO, 3), *dy = vec(ny, 4);
    double *dx = vec(nx, 0), *dw = vec(nw, 0), *db = vec(CCO, 0);
    double *rx = vec(nx, 0), *rw = vec(nw, 0), *rb = vec(CCO, 0);
    float *x32 = vec32(x, nx), *w32 = vec32(w, nw), *b32 = vec32(b, CCO), *dy32 = vec32(dy, ny);
    float *dx32 = vec32(dx, nx), *dw32 = vec32(dw, nw), db32[CCO];
    deconv_conv2d_config cfg;
    deconv_conv2d *c = NULL, *c32 = NULL;

    conv_ref(rx, rw, rb, dy, x, w);
    deconv_conv2d_config_default(&cfg, CCI, CCO, CK);
    cfg.geometry.stride_h = cfg.geometry.stride_w = CS;
    cfg.geometry.pad_h = cfg.geometry.pad_w = CP;
    EXPECT(deconv_conv2d_create_f64(&cfg, w, nw, b, CCO, &c, ERR), DECONV_OK);
    EXPECT(deconv_conv2d_create_f32(&cfg, w32, nw, b32, CCO, &c32, ERR), DECONV_OK);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dw, nw, db, CCO, dy, ny, x, nx, CN, CH, CW, ERR), DECONV_OK);
    CHECK(rel(dx, rx, nx) < 1e-13 && rel(dw, rw, nw) < 1e-13 && rel(db, rb, CCO) < 1e-13);
    EXPECT(deconv_conv2d_backward_f32(c32, dx32, nx, dw32, nw, db32, CCO, dy32, ny, x32, nx, CN, CH, CW, ERR), DECONV_OK);
    CHECK(rel32(dx32, rx, nx) < 1e-5 && rel32(dw32, rw, nw) < 1e-5 && rel32(db32, rb, CCO) < 1e-5);
    /* Only dx (NULL destinations are not computed). */
    fill(dx, nx, GUARD64);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, NULL, 0, NULL, 0, dy, ny, x, nx, CN, CH, CW, ERR), DECONV_OK);
    CHECK(rel(dx, rx, nx) < 1e-13);

    /* Errors: every destination left as it was. */
    fill(dx, nx, GUARD64);
    fill(dw, nw, GUARD64);
    EXPECT(deconv_conv2d_backward_f64(NULL, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, CN, CH, CW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_conv2d_backward_f64(c32, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, CN, CH, CW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx - 1, dw, nw, NULL, 0, dy, ny, x, nx, CN, CH, CW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dw, nw - 1, NULL, 0, dy, ny, x, nx, CN, CH, CW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dw, nw, NULL, 0, dy, ny - 1, x, nx, CN, CH, CW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, CN, CH + 1, CW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dw, nw, NULL, 0, NULL, ny, x, nx, CN, CH, CW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, -1, CH, CW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dx + 1, nw, NULL, 0, dy, ny, x, nx, CN, CH, CW, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_conv2d_backward_f64(c, dx, nx, dw, nw, NULL, 0, dy, ny, dx, nx, CN, CH, CW, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_conv2d_backward_f64(c, dx, (size_t)1 << 62, dw, nw, NULL, 0, dy, ny, x, nx, CN, CH, CW, ERR),
           DECONV_E_OVERFLOW);
    CHECK(all64(dx, nx, GUARD64) && all64(dw, nw, GUARD64));
    EXPECT(deconv_conv2d_backward_f32(c, dx32, nx, NULL, 0, NULL, 0, dy32, ny, x32, nx, CN, CH, CW, ERR), DECONV_E_PARAM);

    deconv_conv2d_free(c);
    deconv_conv2d_free(c32);
    free(x), free(w), free(b), free(dy), free(dx), free(dw), free(db), free(rx), free(rw), free(rb);
    free(x32), free(w32), free(b32), free(dy32), free(dx32), free(dw32);
}

/* ---- linear: naive loops --------------------------------------------------- */

enum { LB = 4, LI = 5, LO = 3 };

static void test_linear(void) {
    double *x = vec(LB * LI, 5), *w = vec(LO * LI, 6), *b = vec(LO, 7), *dy = vec(LB * LO, 8);
    double dx[LB * LI], dw[LO * LI], db[LO], rx[LB * LI], rw[LO * LI], rb[LO];
    float *x32 = vec32(x, LB * LI), *w32 = vec32(w, LO * LI), *dy32 = vec32(dy, LB * LO);
    float dx32[LB * LI], dw32[LO * LI], db32[LO];
    deconv_linear_config cfg;
    deconv_linear *l = NULL, *l32 = NULL;
    int i, j, k;

    fill(rx, LB * LI, 0), fill(rw, LO * LI, 0), fill(rb, LO, 0);
    for (i = 0; i < LB; i++)
        for (j = 0; j < LO; j++) {
            rb[j] += dy[i * LO + j];
            for (k = 0; k < LI; k++) {
                rx[i * LI + k] += dy[i * LO + j] * w[j * LI + k];
                rw[j * LI + k] += dy[i * LO + j] * x[i * LI + k];
            }
        }
    deconv_linear_config_default(&cfg, LI, LO);
    EXPECT(deconv_linear_create_f64(&cfg, w, LO * LI, b, LO, &l, ERR), DECONV_OK);
    EXPECT(deconv_linear_create_f32(&cfg, w32, LO * LI, NULL, 0, &l32, ERR), DECONV_OK);
    EXPECT(deconv_linear_backward_f64(l, dx, LB * LI, dw, LO * LI, db, LO, dy, LB * LO, x, LB * LI, LB, ERR), DECONV_OK);
    CHECK(rel(dx, rx, LB * LI) < 1e-14 && rel(dw, rw, LO * LI) < 1e-14 && rel(db, rb, LO) < 1e-14);
    /* A layer without bias: db NULL, or a bias gradient all the same. */
    EXPECT(deconv_linear_backward_f32(l32, dx32, LB * LI, dw32, LO * LI, NULL, 0, dy32, LB * LO, x32, LB * LI, LB, ERR),
           DECONV_OK);
    CHECK(rel32(dx32, rx, LB * LI) < 1e-5 && rel32(dw32, rw, LO * LI) < 1e-5);
    (void)db32;

    fill(dx, LB * LI, GUARD64);
    EXPECT(deconv_linear_backward_f64(NULL, dx, LB * LI, NULL, 0, NULL, 0, dy, LB * LO, x, LB * LI, LB, ERR), DECONV_E_PARAM);
    EXPECT(deconv_linear_backward_f64(l32, dx, LB * LI, NULL, 0, NULL, 0, dy, LB * LO, x, LB * LI, LB, ERR), DECONV_E_PARAM);
    EXPECT(deconv_linear_backward_f64(l, dx, LB * LI, NULL, 0, NULL, 0, dy, LB * LO, x, LB * LI, LB + 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_linear_backward_f64(l, dx, LB * LI, NULL, 0, db, LO - 1, dy, LB * LO, x, LB * LI, LB, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_linear_backward_f64(l, dx, LB * LI, NULL, 0, NULL, 0, dy, LB * LO, NULL, LB * LI, LB, ERR), DECONV_E_PARAM);
    EXPECT(deconv_linear_backward_f64(l, dx, LB * LI, NULL, 0, NULL, 0, dx, LB * LO, x, LB * LI, LB, ERR), DECONV_E_OVERLAP);
    CHECK(all64(dx, LB * LI, GUARD64));

    deconv_linear_free(l);
    deconv_linear_free(l32);
    free(x), free(w), free(b), free(dy), free(x32), free(w32), free(dy32);
}

/* ---- covariance: the closed form of a linear plan --------------------------- */

enum { VB = 5, VF = 4, VK = 2, VR = VB * VF / VK };

static void test_cov(void) {
    deconv_cov_linear_params p;
    deconv_cov_plan *pl = NULL;
    double *x = vec(VB * VF, 9), *dmean = vec(VK, 10), *dcov = vec(VK * VK, 11);
    double mean[VK], cov[VK * VK], dx[VB * VF], want[VB * VF], m[VK];
    float *x32 = vec32(x, VB * VF), *dm32 = vec32(dmean, VK), *dc32 = vec32(dcov, VK * VK);
    float mean32[VK], cov32[VK * VK], dx32[VB * VF];
    int r, j, k;

    deconv_cov_linear_params_default(&p, VB, VF);
    p.block = VK;
    EXPECT(deconv_cov_plan_create_linear(&p, &pl, ERR), DECONV_OK);
    if (!pl) return;
    CHECK(deconv_cov_plan_rows(pl) == VR && deconv_cov_plan_features(pl) == VK);
    EXPECT(deconv_cov_compute_f64(pl, mean, VK, cov, VK * VK, x, VB * VF, ERR), DECONV_OK);
    /* Cov = eps I + Xc^T Xc / R over the R chunks x_r of VK values:
     * dx_r = dmean / R + (dcov + dcov^T) (x_r - m) / R. */
    fill(m, VK, 0);
    for (r = 0; r < VR; r++)
        for (j = 0; j < VK; j++) m[j] += x[r * VK + j] / VR;
    for (r = 0; r < VR; r++)
        for (j = 0; j < VK; j++) {
            double s = dmean[j] / VR;
            for (k = 0; k < VK; k++) s += (dcov[j * VK + k] + dcov[k * VK + j]) * (x[r * VK + k] - m[k]) / VR;
            want[r * VK + j] = 0.5 + s; /* dx starts at 0.5: the gradient is added */
        }
    fill(dx, VB * VF, 0.5);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, dmean, VK, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_OK);
    CHECK(rel(dx, want, VB * VF) < 1e-13);
    /* Without dmean: only the covariance's part. */
    for (r = 0; r < VR; r++)
        for (j = 0; j < VK; j++) want[r * VK + j] -= dmean[j] / VR;
    fill(dx, VB * VF, 0.5);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, NULL, 0, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_OK);
    CHECK(rel(dx, want, VB * VF) < 1e-13);
    fill(dx, VB * VF, 0.5);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, NULL, 0, NULL, 0, x, VB * VF, mean, VK, ERR), DECONV_OK);
    CHECK(all64(dx, VB * VF, 0.5));
    /* float */
    for (r = 0; r < VR; r++)
        for (j = 0; j < VK; j++) want[r * VK + j] += dmean[j] / VR;
    EXPECT(deconv_cov_compute_f32(pl, mean32, VK, cov32, VK * VK, x32, VB * VF, ERR), DECONV_OK);
    for (r = 0; r < VB * VF; r++) dx32[r] = 0.5f;
    EXPECT(deconv_cov_backward_f32(pl, dx32, VB * VF, dm32, VK, dc32, VK * VK, x32, VB * VF, mean32, VK, ERR), DECONV_OK);
    CHECK(rel32(dx32, want, VB * VF) < 1e-5);

    /* Errors: dx unchanged. */
    fill(dx, VB * VF, GUARD64);
    EXPECT(deconv_cov_backward_f64(NULL, dx, VB * VF, dmean, VK, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF - 1, dmean, VK, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, dmean, VK - 1, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, dmean, VK, dcov, VK, x, VB * VF, mean, VK, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, dmean, VK, dcov, VK * VK, x, VB * VF, mean, VK - 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, dmean, VK, dcov, VK * VK, NULL, VB * VF, mean, VK, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_backward_f64(pl, NULL, VB * VF, dmean, VK, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_E_PARAM);
    EXPECT(deconv_cov_backward_f64(pl, dx, VB * VF, dx, VK, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_cov_backward_f64(pl, x, VB * VF, dmean, VK, dcov, VK * VK, x, VB * VF, mean, VK, ERR), DECONV_E_OVERLAP);
    CHECK(all64(dx, VB * VF, GUARD64));

    deconv_cov_plan_free(pl);
    free(x), free(dmean), free(dcov), free(x32), free(dm32), free(dc32);
}

/* ---- inverse square root: central differences of the forward -------------- */

enum { IN = 3 };

typedef struct {
    deconv_isqrt *h;
    double *a, *dd;
} isqrt_ctx;

static double isqrt_loss(void *p) {
    isqrt_ctx *c = p;
    double d[IN * IN];
    if (deconv_isqrt_compute_f64(c->h, d, IN * IN, c->a, IN * IN, NULL, 0, NULL, NULL) != DECONV_OK) {
        failures++;
        return NAN;
    }
    return dot(c->dd, d, IN * IN);
}

static void test_isqrt(void) {
    double a[IN * IN] = {2.0, 0.3, -0.2, 0.3, 1.5, 0.1, -0.2, 0.1, 1.0};
    double a2[2 * IN * IN], dd2[2 * IN * IN], da2[2 * IN * IN], d2[2 * IN * IN];
    double *dd = vec(IN * IN, 12), da[IN * IN], num[IN * IN], sym[IN * IN], d[IN * IN];
    float a32[IN * IN], dd32[IN * IN], da32[IN * IN], d32[IN * IN];
    deconv_isqrt_config cfg;
    deconv_isqrt *h = NULL, *plain = NULL;
    isqrt_ctx ctx;
    int method, i;

    for (method = DECONV_ISQRT_COUPLED; method <= DECONV_ISQRT_COUPLED_REFERENCE; method++) {
        deconv_isqrt_config_default(&cfg);
        CHECK(cfg.grad == 0);
        cfg.grad = 1;
        cfg.method = method;
        h = NULL;
        EXPECT(deconv_isqrt_create(IN, &cfg, &h, ERR), DECONV_OK);
        if (!h) return;
        /* Before any computation there is nothing to differentiate. */
        fill(da, IN * IN, GUARD64);
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN, dd, IN * IN, ERR), DECONV_E_PARAM);
        CHECK(all64(da, IN * IN, GUARD64));
        ctx.h = h, ctx.a = a, ctx.dd = dd;
        numgrad_sym(num, a, IN, 1e-6, isqrt_loss, &ctx);
        EXPECT(deconv_isqrt_compute_f64(h, d, IN * IN, a, IN * IN, NULL, 0, NULL, ERR), DECONV_OK);
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN, dd, IN * IN, ERR), DECONV_OK);
        sym_upper(sym, da, IN);
        CHECK(rel_upper(sym, num, IN) < 1e-7);
        /* The handle keeps its state: a second backward gives the same. */
        EXPECT(deconv_isqrt_backward_f64(h, num, IN * IN, dd, IN * IN, ERR), DECONV_OK);
        CHECK(memcmp(num, da, sizeof da) == 0);
        /* float: the float forward, then its backward. */
        for (i = 0; i < IN * IN; i++) a32[i] = (float)a[i], dd32[i] = (float)dd[i];
        EXPECT(deconv_isqrt_backward_f32(h, da32, IN * IN, dd32, IN * IN, ERR), DECONV_E_PARAM); /* last was double */
        EXPECT(deconv_isqrt_compute_f32(h, d32, IN * IN, a32, IN * IN, NULL, 0, NULL, ERR), DECONV_OK);
        EXPECT(deconv_isqrt_backward_f32(h, da32, IN * IN, dd32, IN * IN, ERR), DECONV_OK);
        CHECK(rel32(da32, da, IN * IN) < 1e-4);
        /* A batch of two: each matrix's gradient as alone. */
        for (i = 0; i < IN * IN; i++) {
            a2[i] = a[i], a2[IN * IN + i] = 2 * a[i];
            dd2[i] = dd[i], dd2[IN * IN + i] = -dd[i];
        }
        EXPECT(deconv_isqrt_backward_batch_f64(h, 2, da2, 2 * IN * IN, dd2, 2 * IN * IN, ERR), DECONV_E_PARAM);
        EXPECT(deconv_isqrt_compute_batch_f64(h, 2, d2, 2 * IN * IN, a2, 2 * IN * IN, ERR), DECONV_OK);
        fill(da2, 2 * IN * IN, GUARD64);
        EXPECT(deconv_isqrt_backward_batch_f64(h, 1, da2, IN * IN, dd2, IN * IN, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_isqrt_backward_f64(h, da2, IN * IN, dd2, IN * IN, ERR), DECONV_E_PARAM); /* last was a batch */
        CHECK(all64(da2, 2 * IN * IN, GUARD64));
        EXPECT(deconv_isqrt_backward_batch_f64(h, 2, da2, 2 * IN * IN, dd2, 2 * IN * IN, ERR), DECONV_OK);
        CHECK(rel(da2, da, IN * IN) < 1e-12);
        for (i = 0; i < IN * IN; i++) a2[i] = 2 * a[i];
        EXPECT(deconv_isqrt_compute_f64(h, d, IN * IN, a2, IN * IN, NULL, 0, NULL, ERR), DECONV_OK);
        for (i = 0; i < IN * IN; i++) dd2[i] = -dd[i];
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN, dd2, IN * IN, ERR), DECONV_OK);
        CHECK(rel(da2 + IN * IN, da, IN * IN) < 1e-12);
        /* Errors. */
        fill(da, IN * IN, GUARD64);
        EXPECT(deconv_isqrt_backward_f64(NULL, da, IN * IN, dd, IN * IN, ERR), DECONV_E_PARAM);
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN - 1, dd, IN * IN, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN, dd, IN * IN - 1, ERR), DECONV_E_SHAPE);
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN, NULL, IN * IN, ERR), DECONV_E_PARAM);
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN, da, IN * IN, ERR), DECONV_E_OVERLAP);
        CHECK(all64(da, IN * IN, GUARD64));
        /* A failed forward leaves nothing to differentiate. */
        a2[1] = 5;
        EXPECT(deconv_isqrt_compute_f64(h, d, IN * IN, a2, IN * IN, NULL, 0, NULL, ERR), DECONV_E_NOT_SYMMETRIC);
        EXPECT(deconv_isqrt_backward_f64(h, da, IN * IN, dd, IN * IN, ERR), DECONV_E_PARAM);
        CHECK(all64(da, IN * IN, GUARD64));
        deconv_isqrt_free(h);
    }
    /* A handle made without grad. */
    EXPECT(deconv_isqrt_create(IN, NULL, &plain, ERR), DECONV_OK);
    EXPECT(deconv_isqrt_compute_f64(plain, d, IN * IN, a, IN * IN, NULL, 0, NULL, ERR), DECONV_OK);
    EXPECT(deconv_isqrt_backward_f64(plain, da, IN * IN, dd, IN * IN, ERR), DECONV_E_PARAM);
    EXPECT(deconv_isqrt_backward_batch_f64(plain, 1, da, IN * IN, dd, IN * IN, ERR), DECONV_E_PARAM);
    CHECK(all64(da, IN * IN, GUARD64));
    deconv_isqrt_free(plain);
    /* A 0.1 caller's struct, which ends before grad: accepted, grad 0. */
    plain = NULL;
    deconv_isqrt_config_default(&cfg);
    cfg.grad = 1;
    cfg.struct_size = offsetof(deconv_isqrt_config, grad);
    EXPECT(deconv_isqrt_create(IN, &cfg, &plain, ERR), DECONV_OK);
    EXPECT(deconv_isqrt_compute_f64(plain, d, IN * IN, a, IN * IN, NULL, 0, NULL, ERR), DECONV_OK);
    EXPECT(deconv_isqrt_backward_f64(plain, da, IN * IN, dd, IN * IN, ERR), DECONV_E_PARAM);
    deconv_isqrt_free(plain);
    free(dd);
}

/* ---- fold: central differences of deconv_fold ------------------------------- */

enum { FR = 3, FF = 4, FB = 2 };

typedef struct {
    double *w, *b, *d, *mean, *gw, *gb;
} fold_ctx;

static double fold_loss(void *p) {
    fold_ctx *c = p;
    double wo[FR * FF], bo[FR];
    deconv_blocking bl = {FF, FB, DECONV_GROUPING_INTERLEAVED};
    if (deconv_fold_f64(wo, FR * FF, bo, FR, c->w, FR * FF, c->b, FR, FR, &bl, c->d, FB * FB, c->mean, FB, NULL)) {
        failures++;
        return NAN;
    }
    return dot(c->gw, wo, FR * FF) + dot(c->gb, bo, FR);
}

static void test_fold(void) {
    double *w = vec(FR * FF, 13), *b = vec(FR, 14), *mean = vec(FB, 15), *gw = vec(FR * FF, 16), *gb = vec(FR, 17);
    double d[FB * FB] = {1.5, 0.2, 0.2, 0.8};
    double dw[FR * FF], db[FR], dd[FB * FB], dm[FB], nw[FR * FF], nb[FR], nd[FB * FB], nm[FB], sym[FB * FB];
    float *w32 = vec32(w, FR * FF), *mean32 = vec32(mean, FB), *gw32 = vec32(gw, FR * FF), *gb32 = vec32(gb, FR);
    float *d32 = vec32(d, FB * FB), dw32[FR * FF], dd32[FB * FB];
    deconv_blocking bl = {FF, FB, DECONV_GROUPING_INTERLEAVED};
    fold_ctx ctx = {w, b, d, mean, gw, gb};

    numgrad(nw, w, FR * FF, 1e-6, fold_loss, &ctx);
    numgrad(nb, b, FR, 1e-6, fold_loss, &ctx);
    numgrad(nm, mean, FB, 1e-6, fold_loss, &ctx);
    numgrad_sym(nd, d, FB, 1e-6, fold_loss, &ctx);
    EXPECT(deconv_fold_backward_f64(dw, FR * FF, db, FR, dd, FB * FB, dm, FB, gw, FR * FF, gb, FR, w, FR * FF, FR, &bl, d,
                                    FB * FB, mean, FB, ERR), DECONV_OK);
    CHECK(rel(dw, nw, FR * FF) < 1e-8 && rel(db, nb, FR) < 1e-8 && rel(dm, nm, FB) < 1e-8);
    sym_upper(sym, dd, FB);
    CHECK(rel_upper(sym, nd, FB) < 1e-8);
    /* float, and destinations left out. */
    EXPECT(deconv_fold_backward_f32(dw32, FR * FF, NULL, 0, dd32, FB * FB, NULL, 0, gw32, FR * FF, gb32, FR, w32, FR * FF, FR,
                                    &bl, d32, FB * FB, mean32, FB, ERR), DECONV_OK);
    CHECK(rel32(dw32, dw, FR * FF) < 1e-5 && rel32(dd32, dd, FB * FB) < 1e-5);

    fill(dw, FR * FF, GUARD64);
    EXPECT(deconv_fold_backward_f64(dw, FR * FF, NULL, 0, NULL, 0, NULL, 0, gw, FR * FF, gb, FR, w, FR * FF, FR, NULL, d,
                                    FB * FB, mean, FB, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fold_backward_f64(dw, FR * FF - 1, NULL, 0, NULL, 0, NULL, 0, gw, FR * FF, gb, FR, w, FR * FF, FR, &bl, d,
                                    FB * FB, mean, FB, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fold_backward_f64(dw, FR * FF, NULL, 0, NULL, 0, NULL, 0, gw, FR * FF - 1, gb, FR, w, FR * FF, FR, &bl, d,
                                    FB * FB, mean, FB, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fold_backward_f64(dw, FR * FF, NULL, 0, NULL, 0, NULL, 0, gw, FR * FF, gb, FR, w, FR * FF, FR, &bl, d,
                                    FB * FB, NULL, FB, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fold_backward_f64(dw, FR * FF, NULL, 0, NULL, 0, NULL, 0, dw, FR * FF, gb, FR, w, FR * FF, FR, &bl, d,
                                    FB * FB, mean, FB, ERR), DECONV_E_OVERLAP);
    CHECK(all64(dw, FR * FF, GUARD64));
    free(w), free(b), free(mean), free(gw), free(gb), free(w32), free(mean32), free(gw32), free(gb32), free(d32);
}

/* ---- the layers: central differences of their own forward ------------------- */

enum { KIND_FD, KIND_DL, KIND_CD };

typedef struct {
    int kind;
    void *l;
    double *x, *y, *dy, *w, *b;
    size_t nx, ny, nw, nb;
    int n, c, h, wd;
} layer_ctx;

static int layer_set_weights(layer_ctx *t) {
    if (t->kind == KIND_FD)
        return deconv_fastdeconv_set_f64(t->l, "weight", t->w, t->nw, NULL) ||
               deconv_fastdeconv_set_f64(t->l, "bias", t->b, t->nb, NULL);
    if (t->kind == KIND_DL)
        return deconv_delinear_set_f64(t->l, "weight", t->w, t->nw, NULL) ||
               deconv_delinear_set_f64(t->l, "bias", t->b, t->nb, NULL);
    return 0;
}

static int layer_forward(layer_ctx *t) {
    if (t->kind == KIND_FD) return deconv_fastdeconv_forward_f64(t->l, t->y, t->ny, t->x, t->nx, t->n, t->h, t->wd, NULL);
    if (t->kind == KIND_DL) return deconv_delinear_forward_f64(t->l, t->y, t->ny, t->x, t->nx, t->n, NULL);
    return deconv_channeldeconv_forward_f64(t->l, t->y, t->ny, t->x, t->nx, t->n, t->c, t->h, t->wd, NULL);
}

static double layer_loss(void *p) {
    layer_ctx *t = p;
    if (layer_set_weights(t) || layer_forward(t)) {
        failures++;
        return NAN;
    }
    return dot(t->dy, t->y, t->ny);
}

static int layer_backward(layer_ctx *t, double *dx, double *dw, double *db) {
    int st;
    deconv_error e;
    if (t->kind == KIND_FD)
        st = deconv_fastdeconv_backward_f64(t->l, dx, t->nx, dw, t->nw, db, t->nb, t->dy, t->ny, t->x, t->nx, t->n, t->h, t->wd, &e);
    else if (t->kind == KIND_DL)
        st = deconv_delinear_backward_f64(t->l, dx, t->nx, dw, t->nw, db, t->nb, t->dy, t->ny, t->x, t->nx, t->n, &e);
    else
        st = deconv_channeldeconv_backward_f64(t->l, dx, t->nx, t->dy, t->ny, t->x, t->nx, t->n, t->c, t->h, t->wd, &e);
    if (st) fprintf(stderr, "    backward: %s\n", e.message);
    return st;
}

/* Checks the layer's gradients against central differences, in its
 * current mode: differences first (each a forward), then the forward on x
 * and its backward. */
static void check_layer(layer_ctx *t, const char *what) {
    double *nx = vec(t->nx, 0), *nw = vec(t->nw, 0), *nb = vec(t->nb, 0);
    double *dx = vec(t->nx, 0), *dw = vec(t->nw, 0), *db = vec(t->nb, 0);
    double ex, ew = 0, eb = 0;
    numgrad(nx, t->x, t->nx, 1e-6, layer_loss, t);
    numgrad(nw, t->w, t->nw, 1e-6, layer_loss, t);
    numgrad(nb, t->b, t->nb, 1e-6, layer_loss, t);
    CHECK(layer_set_weights(t) == 0 && layer_forward(t) == 0);
    CHECK(layer_backward(t, dx, t->nw ? dw : NULL, t->nb ? db : NULL) == DECONV_OK);
    ex = rel(dx, nx, t->nx);
    if (t->nw) ew = rel(dw, nw, t->nw);
    if (t->nb) eb = rel(db, nb, t->nb);
    if (!(ex < 1e-6 && ew < 1e-6 && eb < 1e-6))
        fprintf(stderr, "%s: gradients against differences: dx %.3g, dw %.3g, db %.3g\n", what, ex, ew, eb);
    CHECK(ex < 1e-6 && ew < 1e-6 && eb < 1e-6);
    free(nx), free(nw), free(nb), free(dx), free(dw), free(db);
}

enum { FN = 2, FCI = 4, FCO = 3, FH = 4, FW = 4, FK = 3 };

static void test_fastdeconv(void) {
    const size_t nx = (size_t)FN * FCI * FH * FW, ny = (size_t)FN * FCO * FH * FW, nw = (size_t)FCO * FCI * FK * FK;
    deconv_fastdeconv_config cfg;
    deconv_fastdeconv *l = NULL, *l32 = NULL;
    double *x = vec(nx, 20), *y = vec(ny, 0), *dy = vec(ny, 21), *w = vec(nw, 22), *b = vec(FCO, 23);
    double *dx = vec(nx, 0), *dw = vec(nw, 0), db[FCO];
    float *x32 = vec32(x, nx), *y32 = vec32(y, ny), *dy32 = vec32(dy, ny), *w32 = vec32(w, nw), *b32 = vec32(b, FCO);
    float *dx32 = vec32(dx, nx), *dw32 = vec32(dw, nw), db32[FCO];
    layer_ctx t;
    int train;

    deconv_fastdeconv_config_default(&cfg, FCI, FCO, FK);
    cfg.geometry.pad_h = cfg.geometry.pad_w = 1;
    cfg.block = 2; /* two interleaved blocks of two channels: F = 18 */
    cfg.sampling_stride = 1;
    EXPECT(deconv_fastdeconv_create_f64(&cfg, w, nw, b, FCO, &l, ERR), DECONV_OK);
    EXPECT(deconv_fastdeconv_create_f32(&cfg, w32, nw, b32, FCO, &l32, ERR), DECONV_OK);
    if (!l || !l32) return;
    t.kind = KIND_FD, t.l = l, t.x = x, t.y = y, t.dy = dy, t.w = w, t.b = b;
    t.nx = nx, t.ny = ny, t.nw = nw, t.nb = FCO, t.n = FN, t.c = FCI, t.h = FH, t.wd = FW;
    for (train = 1; train >= 0; train--) {
        EXPECT(deconv_fastdeconv_set_training(l, train, ERR), DECONV_OK);
        EXPECT(deconv_fastdeconv_set_training(l32, train, ERR), DECONV_OK);
        check_layer(&t, train ? "fastdeconv training" : "fastdeconv eval");
        /* float against double, on the same running buffers. */
        CHECK(layer_backward(&t, dx, dw, db) == DECONV_OK);
        if (!train) {
            double rm[2 * FK * FK], rd[2 * FK * FK * 2 * FK * FK];
            float rm32[2 * FK * FK], rd32[2 * FK * FK * 2 * FK * FK];
            size_t i;
            EXPECT(deconv_fastdeconv_get_f64(l, "running_mean", rm, 2 * FK * FK, ERR), DECONV_OK);
            EXPECT(deconv_fastdeconv_get_f64(l, "running_deconv", rd, sizeof rd / sizeof rd[0], ERR), DECONV_OK);
            for (i = 0; i < sizeof rm / sizeof rm[0]; i++) rm32[i] = (float)rm[i];
            for (i = 0; i < sizeof rd / sizeof rd[0]; i++) rd32[i] = (float)rd[i];
            EXPECT(deconv_fastdeconv_set_f32(l32, "running_mean", rm32, 2 * FK * FK, ERR), DECONV_OK);
            EXPECT(deconv_fastdeconv_set_f32(l32, "running_deconv", rd32, sizeof rd32 / sizeof rd32[0], ERR), DECONV_OK);
        }
        EXPECT(deconv_fastdeconv_forward_f32(l32, y32, ny, x32, nx, FN, FH, FW, ERR), DECONV_OK);
        EXPECT(deconv_fastdeconv_backward_f32(l32, dx32, nx, dw32, nw, db32, FCO, dy32, ny, x32, nx, FN, FH, FW, ERR), DECONV_OK);
        CHECK(rel32(dx32, dx, nx) < 1e-3 && rel32(dw32, dw, nw) < 1e-3 && rel32(db32, db, FCO) < 1e-3);
    }

    /* Errors: destinations left as they were. */
    fill(dx, nx, GUARD64);
    fill(dw, nw, GUARD64);
    EXPECT(deconv_fastdeconv_backward_f64(NULL, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, FN, FH, FW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_backward_f64((deconv_fastdeconv *)l32, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, FN, FH, FW, ERR),
           DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx - 1, dw, nw, NULL, 0, dy, ny, x, nx, FN, FH, FW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw - 1, NULL, 0, dy, ny, x, nx, FN, FH, FW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw, db, FCO - 1, dy, ny, x, nx, FN, FH, FW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw, NULL, 0, dy, ny - 1, x, nx, FN, FH, FW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, FN, FH, FW + 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw, NULL, 0, NULL, ny, x, nx, FN, FH, FW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw, NULL, 0, dy, ny, NULL, nx, FN, FH, FW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dx, nw, NULL, 0, dy, ny, x, nx, FN, FH, FW, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw, NULL, 0, dy, ny, dx, nx, FN, FH, FW, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_fastdeconv_backward_f32(l, dx32, nx, NULL, 0, NULL, 0, dy32, ny, x32, nx, FN, FH, FW, ERR), DECONV_E_PARAM);
    CHECK(all64(dx, nx, GUARD64) && all64(dw, nw, GUARD64));
    /* A non-finite gradient is reported. */
    dy[0] = NAN;
    CHECK(layer_forward(&t) == 0);
    EXPECT(deconv_fastdeconv_backward_f64(l, dx, nx, dw, nw, NULL, 0, dy, ny, x, nx, FN, FH, FW, ERR), DECONV_E_NONFINITE);
    dy[0] = 0;

    deconv_fastdeconv_free(l);
    deconv_fastdeconv_free(l32);
    free(x), free(y), free(dy), free(w), free(b), free(dx), free(dw);
    free(x32), free(y32), free(dy32), free(w32), free(b32), free(dx32), free(dw32);
}

enum { DN = 8, DI = 6, DO = 3, DK = 3 };

static void test_delinear(void) {
    deconv_delinear_config cfg;
    deconv_delinear *l = NULL;
    double *x = vec(DN * DI, 30), *y = vec(DN * DO, 0), *dy = vec(DN * DO, 31), *w = vec(DO * DI, 32), *b = vec(DO, 33);
    double dx[DN * DI], dw[DO * DI];
    float dx32[DN * DI];
    layer_ctx t;
    int train;

    deconv_delinear_config_default(&cfg, DI, DO);
    cfg.block = DK;
    EXPECT(deconv_delinear_create_f64(&cfg, w, DO * DI, b, DO, &l, ERR), DECONV_OK);
    if (!l) return;
    t.kind = KIND_DL, t.l = l, t.x = x, t.y = y, t.dy = dy, t.w = w, t.b = b;
    t.nx = DN * DI, t.ny = DN * DO, t.nw = DO * DI, t.nb = DO, t.n = DN, t.c = DI, t.h = 1, t.wd = 1;
    for (train = 1; train >= 0; train--) {
        EXPECT(deconv_delinear_set_training(l, train, ERR), DECONV_OK);
        check_layer(&t, train ? "delinear training" : "delinear eval");
    }
    fill(dx, DN * DI, GUARD64);
    fill(dw, DO * DI, GUARD64);
    EXPECT(deconv_delinear_backward_f64(NULL, dx, DN * DI, dw, DO * DI, NULL, 0, dy, DN * DO, x, DN * DI, DN, ERR), DECONV_E_PARAM);
    EXPECT(deconv_delinear_backward_f64(l, dx, DN * DI, dw, DO * DI, NULL, 0, dy, DN * DO, x, DN * DI, DN - 1, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_delinear_backward_f64(l, dx, DN * DI, dw, DO * DI - 1, NULL, 0, dy, DN * DO, x, DN * DI, DN, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_delinear_backward_f64(l, dx, DN * DI, dw, DO * DI, NULL, 0, dy, DN * DO, NULL, DN * DI, DN, ERR), DECONV_E_PARAM);
    EXPECT(deconv_delinear_backward_f64(l, dx, DN * DI, dx, DO * DI, NULL, 0, dy, DN * DO, x, DN * DI, DN, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_delinear_backward_f32(l, dx32, DN * DI, NULL, 0, NULL, 0, NULL, 0, NULL, 0, DN, ERR), DECONV_E_PARAM);
    CHECK(all64(dx, DN * DI, GUARD64) && all64(dw, DO * DI, GUARD64));
    /* Nothing to differentiate: running buffers set after the forward, or
     * a new handle. */
    {
        double rm[DK];
        deconv_delinear *fresh = NULL;
        EXPECT(deconv_delinear_get_f64(l, "running_mean", rm, DK, ERR), DECONV_OK);
        EXPECT(deconv_delinear_set_f64(l, "running_mean", rm, DK, ERR), DECONV_OK);
        EXPECT(deconv_delinear_backward_f64(l, dx, DN * DI, NULL, 0, NULL, 0, dy, DN * DO, x, DN * DI, DN, ERR), DECONV_E_PARAM);
        EXPECT(deconv_delinear_create_f64(&cfg, w, DO * DI, b, DO, &fresh, ERR), DECONV_OK);
        EXPECT(deconv_delinear_backward_f64(fresh, dx, DN * DI, NULL, 0, NULL, 0, dy, DN * DO, x, DN * DI, DN, ERR),
               DECONV_E_PARAM);
        CHECK(all64(dx, DN * DI, GUARD64));
        deconv_delinear_free(fresh);
    }
    deconv_delinear_free(l);
    free(x), free(y), free(dy), free(w), free(b);
}

enum { HN = 4, HC = 3, HH = 2, HW = 2, HB = 2 };

static void test_channeldeconv(void) {
    const size_t nx = (size_t)HN * HC * HH * HW;
    deconv_channeldeconv_config cfg;
    deconv_channeldeconv *l = NULL, *l32 = NULL;
    double *x = vec(nx, 40), *y = vec(nx, 0), *dy = vec(nx, 41), *dx = vec(nx, 0);
    float *x32 = vec32(x, nx), *y32 = vec32(y, nx), *dy32 = vec32(dy, nx), *dx32 = vec32(dx, nx);
    layer_ctx t;
    int uncentred, train;

    for (uncentred = 0; uncentred <= 1; uncentred++) {
        deconv_channeldeconv_config_default(&cfg, HB);
        cfg.uncentred = uncentred;
        l = NULL;
        EXPECT(deconv_channeldeconv_create_f64(&cfg, &l, ERR), DECONV_OK);
        if (!l) return;
        t.kind = KIND_CD, t.l = l, t.x = x, t.y = y, t.dy = dy, t.w = NULL, t.b = NULL;
        t.nx = nx, t.ny = nx, t.nw = 0, t.nb = 0, t.n = HN, t.c = HC, t.h = HH, t.wd = HW;
        for (train = 1; train >= 0; train--) {
            EXPECT(deconv_channeldeconv_set_training(l, train, ERR), DECONV_OK);
            check_layer(&t, uncentred ? "channeldeconv (uncentred)" : "channeldeconv");
        }
        deconv_channeldeconv_free(l);
    }
    deconv_channeldeconv_config_default(&cfg, HB);
    EXPECT(deconv_channeldeconv_create_f64(&cfg, &l, ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_create_f32(&cfg, &l32, ERR), DECONV_OK);
    if (!l || !l32) return;
    CHECK(deconv_channeldeconv_forward_f64(l, y, nx, x, nx, HN, HC, HH, HW, NULL) == DECONV_OK);
    EXPECT(deconv_channeldeconv_backward_f64(l, dx, nx, dy, nx, x, nx, HN, HC, HH, HW, ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_forward_f32(l32, y32, nx, x32, nx, HN, HC, HH, HW, ERR), DECONV_OK);
    EXPECT(deconv_channeldeconv_backward_f32(l32, dx32, nx, dy32, nx, x32, nx, HN, HC, HH, HW, ERR), DECONV_OK);
    CHECK(rel32(dx32, dx, nx) < 1e-3);

    fill(dx, nx, GUARD64);
    EXPECT(deconv_channeldeconv_backward_f64(NULL, dx, nx, dy, nx, x, nx, HN, HC, HH, HW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_channeldeconv_backward_f64(l, dx, nx - 1, dy, nx, x, nx, HN, HC, HH, HW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_channeldeconv_backward_f64(l, dx, nx, dy, nx, x, nx, HN, HC + 1, HH, HW, ERR), DECONV_E_SHAPE);
    EXPECT(deconv_channeldeconv_backward_f64(l, dx, nx, NULL, nx, x, nx, HN, HC, HH, HW, ERR), DECONV_E_PARAM);
    EXPECT(deconv_channeldeconv_backward_f64(l, dx, nx, dx, nx, x, nx, HN, HC, HH, HW, ERR), DECONV_E_OVERLAP);
    EXPECT(deconv_channeldeconv_backward_f64((deconv_channeldeconv *)l32, dx, nx, dy, nx, x, nx, HN, HC, HH, HW, ERR),
           DECONV_E_PARAM);
    CHECK(all64(dx, nx, GUARD64));
    fill(dx, nx, 0);
    for (train = 0; train < (int)nx; train++) dx32[train] = GUARD32;
    EXPECT(deconv_channeldeconv_backward_f32(l32, dx32, nx, dy32, nx, x32, nx, HN, HC, HH, HW + 1, ERR), DECONV_E_SHAPE);
    CHECK(all32(dx32, nx, GUARD32));
    deconv_channeldeconv_free(l);
    deconv_channeldeconv_free(l32);
    free(x), free(y), free(dy), free(dx), free(x32), free(y32), free(dy32), free(dx32);
}

int main(void) {
    if (deconv_version_number() / 10000 != DECONV_VERSION_MAJOR ||
        deconv_version_number() / 100 % 100 < DECONV_VERSION_MINOR) {
        fprintf(stderr, "libdeconv %s does not match deconv.h %s\n", deconv_version_string(),
                DECONV_VERSION_STRING);
        return 1;
    }
    test_conv2d();
    test_linear();
    test_cov();
    test_isqrt();
    test_fold();
    test_fastdeconv();
    test_delinear();
    test_channeldeconv();
    if (failures) {
        fprintf(stderr, "test_backward: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_backward: all %d checks passed (libdeconv %s, %s kernels, %d threads)\n", checks,
           deconv_version_string(), deconv_isa_name(), deconv_threads());
    return 0;
}
