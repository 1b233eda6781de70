import numpy as np
import pytest
import torch

import deconv
import oracle
from compare import TOL, close

# cin, cout, kernel, stride, padding, dilation, groups, block, sampling, bias, grouping, n_iter
FD_CASES = [
    (6, 5, 3, 1, 1, 1, 1, 2, 3, True, "reference", 5),
    (6, 5, 3, 1, 1, 1, 1, 4, 3, True, "reference", 5),   # 4 -> gcd(4, 6) = 2
    (4, 3, 3, 2, 1, 1, 1, 64, 1, False, "reference", 5),  # block > C -> C
    (8, 4, 1, 1, 0, 1, 1, 2, 3, True, "reference", 5),
    (8, 4, 1, 2, 0, 1, 1, 4, 1, True, "contiguous", 5),
    (6, 6, 2, 1, 0, 1, 1, 3, 2, True, "contiguous", 5),
    (6, 6, 3, 1, 1, 1, 3, 64, 2, True, "reference", 5),
    (4, 8, 3, 1, 1, 1, 4, 64, 1, False, "reference", 5),  # depthwise
    (3, 4, 5, 1, 2, 1, 1, 64, 2, True, "reference", 15),
    (4, 4, (3, 2), (2, 1), (1, 0), (1, 2), 1, 2, 1, True, "reference", 5),
    (6, 4, 3, 1, 2, 2, 2, 64, 1, True, "reference", 5),
]


def _pair_layers(case, dtype, freeze=False, freeze_iter=100, seed=0):
    cin, cout, k, s, p, d, g, b, samp, bias, grouping, n_iter = case
    lib = deconv.FastDeconv(cin, cout, k, s, p, d, groups=g, bias=bias, eps=1e-3, n_iter=n_iter,
                            momentum=0.3, block=b, sampling_stride=samp, freeze=freeze,
                            freeze_iter=freeze_iter, dtype=dtype, grouping=grouping, seed=seed)
    w = torch.from_numpy(lib.weight.astype(np.float64))
    bv = torch.from_numpy(lib.bias.astype(np.float64)) if bias else None
    ref = oracle.FastDeconv(cin, cout, k, s, p, d, groups=g, bias=bias, eps=1e-3, n_iter=n_iter,
                            momentum=0.3, block=b, sampling_stride=samp, freeze=freeze,
                            freeze_iter=freeze_iter, contiguous=grouping == "contiguous",
                            weight=w, bias_value=bv)
    return lib, ref


