#!/usr/bin/env python3
"""The Python binding's overhead over calling libdeconv's C ABI directly.

1. The paper layer's folded forward (x 32x64x128x128 float32, 64 -> 128
   channels, 3x3 kernel, padding 1): ``deconv.FastDeconv(...).folded()(x)``
   (argument checks, output allocation, the status/error object) against
   ``deconv_conv2d_forward_f32`` called through ctypes on the same handle
   with a preallocated output and prebuilt pointers.
2. ``deconv.isqrt`` of a 27x27 matrix (a 3x3 kernel with block 3): the
   whole call (a handle created and freed each time) against
   ``deconv_isqrt_compute_f32`` on a kept handle.

Medians of several runs, interleaved so that drift hits both sides alike.

Usage (after make lib):

    /usr/bin/python3 bench/binding_overhead.py [--runs 7] [--batch 32]
"""
import argparse
import ctypes
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

import deconv  # noqa: E402
from deconv import _lib  # noqa: E402
from deconv._arrays import ptr  # noqa: E402


def _direct_call(fn, *args):
    err = _lib.Error()
    status = fn(*args, ctypes.byref(err))
    if status:
        raise RuntimeError("status %d" % status)


def bench_layer(runs, batch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 64, 128, 128), dtype=np.float32)
    layer = deconv.FastDeconv(64, 128, 3, padding=1, seed=0)
    layer(x[:2])  # non-trivial running statistics
    layer.eval()
    conv = layer.folded()
    out = np.empty((batch, 128, 128, 128), dtype=np.float32)
    fwd = _lib.LIB.deconv_conv2d_forward_f32
    h, po, pa = conv.handle, ptr(out), ptr(x)

    def direct():
        _direct_call(fwd, h, po, out.size, pa, x.size, batch, 128, 128)

    def binding():
        return conv(x)

    y = binding()
    direct()
    assert np.array_equal(y, out)
    del y
    tb, td = [], []
    for _ in range(runs):
        t = time.perf_counter()
        binding()
        tb.append(time.perf_counter() - t)
        t = time.perf_counter()
        direct()
        td.append(time.perf_counter() - t)
    return statistics.median(tb), statistics.median(td)


def bench_isqrt(runs, calls=2000):
    rng = np.random.default_rng(1)
    m = rng.standard_normal((27, 200))
    a = (m @ m.T / 200 + 1e-3 * np.eye(27)).astype(np.float32)
    out = np.empty_like(a)
    cfg = _lib.IsqrtConfig(method=_lib.ISQRT_METHOD["coupled"], iterations=5, tol=0.0)
    handle = ctypes.c_void_p()
    _direct_call(_lib.LIB.deconv_isqrt_create, 27, ctypes.byref(cfg), ctypes.byref(handle))
    comp = _lib.LIB.deconv_isqrt_compute_f32
    po, pa = ptr(out), ptr(a)
    null = ctypes.POINTER(ctypes.c_double)()

    def direct():
        _direct_call(comp, handle, po, out.size, pa, a.size, null, 0, None)

    def binding():
        return deconv.isqrt(a)

    assert np.allclose(binding(), (direct(), out)[1], rtol=1e-5, atol=1e-5)
    tb, td = [], []
    for _ in range(runs):
        for f, acc in ((binding, tb), (direct, td)):
            t = time.perf_counter()
            for _ in range(calls):
                f()
            acc.append((time.perf_counter() - t) / calls)
    _lib.LIB.deconv_isqrt_free(handle)
    return statistics.median(tb), statistics.median(td)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args()
    print("libdeconv %s, isa %s, %d threads" % (deconv.__version__, deconv.isa(), deconv.threads()))
    lb, ld = bench_layer(args.runs, args.batch)
    ib, idr = bench_isqrt(args.runs)
    print("%-44s %12s %12s %9s" % ("", "binding", "C ABI", "overhead"))
    print("%-44s %9.1f ms %9.1f ms %8.2f%%" % ("folded paper layer, batch %d (median of %d)"
                                              % (args.batch, args.runs), lb * 1e3, ld * 1e3,
                                              100 * (lb - ld) / ld))
    print("%-44s %9.2f us %9.2f us %8.2f%%" % ("isqrt 27x27 float32, 5 iterations (per call)",
                                              ib * 1e6, idr * 1e6, 100 * (ib - idr) / idr))


if __name__ == "__main__":
    main()
