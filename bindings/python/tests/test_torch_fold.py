import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

import deconv
import reference_modules as R
from compare import close

HERE = os.path.dirname(os.path.abspath(__file__))


def _cnn():
    return nn.Sequential(
        R.FastDeconv(3, 8, 3, padding=1, block=3, n_iter=15, sampling_stride=2, momentum=0.3),
        nn.ReLU(),
        R.FastDeconv(8, 6, 3, stride=2, padding=1, block=4, sampling_stride=1, momentum=0.3),
        nn.Flatten(),
        R.Delinear(6 * 4 * 4, 5, block=16, momentum=0.3),
    )


def _cnn_channel():
    return nn.Sequential(
        R.FastDeconv(3, 7, 3, padding=1, block=3, sampling_stride=2, momentum=0.3, bias=False),
        nn.ReLU(),
        R.ChannelDeconv(3, momentum=0.3, sampling_stride=2),   # 6 channels whitened, 1 standardised
        nn.Conv2d(7, 6, 3, stride=2),                          # folded into
        nn.ReLU(),
        R.ChannelDeconv(2, momentum=0.3),                      # before a ReLU: a 1x1 convolution
        nn.ReLU(),
        R.FastDeconv(6, 4, 1, groups=2, sampling_stride=1, momentum=0.3),
        nn.Flatten(),
        R.ChannelDeconv(4, momentum=0.3),                      # 2-D input, folded into the Linear
        nn.Linear(4 * 3 * 3, 5),
    )


def _trained(make, dtype, seed=0):
    torch.manual_seed(seed)
    model = make().to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(4):
        x = torch.randn(6, 3, 8, 8, dtype=dtype) * 1.5 + 0.3
        loss = model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _plain(model):
    kinds = {type(m) for m in model.modules()}
    assert not kinds & {R.FastDeconv, R.Delinear, R.ChannelDeconv}, kinds
    return kinds


