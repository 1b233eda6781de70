/* A program that leaks one handle on purpose: `make ctest` runs it under
 * valgrind with the same suppressions as the test program and requires a
 * "definitely lost" report, so that the suppressions cannot hide a handle
 * the library or a caller fails to free. */
#include "deconv.h"

int main(void) {
    deconv_isqrt *h = 0;
    if (deconv_isqrt_create(3, 0, &h, 0) != DECONV_OK) return 2;
    h = 0; /* the only pointer to the handle is gone */
    return h != 0;
}
