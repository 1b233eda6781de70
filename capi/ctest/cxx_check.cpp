// deconv.h compiled as C++: the extern "C" block, the enums and the
// structs must be valid C++ with every warning an error.
#include "deconv.h"

static_assert(DECONV_OK == 0, "DECONV_OK is 0");
static_assert(DECONV_E_INTERNAL == 101, "pinned");

int deconv_cxx_check() {
    deconv_error err;
    deconv_isqrt *h = nullptr;
    int st = deconv_isqrt_create(4, nullptr, &h, &err);
    deconv_isqrt_free(h);
    return st == DECONV_OK ? 0 : 1;
}
