"""deconv: network deconvolution (Ye et al., ICLR 2020) on libdeconv's kernels.

A ctypes binding of the C interface (include/deconv.h). Arrays are NumPy
arrays or CPU torch tensors; results come back as the input's kind.
"""

from . import errors
from ._lib import LIB as _LIB, LIBRARY_PATH as library_path, call as _call
from ._functional import (Stats, col2im, covariance, covariance_backward, fold, fold_backward, im2col,
                          isqrt, isqrt_backward, restore)
from ._layers import ChannelDeconv, Conv2d, Delinear, FastDeconv, Linear
from ._torch import torch_fold
from . import distributed
from .errors import *  # noqa: F401,F403

__version__ = _LIB.deconv_version_string().decode()


def set_threads(n):
    """Threads one call uses (0: one per core; more than the cores is clamped)."""
    _call(_LIB.deconv_set_threads, int(n))


def threads():
    """The number of threads one call uses."""
    return _LIB.deconv_threads()


def isa():
    """The kernel family in use: "generic", "avx2" or "avx512"."""
    return _LIB.deconv_isa_name().decode()


def set_isa(name):
    """Selects the kernel family ("generic", "avx2", "avx512"); ParameterError
    for an unknown name, UnsupportedError for one this CPU cannot run."""
    if not isinstance(name, str):
        raise ParameterError("set_isa: expected a name, got %r" % (name,))  # noqa: F405
    _call(_LIB.deconv_set_isa, name.encode())


__all__ = ["im2col", "col2im", "covariance", "covariance_backward", "Stats", "isqrt",
           "isqrt_backward", "fold", "fold_backward", "restore", "FastDeconv",
           "Delinear", "ChannelDeconv", "Conv2d", "Linear", "torch_fold", "distributed", "set_threads", "threads", "isa",
           "set_isa", "library_path", "__version__"] + errors.__all__
