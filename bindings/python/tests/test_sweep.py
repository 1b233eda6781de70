"""A larger seeded sweep of the layers against the oracle: tiny random
geometries, both dtypes, freeze sequences across the counter's wrap, and
state dicts produced by torch.nn.Module forms of the reference."""

import numpy as np
import pytest
import torch

import deconv
import oracle
import reference_modules as R
from compare import TOL, close
from test_layers import _pair_layers, _random_case

DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("seed", range(24, 84))
@pytest.mark.parametrize("dtype", DTYPES)
def test_fastdeconv_sweep(seed, dtype):
    case = _random_case(seed)
    rng = np.random.default_rng(1000 + seed)
    lib, ref = _pair_layers(case, dtype, seed=seed)
    tol = TOL[dtype]
    h, w = (int(v) for v in rng.integers(9, 12, size=2))  # the largest kernel spans 9
    for _ in range(2):
        x = rng.standard_normal((2, case[0], h, w)) * 1.5 + 0.2
        close("sweep FastDeconv train", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)
    close("sweep FastDeconv buffers", lib.running_deconv, ref.running_deconv, tol)
    lib.eval()
    ref.training = False
    x = rng.standard_normal((1, case[0], h, w))
    close("sweep FastDeconv eval", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("dtype", DTYPES)
def test_fastdeconv_freeze_wrap_sweep(seed, dtype):
    r = np.random.default_rng(2000 + seed)
    case = _random_case(3000 + seed)
    freeze_iter = int(r.integers(1, 4))
    lib, ref = _pair_layers(case, dtype, freeze=True, freeze_iter=freeze_iter, seed=seed)
    tol = TOL[dtype]
    steps = 10 * freeze_iter + int(r.integers(2, 2 + 2 * freeze_iter + 1))  # past the wrap
    for _ in range(steps):
        x = r.standard_normal((1, case[0], 9, 10)) + 0.1
        close("sweep FastDeconv freeze", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)
        assert lib.counter == ref.counter
    close("sweep FastDeconv freeze", lib.running_deconv, ref.running_deconv, tol)


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("dtype", DTYPES)
def test_delinear_sweep(seed, dtype):
    r = np.random.default_rng(4000 + seed)
    fin = int(r.integers(1, 25))
    fout = int(r.integers(1, 6))
    block = int(r.choice([1, 2, 3, 4, 5, 8, 512]))
    bias = bool(r.random() < 0.7)
    n_iter = int(r.choice([1, 5, 12]))
    lib = deconv.Delinear(fin, fout, bias=bias, eps=1e-3, n_iter=n_iter, momentum=0.25, block=block,
                          dtype=dtype, seed=seed)
    ref = oracle.Delinear(fin, fout, bias=bias, eps=1e-3, n_iter=n_iter, momentum=0.25, block=block,
                          weight=torch.from_numpy(lib.weight.astype(np.float64)),
                          bias_value=torch.from_numpy(lib.bias.astype(np.float64)) if bias else None)
    assert lib.block == ref.block
    tol = TOL[dtype]
    lead = [(int(r.integers(3, 12)),), (2, int(r.integers(2, 5)))][int(r.integers(2))]
    for _ in range(2):
        x = r.standard_normal(lead + (fin,)) - 0.2
        close("sweep Delinear train", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)
    close("sweep Delinear buffers", lib.running_deconv, ref.running_deconv, tol)
    lib.eval()
    ref.training = False
    x = r.standard_normal((3, fin))
    close("sweep Delinear eval", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("dtype", DTYPES)
def test_channeldeconv_sweep(seed, dtype):
    r = np.random.default_rng(5000 + seed)
    block = int(r.integers(1, 5))
    c = block * int(r.integers(1, 3)) + int(r.integers(0, 3))
    samp = int(r.integers(1, 4))
    unc = bool(r.random() < 0.5)
    flat = bool(r.random() < 0.25)
    h, w = (int(v) for v in r.integers(1, 8, size=2))
    n_iter = int(r.choice([3, 5, 10]))
    lib = deconv.ChannelDeconv(block, eps=1e-2, n_iter=n_iter, momentum=0.2, sampling_stride=samp,
                               dtype=dtype, uncentred=unc)
    ref = oracle.ChannelDeconv(block, eps=1e-2, n_iter=n_iter, momentum=0.2, sampling_stride=samp,
                               uncentred=unc)
    tol = TOL[dtype]
    shape = (int(r.integers(4, 9)), c) if flat else (int(r.integers(2, 4)), c, h, w)
    for _ in range(2):
        x = r.standard_normal(shape) + 0.3
        close("sweep ChannelDeconv train", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)
    close("sweep ChannelDeconv buffers", lib.running_deconv, ref.running_deconv, tol)
    lib.eval()
    ref.training = False
    x = r.standard_normal(shape)
    close("sweep ChannelDeconv eval", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)


def _train(module, shape, steps=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        module(torch.randn(*shape, generator=g) + 0.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_load_state_dict_from_reference_modules(dtype):
    """State dicts saved by torch.nn.Module forms of the reference load into the
    library's layers, which then compute what the modules compute."""
    tol = TOL[dtype]
    torch.manual_seed(3)
    pairs = [
        (R.FastDeconv(6, 4, 3, padding=1, block=2, sampling_stride=2, momentum=0.3),
         deconv.FastDeconv(6, 4, 3, padding=1, block=2, sampling_stride=2, momentum=0.3, dtype=dtype),
         (2, 6, 7, 7)),
        (R.FastDeconv(4, 4, 3, padding=1, groups=2, bias=False, sampling_stride=1, momentum=0.3),
         deconv.FastDeconv(4, 4, 3, padding=1, groups=2, bias=False, sampling_stride=1, momentum=0.3,
                           dtype=dtype),
         (2, 4, 6, 6)),
        (R.Delinear(12, 3, block=4, momentum=0.3),
         deconv.Delinear(12, 3, block=4, momentum=0.3, dtype=dtype), (9, 12)),
        (R.ChannelDeconv(3, momentum=0.3, sampling_stride=2),
         deconv.ChannelDeconv(3, momentum=0.3, sampling_stride=2, uncentred=True, dtype=dtype),
         (3, 7, 6, 6)),
    ]
    for i, (mod, lib, shape) in enumerate(pairs):
        _train(mod, shape, seed=i)
        sd = mod.state_dict()
        assert set(sd) == set(lib.state_dict_keys()), (sorted(sd), lib.state_dict_keys())
        lib.load_state_dict(sd)
        for k, v in sd.items():
            close("load_state_dict", np.asarray(lib.state_dict()[k], dtype=np.float64),
                  v.double().numpy(), tol)
        x = torch.randn(*shape) + 0.5
        # one more training step: the same batch statistics and running buffers
        got = lib(x.to(getattr(torch, dtype)))
        with torch.no_grad():
            want = mod(x)
        close("load_state_dict train", got, want, tol)
        for k in ("running_mean", "running_deconv", "running_mean1"):
            if k in sd:
                close("load_state_dict buffers", getattr(lib, k), getattr(mod, k), tol)
        lib.eval()
        mod.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            close("load_state_dict eval", lib(x.to(getattr(torch, dtype))), mod(x), tol)
