#!/usr/bin/env python3
"""Side-by-side timing of the library's Paper* benchmarks and PyTorch.

Each comparison runs the Go benchmark and the equivalent PyTorch code in
alternation, several rounds, on the same machine and thread count, and
prints the medians and their ratio. PyTorch runs with
OPENBLAS_CORETYPE=SKYLAKEX on CPUs with AVX-512F (Debian's OpenBLAS 0.3.21
otherwise falls back to its SSE3 kernels) and torch.set_num_threads(threads).

Usage (Debian's PyTorch lives in the system interpreter):

    /usr/bin/python3 bench/compare.py [--rounds 5] [--threads 2] [name ...]

Names: see COMPARISONS below; default all.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torch_im2col(torch):
    """F.unfold(x, 3, padding=1, stride=3) on x of 32×64×128×128."""
    import torch.nn.functional as F
    x = torch.randn(32, 64, 128, 128)
    return lambda: F.unfold(x, 3, padding=1, stride=3)


def torch_sgemm(torch):
    """a @ b for float32 2048×2048 matrices."""
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    return lambda: a @ b


def torch_syrk(torch):
    """X.t() @ X for X of 59168×576 (the covariance of the batch-32 layer)."""
    x = torch.rand(59168, 576)
    return lambda: x.t() @ x


def torch_cov(torch):
    """The reference recipe for BenchmarkPaperCov: unfold (3×3, padding 1,
    stride 3) of x 32×64×128×128, rows, mean, centre, addmm → 576×576."""
    import torch.nn.functional as F
    x = torch.rand(32, 64, 128, 128) + (4 * torch.rand(1, 64, 1, 1) - 2)
    eye = torch.eye(576)

    def run():
        rows = F.unfold(x, 3, padding=1, stride=3).transpose(1, 2).reshape(-1, 576)
        mean = rows.mean(0)
        xc = rows - mean
        return mean, torch.addmm(eye, xc.t(), xc, beta=1e-5, alpha=1.0 / rows.shape[0])
    return run


def _isqrt_ns(torch, a, iters):
    """The reference's coupled Newton–Schulz iteration, as matmuls."""
    n = a.norm()
    y = a / n
    eye = torch.eye(a.shape[0], dtype=a.dtype)
    z = eye.clone()
    for _ in range(iters):
        t = 0.5 * (3.0 * eye - z @ y)
        y = y @ t
        z = t @ z
    return z / n.sqrt()


def _paper_layer(torch):
    x = torch.rand(32, 64, 128, 128) + 0.01 * torch.arange(64.0).view(1, 64, 1, 1)
    w = (torch.rand(128, 64, 3, 3) - 0.5) * 0.1
    b = torch.rand(128) - 0.5
    return x, w, b


def torch_fastdeconv_train(torch):
    """The reference FastDeconv training forward on the paper layer
    (x 32×64×128×128, 64→128, k 3, padding 1, block 64, S 3, 5 iterations):
    unfold, rows, mean, addmm, the NS function, fold, F.conv2d."""
    import torch.nn.functional as F
    x, w, b = _paper_layer(torch)
    eye = torch.eye(576)

    def run():
        rows = F.unfold(x, 3, padding=1, stride=3).transpose(1, 2).contiguous().view(-1, 576)
        mean = rows.mean(0)
        xc = rows - mean.unsqueeze(0)
        cov = torch.addmm(eye, xc.t(), xc, beta=1e-5, alpha=1.0 / xc.shape[0])
        d = _isqrt_ns(torch, cov, 5)
        wf = w.view(-1, 576, 1).transpose(1, 2).contiguous().view(-1, 576) @ d
        bf = b - (wf @ mean.unsqueeze(1)).view(128, -1).sum(1)
        wf = wf.view(-1, 1, 576).transpose(1, 2).contiguous().view(w.shape)
        return F.conv2d(x, wf, bf, 1, 1)
    return run


def torch_train_step(torch):
    """One training step of the reference FastDeconv on the paper layer:
    the training forward as in torch_fastdeconv_train, with autograd on x,
    the weight and the bias, then loss = (y * g).sum(); loss.backward(),
    which differentiates through the convolution, the fold, the
    Newton–Schulz iterations, the covariance and the unfold."""
    import torch.nn.functional as F
    x, w, b = _paper_layer(torch)
    x.requires_grad_(True)
    w.requires_grad_(True)
    b.requires_grad_(True)
    g = torch.rand(32, 128, 128, 128) - 0.5
    eye = torch.eye(576)

    def run():
        x.grad = w.grad = b.grad = None
        rows = F.unfold(x, 3, padding=1, stride=3).transpose(1, 2).contiguous().view(-1, 576)
        mean = rows.mean(0)
        xc = rows - mean.unsqueeze(0)
        cov = torch.addmm(eye, xc.t(), xc, beta=1e-5, alpha=1.0 / xc.shape[0])
        d = _isqrt_ns(torch, cov, 5)
        wf = w.view(-1, 576, 1).transpose(1, 2).contiguous().view(-1, 576) @ d
        bf = b - (wf @ mean.unsqueeze(1)).view(128, -1).sum(1)
        wf = wf.view(-1, 1, 576).transpose(1, 2).contiguous().view(w.shape)
        y = F.conv2d(x, wf, bf, 1, 1)
        loss = (y * g).sum()
        loss.backward()
    return run


