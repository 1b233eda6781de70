#!/usr/bin/python3
"""Training through libdeconv: a small deconvolution CNN on scikit-learn's
bundled 8x8 handwritten digits, against the same network with batch
normalization and with neither (the paper's Figure 8(b): deconvolution
converges faster).

    /usr/bin/python3 bench/train_digits.py [--quick] [--epochs N] [--out figure.png]

Three networks of one shape (3x3 conv 1->16, 3x3 stride-2 conv 16->32, a
linear layer 512->10, ReLUs), from the same initial weights, trained with
the same SGD on the same batches in the same order:

  deconv  FastDeconv, FastDeconv, Delinear from deconv.nn (the library's
          forward and backward; the first layer frozen after its first
          steps with 15 iterations, as the authors' networks do);
  bn      torch.nn.Conv2d + BatchNorm2d, Conv2d + BatchNorm2d, Linear;
  plain   the same without normalization.

The data (1797 digits, no download: load_digits ships with Debian's
python3-sklearn) are split 80/20 into training and held-out digits. The
script prints each network's training loss and held-out accuracy, writes
the loss curves as a PNG (matplotlib, Debian's python3-matplotlib) and,
with --json, the numbers. Needs the library (make lib) and PyTorch.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

try:
    import deconv.nn as dnn  # noqa: E402
except ImportError:  # run from a checkout: the binding beside the library in build/
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import deconv.nn as dnn  # noqa: E402

QUICK_EPOCHS = 2
LAST = 10  # the training loss reported is the mean of the last LAST steps


def load(seed):
    """(train x, train y, held-out x, held-out y): the digits scaled to [0, 1],
    as float32 tensors N x 1 x 8 x 8, split 80/20 by a seeded permutation."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.from_numpy((d.images / 16.0).astype(np.float32)).unsqueeze(1)
    y = torch.from_numpy(d.target.astype(np.int64))
    perm = np.random.RandomState(seed).permutation(len(y))
    cut = len(y) * 4 // 5
    tr, te = torch.from_numpy(perm[:cut]), torch.from_numpy(perm[cut:])
    return x[tr], y[tr], x[te], y[te]


