"""Table 3 of the paper through the reference recipe in PyTorch.

One module, two users:
  * the report program (`make report ARGS=-compare`) embeds this file and
    runs it as `python3 -c <this script> <config JSON>`. The configuration
    names the rows (H, W, Cin, Cout, Groups, K, Stride), the batch, the
    thread count, the number of timed runs and the Newton-Schulz
    iterations; the result is one JSON object on stdout with the median
    seconds of each component per row. Progress lines ("progress i n") go
    to stderr.
  * bench/compare.py (`compare.py table3`) imports it and times the
    callables of row_recipe() in alternation with BenchmarkTable3.

Components, as the reference FastDeconv computes them (torch.no_grad):
  im2col  F.unfold(x, k, padding=k//2, stride=S)
  cov     unfold, rows, blocks (interleaved, as the reference views them)
          or groups, mean, centring, addmm/baddbmm with eps*I
  inv     5 coupled Newton-Schulz iterations with Frobenius scaling,
          batched over the groups
  conv    F.conv2d(x, w, b, padding=k//2, groups=Groups): grouped as the
          row is (512->512 in 512 groups is a depthwise convolution)
"""
import json
import math
import os
import statistics
import sys
import time

COMPONENTS = ("im2col", "cov", "inv", "conv")
EPS = 1e-5


def timed(fn, warm, reps):
    """Runs fn warm times untimed, then reps times; the median seconds."""
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def block_size(c, block, groups):
    """The reference's block rule: channels per covariance block."""
    if groups > 1:
        return c // groups
    if block > c:
        return c
    if c % block:
        return math.gcd(block, c)
    return block


def row_recipe(torch, row, batch, iters):
    """The row's input, weights and statistics, and one callable per
    component (COMPONENTS order, as a dict). row maps H, W, Cin, Cout,
    Groups, K, Stride to ints. The covariance that inv inverts is
    computed here, once."""
    import torch.nn.functional as F
    h, w, cin, cout, groups, k, s = (row[key] for key in ("H", "W", "Cin", "Cout", "Groups", "K", "Stride"))
    pad = k // 2
    x = torch.rand(batch, cin, h, w) + (torch.rand(1, cin, 1, 1) - 0.5)
    weight = (torch.rand(cout, cin // groups, k, k) - 0.5) * 0.1
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
            return torch.addmm(torch.eye(feats) * EPS, xc.t(), xc, beta=1, alpha=1.0 / xc.shape[0])
        xs = xs.reshape(-1, groups, feats).transpose(0, 1)  # G, rows, F
        mean = xs.mean(1, keepdim=True)
        xc = xs - mean
        eye = torch.eye(feats).expand(groups, feats, feats)
        return torch.baddbmm(eye * EPS, xc.transpose(1, 2), xc, beta=1, alpha=1.0 / xc.shape[1])

    with torch.no_grad():
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
        return F.conv2d(x, weight, bias, padding=pad, groups=groups)

    return {"im2col": im2col, "cov": covariance, "inv": inv, "conv": conv}


def time_row(torch, row, batch, iters, warm, reps, timer=timed):
    """Seconds per component of one row (a dict), the row's data freed
    on return."""
    fns = row_recipe(torch, row, batch, iters)
    with torch.no_grad():
        return {name: timer(fns[name], warm, reps) for name in COMPONENTS}


def main(argv):
    import torch
    cfg = json.loads(argv[0])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    reps = cfg["reps"]
    warm = 1 if reps > 1 else 0
    out = []
    for i, row in enumerate(cfg["rows"]):
        out.append(time_row(torch, row, cfg["batch"], cfg["iters"], warm, reps))
        print("progress", i + 1, len(cfg["rows"]), file=sys.stderr, flush=True)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "rows": out,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
