#!/usr/bin/env python3
"""The inverse square roots of Table 3's covariance groups: the library
(through the Python binding: deconv.isqrt, one batched call per group set)
against PyTorch's recipe (the reference's batched coupled Newton-Schulz
with torch.bmm, as bench/internal/report/table3.py times it), side by side.

Both run in this one process, alternating, for several rounds, on the same
thread count; the table gives the medians and the ratio PyTorch / ours
(above 1: the library is faster). PyTorch runs with
OPENBLAS_CORETYPE=SKYLAKEX on CPUs with AVX-512F (set before torch is
imported) and torch.set_num_threads(threads); the library with
deconv.set_threads(threads).

Usage (after make lib; Debian's PyTorch lives in the system interpreter):

    /usr/bin/python3 bench/isqrt_compare.py [--rounds 7] [--threads 2] [--iters 5]
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

# count x n: the groups of Table 3's layers (3x3 kernels, blocks of 64
# channels: 576; depthwise layers: hundreds of 9x9; the 7x7 first layers:
# one 147x147), and single small matrices.
SHAPES = [(1, 9), (1, 27), (1, 64), (1, 147), (1, 245), (1, 363),
          (2, 576), (3, 576), (4, 576), (8, 576), (32, 72),
          (128, 9), (256, 9), (512, 9)]


def avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f " in f.read().replace("\n", " ")
    except OSError:
        return False


def covariances(np, count, n, seed):
    """count SPD n x n float32 matrices: covariances of 4n samples + 1e-5 I."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, 4 * n, n)).astype(np.float64)
    x += 0.5 * rng.standard_normal((count, 4 * n, 1))  # correlated features
    c = np.einsum("bki,bkj->bij", x, x) / (4 * n) + 1e-5 * np.eye(n)
    return c.astype(np.float32)


def best_time(f, min_time=0.2):
    """Seconds per call of f: calls repeated for at least min_time."""
    f()
    reps, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        t = time.perf_counter() - t0
        if t >= min_time:
            return t / reps
        reps *= 2


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    args = p.parse_args()
    if avx512():
        os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
    import numpy as np
    import torch
    import deconv
    torch.set_num_threads(args.threads)
    deconv.set_threads(args.threads)
    print("torch %s (%d threads, OPENBLAS_CORETYPE=%s); libdeconv %s (isa %s, %d threads); "
          "%d iterations, median of %d rounds"
          % (torch.__version__, torch.get_num_threads(), os.environ.get("OPENBLAS_CORETYPE", ""),
             deconv.__version__, deconv.isa(), deconv.threads(), args.iters, args.rounds))
    print("%-10s %12s %12s %14s %10s" % ("count x n", "ours ms", "torch ms", "max |diff|", "torch/ours"))
    iters = args.iters
    with torch.no_grad():
        for count, n in SHAPES:
            a = covariances(np, count, n, n)
            cov = torch.from_numpy(a)
            eye = torch.eye(n).expand_as(cov)

            def inv():
                norm = cov.norm(dim=(1, 2), keepdim=True)
                y = cov / norm
                z = eye
                for _ in range(iters):
                    t = 0.5 * (3.0 * eye - z.bmm(y))
                    y = y.bmm(t)
                    z = t.bmm(z)
                return z / norm.sqrt()

            def ours():
                return deconv.isqrt(a, n_iter=iters)

            diff = float(np.max(np.abs(ours() - inv().numpy())))
            to, tt = [], []
            for _ in range(args.rounds):
                to.append(best_time(ours))
                tt.append(best_time(inv))
            mo, mt = statistics.median(to), statistics.median(tt)
            print("%-10s %12.4f %12.4f %14.3g %10.2f" % ("%dx%d" % (count, n), mo * 1e3, mt * 1e3, diff, mt / mo),
                  flush=True)


if __name__ == "__main__":
    main()
