/* deconv_isqrt_compute_f32 on one 27 x 27 matrix (a 3 x 3 kernel with
 * block 3), 5 coupled iterations, on a kept handle: the C interface's cost
 * per call, to set beside `go test -run '^$' -bench 'InvSqrtSmall/n=27$'
 * ./isqrt` and bench/binding_overhead.py. Prints the medians of the runs
 * (BENCH_RUNS, 7 by default) of BENCH_CALLS calls each (2000 by default),
 * per call: wall time and the process's CPU time (CLOCK_PROCESS_CPUTIME_ID,
 * every thread), which a loaded machine disturbs far less. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deconv.h"

enum { N = 27, S = 200 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double uniform(void) { /* xorshift64*, in [0, 1) */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    static double m[N * S];
    static float a[N * N], d[N * N];
    double wall[64], cpu[64];
    deconv_isqrt_config cfg;
    deconv_isqrt *h = NULL;
    deconv_error err;
    const char *env = getenv("BENCH_RUNS"), *envc = getenv("BENCH_CALLS");
    int runs = env ? atoi(env) : 7, calls = envc ? atoi(envc) : 2000, r, c, i, j, k;

    if (runs < 1) runs = 1;
    if (runs > 64) runs = 64;
    if (calls < 1) calls = 1;
    for (i = 0; i < N * S; i++) m[i] = uniform() - 0.5;
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++) {
            double s = 0;
            for (k = 0; k < S; k++) s += m[i * S + k] * m[j * S + k];
            a[i * N + j] = (float)(s / S + (i == j ? 1e-3 : 0));
        }
    deconv_isqrt_config_default(&cfg);
    if (deconv_isqrt_create(N, &cfg, &h, &err)) {
        fprintf(stderr, "bench_isqrt: create: %s\n", err.message);
        return 1;
    }
    for (r = 0; r < runs; r++) {
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        for (c = 0; c < calls; c++)
            if (deconv_isqrt_compute_f32(h, d, N * N, a, N * N, NULL, 0, NULL, &err)) {
                fprintf(stderr, "bench_isqrt: compute: %s\n", err.message);
                return 1;
            }
        cpu[r] = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / calls;
        wall[r] = (clock_s(CLOCK_MONOTONIC) - w0) / calls;
    }
    deconv_isqrt_free(h);
    qsort(wall, (size_t)runs, sizeof wall[0], cmp);
    qsort(cpu, (size_t)runs, sizeof cpu[0], cmp);
    printf("deconv_isqrt_compute_f32 %dx%d, 5 iterations, %s: %.2f us wall, %.2f us CPU per call (medians of %d x %d calls)\n",
           N, N, deconv_isa_name(), 1e6 * wall[runs / 2], 1e6 * cpu[runs / 2], runs, calls);
    return 0;
}