@pytest.mark.parametrize("case", FD_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fastdeconv_matches_oracle(case, dtype):
    rng = np.random.default_rng(7)
    lib, ref = _pair_layers(case, dtype)
    assert lib.block == ref.block
    assert lib.running_mean.shape == tuple(ref.running_mean.shape)
    assert lib.running_deconv.shape == tuple(ref.running_deconv.shape)
    tol = TOL[dtype]
    for step in range(3):
        x = rng.standard_normal((3, case[0], 11, 12)) * 2 + 0.5
        y = lib(x.astype(dtype))
        assert y.dtype == np.dtype(dtype)
        close("FastDeconv train", y, ref(torch.from_numpy(x)), tol)
        close("FastDeconv buffers", lib.running_mean, ref.running_mean, tol)
        close("FastDeconv buffers", lib.running_deconv, ref.running_deconv, tol)
    lib.eval()
    ref.training = False
    assert not lib.training
    x = torch.from_numpy(rng.standard_normal((2, case[0], 9, 10)))
    y = lib(x.to(getattr(torch, dtype)))
    assert isinstance(y, torch.Tensor)
    want = ref(x)
    close("FastDeconv eval", y, want, tol)
    with lib.folded() as conv:
        close("FastDeconv folded", conv(x.to(getattr(torch, dtype))), want, tol)


def test_fastdeconv_freeze_counter():
    case = (4, 3, 3, 1, 1, 1, 1, 2, 1, True, "reference", 5)
    lib, ref = _pair_layers(case, "float64", freeze=True, freeze_iter=2)
    rng = np.random.default_rng(3)
    for step in range(24):  # past 10*freeze_iter: the counter wraps and the layer recomputes
        x = rng.standard_normal((2, 4, 7, 7))
        close("FastDeconv freeze", lib(x), ref(torch.from_numpy(x)), 1e-10)
        assert lib.counter == ref.counter
    close("FastDeconv freeze", lib.running_deconv, ref.running_deconv, 1e-10)


def test_fastdeconv_state_dict_round_trip():
    case = FD_CASES[6]
    a, _ = _pair_layers(case, "float32", seed=1)
    rng = np.random.default_rng(5)
    for _ in range(2):
        a(rng.standard_normal((2, 6, 8, 8)))
    sd = {k: torch.from_numpy(v) for k, v in a.state_dict().items()}
    assert set(sd) == {"weight", "bias", "running_mean", "running_deconv"}
    b, _ = _pair_layers(case, "float32", seed=2)
    b.load_state_dict(sd)
    a.eval()
    b.eval()
    x = rng.standard_normal((2, 6, 8, 8)).astype(np.float32)
    close("state_dict", b(x), a(x), 0)
    b.running_mean = np.zeros(b.running_mean.shape)
    assert not np.any(b.running_mean)
    with pytest.raises(deconv.ParameterError):
        b.load_state_dict({"weight": sd["weight"]})
    with pytest.raises(deconv.ShapeError):
        b.weight = np.zeros((1, 2))


DL_CASES = [(12, 5, 512, True), (12, 5, 4, True), (12, 3, 8, False), (10, 4, 10, True)]


@pytest.mark.parametrize("case", DL_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_delinear_matches_oracle(case, dtype):
    fin, fout, block, bias = case
    rng = np.random.default_rng(11)
    lib = deconv.Delinear(fin, fout, bias=bias, eps=1e-3, momentum=0.2, block=block, dtype=dtype, seed=4)
    ref = oracle.Delinear(fin, fout, bias=bias, eps=1e-3, momentum=0.2, block=block,
                          weight=torch.from_numpy(lib.weight.astype(np.float64)),
                          bias_value=torch.from_numpy(lib.bias.astype(np.float64)) if bias else None)
    assert lib.block == ref.block
    tol = TOL[dtype]
    for _ in range(3):
        x = rng.standard_normal((16, fin)) + 0.3
        close("Delinear train", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)
        close("Delinear buffers", lib.running_deconv, ref.running_deconv, tol)
        close("Delinear buffers", lib.running_mean, ref.running_mean, tol)
    lib.eval()
    ref.training = False
    x = rng.standard_normal((5, fin))
    want = ref(torch.from_numpy(x))
    close("Delinear eval", lib(x.astype(dtype)), want, tol)
    with lib.folded() as lin:
        close("Delinear folded", lin(x.astype(dtype)), want, tol)


CD_CASES = [  # block, channels, h, w, sampling, uncentred, 2-D input
    (4, 4, 6, 6, 3, False, False), (3, 7, 5, 6, 2, False, False), (2, 5, 2, 2, 3, True, False),
    (4, 6, 1, 1, 3, False, True), (3, 3, 9, 9, 1, True, False),
]


@pytest.mark.parametrize("case", CD_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_channeldeconv_matches_oracle(case, dtype):
    block, c, h, w, samp, unc, flat = case
    rng = np.random.default_rng(13)
    lib = deconv.ChannelDeconv(block, eps=1e-2, momentum=0.2, sampling_stride=samp, dtype=dtype,
                               uncentred=unc)
    ref = oracle.ChannelDeconv(block, eps=1e-2, momentum=0.2, sampling_stride=samp, uncentred=unc)
    tol = TOL[dtype]
    shape = (8, c) if flat else (4, c, h, w)
    for _ in range(3):
        x = rng.standard_normal(shape) + 0.4
        close("ChannelDeconv train", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)
        for name in ("running_mean1", "running_deconv", "running_mean2", "running_var"):
            if c % block == 0 and name in ("running_mean2", "running_var"):
                continue
            close("ChannelDeconv buffers", getattr(lib, name), getattr(ref, name), tol)
    assert lib.num_batches_tracked == 3
    lib.eval()
    ref.training = False
    x = rng.standard_normal(shape)
    close("ChannelDeconv eval", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)


def test_layer_close_and_context():
    with deconv.FastDeconv(2, 2, 1) as layer:
        layer(np.ones((1, 2, 3, 3), np.float32))
    with pytest.raises(deconv.DeconvError, match="closed"):
        layer(np.ones((1, 2, 3, 3), np.float32))
    with pytest.raises(deconv.DeconvError):
        layer.weight
    d = deconv.Delinear(4, 2)
    d.close()
    d.close()
    with pytest.raises(deconv.DeconvError):
        d.eval()


def _random_case(seed):
    r = np.random.default_rng(seed)
    cin = int(r.integers(1, 9))
    divisors = [g for g in range(1, cin + 1) if cin % g == 0]
    groups = int(r.choice(divisors)) if r.random() < 0.4 else 1
    cout = groups * int(r.integers(1, 4))
    kernels = [1, 2, 3, 5, (3, 2), (1, 3), (2, 1)]
    k = kernels[int(r.integers(len(kernels)))]
    strides = [1, 1, 2, (2, 1), (1, 3)]
    s = strides[int(r.integers(len(strides)))]
    p = [0, 1, 2, (1, 0)][int(r.integers(4))]
    d = [1, 1, 2, (1, 2)][int(r.integers(4))]
    block = int(r.choice([1, 2, 3, 4, 6, 64]))
    samp = int(r.integers(1, 4))
    bias = bool(r.random() < 0.7)
    grouping = "contiguous" if r.random() < 0.3 else "reference"
    n_iter = int(r.choice([1, 5, 10]))
    return (cin, cout, k, s, p, d, groups, block, samp, bias, grouping, n_iter)


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fastdeconv_random_sweep(seed, dtype):
    case = _random_case(seed)
    rng = np.random.default_rng(100 + seed)
    lib, ref = _pair_layers(case, dtype, seed=seed)
    tol = TOL[dtype]
    for _ in range(2):
        x = rng.standard_normal((2, case[0], 13, 12)) * 1.5 - 0.3
        close("FastDeconv train", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)
    close("FastDeconv buffers", lib.running_mean, ref.running_mean, tol)
    close("FastDeconv buffers", lib.running_deconv, ref.running_deconv, tol)
    lib.eval()
    ref.training = False
    x = rng.standard_normal((1, case[0], 10, 11))
    close("FastDeconv eval", lib(x.astype(dtype)), ref(torch.from_numpy(x)), tol)


def test_channeldeconv_state_dict_and_torch_dtype():
    a = deconv.ChannelDeconv(3, dtype=torch.float64)
    assert a.dtype == np.float64
    x = torch.randn(4, 7, 6, 6, dtype=torch.float64)
    a(x)
    a(x + 1)
    sd = a.state_dict()
    assert set(sd) == {"running_mean1", "running_deconv", "running_mean2", "running_var",
                       "num_batches_tracked"}
    assert sd["running_mean1"].shape == (3, 1) and sd["running_var"].shape == (1, 1)
    b = deconv.ChannelDeconv(3, dtype="float64")
    b.load_state_dict({k: torch.as_tensor(v) for k, v in sd.items()})
    assert b.num_batches_tracked == 2
    a.eval()
    b.eval()
    assert torch.equal(a(x), b(x))


def test_stats_accepts_tensors():
    x = torch.randn(4, 3, 8, 8)
    s = deconv.Stats(3, padding=1, block=3).update(x[:2]).update(x[2:])
    mean, cov = s.finalize()
    assert isinstance(mean, torch.Tensor) and cov.shape == (27, 27)
    wm, wc = deconv.covariance(x, 3, padding=1, block=3)
    close("stats", mean, wm, 1e-5)
    close("stats", cov, wc, 1e-5)
    assert s.count > 0


def test_call_into_out():
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    layer = deconv.FastDeconv(4, 3, 3, padding=1, block=2, seed=0)
    layer(x)
    layer.eval()
    want = layer(x)
    out = np.full(want.shape, np.nan, np.float32)
    assert layer(x, out=out) is out
    close("out", out, want, 0)
    with layer.folded() as conv:
        t = torch.empty(want.shape, dtype=torch.float32)
        assert conv(torch.from_numpy(x), out=t) is t
        close("out", t, conv(x), 0)
        with pytest.raises(deconv.ShapeError):
            conv(x, out=np.empty((2, 3, 6, 5), np.float32))
        with pytest.raises(deconv.ParameterError):
            conv(x, out=np.empty(want.shape, np.float64))
        with pytest.raises(deconv.ParameterError):
            conv(x, out=np.empty((2, 3, 6, 12), np.float32)[..., ::2])
    lin = deconv.Delinear(6, 2, block=3, dtype="float64", seed=0)
    z = rng.standard_normal((2, 5, 6))
    want = lin(z)
    o = np.empty((2, 5, 2))
    assert lin(z, out=o) is o
    with lin.folded() as f:
        o2 = np.empty((2, 5, 2))
        f(z, out=o2)
    lin.eval()
    close("out", o, want, 0)
    close("out", o2, lin(z), 1e-12)
    with pytest.raises(deconv.ShapeError):
        lin(z, out=np.empty((10, 2)))
