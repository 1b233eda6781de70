#!/usr/bin/env python3
"""Side-by-side timing of the library's Paper* benchmarks and PyTorch.

Each comparison runs the Go benchmark and the equivalent PyTorch code in
alternation, several rounds, on the same machine and thread count, and
prints the medians and their ratio. PyTorch runs with
OPENBLAS_CORETYPE=SKYLAKEX on CPUs with AVX-512F (Debian's OpenBLAS 0.3.21
otherwise falls back to its SSE3 kernels) and torch.set_num_threads(threads).

Usage (Debian's PyTorch lives in the system interpreter):

    /usr/bin/python3 bench/compare.py [--rounds 5] [--threads 2] [name ...]
    /usr/bin/python3 bench/compare.py table3 [--rows 1,5,9] [--rounds 5] [--threads 2]
    /usr/bin/python3 bench/compare.py scaling [--rounds 5] [--reps 3]

Names: see COMPARISONS below; default all. `table3` compares every
component of the paper's Table 3 rows (BenchmarkTable3, batch 8) with the
reference recipe in PyTorch (bench/internal/report/table3.py); `scaling`
measures the paper layer's training forward from 1 to 2 workers and at
batches 8, 16 and 32 (BenchmarkScaling). See the Table 3 block below.
"""
import argparse
import math
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


def torch_sgemm576(torch):
    """a @ b for float32 576×576 matrices: the size of the isqrt products."""
    a, b = torch.rand(576, 576), torch.rand(576, 576)
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
    "sgemm576": ("internal/gemm", "BenchmarkPaperSgemm576", torch_sgemm576, 50),
    "syrk": ("internal/gemm", "BenchmarkPaperSyrk", torch_syrk, 5),
    "cov": ("cov", "BenchmarkPaperCov", torch_cov, 3),
    "train": ("fold", "BenchmarkPaperFastDeconvTrain", torch_fastdeconv_train, 2),
    "eval": ("fold", "BenchmarkPaperFastDeconvEval", torch_fastdeconv_eval, 2),
    "trainstep": ("fold", "BenchmarkPaperFastDeconvTrainStep", torch_train_step, 1),
    "ns5": ("isqrt", "BenchmarkPaperNS5", torch_ns5, 10),
    "isqrt-bwd": ("isqrt", "BenchmarkPaperIsqrtBackward", torch_isqrt_backward, 10),
}


# Grouped and depthwise covariances: the grouped layers of the paper's
# Table 3 (3×3, padding 1, S 3) at batch 8 against the reference recipe
# (unfold, rows, groups, mean, centre, baddbmm), BenchmarkCovGrouped/<row>.
COV_GROUPED_ROWS = [  # (height = width, input channels, groups)
    (64, 128, 2), (32, 256, 4), (16, 512, 8),
    (128, 64, 64), (64, 128, 128), (32, 256, 256), (16, 512, 512),
    (128, 64, 32), (64, 128, 32), (32, 256, 32), (16, 512, 32),
]


def _torch_cov_grouped(hw, cin, groups):
    def factory(torch):
        import torch.nn.functional as F
        n, k, s, pad, eps = 8, 3, 3, 1, 1e-5
        feats = k * k * cin // groups
        x = torch.rand(n, cin, hw, hw) + (torch.rand(1, cin, 1, 1) - 0.5)
        eye = torch.eye(feats).expand(groups, feats, feats) * eps

        def run():
            xs = F.unfold(x, k, padding=pad, stride=s).transpose(1, 2).reshape(-1, cin * k * k)
            xs = xs.reshape(-1, groups, feats).transpose(0, 1)
            mean = xs.mean(1, keepdim=True)
            xc = xs - mean
            return mean, torch.baddbmm(eye, xc.transpose(1, 2), xc, beta=1, alpha=1.0 / xc.shape[1])
        return run
    factory.__doc__ = "grouped covariance %dx%d, %d channels, %d groups, batch 8" % (hw, hw, cin, groups)
    return factory


for _hw, _cin, _g in COV_GROUPED_ROWS:
    COMPARISONS["cov-%dx%d-c%d-g%d" % (_hw, _hw, _cin, _g)] = (
        "cov", "BenchmarkCovGrouped/%dx%d_c%d_g%d" % (_hw, _hw, _cin, _g), _torch_cov_grouped(_hw, _cin, _g), 5)

