/* The C side of libdeconv: the static strings the interface returns. */
#include "internal.h"

const char *deconv__status_text(int status) {
    switch (status) {
    case DECONV_OK: return "ok";
    case DECONV_E_SHAPE: return "shape mismatch";
    case DECONV_E_PARAM: return "invalid parameter";
    case DECONV_E_OVERFLOW: return "size too large";
    case DECONV_E_NONFINITE: return "non-finite value";
    case DECONV_E_NOT_SYMMETRIC: return "matrix is not symmetric";
    case DECONV_E_NOT_POSITIVE_DEFINITE: return "matrix is not positive definite";
    case DECONV_E_DIVERGED: return "iteration diverged";
    case DECONV_E_NOT_CONVERGED: return "iteration did not reach the tolerance";
    case DECONV_E_EMPTY: return "no samples accumulated";
    case DECONV_E_BUSY: return "object in use by another call";
    case DECONV_E_OVERLAP: return "destination overlaps an input";
    case DECONV_E_UNSUPPORTED: return "instruction-set family not supported";
    case DECONV_E_NOMEM: return "out of memory";
    case DECONV_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *deconv__version_text(void) { return DECONV_VERSION_STRING; }

const char *deconv__isa_text(int family) {
    switch (family) {
    case 0: return "generic";
    case 1: return "avx2";
    case 2: return "avx512";
    }
    return "unknown";
}

size_t deconv__strnlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n] != '\0') n++;
    return n;
}
