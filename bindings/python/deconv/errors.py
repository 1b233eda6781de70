"""The errors of the deconv package: one class per status of the C library.

Every class derives from :class:`DeconvError` and carries ``.status`` (the
``deconv_status`` value of ``include/deconv.h``) and ``.message`` (the
library's message from ``deconv_error``, or the binding's own for a check it
makes before calling the library).

The status ``DECONV_E_OVERFLOW`` is :class:`SizeError` (not named
``OverflowError`` so as not to shadow the builtin).
"""

__all__ = [
    "DeconvError", "ShapeError", "ParameterError", "SizeError", "NonFiniteError",
    "NotSymmetricError", "NotPositiveDefiniteError", "DivergedError", "NotConvergedError",
    "EmptyError", "BusyError", "OverlapError", "UnsupportedError", "OutOfMemoryError",
    "InternalError", "error_for_status",
]


class DeconvError(Exception):
    """Base class of every error the library reports."""

    status = -1

    def __init__(self, message="", status=None):
        if status is not None:
            self.status = status
        self.message = message
        super().__init__(message)


class ShapeError(DeconvError, ValueError):
    """A size, length, count or rank does not fit (DECONV_E_SHAPE)."""
    status = 1


class ParameterError(DeconvError, ValueError):
    """A parameter is out of range, or a handle is closed (DECONV_E_PARAM)."""
    status = 2


class SizeError(DeconvError):
    """A size overflows or exceeds a documented limit (DECONV_E_OVERFLOW)."""
    status = 3


class NonFiniteError(DeconvError, ValueError):
    """An input holds a NaN or an infinity (DECONV_E_NONFINITE)."""
    status = 4


class NotSymmetricError(DeconvError, ValueError):
    """A matrix that must be symmetric is not (DECONV_E_NOT_SYMMETRIC)."""
    status = 5


class NotPositiveDefiniteError(DeconvError, ValueError):
    """A matrix that must be positive definite is not (DECONV_E_NOT_POSITIVE_DEFINITE)."""
    status = 6


class DivergedError(DeconvError):
    """An iteration's residual grew without bound (DECONV_E_DIVERGED)."""
    status = 7


class NotConvergedError(DeconvError):
    """An iteration did not reach the requested tolerance (DECONV_E_NOT_CONVERGED)."""
    status = 8


class EmptyError(DeconvError):
    """Statistics were asked of an accumulator with no samples (DECONV_E_EMPTY)."""
    status = 9


class BusyError(DeconvError):
    """A handle was used by two calls at once (DECONV_E_BUSY)."""
    status = 10


class OverlapError(DeconvError):
    """A destination overlaps an input (DECONV_E_OVERLAP)."""
    status = 11


class UnsupportedError(DeconvError):
    """The instruction-set family cannot run here (DECONV_E_UNSUPPORTED)."""
    status = 12


class OutOfMemoryError(DeconvError, MemoryError):
    """The library could not allocate memory (DECONV_E_NOMEM)."""
    status = 100


class InternalError(DeconvError):
    """A bug in the library (DECONV_E_INTERNAL); please report it."""
    status = 101


_BY_STATUS = {cls.status: cls for cls in (
    ShapeError, ParameterError, SizeError, NonFiniteError, NotSymmetricError,
    NotPositiveDefiniteError, DivergedError, NotConvergedError, EmptyError, BusyError,
    OverlapError, UnsupportedError, OutOfMemoryError, InternalError)}


def error_for_status(status, message):
    """The exception for a non-zero status (DeconvError for an unknown one)."""
    cls = _BY_STATUS.get(status, DeconvError)
    return cls(message, status)
