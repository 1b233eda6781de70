"""Table 3 of the paper through the reference recipe in PyTorch.

Run by the report program (`make report ARGS=-compare`) as
`python3 -c <this script> <config JSON>`. The configuration names the rows
(H, W, Cin, Cout, groups, k, S), the batch, the thread count and the
number of timed runs; the result is one JSON object on stdout with the
median seconds of each component per row. Progress lines ("progress i n")
go to stderr.

Components, as the reference FastDeconv computes them:
  im2col  F.unfold(x, k, padding=k//2, stride=S)
  cov     unfold, rows, blocks (interleaved, as the reference views them)
          or groups, mean, centring, addmm/baddbmm with eps*I
  inv     5 coupled Newton-Schulz iterations with Frobenius scaling,
          batched over the groups
  conv    F.conv2d(x, w, b, padding=k//2), dense
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, warm, reps):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def block_size(c, block, groups):
    if groups > 1:
        return c // groups
    if block > c:
        return c
    if c % block:
        import math
        return math.gcd(block, c)
    return block


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    n, reps, iters, eps = cfg["batch"], cfg["reps"], cfg["iters"], 1e-5
    warm = 1 if reps > 1 else 0
    out = []
    for i, row in enumerate(cfg["rows"]):
        h, w, cin, cout, groups, k, s = (row[key] for key in ("H", "W", "Cin", "Cout", "Groups", "K", "Stride"))
        pad = k // 2
        x = torch.rand(n, cin, h, w) + (torch.rand(1, cin, 1, 1) - 0.5)
        weight = (torch.rand(cout, cin, k, k) - 0.5) * 0.1
        bias = torch.zeros(cout)
        b = block_size(cin, 64, groups)
        feats = k * k * b

        def im2col():
            return F.unfold(x, k, padding=pad, stride=s)

        def covariance():
            xs = F.unfold(x, k, padding=pad, stride=s)          # N, C*k*k, L
            xs = xs.transpose(1, 2).reshape(-1, cin * k * k)   # rows
            if groups == 1:
                xs = xs.reshape(-1, feats, cin // b).transpose(1, 2).reshape(-1, feats)
                mean = xs.mean(0)
                xc = xs - mean
                return torch.addmm(torch.eye(feats) * eps, xc.t(), xc, beta=1, alpha=1.0 / xc.shape[0])
            xs = xs.reshape(-1, groups, feats).transpose(0, 1)  # G, rows, F
            mean = xs.mean(1, keepdim=True)
            xc = xs - mean
            eye = torch.eye(feats).expand(groups, feats, feats)
            return torch.baddbmm(eye * eps, xc.transpose(1, 2), xc, beta=1, alpha=1.0 / xc.shape[1])

        cov = covariance()
        if cov.dim() == 2:
            cov = cov.unsqueeze(0)
        eye = torch.eye(feats).expand_as(cov)

        def inv():
            norm = cov.norm(dim=(1, 2), keepdim=True)
            y = cov / norm
            z = eye
            for _ in range(iters):
                t = 0.5 * (3.0 * eye - z.bmm(y))
                y = y.bmm(t)
                z = t.bmm(z)
            return z / norm.sqrt()

        def conv():
            return F.conv2d(x, weight, bias, padding=pad)

        with torch.no_grad():
            out.append({
                "im2col": timed(im2col, warm, reps),
                "cov": timed(covariance, warm, reps),
                "inv": timed(inv, warm, reps),
                "conv": timed(conv, warm, reps),
            })
        del x, weight
        print("progress", i + 1, len(cfg["rows"]), file=sys.stderr, flush=True)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "rows": out,
    }))


main()