class Net(nn.Module):
    """conv 1->16, conv 16->32 (stride 2), linear 512->10 of one kind."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        if kind == "deconv":
            # 8x8 images: statistics from every position (sampling stride 1);
            # Delinear whitens chunks of 64 of the 512 features.
            self.c1 = dnn.FastDeconv(1, 16, 3, padding=1, freeze=True, n_iter=15, sampling_stride=1)
            self.c2 = dnn.FastDeconv(16, 32, 3, stride=2, padding=1, sampling_stride=1)
            self.fc = dnn.Delinear(512, 10, block=64)
        else:
            self.c1 = nn.Conv2d(1, 16, 3, padding=1)
            self.c2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
            self.fc = nn.Linear(512, 10)
        if kind == "bn":
            self.n1, self.n2 = nn.BatchNorm2d(16), nn.BatchNorm2d(32)
        else:
            self.n1 = self.n2 = nn.Identity()

    def forward(self, x):
        x = F.relu(self.n1(self.c1(x)))
        x = F.relu(self.n2(self.c2(x)))
        return self.fc(x.flatten(1))


def networks(seed):
    """The three networks, with the same initial weights (the plain one's)."""
    torch.manual_seed(seed)
    plain = Net("plain").float()
    nets = {"deconv": Net("deconv").float(), "bn": Net("bn").float(), "plain": plain}
    with torch.no_grad():
        for net in nets.values():
            for layer in ("c1", "c2", "fc"):
                for p in ("weight", "bias"):
                    getattr(getattr(net, layer), p).copy_(getattr(getattr(plain, layer), p))
    return nets


def train(epochs, seed=1, batch=64, lr=0.05, momentum=0.9, log=None):
    """Trains the three networks; returns {name: {"loss": per-step training
    losses, "accuracy": held-out accuracy after each epoch, "seconds": time
    spent in that network's steps}}."""
    xtr, ytr, xte, yte = load(seed)
    nets = networks(seed)
    opts = {k: torch.optim.SGD(n.parameters(), lr=lr, momentum=momentum) for k, n in nets.items()}
    out = {k: {"loss": [], "accuracy": [], "seconds": 0.0} for k in nets}
    order = np.random.RandomState(seed + 1)
    for epoch in range(epochs):
        perm = torch.from_numpy(order.permutation(len(ytr)))
        for i in range(0, len(perm) - batch + 1, batch):  # whole batches only
            idx = perm[i:i + batch]
            x, y = xtr[idx], ytr[idx]
            for k, net in nets.items():
                t0 = time.perf_counter()
                net.train()
                opts[k].zero_grad()
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                opts[k].step()
                out[k]["seconds"] += time.perf_counter() - t0
                out[k]["loss"].append(float(loss))
        for k, net in nets.items():
            net.eval()
            with torch.no_grad():
                acc = float((net(xte).argmax(1) == yte).double().mean())
            out[k]["accuracy"].append(acc)
        if log:
            log("epoch %d: " % (epoch + 1) + ", ".join(
                "%s loss %.3f held-out %.1f%%" % (k, np.mean(v["loss"][-LAST:]), 100 * v["accuracy"][-1])
                for k, v in out.items()))
    return out


def summary(res):
    """name -> (mean training loss of the last LAST steps, final held-out accuracy, steps, seconds)."""
    return {k: (float(np.mean(v["loss"][-LAST:])), v["accuracy"][-1], len(v["loss"]), v["seconds"])
            for k, v in res.items()}


LABELS = {"deconv": "network deconvolution (deconv.nn)", "bn": "batch normalization",
          "plain": "neither"}
COLORS = {"deconv": "tab:red", "bn": "tab:blue", "plain": "tab:gray"}


def plot(res, path):
    """The training loss per step (a moving average over LAST steps over the
    raw values) and the held-out accuracy per epoch, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for k, v in res.items():
        loss = np.asarray(v["loss"])
        a.plot(np.arange(1, len(loss) + 1), loss, color=COLORS[k], alpha=0.25, linewidth=0.8)
        w = min(LAST, len(loss))
        avg = np.convolve(loss, np.ones(w) / w, mode="valid")
        a.plot(np.arange(w, len(loss) + 1), avg, color=COLORS[k], label=LABELS[k], linewidth=1.8)
        acc = 100 * np.asarray(v["accuracy"])
        b.plot(np.arange(1, len(acc) + 1), acc, "o-", color=COLORS[k], label=LABELS[k])
    a.set_yscale("log")
    a.set_xlabel("SGD step (batch 64)")
    a.set_ylabel("training loss (cross-entropy)")
    a.set_title("Training loss on 8x8 digits")
    a.legend()
    b.set_xlabel("epoch")
    b.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    b.set_ylabel("held-out accuracy (%)")
    b.set_title("Held-out digits")
    b.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="%d epochs (the test's setting)" % QUICK_EPOCHS)
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 10, or %d with --quick)"
                    % QUICK_EPOCHS)
    ap.add_argument("--out", default="train_digits.png", help="the figure's path (PNG)")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    ap.add_argument("--threads", type=int, default=2, help="PyTorch threads and the library's")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (QUICK_EPOCHS if args.quick else 10)
    if epochs < 1:
        ap.error("--epochs must be positive")
    import deconv
    torch.set_num_threads(args.threads)
    deconv.set_threads(args.threads)
    res = train(epochs, seed=args.seed, log=lambda s: print(s, file=sys.stderr))
    s = summary(res)
    print("%-8s %22s %18s %8s %14s" % ("network", "training loss (last %d)" % LAST, "held-out accuracy",
                                        "steps", "seconds/epoch"))
    for k, (loss, acc, steps, secs) in s.items():
        print("%-8s %22.4f %17.1f%% %8d %14.2f" % (k, loss, 100 * acc, steps, secs / epochs))
    plot(res, args.out)
    print("figure written to %s" % args.out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": epochs, "last": LAST, "threads": args.threads, "seed": args.seed,
                       "torch": torch.__version__, "library": deconv.__version__,
                       "networks": {k: dict(zip(("loss", "accuracy", "steps", "seconds"), v))
                                    for k, v in s.items()},
                       "curves": res}, f)
    return res


if __name__ == "__main__":
    main()