# ---- Grouped and depthwise convolutions (fold's taps and grouped paths) ----
# Batch 8, 3×3, padding 1: the grouped shapes of Table 3, against
# F.conv2d(groups=...). Go side: fold's BenchmarkGroupedConv/<name>.
GROUPED_ROWS = {
    "32x32_256-512_g4": (32, 256, 512, 4),
    "16x16_512-512_g8": (16, 512, 512, 8),
    "32x32_256-512_g32": (32, 256, 512, 32),
    "16x16_512-512_g32": (16, 512, 512, 32),
    "16x16_512-512_g512": (16, 512, 512, 512),
    "32x32_256-512_g256": (32, 256, 512, 256),
    "64x64_128-256_g128": (64, 128, 256, 128),
}


def torch_grouped(row):
    def factory(torch):
        """F.conv2d with groups on a batch of 8 (3×3, padding 1)."""
        import torch.nn.functional as F
        h, cin, cout, groups = GROUPED_ROWS[row]
        x = torch.rand(8, cin, h, h)
        w = torch.rand(cout, cin // groups, 3, 3) - 0.5
        b = torch.zeros(cout)
        return lambda: F.conv2d(x, w, b, 1, 1, 1, groups)
    return factory


for _row in GROUPED_ROWS:
    COMPARISONS["grouped-" + _row] = ("fold", "BenchmarkGroupedConv/" + _row, torch_grouped(_row), 20)

# The paper layer's convolution by each of fold's paths (ConvDirect,
# ConvWinograd) against the same F.conv2d as "eval".
COMPARISONS["eval-direct"] = ("fold", "BenchmarkConv2dPaperAlgorithms/direct", torch_fastdeconv_eval, 2)
COMPARISONS["eval-winograd"] = ("fold", "BenchmarkConv2dPaperAlgorithms/winograd", torch_fastdeconv_eval, 2)
# ---- end of the grouped block ----


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
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        return SUBCOMMANDS[sys.argv[1]](sys.argv[2:])
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


# ---- Table 3 and scaling ----------------------------------------------------
# `compare.py table3`: per round, one Go process runs BenchmarkTable3 over
# the chosen rows, then one PyTorch process runs the same rows through
# table3.py's recipe (row_recipe, shared with the report's -compare); the
# rounds alternate the two, and the table shows the medians over rounds.
# Each side builds one row's data at a time, outside its timer, and times
# each component for about --benchtime seconds after one warm-up run (the
# mean per run, as `go test -bench` reports it).

PAPER_DIR = "bench/internal/paper"
REPORT_DIR = os.path.join(ROOT, "bench", "internal", "report")
TABLE3_COMPONENTS = ("im2col", "cov", "inv", "conv")
TABLE3_BATCH = 8
NS_ITERATIONS = 5

_TABLE3_BENCH = re.compile(
    r"^BenchmarkTable3/row=(\d\d)/(\w+)(?:-\d+)?\s+(\d+)\s+([\d.e+]+) ns/op", re.M)
_SCALING_BENCH = re.compile(
    r"^BenchmarkScaling/workers=(\d+)/batch=(\d+)(?:-\d+)?\s+(\d+)\s+([\d.e+]+) ns/op", re.M)
_LAYER = re.compile(r"Layer\{(\d+), (\d+), (\d+), (\d+), (\d+), (\d+), (\d+)\}")


def table3_rows(path=os.path.join(ROOT, PAPER_DIR, "table3.go")):
    """The 22 rows of Table3 in table3.go, as dicts of H, W, Cin, Cout,
    Groups, K, Stride (the Go table is the one source of the shapes)."""
    with open(path) as f:
        text = f.read()
    keys = ("H", "W", "Cin", "Cout", "Groups", "K", "Stride")
    return [dict(zip(keys, map(int, m.groups()))) for m in _LAYER.finditer(text)]


def layer_name(row):
    """A row's shape as paper.Layer.String() writes it."""
    return "%d×%d %d→%d g%d k%d S%d" % tuple(
        row[k] for k in ("H", "W", "Cin", "Cout", "Groups", "K", "Stride"))


def parse_table3_bench(out):
    """{(row number, component): seconds per run} from `go test -bench`
    output of BenchmarkTable3."""
    return {(int(m.group(1)), m.group(2)): float(m.group(4)) * 1e-9 for m in _TABLE3_BENCH.finditer(out)}


def parse_scaling_bench(out):
    """{(workers, batch): seconds per run} from BenchmarkScaling output."""
    return {(int(m.group(1)), int(m.group(2))): float(m.group(4)) * 1e-9 for m in _SCALING_BENCH.finditer(out)}


def parse_rows(spec, count):
    """--rows: "all" or comma-separated numbers and ranges from 1, e.g.
    "1,5-9,22"."""
    if spec in ("", "all"):
        return list(range(1, count + 1))
    rows = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        lo, hi = int(lo), int(hi or lo)
        if not 1 <= lo <= hi <= count:
            raise ValueError("row range %r outside 1..%d" % (part, count))
        rows.extend(range(lo, hi + 1))
    return sorted(set(rows))


def run_go_table3(exe, rows, threads, benchtime, batch):
    pattern = "^BenchmarkTable3$/^row=(%s)$/" % "|".join("%02d" % r for r in rows)
    env = dict(os.environ, GOMAXPROCS=str(threads))
    out = subprocess.run([exe, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime,
                          "-test.count", "1", "-table3.batch", str(batch)],
                         cwd=os.path.join(ROOT, PAPER_DIR), env=env, check=True,
                         capture_output=True, text=True).stdout
    res = parse_table3_bench(out)
    missing = [(r, c) for r in rows for c in TABLE3_COMPONENTS if (r, c) not in res]
    if missing:
        raise RuntimeError("no result for %s in:\n%s" % (missing, out))
    return res


def timed_for(fn, warm, seconds):
    """Runs fn warm times, then until seconds have passed (at least once);
    the mean seconds per run."""
    for _ in range(warm):
        fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return el / n


def table3_torch_worker(cfg_json):
    """One PyTorch round over the rows of cfg (run in a child process, so
    that the environment is set before torch loads); prints JSON
    {"torch": version, "rows": {number: {component: seconds}}}."""
    import json
    import torch
    sys.path.insert(0, REPORT_DIR)
    import table3
    cfg = json.loads(cfg_json)
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    out = {}
    for num, row in zip(cfg["numbers"], cfg["rows"]):
        out[num] = table3.time_row(torch, row, cfg["batch"], NS_ITERATIONS, 1, cfg["benchtime"], timer=timed_for)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": out}))


def torch_env(threads):
    env = dict(os.environ)
    if cpu_has_avx512f():
        env["OPENBLAS_CORETYPE"] = "SKYLAKEX"
    env.pop("OPENBLAS_L2_SIZE", None)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def run_torch_table3(python, rows, numbers, threads, benchtime, batch):
    import json
    cfg = json.dumps({"rows": rows, "numbers": numbers, "threads": threads, "benchtime": benchtime, "batch": batch})
    code = "import sys; sys.path.insert(0, %r); import compare; compare.table3_torch_worker(%r)" % (
        os.path.dirname(os.path.abspath(__file__)), cfg)
    out = subprocess.run([python, "-c", code], env=torch_env(threads), check=True,
                         capture_output=True, text=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return res, {(int(n), c): v for n, comps in res["rows"].items() for c, v in comps.items()}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def format_table3(rows, numbers, go, th):
    """The side-by-side table: medians (seconds) per (row, component) in
    go and th; ratio = PyTorch / ours, rows where a component is behind
    (ratio < 1) marked with its names. Returns (lines, components behind)."""
    head = "%-4s %-26s" % ("row", "layer")
    for c in TABLE3_COMPONENTS:
        head += " | %9s %9s %6s" % (c + " ms", "torch", "ratio")
    lines = [head + " | behind", "-" * (len(head) + 9)]
    behind = []
    for num, row in zip(numbers, rows):
        line = "%-4s %-26s" % ("%02d" % num, layer_name(row))
        late = []
        for c in TABLE3_COMPONENTS:
            g, t = go[(num, c)], th[(num, c)]
            line += " | %9.3f %9.3f %5.2fx" % (g * 1e3, t * 1e3, t / g)
            if t < g:
                late.append(c)
        behind.extend((num, c) for c in late)
        lines.append(line + " | " + (",".join(late) if late else "-"))
    return lines, behind


def table3_main(argv):
    ap = argparse.ArgumentParser(prog="compare.py table3",
                                 description="Table 3, every component, BenchmarkTable3 against PyTorch's recipe.")
    ap.add_argument("--rows", default="all", help='row numbers from 1, e.g. "1,5-9" (default all 22)')
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=TABLE3_BATCH)
    ap.add_argument("--benchtime", type=float, default=0.1, help="seconds per component per round and side")
    ap.add_argument("--python", default=sys.executable, help="the interpreter with PyTorch")
    args = ap.parse_args(argv)
    all_rows = table3_rows()
    numbers = parse_rows(args.rows, len(all_rows))
    rows = [all_rows[n - 1] for n in numbers]
    go_runs, th_runs, info = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_go_test(PAPER_DIR, tmp)
        for r in range(args.rounds):
            t0 = time.time()
            go_runs.append(run_go_table3(exe, numbers, args.threads, "%gs" % args.benchtime, args.batch))
            info, th = run_torch_table3(args.python, rows, numbers, args.threads, args.benchtime, args.batch)
            th_runs.append(th)
            print("round %d/%d: %.0f s" % (r + 1, args.rounds, time.time() - t0), file=sys.stderr, flush=True)
    med = lambda runs, key: statistics.median(run[key] for run in runs)
    keys = [(n, c) for n in numbers for c in TABLE3_COMPONENTS]
    go = {k: med(go_runs, k) for k in keys}
    th = {k: med(th_runs, k) for k in keys}
    print("Table 3, batch %d: this library (BenchmarkTable3) against PyTorch %s (table3.py's recipe), "
          "%d threads each, OPENBLAS_CORETYPE=%s; %s; medians of %d alternating rounds; ratio = PyTorch / ours."
          % (args.batch, info.get("torch", "?"), args.threads, torch_env(args.threads).get("OPENBLAS_CORETYPE", "unset"),
             cpu_model(), args.rounds))
    lines, behind = format_table3(rows, numbers, go, th)
    print("\n".join(lines))
    for c in TABLE3_COMPONENTS:
        ratios = [th[(n, c)] / go[(n, c)] for n in numbers]
        print("%-7s ratio: min %.2fx, median %.2fx, geometric mean %.2fx" % (
            c, min(ratios), statistics.median(ratios), math.exp(statistics.mean(math.log(v) for v in ratios))))
    print("components behind PyTorch: %d of %d%s" % (
        len(behind), len(keys), "" if not behind else " (" + ", ".join("%02d/%s" % b for b in behind) + ")"))
    return 0


def scaling_report(res):
    """Lines on BenchmarkScaling medians {(workers, batch): seconds}:
    parallel efficiency from 1 to 2 workers at the smallest batch, and the
    time per image at each batch relative to the largest."""
    batches = sorted(b for (w, b) in res if w == 0)
    small, large = batches[0], batches[-1]
    t1, t2 = res[(1, small)], res[(2, small)]
    lines = ["training forward of the paper layer (128×128, 64→128, k 3, S 3, 5 iterations):",
             "  batch %d: 1 worker %.1f ms, 2 workers %.1f ms: speed-up %.2fx, parallel efficiency %.1f%%"
             % (small, t1 * 1e3, t2 * 1e3, t1 / t2, 100 * t1 / (2 * t2))]
    per = res[(0, large)] / large
    for b in batches:
        lines.append("  batch %2d, all workers: %.1f ms, %.2f ms per image, %.3f of batch %d's time per image"
                     % (b, res[(0, b)] * 1e3, res[(0, b)] / b * 1e3, res[(0, b)] / b / per, large))
    return lines


def scaling_main(argv):
    ap = argparse.ArgumentParser(prog="compare.py scaling",
                                 description="Parallel efficiency and batch proportionality of the paper layer's training forward.")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3, help="runs per point per round")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_go_test(PAPER_DIR, tmp)
        for r in range(args.rounds):
            env = dict(os.environ, GOMAXPROCS=str(args.threads))
            out = subprocess.run([exe, "-test.run", "^$", "-test.bench", "^BenchmarkScaling$",
                                  "-test.benchtime", "%dx" % args.reps, "-test.count", "1"],
                                 cwd=os.path.join(ROOT, PAPER_DIR), env=env, check=True,
                                 capture_output=True, text=True).stdout
            res = parse_scaling_bench(out)
            if not res:
                raise RuntimeError("no BenchmarkScaling results in:\n" + out)
            runs.append(res)
            print("round %d/%d" % (r + 1, args.rounds), file=sys.stderr, flush=True)
    med = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
    print("%s; GOMAXPROCS %d; medians of %d rounds of %d runs" % (cpu_model(), args.threads, args.rounds, args.reps))
    print("\n".join(scaling_report(med)))
    return 0


SUBCOMMANDS = {"table3": table3_main, "scaling": scaling_main}


if __name__ == "__main__":
    sys.exit(main())
