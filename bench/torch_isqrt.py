#!/usr/bin/env python3
"""Writes isqrt/testdata/torch_ns.bin: covariances and the inverse square
roots the reference implementation's coupled Newton–Schulz iteration gives
for them in PyTorch (float32), so that the Go tests can check the library
against the reference without PyTorch installed.

The iteration is written here from its description (n = ‖A‖_F, Y = A/n,
Z = I, T = ½(3I − Z·Y), Y ← Y·T, Z ← T·Z, result Z/√n), as the reference
computes it with matmuls.

Record layout (little-endian): int32 n, int32 iterations, n·n float32 A
(row-major), n·n float32 D.

Usage (Debian's PyTorch lives in the system interpreter):

    OPENBLAS_CORETYPE=SKYLAKEX /usr/bin/python3 bench/torch_isqrt.py
"""
import os
import struct

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "isqrt", "testdata", "torch_ns.bin")


def isqrt_ns(a, iters):
    n = a.norm()
    y = a / n
    eye = torch.eye(a.shape[0], dtype=a.dtype)
    z = eye.clone()
    for _ in range(iters):
        t = 0.5 * (3.0 * eye - z @ y)
        y = y @ t
        z = t @ z
    return z / n.sqrt()


def covariance(n, rows, seed):
    """eps·I + XcᵀXc/rows for correlated features, as the layer forms it."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(n, n, generator=g) / n ** 0.5
    mix += torch.diag(torch.linspace(0.05, 1.0, n))
    x = torch.randn(rows, n, generator=g) @ mix
    xc = x - x.mean(0)
    return torch.addmm(torch.eye(n), xc.t(), xc, beta=1e-5, alpha=1.0 / rows)


def main():
    torch.set_num_threads(1)
    records = []
    for n, seed in ((27, 1), (72, 2)):
        a = covariance(n, 4000, seed)
        for iters in (5, 15):
            records.append((n, iters, a, isqrt_ns(a, iters)))
    with open(OUT, "wb") as f:
        for n, iters, a, d in records:
            f.write(struct.pack("<ii", n, iters))
            f.write(a.contiguous().numpy().astype("<f4").tobytes())
            f.write(d.contiguous().numpy().astype("<f4").tobytes())
    print("wrote", OUT, len(records), "records")


if __name__ == "__main__":
    main()
