import numpy as np
import torch

from conftest import record


def rel(a, b):
    """max |a-b| / max(|b|, tiny), in float64."""
    a = np.asarray(a.detach() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(np.abs(b).max(initial=0.0), 1e-30)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def close(family, a, b, tol):
    e = rel(a, b)
    record("%s [%s]" % (family, "exact" if tol == 0 else "f64" if tol < 1e-6 else "f32"), e)
    assert e <= tol, "%s: relative error %.3g > %.3g" % (family, e, tol)


TOL = {np.float32: 1e-4, np.float64: 1e-10, "float32": 1e-4, "float64": 1e-10}
