#!/usr/bin/env python3
"""The Python binding's overhead over calling libdeconv's C ABI directly.

1. The paper layer's folded forward (x 32x64x128x128 float32, 64 -> 128
   channels, 3x3 kernel, padding 1): ``deconv.FastDeconv(...).folded()(x)``
   (argument checks, output allocation, the status/error object), and the
   same writing into a preallocated ``out=``, against
   ``deconv_conv2d_forward_f32`` called through ctypes on the same handle
   with prebuilt pointers: into a new ``np.empty`` output each call for the
   first row, into one preallocated output for the second. A new output
   costs its first touch (the kernel zeroing 256 MiB of fresh pages) on
   both sides of the first row; it is memory's cost, not the binding's.
2. ``deconv.isqrt`` of a 27x27 matrix (a 3x3 kernel with block 3): the
   whole call (argument checks, the per-thread kept handle, a new output)
   against ``deconv_isqrt_compute_f32`` called through ctypes on a kept
   handle with prebuilt pointers. Wall time and the process's CPU time
   (every thread) per call; on a loaded machine the CPU time is the figure
   that can be compared from one run to the next.

Medians of several runs, interleaved so that drift hits both sides alike.
Set beside it: ``go test -run '^$' -bench 'InvSqrtSmall/n=27$' ./isqrt``
(the Go call) and ``make cbench`` (the C call without Python).

Usage (after make lib):

    /usr/bin/python3 bench/binding_overhead.py [--runs 7] [--batch 32] [--isqrt-only]
"""
import argparse
import ctypes
import os
import statistics
import sys
import time

# NumPy's own BLAS (one small product below) would otherwise leave its
# threads spinning, which the CPU-time figures would count.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

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

    def direct_new():
        fresh = np.empty_like(out)
        _direct_call(fwd, h, ptr(fresh), fresh.size, pa, x.size, batch, 128, 128)
        return fresh

    mine = np.empty_like(out)

    def binding():
        return conv(x)

    def binding_out():
        return conv(x, out=mine)

    y = binding()
    direct()
    binding_out()
    assert np.array_equal(y, out) and np.array_equal(mine, out)
    assert np.array_equal(direct_new(), out)
    del y
    times = ([], [], [], [])
    for _ in range(runs):
        for f, acc in zip((binding, binding_out, direct, direct_new), times):
            t = time.perf_counter()
            f()
            acc.append(time.perf_counter() - t)
    return tuple(statistics.median(t) for t in times)


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
    tb, td, cb, cd = [], [], [], []
    for _ in range(runs):
        for f, acc, cpu in ((binding, tb, cb), (direct, td, cd)):
            t, c = time.perf_counter(), time.process_time()
            for _ in range(calls):
                f()
            cpu.append((time.process_time() - c) / calls)
            acc.append((time.perf_counter() - t) / calls)
    _lib.LIB.deconv_isqrt_free(handle)
    return tuple(statistics.median(x) for x in (tb, td, cb, cd))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--isqrt-only", action="store_true", help="skip the layer (minutes on a loaded machine)")
    args = p.parse_args()
    print("libdeconv %s, isa %s, %d threads" % (deconv.__version__, deconv.isa(), deconv.threads()))
    row = "%-52s %10.2f %s %10.2f %s %8.2f%%"
    print("%-52s %13s %13s %9s" % ("", "binding", "C ABI", "overhead"))
    if not args.isqrt_only:
        lb, lo, ld, ln = bench_layer(args.runs, args.batch)
        name = "folded paper layer, batch %d, median of %d" % (args.batch, args.runs)
        print(row % (name + ", new output", lb * 1e3, "ms", ln * 1e3, "ms", 100 * (lb - ln) / ln))
        print(row % (name + ", out=", lo * 1e3, "ms", ld * 1e3, "ms", 100 * (lo - ld) / ld))
    ib, idr, cb, cd = bench_isqrt(args.runs)
    print(row % ("isqrt 27x27 float32, 5 iterations, per call, wall", ib * 1e6, "us", idr * 1e6, "us",
                 100 * (ib - idr) / idr))
    print(row % ("isqrt 27x27 float32, 5 iterations, per call, CPU", cb * 1e6, "us", cd * 1e6, "us",
                 100 * (cb - cd) / cd))
    print("isqrt 27x27: the binding adds %.2f us of wall time and %.2f us of CPU time per call"
          % ((ib - idr) * 1e6, (cb - cd) * 1e6))


if __name__ == "__main__":
    main()
