"""Array conversion between NumPy / CPU torch tensors and C buffers.

float32 and float64 C-contiguous inputs go to the library without a copy.
Any other dtype (float16, bfloat16, integers, bool) is converted once to
float32; non-contiguous arrays are made contiguous. Results are NumPy
arrays, or torch tensors (sharing the NumPy memory) when the input was one.
torch is imported only when a tensor is seen.
"""

import ctypes
import sys

import numpy as np

from .errors import ParameterError, ShapeError

_P = {"float32": ctypes.POINTER(ctypes.c_float), "float64": ctypes.POINTER(ctypes.c_double)}


def is_tensor(x):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def to_numpy(x, dtype=None, name="x"):
    """(array, was_tensor): x as a C-contiguous float32/float64 NumPy array.

    dtype None keeps float32 and float64 and turns anything else into
    float32; otherwise the array is converted to dtype.
    """
    tensor = is_tensor(x)
    if tensor:
        if x.device.type != "cpu":
            raise ParameterError("%s: a tensor on %s; only CPU tensors are accepted" % (name, x.device))
        x = x.detach()
        if x.dtype.is_complex:
            raise ParameterError("%s: complex dtype %s is not supported" % (name, x.dtype))
        import torch
        if x.dtype not in (torch.float32, torch.float64):
            x = x.float()
        x = x.numpy()
    elif not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as e:  # ragged lists and the like
            raise ShapeError("%s: cannot be read as an array: %s" % (name, e)) from None
    if x.dtype.kind == "c":
        raise ParameterError("%s: complex dtype %s is not supported" % (name, x.dtype))
    if x.dtype.kind not in "fiub":
        raise ParameterError("%s: dtype %s is not numeric" % (name, x.dtype))
    if dtype is None:
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    return np.asarray(x, dtype=dtype, order="C"), tensor


_PC = {"f": _P["float32"], "d": _P["float64"]}


_CT = {"f": ctypes.c_float, "d": ctypes.c_double}


def ptr(a):
    """A typed pointer to a C-contiguous float32/float64 array (kept alive by the caller)."""
    c = a.dtype.char
    try:
        # Through the buffer protocol: several times cheaper than
        # ctypes.cast, which matters for calls on small matrices.
        return _PC[c](_CT[c].from_buffer(a))
    except (TypeError, ValueError):  # read-only or empty: by address
        return ctypes.cast(a.__array_interface__["data"][0], _PC[c])


def null(dtype):
    return ctypes.cast(None, _P[np.dtype(dtype).name])


def opt_ptr(a, dtype):
    """(pointer, length) of an optional array: NULL and 0 for None."""
    if a is None:
        return null(dtype), 0
    return ptr(a), a.size


def result(a, tensor):
    """a as returned to the caller: a torch tensor when the input was one."""
    if tensor and a is not None:
        import torch
        return torch.from_numpy(a)
    return a


def pair(v, name):
    """An int or an (h, w) pair as (h, w) of Python ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ParameterError("%s: expected an int or a pair, got %r" % (name, v))
        h, w = v
    else:
        h = w = v
    try:
        h, w = int(h), int(w)
    except (TypeError, ValueError):
        raise ParameterError("%s: expected an int or a pair of ints, got %r" % (name, v)) from None
    return h, w


def require_rank(a, ranks, name):
    if a.ndim not in ranks:
        raise ShapeError("%s: expected %s dimensions, got shape %s" % (
            name, " or ".join(str(r) for r in ranks), tuple(a.shape)))


INT_MAX = 2 ** 31 - 1


def cint(v, name):
    """A Python int that fits a C int (a SizeError-free ParameterError otherwise)."""
    v = int(v)
    if not -INT_MAX - 1 <= v <= INT_MAX:
        from .errors import SizeError
        raise SizeError("%s=%d does not fit a C int" % (name, v))
    return v
