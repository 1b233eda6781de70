"""PyTorch timings for the shapes of internal/gemm's paper benchmarks.

Run with the system Python that has PyTorch, for example

    OPENBLAS_CORETYPE=SKYLAKEX OPENBLAS_NUM_THREADS=2 python3 bench/torch_gemm.py --threads 2

It prints, for each shape, the median and best time of several runs and the
rate in GFLOP/s counted as the Go benchmarks count it (2·m·n·k for the GEMM,
m·n·(n+1) for XᵀX, the useful half), so the lines compare directly with
`go test -bench Paper ./internal/gemm`.
"""

import argparse
import os
import statistics
import time

import torch


def timeit(fn, runs):
    fn()  # warm-up: thread pool, page faults
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    if "OPENBLAS_CORETYPE" not in os.environ:
        print("warning: OPENBLAS_CORETYPE is not set; OpenBLAS may fall back to slow kernels")
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)

    n = 2048
    a = torch.rand(n, n, generator=g, dtype=torch.float32)
    b = torch.rand(n, n, generator=g, dtype=torch.float32)
    med, best = timeit(lambda: a @ b, args.runs)
    fl = 2.0 * n * n * n
    print(f"TorchSgemm 2048^3: median {med*1e3:.1f} ms ({fl/med/1e9:.1f} GFLOP/s), best {best*1e3:.1f} ms ({fl/best/1e9:.1f} GFLOP/s)")

    rows, f = 59168, 576
    x = torch.rand(rows, f, generator=g, dtype=torch.float32)
    med, best = timeit(lambda: x.t() @ x, args.runs)
    fl = float(rows) * f * (f + 1)
    print(f"TorchSyrk X 59168x576, X.t() @ X: median {med*1e3:.1f} ms ({fl/med/1e9:.1f} GFLOP/s useful), best {best*1e3:.1f} ms ({fl/best/1e9:.1f} GFLOP/s useful)")


if __name__ == "__main__":
    main()
