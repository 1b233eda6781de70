/* Private declarations shared by the cgo files of package main and
 * capi.c. Not installed. */
#ifndef DECONV_CAPI_INTERNAL_H
#define DECONV_CAPI_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "deconv.h"

/* Const-qualified names for the exported prototypes: cgo writes a Go
 * parameter of type *C.deconv__cfloat as "deconv__cfloat*", which is
 * "const float *", so the generated prototypes agree with deconv.h. */
typedef const char deconv__cchar;
typedef const float deconv__cfloat;
typedef const double deconv__cdouble;
typedef const deconv_im2col_params deconv__cim2col_params;
typedef const deconv_cov_params deconv__ccov_params;
typedef const deconv_cov_linear_params deconv__ccov_linear_params;
typedef const deconv_cov_channel_params deconv__ccov_channel_params;
typedef const deconv_isqrt_config deconv__cisqrt_config;
typedef const deconv_im2col_plan deconv__cim2col_plan;
typedef const deconv_cov_plan deconv__ccov_plan;
typedef const deconv_cov_stats deconv__ccov_stats;
typedef const deconv_isqrt deconv__cisqrt;
typedef const deconv_blocking deconv__cblocking;
typedef const deconv_conv2d_config deconv__cconv2d_config;
typedef const deconv_linear_config deconv__clinear_config;
typedef const deconv_fastdeconv_config deconv__cfastdeconv_config;
typedef const deconv_delinear_config deconv__cdelinear_config;
typedef const deconv_channeldeconv_config deconv__cchanneldeconv_config;
typedef const deconv_conv2d deconv__cconv2d;
typedef const deconv_linear deconv__clinear;
typedef const deconv_fastdeconv deconv__cfastdeconv;
typedef const deconv_delinear deconv__cdelinear;
typedef const deconv_channeldeconv deconv__cchanneldeconv;

/* Every handle is a malloc'd block holding a type tag and a Go
 * runtime/cgo.Handle (an integer, never a Go pointer). */
typedef struct deconv__handle {
    uint64_t magic;
    uintptr_t value;
} deconv__handle;

struct deconv_im2col_plan_s { deconv__handle h; };
struct deconv_cov_plan_s { deconv__handle h; };
struct deconv_cov_stats_s { deconv__handle h; };
struct deconv_isqrt_s { deconv__handle h; };
struct deconv_conv2d_s { deconv__handle h; };
struct deconv_linear_s { deconv__handle h; };
struct deconv_fastdeconv_s { deconv__handle h; };
struct deconv_delinear_s { deconv__handle h; };
struct deconv_channeldeconv_s { deconv__handle h; };

#define DECONV__MAGIC_IM2COL_PLAN 0x6465636f6e763031ull
#define DECONV__MAGIC_COV_PLAN    0x6465636f6e763032ull
#define DECONV__MAGIC_COV_STATS   0x6465636f6e763033ull
#define DECONV__MAGIC_ISQRT       0x6465636f6e763034ull
#define DECONV__MAGIC_CONV2D      0x6465636f6e763035ull
#define DECONV__MAGIC_LINEAR      0x6465636f6e763036ull
#define DECONV__MAGIC_FASTDECONV  0x6465636f6e763037ull
#define DECONV__MAGIC_DELINEAR    0x6465636f6e763038ull
#define DECONV__MAGIC_CHANNELDECONV 0x6465636f6e763039ull

/* Defined in capi.c; not exported from the shared library. */
#if defined(__GNUC__)
#define DECONV__HIDDEN __attribute__((visibility("hidden")))
#else
#define DECONV__HIDDEN
#endif
DECONV__HIDDEN const char *deconv__status_text(int status);
DECONV__HIDDEN const char *deconv__version_text(void);
DECONV__HIDDEN const char *deconv__isa_text(int family);
DECONV__HIDDEN size_t deconv__strnlen(const char *s, size_t max);

#endif
