#!/usr/bin/python3
"""One training step (forward, then backward to x, the weight and the bias)
of deconv.nn's modules against the same step of the reference's modules in
PyTorch autograd (the tests' oracle, tests/reference_modules.py), float32,
timed alternately in one process with equal thread counts.

    OPENBLAS_CORETYPE=SKYLAKEX /usr/bin/python3 bench/nn_step.py [--threads 2] [--reps 5]

Prints the median time of each side and the ratio (reference / deconv.nn).
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python", "tests"))

import torch  # noqa: E402

import deconv  # noqa: E402
import deconv.nn as dnn  # noqa: E402
import reference_modules as ref  # noqa: E402

# (name, our module, the reference's, input shape)
CASES = [
    ("FastDeconv 64->128 3x3, 16x64x32x32",
     lambda: dnn.FastDeconv(64, 128, 3, padding=1, dtype=torch.float32, seed=1),
     lambda: ref.FastDeconv(64, 128, 3, padding=1), (16, 64, 32, 32)),
    ("FastDeconv 64->64 3x3 stride 2, 32x64x32x32",
     lambda: dnn.FastDeconv(64, 64, 3, stride=2, padding=1, dtype=torch.float32, seed=1),
     lambda: ref.FastDeconv(64, 64, 3, stride=2, padding=1), (32, 64, 32, 32)),
    ("Delinear 1024->512 (block 512), batch 128",
     lambda: dnn.Delinear(1024, 512, dtype=torch.float32, seed=1),
     lambda: ref.Delinear(1024, 512), (128, 1024)),
]


def step(module, x, g):
    module.zero_grad()
    x.grad = None
    y = module(x)
    (y * g).sum().backward()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    deconv.set_threads(args.threads)
    print("PyTorch %s, libdeconv %s (%s kernels), %d threads, OPENBLAS_CORETYPE=%s" % (
        torch.__version__, deconv.__version__, deconv.isa(), args.threads,
        os.environ.get("OPENBLAS_CORETYPE", "(unset)")))
    print("%-46s %12s %12s %8s" % ("training step", "deconv.nn", "reference", "ratio"))
    for name, ours_f, ref_f, shape in CASES:
        ours = ours_f()
        theirs = ref_f().float()
        theirs.load_state_dict(ours.state_dict())
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(shape, generator=gen).requires_grad_()
        with torch.no_grad():
            g = torch.randn(ours(x).shape, generator=gen)
        times = {"ours": [], "ref": []}
        for m in (ours, theirs):  # warm up
            step(m, x, g)
        for _ in range(args.reps):
            for key, m in (("ours", ours), ("ref", theirs)):
                t0 = time.perf_counter()
                step(m, x, g)
                times[key].append(time.perf_counter() - t0)
        a, b = statistics.median(times["ours"]), statistics.median(times["ref"])
        print("%-46s %9.1f ms %9.1f ms %7.2fx" % (name, 1e3 * a, 1e3 * b, b / a))


if __name__ == "__main__":
    main()
