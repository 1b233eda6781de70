"""Loading libdeconv and declaring its C interface (include/deconv.h).

This module is the only place that knows how the shared library is found
and how its functions are typed. Everything else calls ``LIB.<name>`` with
ctypes arguments and passes the status to :func:`check`.
"""

import ctypes
import ctypes.util
import os
import re

from .errors import error_for_status

# The header version this binding was written against. Kept in sync with
# DECONV_VERSION_MAJOR/MINOR/PATCH of include/deconv.h; when the package
# runs from a checkout, the header itself is read instead.
HEADER_VERSION = (0, 2, 0)

_LIBNAMES = ("libdeconv.so", "libdeconv.so.0", "libdeconv.dylib", "deconv.dll")

_HERE = os.path.dirname(os.path.abspath(__file__))


def _checkout_root():
    """The nearest directory above the package holding include/deconv.h, or None."""
    d = _HERE
    while True:
        if os.path.isfile(os.path.join(d, "include", "deconv.h")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _candidates():
    """Every place the library is looked for, in order, as (description, path or name)."""
    out = []
    env = os.environ.get("DECONV_LIBRARY")
    if env:
        out.append(("DECONV_LIBRARY", env))
    for name in _LIBNAMES:
        out.append(("next to the package", os.path.join(_HERE, name)))
    root = _checkout_root()
    if root is not None:
        for name in _LIBNAMES[:2]:
            out.append(("the checkout's build/", os.path.join(root, "build", name)))
    found = ctypes.util.find_library("deconv")
    out.append(("the system library path", found or "libdeconv (find_library found nothing)"))
    return out, env


def find_library():
    """The path of libdeconv, or ImportError naming every place tried.

    Order: the DECONV_LIBRARY environment variable (a file, used alone when
    set), the package's directory, the checkout's build/ directory (found by
    walking up from the package), then the system library path.
    """
    cands, env = _candidates()
    if env:
        if os.path.isfile(env):
            return env
        raise ImportError("deconv: DECONV_LIBRARY=%r is not a file (build the library with "
                          "`make lib`, or unset DECONV_LIBRARY)" % env)
    for desc, path in cands:
        if desc == "the system library path":
            if ctypes.util.find_library("deconv"):
                return path
        elif os.path.isfile(path):
            return path
    tried = "\n  ".join("%s: %s" % c for c in cands)
    raise ImportError("deconv: libdeconv not found; build it with `make lib` or set "
                      "DECONV_LIBRARY. Tried:\n  " + tried)


def header_version():
    """(major, minor, patch) of include/deconv.h in a checkout, else HEADER_VERSION."""
    root = _checkout_root()
    if root is not None:
        try:
            with open(os.path.join(root, "include", "deconv.h")) as f:
                text = f.read()
            v = tuple(int(re.search(r"#define DECONV_VERSION_%s (\d+)" % k, text).group(1))
                      for k in ("MAJOR", "MINOR", "PATCH"))
            return v
        except (OSError, AttributeError):
            pass
    return HEADER_VERSION


# ---- Structures (field for field as in include/deconv.h) --------------------

c_int, c_double, c_size_t, c_char_p = ctypes.c_int, ctypes.c_double, ctypes.c_size_t, ctypes.c_char_p
P_f32 = ctypes.POINTER(ctypes.c_float)
P_f64 = ctypes.POINTER(ctypes.c_double)
P_int = ctypes.POINTER(c_int)
P_size = ctypes.POINTER(c_size_t)
P_ll = ctypes.POINTER(ctypes.c_longlong)

ERROR_MESSAGE_SIZE = 256


class Error(ctypes.Structure):
    _fields_ = [("status", c_int), ("message", ctypes.c_char * ERROR_MESSAGE_SIZE)]


class _Sized(ctypes.Structure):
    """A parameter struct whose struct_size is set to its ctypes size."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.struct_size = ctypes.sizeof(type(self))


class Geometry(ctypes.Structure):
    _fields_ = [(n, c_int) for n in ("kernel_h", "kernel_w", "stride_h", "stride_w",
                                      "pad_h", "pad_w", "dilation_h", "dilation_w")]


class Im2colParams(_Sized):
    _fields_ = [("struct_size", c_size_t), ("batch", c_int), ("channels", c_int), ("height", c_int),
                ("width", c_int), ("geometry", Geometry), ("sampling", c_int),
                ("flat_sampling", c_int), ("layout", c_int), ("workers", c_int)]


class CovParams(_Sized):
    _fields_ = [("struct_size", c_size_t), ("batch", c_int), ("channels", c_int), ("height", c_int),
                ("width", c_int), ("geometry", Geometry), ("groups", c_int), ("sampling", c_int),
                ("block", c_int), ("grouping", c_int), ("eps", c_double), ("workers", c_int)]


class CovLinearParams(_Sized):
    _fields_ = [("struct_size", c_size_t), ("batch", c_int), ("features", c_int), ("block", c_int),
                ("eps", c_double), ("workers", c_int)]


class CovChannelParams(_Sized):
    _fields_ = [("struct_size", c_size_t), ("batch", c_int), ("channels", c_int), ("height", c_int),
                ("width", c_int), ("block", c_int), ("sampling", c_int), ("uncentred", c_int),
                ("eps", c_double), ("workers", c_int)]


class IsqrtConfig(_Sized):
    _fields_ = [("struct_size", c_size_t), ("method", c_int), ("iterations", c_int),
                ("scaling", c_int), ("tol", c_double), ("symmetry_tol", c_double),
                ("workers", c_int), ("grad", c_int)]


class IsqrtResult(_Sized):
    _fields_ = [("struct_size", c_size_t), ("iterations", c_int), ("scale", c_double),
                ("residual", c_double), ("trace_written", c_size_t)]


class Blocking(ctypes.Structure):
    _fields_ = [("features", c_int), ("block", c_int), ("grouping", c_int)]


class Conv2dConfig(_Sized):
    _fields_ = [("struct_size", c_size_t), ("in_channels", c_int), ("out_channels", c_int),
                ("geometry", Geometry), ("groups", c_int), ("workers", c_int)]


class LinearConfig(_Sized):
    _fields_ = [("struct_size", c_size_t), ("in_features", c_int), ("out_features", c_int),
                ("workers", c_int)]


class FastDeconvConfig(_Sized):
    _fields_ = [("struct_size", c_size_t), ("in_channels", c_int), ("out_channels", c_int),
                ("geometry", Geometry), ("groups", c_int), ("bias", c_int), ("eps", c_double),
                ("n_iter", c_int), ("momentum", c_double), ("block", c_int),
                ("sampling_stride", c_int), ("freeze", c_int), ("freeze_iter", c_int),
                ("grouping", c_int), ("workers", c_int)]


class DelinearConfig(_Sized):
    _fields_ = [("struct_size", c_size_t), ("in_features", c_int), ("out_features", c_int),
                ("bias", c_int), ("eps", c_double), ("n_iter", c_int), ("momentum", c_double),
                ("block", c_int), ("workers", c_int)]


class ChannelDeconvConfig(_Sized):
    _fields_ = [("struct_size", c_size_t), ("block", c_int), ("eps", c_double), ("n_iter", c_int),
                ("momentum", c_double), ("sampling_stride", c_int), ("uncentred", c_int),
                ("workers", c_int)]


# Enum values (pinned by the header).
GROUPING = {"reference": 0, "interleaved": 0, "contiguous": 1}
LAYOUT = {"rows": 0, "unfold": 1}
ISQRT_METHOD = {"coupled": 0, "coupled_reference": 1, "uncoupled": 2, "exact": 3}
DTYPE_F32, DTYPE_F64 = 0, 1

# ---- Function declarations -----------------------------------------------------

P_err = ctypes.POINTER(Error)
vp = ctypes.c_void_p
_F = {"f32": P_f32, "f64": P_f64}


def _typed(sig):
    """Both element types of a signature written with the placeholder 'T'."""
    return {k: [_F[k] if a == "T" else a for a in sig] for k in _F}


_PROTOS = {
    "deconv_version_number": (ctypes.c_uint, []),
    "deconv_version_string": (c_char_p, []),
    "deconv_status_message": (c_char_p, [c_int]),
    "deconv_isa_name": (c_char_p, []),
    "deconv_set_isa": (c_int, [c_char_p, P_err]),
    "deconv_set_threads": (c_int, [c_int, P_err]),
    "deconv_threads": (c_int, []),
    # im2col
    "deconv_im2col_plan_create": (c_int, [ctypes.POINTER(Im2colParams), ctypes.POINTER(vp), P_err]),
    "deconv_im2col_plan_free": (None, [vp]),
    # cov
    "deconv_cov_plan_create": (c_int, [ctypes.POINTER(CovParams), ctypes.POINTER(vp), P_err]),
    "deconv_cov_plan_create_linear": (c_int, [ctypes.POINTER(CovLinearParams), ctypes.POINTER(vp), P_err]),
    "deconv_cov_plan_create_channel": (c_int, [ctypes.POINTER(CovChannelParams), ctypes.POINTER(vp), P_err]),
    "deconv_cov_plan_free": (None, [vp]),
    "deconv_cov_stats_create": (c_int, [vp, ctypes.POINTER(vp), P_err]),
    "deconv_cov_stats_free": (None, [vp]),
    "deconv_cov_stats_reset": (c_int, [vp, P_err]),
    "deconv_cov_stats_merge": (c_int, [vp, vp, P_err]),
    "deconv_cov_stats_count": (c_int, [vp, P_f64, P_err]),
    "deconv_cov_stats_sums_len": (c_size_t, [vp]),
    "deconv_cov_stats_ref_len": (c_size_t, [vp]),
    "deconv_cov_stats_export": (c_int, [vp, P_f64, c_size_t, P_f64, c_size_t, P_err]),
    "deconv_cov_stats_import": (c_int, [vp, P_f64, c_size_t, P_f64, c_size_t, P_err]),
    "deconv_cov_stats_rest": (c_int, [vp, P_f64, P_f64, P_err]),
    # isqrt
    "deconv_isqrt_create": (c_int, [c_size_t, ctypes.POINTER(IsqrtConfig), ctypes.POINTER(vp), P_err]),
    "deconv_isqrt_free": (None, [vp]),
    "deconv_isqrt_n": (c_size_t, [vp]),
    "deconv_isqrt_trace_len": (c_size_t, [vp]),
    # layers
    "deconv_conv2d_free": (None, [vp]),
    "deconv_conv2d_dtype": (c_int, [vp]),
    "deconv_conv2d_output_size": (c_int, [vp, c_int, c_int, P_int, P_int, P_err]),
    "deconv_conv2d_len": (c_int, [vp, c_char_p, P_size, P_err]),
    "deconv_linear_free": (None, [vp]),
    "deconv_linear_dtype": (c_int, [vp]),
    "deconv_linear_len": (c_int, [vp, c_char_p, P_size, P_err]),
    "deconv_fastdeconv_free": (None, [vp]),
    "deconv_fastdeconv_dtype": (c_int, [vp]),
    "deconv_fastdeconv_set_training": (c_int, [vp, c_int, P_err]),
    "deconv_fastdeconv_output_size": (c_int, [vp, c_int, c_int, P_int, P_int, P_err]),
    "deconv_fastdeconv_folded": (c_int, [vp, ctypes.POINTER(vp), P_err]),
    "deconv_fastdeconv_len": (c_int, [vp, c_char_p, P_size, P_err]),
    "deconv_fastdeconv_get_int": (c_int, [vp, c_char_p, P_ll, P_err]),
    "deconv_fastdeconv_set_int": (c_int, [vp, c_char_p, ctypes.c_longlong, P_err]),
    "deconv_delinear_free": (None, [vp]),
    "deconv_delinear_dtype": (c_int, [vp]),
    "deconv_delinear_set_training": (c_int, [vp, c_int, P_err]),
    "deconv_delinear_folded": (c_int, [vp, ctypes.POINTER(vp), P_err]),
    "deconv_delinear_len": (c_int, [vp, c_char_p, P_size, P_err]),
    "deconv_delinear_get_int": (c_int, [vp, c_char_p, P_ll, P_err]),
    "deconv_delinear_set_int": (c_int, [vp, c_char_p, ctypes.c_longlong, P_err]),
    "deconv_channeldeconv_free": (None, [vp]),
    "deconv_channeldeconv_dtype": (c_int, [vp]),
    "deconv_channeldeconv_set_training": (c_int, [vp, c_int, P_err]),
    "deconv_channeldeconv_len": (c_int, [vp, c_char_p, P_size, P_err]),
    "deconv_channeldeconv_get_int": (c_int, [vp, c_char_p, P_ll, P_err]),
    "deconv_channeldeconv_set_int": (c_int, [vp, c_char_p, ctypes.c_longlong, P_err]),
    "deconv_channeldeconv_create_f32": (c_int, [ctypes.POINTER(ChannelDeconvConfig), ctypes.POINTER(vp), P_err]),
    "deconv_channeldeconv_create_f64": (c_int, [ctypes.POINTER(ChannelDeconvConfig), ctypes.POINTER(vp), P_err]),
}

# The *_default fillers: the binding does not need them to run, the tests use
# them to check that the Structures above lay out fields as the library does.
_P = ctypes.POINTER
_PROTOS.update({
    "deconv_im2col_params_default": (None, [_P(Im2colParams), c_int, c_int, c_int, c_int, c_int]),
    "deconv_cov_params_default": (None, [_P(CovParams), c_int, c_int, c_int, c_int, c_int]),
    "deconv_cov_linear_params_default": (None, [_P(CovLinearParams), c_int, c_int]),
    "deconv_cov_channel_params_default": (None, [_P(CovChannelParams), c_int, c_int, c_int, c_int, c_int]),
    "deconv_isqrt_config_default": (None, [_P(IsqrtConfig)]),
    "deconv_conv2d_config_default": (None, [_P(Conv2dConfig), c_int, c_int, c_int]),
    "deconv_linear_config_default": (None, [_P(LinearConfig), c_int, c_int]),
    "deconv_fastdeconv_config_default": (None, [_P(FastDeconvConfig), c_int, c_int, c_int]),
    "deconv_delinear_config_default": (None, [_P(DelinearConfig), c_int, c_int]),
    "deconv_channeldeconv_config_default": (None, [_P(ChannelDeconvConfig), c_int]),
})

_TYPED = {
    "deconv_im2col_%s": [vp, "T", c_size_t, "T", c_size_t, P_err],
    "deconv_col2im_%s": [vp, "T", c_size_t, "T", c_size_t, P_err],
    "deconv_cov_compute_%s": [vp, "T", c_size_t, "T", c_size_t, "T", c_size_t, P_err],
    "deconv_cov_stats_accumulate_%s": [vp, vp, "T", c_size_t, P_err],
    "deconv_cov_stats_finalize_%s": [vp, "T", c_size_t, "T", c_size_t, P_err],
    "deconv_isqrt_compute_%s": [vp, "T", c_size_t, "T", c_size_t, P_f64, c_size_t,
                                ctypes.POINTER(IsqrtResult), P_err],
    "deconv_isqrt_compute_batch_%s": [vp, c_size_t, "T", c_size_t, "T", c_size_t, P_err],
    "deconv_fold_%s": ["T", c_size_t, "T", c_size_t, "T", c_size_t, "T", c_size_t, c_size_t,
                       ctypes.POINTER(Blocking), "T", c_size_t, "T", c_size_t, P_err],
    "deconv_restore_%s": ["T", c_size_t, "T", c_size_t, "T", c_size_t, "T", c_size_t, c_size_t,
                          ctypes.POINTER(Blocking), "T", c_size_t, "T", c_size_t, P_err],
    "deconv_conv2d_create_%s": [ctypes.POINTER(Conv2dConfig), "T", c_size_t, "T", c_size_t,
                                ctypes.POINTER(vp), P_err],
    "deconv_conv2d_forward_%s": [vp, "T", c_size_t, "T", c_size_t, c_int, c_int, c_int, P_err],
    "deconv_conv2d_get_%s": [vp, c_char_p, "T", c_size_t, P_err],
    "deconv_linear_create_%s": [ctypes.POINTER(LinearConfig), "T", c_size_t, "T", c_size_t,
                                ctypes.POINTER(vp), P_err],
    "deconv_linear_forward_%s": [vp, "T", c_size_t, "T", c_size_t, c_int, P_err],
    "deconv_linear_get_%s": [vp, c_char_p, "T", c_size_t, P_err],
    "deconv_fastdeconv_create_%s": [ctypes.POINTER(FastDeconvConfig), "T", c_size_t, "T", c_size_t,
                                    ctypes.POINTER(vp), P_err],
    "deconv_fastdeconv_forward_%s": [vp, "T", c_size_t, "T", c_size_t, c_int, c_int, c_int, P_err],
    "deconv_fastdeconv_get_%s": [vp, c_char_p, "T", c_size_t, P_err],
    "deconv_fastdeconv_set_%s": [vp, c_char_p, "T", c_size_t, P_err],
    "deconv_delinear_create_%s": [ctypes.POINTER(DelinearConfig), "T", c_size_t, "T", c_size_t,
                                  ctypes.POINTER(vp), P_err],
    "deconv_delinear_forward_%s": [vp, "T", c_size_t, "T", c_size_t, c_int, P_err],
    "deconv_delinear_get_%s": [vp, c_char_p, "T", c_size_t, P_err],
    "deconv_delinear_set_%s": [vp, c_char_p, "T", c_size_t, P_err],
    "deconv_channeldeconv_forward_%s": [vp, "T", c_size_t, "T", c_size_t, c_int, c_int, c_int,
                                        c_int, P_err],
    "deconv_channeldeconv_get_%s": [vp, c_char_p, "T", c_size_t, P_err],
    "deconv_channeldeconv_set_%s": [vp, c_char_p, "T", c_size_t, P_err],
    # The backward passes (0.2).
    "deconv_cov_backward_%s": [vp, "T", c_size_t, "T", c_size_t, "T", c_size_t, "T", c_size_t,
                               "T", c_size_t, P_err],
    "deconv_isqrt_backward_%s": [vp, "T", c_size_t, "T", c_size_t, P_err],
    "deconv_isqrt_backward_batch_%s": [vp, c_size_t, "T", c_size_t, "T", c_size_t, P_err],
    "deconv_fold_backward_%s": ["T", c_size_t, "T", c_size_t, "T", c_size_t, "T", c_size_t,
                                "T", c_size_t, "T", c_size_t, "T", c_size_t, c_size_t,
                                ctypes.POINTER(Blocking), "T", c_size_t, "T", c_size_t, P_err],
    "deconv_conv2d_backward_%s": [vp, "T", c_size_t, "T", c_size_t, "T", c_size_t, "T", c_size_t,
                                  "T", c_size_t, c_int, c_int, c_int, P_err],
    "deconv_linear_backward_%s": [vp, "T", c_size_t, "T", c_size_t, "T", c_size_t, "T", c_size_t,
                                  "T", c_size_t, c_int, P_err],
    "deconv_fastdeconv_backward_%s": [vp, "T", c_size_t, "T", c_size_t, "T", c_size_t, "T",
                                      c_size_t, "T", c_size_t, c_int, c_int, c_int, P_err],
    "deconv_delinear_backward_%s": [vp, "T", c_size_t, "T", c_size_t, "T", c_size_t, "T", c_size_t,
                                    "T", c_size_t, c_int, P_err],
    "deconv_channeldeconv_backward_%s": [vp, "T", c_size_t, "T", c_size_t, "T", c_size_t, c_int,
                                         c_int, c_int, c_int, P_err],
}

for _pat, _sig in _TYPED.items():
    for _k, _args in _typed(_sig).items():
        _PROTOS[_pat % _k] = (c_int, _args)

for _name in ("src_len", "dst_len", "rows", "cols", "out_h", "out_w"):
    _PROTOS["deconv_im2col_plan_" + _name] = (c_size_t, [vp])
for _name in ("src_len", "mean_len", "cov_len", "features", "groups", "block", "rows"):
    _PROTOS["deconv_cov_plan_" + _name] = (c_size_t, [vp])


class _Declared:
    """The library's functions that have declared argtypes and restype, and
    no others: calling an undeclared function is an AttributeError, never a
    call with guessed types."""

    def __init__(self, lib):
        self._dll = lib
        for name in _PROTOS:
            setattr(self, name, getattr(lib, name))


def _load():
    path = find_library()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("deconv: cannot load %s: %s" % (path, e)) from None
    for name, (restype, argtypes) in _PROTOS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError("deconv: %s lacks %s (an older library?)" % (path, name)) from None
        fn.restype = restype
        fn.argtypes = argtypes
    lib = _Declared(lib)
    got = lib.deconv_version_number()
    got_v = (got // 10000, got // 100 % 100, got % 100)
    check_version(got_v, header_version(), path)
    return lib, path, got_v


def check_version(got, want, path):
    """ImportError unless the library version got suits the header version want:
    the header's rule, equal major versions and the library's minor at least
    the header's."""
    if got[0] != want[0] or got[1] < want[1]:
        raise ImportError("deconv: library %s is version %d.%d.%d, the binding expects %d.%d.x "
                          "(same major, minor at least %d)" % ((path,) + tuple(got) + tuple(want[:2])
                                                                + (want[1],)))


LIB, LIBRARY_PATH, LIBRARY_VERSION = _load()


def check(status, err):
    """Raises the DeconvError subclass of a non-zero status, with the library's message."""
    if status != 0:
        msg = err.message.decode("utf-8", "replace")
        if not msg:
            msg = LIB.deconv_status_message(status).decode("utf-8", "replace")
        raise error_for_status(status, msg)


def call(fn, *args):
    """Calls a status-returning function with a fresh deconv_error as last argument."""
    err = Error()
    check(fn(*args, ctypes.byref(err)), err)


def raw(name, argtypes, restype=c_int):
    """A second function object for name, with its own argument types, for
    hot paths that pass addresses as plain integers (ctypes.c_void_p)
    instead of typed pointers, which cost a conversion each per call. LIB's
    object for name keeps its declared types."""
    if name not in _PROTOS:
        raise AttributeError(name)
    f = LIB._dll[name]  # a new function object each time, unlike getattr
    f.restype = restype
    f.argtypes = argtypes
    return f


def fn(name, dtype):
    """The _f32 or _f64 variant of a function for a NumPy dtype."""
    return getattr(LIB, "%s_%s" % (name, "f64" if dtype == "float64" else "f32"))
