/* The checking macros the C test programs share: CHECK counts a condition,
 * EXPECT a call's status and its report in the deconv_error passed as ERR.
 * Each test program is one translation unit, so the counters live here. */
#ifndef DECONV_CTEST_CHECK_H
#define DECONV_CTEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "deconv.h"

static int failures;
static int checks;

#define CHECK(cond)                                                            \
    do {                                                                       \
        checks++;                                                              \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)

/* A call must return want and report it in err, with a message exactly
 * when it failed. */
#define EXPECT(call, want)                                                     \
    do {                                                                       \
        deconv_error e_;                                                       \
        int st_;                                                               \
        memset(&e_, 0x5a, sizeof e_);                                          \
        st_ = (call);                                                          \
        checks++;                                                              \
        if (st_ != (want) || e_.status != st_ ||                               \
            (st_ == DECONV_OK) != (e_.message[0] == '\0') ||                   \
            memchr(e_.message, '\0', sizeof e_.message) == NULL) {             \
            failures++;                                                        \
            fprintf(stderr, "%s:%d: %s: status %d (%s), want %d\n", __FILE__, __LINE__, \
                    #call, st_, deconv_status_message(st_), (int)(want));      \
            if (memchr(e_.message, '\0', sizeof e_.message))                   \
                fprintf(stderr, "    message: %s\n", e_.message);              \
        }                                                                      \
    } while (0)

#define ERR (&e_)

#endif