def torch_fastdeconv_eval(torch):
    """F.conv2d (oneDNN) on the paper layer with folded weights."""
    import torch.nn.functional as F
    x, w, b = _paper_layer(torch)
    return lambda: F.conv2d(x, w, b, 1, 1)


def torch_ns5(torch):
    """The reference's 5 coupled Newton–Schulz iterations (15 matmuls), norm
    and final scaling included, on a 576×576 covariance plus 1e-5·I."""
    x = torch.randn(8192, 576) @ (torch.randn(576, 576) / 24.0)
    cov = torch.addmm(torch.eye(576), x.t(), x, beta=1e-5, alpha=1.0 / x.shape[0])
    return lambda: _isqrt_ns(torch, cov, 5)


def torch_isqrt_backward(torch):
    """The backward of the reference's 5 coupled Newton–Schulz iterations
    (norm and final scaling included) on a 576×576 covariance plus 1e-5·I
    with requires_grad: (d * g).sum().backward() through the float32 torch
    matmuls. The forward runs untimed before each timed backward (setup),
    as BenchmarkPaperIsqrtBackward times the backward alone."""
    x = torch.randn(8192, 576) @ (torch.randn(576, 576) / 24.0)
    cov = torch.addmm(torch.eye(576), x.t(), x, beta=1e-5, alpha=1.0 / x.shape[0])
    g = (torch.arange(576 * 576) % 7 - 3).float().view(576, 576)
    state = {}

    def setup():
        a = cov.clone().requires_grad_(True)
        state["a"] = a
        state["loss"] = (_isqrt_ns(torch, a, 5) * g).sum()

    def run():
        state["loss"].backward()
        return state["a"].grad
    run.setup = setup
    return run


# name -> (Go package dir, Go benchmark, PyTorch factory, repetitions per round)
COMPARISONS = {
    "im2col": ("im2col", "BenchmarkPaperIm2col", torch_im2col, 5),
    "sgemm": ("internal/gemm", "BenchmarkPaperSgemm", torch_sgemm, 5),
    "syrk": ("internal/gemm", "BenchmarkPaperSyrk", torch_syrk, 5),
    "cov": ("cov", "BenchmarkPaperCov", torch_cov, 3),
    "train": ("fold", "BenchmarkPaperFastDeconvTrain", torch_fastdeconv_train, 2),
    "eval": ("fold", "BenchmarkPaperFastDeconvEval", torch_fastdeconv_eval, 2),
    "trainstep": ("fold", "BenchmarkPaperFastDeconvTrainStep", torch_train_step, 1),
    "ns5": ("isqrt", "BenchmarkPaperNS5", torch_ns5, 10),
    "isqrt-bwd": ("isqrt", "BenchmarkPaperIsqrtBackward", torch_isqrt_backward, 10),
}


def cpu_has_avx512f():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f" in f.read()
    except OSError:
        return False


def torch_worker(name, threads, reps, rounds):
    """Runs in a child process so that the environment is set before torch loads."""
    import torch
    torch.set_num_threads(threads)
    fn = COMPARISONS[name][2](torch)
    setup = getattr(fn, "setup", None)  # untimed work before each call
    if setup:
        setup()
    fn()  # warm up: first-touch page faults, thread start
    out = []
    for _ in range(rounds):
        ts = []
        for _ in range(reps):
            if setup:
                setup()
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        out.append(statistics.median(ts))
    return out


def run_torch(name, threads, reps):
    env = dict(os.environ)
    if cpu_has_avx512f():
        env["OPENBLAS_CORETYPE"] = "SKYLAKEX"
    env.pop("OPENBLAS_L2_SIZE", None)
    env["OMP_NUM_THREADS"] = str(threads)
    code = (
        "import sys; sys.path.insert(0, %r); import compare; "
        "print(compare.torch_worker(%r, %d, %d, 1)[0])"
        % (os.path.dirname(os.path.abspath(__file__)), name, threads, reps)
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def build_go_test(pkg, tmp):
    exe = os.path.join(tmp, pkg.replace("/", "_") + ".test")
    subprocess.run(["go", "test", "-c", "-o", exe, "./" + pkg], cwd=ROOT, check=True)
    return exe


def run_go(exe, pkg, bench, threads, reps):
    env = dict(os.environ, GOMAXPROCS=str(threads))
    out = subprocess.run([exe, "-test.run", "^$", "-test.bench", "^" + bench + "$",
                          "-test.benchtime", "%dx" % reps, "-test.count", "1"],
                         cwd=os.path.join(ROOT, pkg), env=env, check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"^%s\S*\s+\d+\s+([\d.]+) ns/op" % bench, out, re.M)
    if not m:
        raise RuntimeError("no result for %s in:\n%s" % (bench, out))
    return float(m.group(1)) * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=list(COMPARISONS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    print("%-10s %12s %12s %8s" % ("kernel", "deconv ms", "torch ms", "speedup"))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            pkg, bench, _, reps = COMPARISONS[name]
            exe = build_go_test(pkg, tmp)
            go, th = [], []
            for _ in range(args.rounds):
                go.append(run_go(exe, pkg, bench, args.threads, reps))
                th.append(run_torch(name, args.threads, reps))
            g, t = statistics.median(go), statistics.median(th)
            print("%-10s %12.2f %12.2f %7.2fx" % (name, g * 1e3, t * 1e3, t / g), flush=True)


if __name__ == "__main__":
    main()