@pytest.mark.parametrize("make", [_cnn, _cnn_channel], ids=["cnn", "channel"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_torch_fold_matches_eval(make, dtype):
    model = _trained(make, dtype)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = deconv.torch_fold(model)
    for k, v in model.state_dict().items():  # the original is untouched
        assert torch.equal(v, before[k]), k
    kinds = _plain(out)
    assert nn.Conv2d in kinds and nn.Linear in kinds
    assert not out.training
    for m in out.modules():
        for p in m.parameters(recurse=False):
            assert p.dtype == dtype
    x = torch.randn(5, 3, 8, 8, dtype=dtype) * 1.5 + 0.3
    with torch.no_grad():
        want = model(x)
        got = out(x)
    close("torch_fold", got, want, 1e-5)


def test_torch_fold_channel_placement():
    out = deconv.torch_fold(_trained(_cnn_channel, torch.float64))
    # folded into the next Conv2d / Linear: Identity; before a ReLU: a 1x1 convolution
    assert isinstance(out[2], nn.Identity) and isinstance(out[3], nn.Conv2d)
    assert isinstance(out[5], nn.Conv2d) and out[5].kernel_size == (1, 1)
    assert isinstance(out[9], nn.Identity) and isinstance(out[10], nn.Linear)
    assert isinstance(out[7], nn.Conv2d) and out[7].groups == 2


def test_torch_fold_single_modules():
    torch.manual_seed(1)
    conv = R.FastDeconv(4, 3, 3, padding=1, block=2, sampling_stride=1)
    lin = R.Delinear(12, 5, block=4, bias=False)
    for _ in range(3):
        conv(torch.randn(2, 4, 6, 6))
        lin(torch.randn(7, 12))
    conv.eval()
    lin.eval()
    c2 = deconv.torch_fold(conv)
    l2 = deconv.torch_fold(lin)
    assert type(c2) is nn.Conv2d and type(l2) is nn.Linear
    x, z = torch.randn(2, 4, 6, 6), torch.randn(7, 12)
    with torch.no_grad():
        close("torch_fold", c2(x), conv(x), 1e-10)
        close("torch_fold", l2(z), lin(z), 1e-10)
    with pytest.raises(deconv.ParameterError):
        deconv.torch_fold("not a module")


def test_cli_round_trip(tmp_path):
    model = _trained(_cnn_channel, torch.float32)
    src, dst = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(model, src)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.dirname(HERE), env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-m", "deconv", "fold", str(src), str(dst)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = torch.load(dst)
    _plain(out)
    assert not out.training
    x = torch.randn(3, 3, 8, 8, dtype=torch.float32)
    with torch.no_grad():
        close("torch_fold", out(x), model(x), 1e-5)
    r = subprocess.run([sys.executable, "-m", "deconv"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0


def test_torch_fold_channel_before_padded_conv():
    """A padded convolution cannot absorb the whitening (its zero border is not
    the image of a border of x): the ChannelDeconv becomes a 1x1 convolution."""
    model = _trained(lambda: nn.Sequential(nn.Conv2d(3, 5, 1), R.ChannelDeconv(2, momentum=0.5),
                                           nn.Conv2d(5, 3, 3, padding=1)), torch.float64)
    out = deconv.torch_fold(model)
    assert isinstance(out[1], nn.Conv2d) and out[1].kernel_size == (1, 1)
    assert torch.equal(out[2].weight, model[2].weight)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        close("torch_fold", out(x), model(x), 1e-10)
    with pytest.raises(deconv.ParameterError, match="channel count"):
        deconv.torch_fold(nn.Sequential(nn.Flatten(), R.ChannelDeconv(2), nn.ReLU()))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_torch_fold_channel_flatten_linear(dtype):
    """ChannelDeconv -> Flatten -> Linear: folded into the Linear, pixel by pixel."""
    model = _trained(lambda: nn.Sequential(
        nn.Conv2d(3, 7, 3, stride=2), nn.ReLU(),
        R.ChannelDeconv(3, momentum=0.3, sampling_stride=2),   # 6 whitened, 1 standardised
        nn.Flatten(), nn.Linear(7 * 3 * 3, 5)), dtype)
    out = deconv.torch_fold(model)
    _plain(out)
    assert isinstance(out[2], nn.Identity) and isinstance(out[3], nn.Flatten)
    assert type(out[4]) is nn.Linear and out[4].weight.dtype == dtype
    assert not torch.equal(out[4].weight, model[4].weight)
    x = torch.randn(5, 3, 8, 8, dtype=dtype) * 1.5 + 0.3
    with torch.no_grad():
        close("torch_fold", out(x), model(x), 1e-5)


def test_torch_fold_pointwise_2d():
    """The 1x1 fallback takes 2-D input, as the reference's ChannelDeconv does
    (N x C as N x C x 1 x 1), and 4-D input still."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(7, 6), R.ChannelDeconv(4, momentum=0.5), nn.ReLU(),
                          nn.Linear(6, 3)).double()
    for _ in range(4):
        model(torch.randn(9, 7, dtype=torch.float64) * 2 + 0.5)
    model.eval()
    out = deconv.torch_fold(model)
    _plain(out)
    assert isinstance(out[1], nn.Conv2d) and out[1].kernel_size == (1, 1)
    x = torch.randn(5, 7, dtype=torch.float64)
    with torch.no_grad():
        got, want = out(x), model(x)
    assert got.shape == want.shape == (5, 3)
    close("torch_fold", got, want, 1e-10)
    # the same module on 4-D input: per pixel
    pw, cd = out[1], model[1]
    z = torch.randn(2, 6, 3, 3, dtype=torch.float64)
    with torch.no_grad():
        close("torch_fold", pw(z), cd(z), 1e-10)


def test_torch_fold_pointwise_saved(tmp_path):
    """A model holding the 1x1 fallback saves and loads whole."""
    model = _trained(lambda: nn.Sequential(nn.Conv2d(3, 5, 1), R.ChannelDeconv(2, momentum=0.5),
                                           nn.ReLU()), torch.float32)
    out = deconv.torch_fold(model)
    path = tmp_path / "m.pt"
    torch.save(out, path)
    back = torch.load(path)
    assert type(back[1]) is type(out[1])
    x = torch.randn(2, 3, 8, 8, dtype=torch.float32)
    with torch.no_grad():
        close("torch_fold", back(x), model(x), 1e-5)
