"""deconv.nn against PyTorch autograd of the oracle (tests/reference_modules.py,
written from the reference's description, independent of the library):
outputs, dx, dW, db and the running buffers over several training steps, in
evaluation mode and frozen, float32 to 1e-4 and float64 to 1e-9 relative;
torch.autograd.gradcheck of the library's autograd functions; a small CNN
trained with SGD giving the oracle network's parameters; errors."""

import os

import pytest
import torch

import deconv
from deconv import nn as dnn
from deconv.errors import DeconvError, ParameterError, ShapeError

import reference_modules as ref
from conftest import record

torch.set_num_threads(2)
F64 = torch.float64
TOL = {torch.float32: 1e-4, torch.float64: 1e-9}


def rel(got, want):
    got, want = got.detach().double(), want.detach().double()
    scale = want.abs().max().item()
    err = (got - want).abs().max().item()
    return err / scale if scale > 0 else err


def check(family, dtype, got, want, tol_scale=1.0):
    e = rel(got, want)
    record("nn %s %s" % (family, str(dtype).split(".")[-1]), e)
    assert e < TOL[dtype] * tol_scale, "%s (%s): relative error %.3g" % (family, dtype, e)


# (our module, the oracle's module) of the same configuration and weights.

FD_CASES = {
    "3x3 pad 1, two blocks": dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, block=2),
    "3x3 stride 2, no bias": dict(in_channels=4, out_channels=5, kernel_size=3, stride=2, padding=1,
                                  block=4, bias=False),
    "groups 2": dict(in_channels=4, out_channels=4, kernel_size=3, padding=1, groups=2),
    "1x1": dict(in_channels=8, out_channels=3, kernel_size=1, block=4, sampling_stride=2),
}


def make_fd(cfg, dtype, **extra):
    ours = dnn.FastDeconv(**cfg, **extra, dtype=dtype, seed=7)
    oracle = ref.FastDeconv(**cfg, **extra).double()
    oracle.load_state_dict({k: v.double() for k, v in ours.state_dict().items()})
    return ours, oracle


def make_dl(cfg, dtype):
    ours = dnn.Delinear(**cfg, dtype=dtype, seed=8)
    oracle = ref.Delinear(**cfg).double()
    oracle.load_state_dict({k: v.double() for k, v in ours.state_dict().items()})
    return ours, oracle


def make_cd(cfg, dtype):
    ours = dnn.ChannelDeconv(**cfg, dtype=dtype)
    oracle = ref.ChannelDeconv(**cfg).double()
    oracle.load_state_dict({k: v.double() if v.is_floating_point() else v
                            for k, v in ours.state_dict().items()})
    return ours, oracle


def step(family, dtype, ours, oracle, x, tol_scale=1.0):
    """One forward and backward of both on x (float64) with the same random
    output gradient; compares y, dx, the parameters' gradients and the
    buffers, then clears the gradients."""
    xo = x.to(dtype).clone().requires_grad_()
    xr = x.clone().requires_grad_()
    y = ours(xo)
    yr = oracle(xr)
    assert y.dtype == dtype and y.shape == yr.shape
    check(family + " y", dtype, y, yr, tol_scale)
    dy = torch.randn(yr.shape, dtype=F64)
    (y * dy.to(dtype)).sum().backward()
    (yr * dy).sum().backward()
    check(family + " dx", dtype, xo.grad, xr.grad, tol_scale)
    for name, p in ours.named_parameters():
        pr = dict(oracle.named_parameters())[name]
        assert p.grad is not None and p.grad.dtype == dtype
        check(family + " d" + name, dtype, p.grad, pr.grad, tol_scale)
    for name, b in ours.named_buffers():
        br = dict(oracle.named_buffers())[name]
        if b.is_floating_point():
            assert b.dtype == dtype
            check(family + " buffers", dtype, b, br, tol_scale)
        else:
            assert int(b) == int(br), name
    ours.zero_grad()
    oracle.zero_grad()


def batch(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=F64) * 1.5 + 0.3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", sorted(FD_CASES))
def test_fastdeconv_train_then_eval(case, dtype):
    ours, oracle = make_fd(FD_CASES[case], dtype)
    c = FD_CASES[case]["in_channels"]
    for i in range(3):
        step("FastDeconv", dtype, ours, oracle, batch((6, c, 8, 8), i))
    assert ours.counter == oracle.counter == 3
    ours.eval()
    oracle.eval()
    for i in range(2):
        step("FastDeconv eval", dtype, ours, oracle, batch((3, c, 7, 9), 10 + i))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fastdeconv_frozen(dtype):
    # Frozen while counter > freeze_iter, recomputing again after the wrap at
    # 10 * freeze_iter: the reference's counter, step for step.
    ours, oracle = make_fd(FD_CASES["3x3 pad 1, two blocks"], dtype, freeze=True, freeze_iter=1)
    for i in range(12):
        step("FastDeconv frozen", dtype, ours, oracle, batch((4, 4, 6, 6), 20 + i))
        assert ours.counter == oracle.counter


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("block,bias", [(4, True), (512, True), (6, False)])
def test_delinear_train_then_eval(block, bias, dtype):
    ours, oracle = make_dl(dict(in_features=12, out_features=5, block=block, bias=bias), dtype)
    for i in range(3):
        step("Delinear", dtype, ours, oracle, batch((40, 12), 30 + i))
    ours.eval()
    oracle.eval()
    step("Delinear eval", dtype, ours, oracle, batch((7, 12), 40))
    # Inputs with more leading dimensions, as torch.nn.Linear takes them.
    ours.train()
    oracle.train()
    step("Delinear", dtype, ours, oracle, batch((4, 10, 12), 41))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("uncentred", [True, False])
def test_channeldeconv_train_then_eval(uncentred, dtype):
    ours, oracle = make_cd(dict(block=3, uncentred=uncentred), dtype)
    for i in range(3):
        step("ChannelDeconv", dtype, ours, oracle, batch((4, 5, 6, 6), 50 + i))
    step("ChannelDeconv", dtype, ours, oracle, batch((16, 5), 54))  # N x C
    ours.eval()
    oracle.eval()
    step("ChannelDeconv eval", dtype, ours, oracle, batch((3, 5, 4, 4), 55))


def test_two_forwards_before_backward():
    # The module applied twice in one graph, and a second batch run before
    # the first's backward: each backward differentiates its own forward.
    ours, oracle = make_fd(FD_CASES["3x3 pad 1, two blocks"], F64)
    xs = [batch((4, 4, 6, 6), 60 + i) for i in range(3)]
    xo = [x.clone().requires_grad_() for x in xs]
    xr = [x.clone().requires_grad_() for x in xs]
    yo = ours(ours(xo[0])[:, :4])  # used twice in one graph
    yr = oracle(oracle(xr[0])[:, :4])
    y2o, y2r = ours(xo[1]), oracle(xr[1])  # another forward in flight
    dy, dy2 = torch.randn(yr.shape), torch.randn(y2r.shape)
    (yo * dy).sum().backward()
    (yr * dy).sum().backward()
    check("two forwards dx", F64, xo[0].grad, xr[0].grad)
    check("two forwards dW", F64, ours.weight.grad, oracle.weight.grad)
    (y2o * dy2).sum().backward()
    (y2r * dy2).sum().backward()
    check("two forwards dx", F64, xo[1].grad, xr[1].grad)
    check("two forwards dW", F64, ours.weight.grad, oracle.weight.grad)
    check("two forwards buffers", F64, ours.running_deconv, oracle.running_deconv)
    # retain_graph: a second backward of the same graph gives the same.
    y3 = ours(xo[2])
    y3.sum().backward(retain_graph=True)
    g = xo[2].grad.clone()
    xo[2].grad = None
    y3.sum().backward()
    assert torch.equal(g, xo[2].grad)


def test_dtype_follows_module():
    ours, oracle = make_fd(FD_CASES["3x3 pad 1, two blocks"], torch.float32)
    step("FastDeconv", torch.float32, ours, oracle, batch((4, 4, 6, 6), 70))
    ours.double()
    assert ours.weight.dtype == ours.running_deconv.dtype == F64
    ours.load_state_dict(oracle.state_dict())  # the float32 step's buffers differ by rounding
    step("FastDeconv after .double()", F64, ours, oracle, batch((4, 4, 6, 6), 71))
    ours.float()
    step("FastDeconv after .float()", torch.float32, ours, oracle, batch((4, 4, 6, 6), 72))


def test_buffers_are_the_truth():
    # Buffers changed by the user (or load_state_dict) reach the library.
    ours, oracle = make_fd(FD_CASES["3x3 pad 1, two blocks"], F64)
    step("FastDeconv", F64, ours, oracle, batch((4, 4, 6, 6), 80))
    with torch.no_grad():
        ours.running_mean.add_(0.25)
        oracle.running_mean.add_(0.25)
        ours.weight.mul_(0.5)
        oracle.weight.mul_(0.5)
    ours.eval()
    oracle.eval()
    step("FastDeconv edited", F64, ours, oracle, batch((4, 4, 6, 6), 81))
    ours.load_state_dict(oracle.state_dict())
    step("FastDeconv loaded", F64, ours, oracle, batch((4, 4, 6, 6), 82))


def test_gradcheck():
    # The autograd functions themselves, float64, small shapes: training
    # (through the batch statistics) and evaluation.
    torch.manual_seed(0)
    for training in (True, False):
        fd = dnn.FastDeconv(2, 3, 3, padding=1, block=2, sampling_stride=1, dtype=F64, seed=1)
        fd.train(training)
        x = torch.randn(2, 2, 4, 4, requires_grad=True)
        w = fd.weight.detach().clone().requires_grad_()
        b = fd.bias.detach().clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda x, w, b: dnn._LibraryFunction.apply(fd, x, w, b),
                                        (x, w, b), eps=1e-6, atol=1e-6, rtol=1e-5)
        dl = dnn.Delinear(6, 3, block=3, dtype=F64, seed=2)
        dl.train(training)
        x = torch.randn(8, 6, requires_grad=True)
        w = dl.weight.detach().clone().requires_grad_()
        b = dl.bias.detach().clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda x, w, b: dnn._LibraryFunction.apply(dl, x, w, b),
                                        (x, w, b), eps=1e-6, atol=1e-6, rtol=1e-5)
        cd = dnn.ChannelDeconv(2, dtype=F64)
        cd.train(training)
        x = torch.randn(4, 3, 2, 2, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x: dnn._LibraryFunction.apply(cd, x, None, None),
                                        (x,), eps=1e-6, atol=1e-6, rtol=1e-5)


class _Net(torch.nn.Module):
    """A small deconvolution CNN built from one module family."""

    def __init__(self, m, **kw):
        super().__init__()
        self.c1 = m.FastDeconv(1, 4, 3, padding=1, block=1, freeze=True, n_iter=15, **kw)
        self.c2 = m.FastDeconv(4, 6, 3, stride=2, padding=1, block=2, **kw)
        self.cd = m.ChannelDeconv(4, uncentred=True, **kw)
        self.fc = m.Delinear(6 * 4 * 4, 10, block=16, **kw)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        x = self.cd(x)
        return self.fc(x.flatten(1))


def test_module_swap_trains_like_the_oracle():
    torch.manual_seed(3)
    ours = _Net(dnn, dtype=F64)
    oracle = _Net(ref).double()
    oracle.load_state_dict(ours.state_dict())
    opt_o = torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_r = torch.optim.SGD(oracle.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(4)
    for _ in range(4):
        x = torch.randn(16, 1, 8, 8, generator=g, dtype=F64)
        t = torch.randint(0, 10, (16,), generator=g)
        for net, opt in ((ours, opt_o), (oracle, opt_r)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), t).backward()
            opt.step()
    so, sr = ours.state_dict(), oracle.state_dict()
    assert so.keys() == sr.keys()
    for k in so:
        if so[k].is_floating_point():
            check("module swap " + k, F64, so[k], sr[k])
        else:
            assert torch.equal(so[k], sr[k]), k


def test_errors():
    fd = dnn.FastDeconv(4, 6, 3, padding=1, dtype=torch.float32)
    with pytest.raises(ParameterError, match="dtype"):
        fd(torch.randn(2, 4, 5, 5, dtype=F64))
    with pytest.raises(ParameterError):
        fd(torch.randn(2, 4, 5, 5).half())
    with pytest.raises(ShapeError):
        fd(torch.randn(2, 3, 5, 5, dtype=torch.float32))
    with pytest.raises(ShapeError):
        fd(torch.randn(4, 5, 5, dtype=torch.float32))
    with pytest.raises(ParameterError):
        fd(torch.randn(2, 4, 5, 5, dtype=torch.float32).numpy())
    dl = dnn.Delinear(12, 5, dtype=F64)
    with pytest.raises(ShapeError):
        dl(torch.randn(3, 11))
    cd = dnn.ChannelDeconv(3, dtype=F64)
    with pytest.raises(DeconvError):
        cd(torch.randn(4, 2, 3, 3))  # fewer channels than the block
    with pytest.raises(ParameterError):
        dnn.Delinear(12, 5, dtype=torch.int32)
    with pytest.raises(DeconvError):
        dnn.FastDeconv(4, 6, 3, groups=3)
    half = dnn.Delinear(4, 2, dtype=torch.float32).half()
    with pytest.raises(ParameterError, match="float32 or float64"):
        half(torch.randn(3, 4).half())
    # A failing forward leaves the module's state as it was.
    before = {k: v.clone() for k, v in fd.state_dict().items()}
    with pytest.raises(DeconvError):
        fd(torch.full((2, 4, 5, 5), float("nan")))
    for k, v in fd.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert fd.counter == 0
    # A non-finite gradient is reported, not propagated silently.
    x = torch.randn(2, 4, 5, 5, dtype=torch.float32, requires_grad=True)
    y = fd(x)
    with pytest.raises(DeconvError):
        (y * float("nan")).sum().backward()


def test_functional_backward():
    # The stateless wrappers of the backward entry points against autograd.
    import oracle
    torch.manual_seed(5)
    x = torch.randn(3, 4, 6, 6, requires_grad=True)
    mean, cov = oracle.cov_stats(x, 3, 1, 1, 1, 1, 2, 1e-5, 2)
    gm, gc = torch.randn(mean.shape), torch.randn(cov.shape)
    (mean * gm).sum().add((cov * gc).sum()).backward()
    dx = deconv.covariance_backward(x.detach(), gm, gc, 3, padding=1, block=2, sampling_stride=2)
    check("covariance_backward", F64, dx, x.grad)
    a = cov.detach().clone().requires_grad_()
    dd = torch.randn(a.shape)
    (oracle.isqrt_coupled(a, 5) * dd).sum().backward()
    # coupled_reference: autograd's gradient itself; coupled reads the
    # input's symmetric part, so its gradient is the symmetric part.
    check("isqrt_backward", F64, deconv.isqrt_backward(a.detach(), dd, method="coupled_reference"), a.grad)
    check("isqrt_backward", F64, deconv.isqrt_backward(a.detach(), dd), (a.grad + a.grad.t()) / 2)
    da32 = deconv.isqrt_backward(a.detach().float(), dd.float(), method="coupled_reference")
    assert da32.dtype == torch.float32
    check("isqrt_backward", torch.float32, da32, a.grad, tol_scale=10)
    w = torch.randn(5, 4, 3, 3, requires_grad=True)
    b = torch.randn(5, requires_grad=True)
    m = torch.randn(18, requires_grad=True)
    d = cov.detach().clone().requires_grad_()
    wf, bf = oracle.fold_weight(w, b, m, d, 4, 9, 2, 1)
    gw, gb = torch.randn(wf.shape), torch.randn(bf.shape)
    ((wf * gw).sum() + (bf * gb).sum()).backward()
    dw, db, dm, ddd = deconv.fold_backward(gw, gb, w.detach(), m.detach(), d.detach(), 2)
    for name, got, want in (("dW", dw, w.grad), ("db", db, b.grad), ("dmean", dm, m.grad), ("dD", ddd, d.grad)):
        check("fold_backward " + name, F64, got, want)


def test_readme_example_runs():
    from test_errors import PKG, run_python
    text = open(os.path.join(PKG, "..", "..", "README.md")).read().split("<!-- nn-example -->", 1)[1]
    code = text.split("```python", 1)[1].split("```", 1)[0]
    r = run_python(code)
    assert r.returncode == 0, r.stderr


def test_import_needs_torch():
    # deconv.nn needs PyTorch (the core binding does not): a clear ImportError.
    from test_errors import run_python
    r = run_python("""
        import sys
        sys.modules["torch"] = None
        import deconv
        try:
            import deconv.nn
        except ImportError as e:
            print("ImportError", e)
    """)
    assert r.returncode == 0 and "ImportError" in r.stdout, r.stderr


def test_copies_and_pickles():
    # copy.deepcopy and torch.save/load give modules with their own library
    # layer, computing what the original computes.
    import copy
    import io
    ours, oracle = make_fd(FD_CASES["3x3 pad 1, two blocks"], F64)
    step("FastDeconv", F64, ours, oracle, batch((4, 4, 6, 6), 90))
    twin = copy.deepcopy(ours)
    assert twin._lib is None or twin._lib is not ours._lib
    buf = io.BytesIO()
    torch.save(ours, buf)
    buf.seek(0)
    loaded = torch.load(buf)
    for m in (ours, twin, loaded):
        m.eval()
    x = batch((2, 4, 6, 6), 91)
    assert torch.equal(twin(x), ours(x)) and torch.equal(loaded(x), ours(x))
    twin.train()
    y = twin(x)
    assert not torch.equal(twin.running_mean, ours.running_mean)  # its own buffers
    assert y.shape == (2, 6, 6, 6)


def test_no_double_backward():
    fd = dnn.FastDeconv(2, 3, 3, padding=1, dtype=F64)
    x = torch.randn(2, 2, 5, 5, requires_grad=True)
    (gx,) = torch.autograd.grad(fd(x).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        gx.sum().backward()


def test_plain_layers_backward():
    # The folded (plain) convolution and linear layers' backward against
    # autograd of torch's own.
    import torch.nn.functional as F
    torch.manual_seed(6)
    fd = deconv.FastDeconv(4, 6, 3, stride=2, padding=1, dtype="float64", seed=3)
    x = torch.randn(3, 4, 7, 7)
    fd(x)
    fd.eval()
    conv = fd.folded()
    w, b = torch.from_numpy(conv.weight).requires_grad_(), torch.from_numpy(conv.bias).requires_grad_()
    xr = x.clone().requires_grad_()
    y = F.conv2d(xr, w, b, 2, 1)
    dy = torch.randn(y.shape)
    (y * dy).sum().backward()
    dx, dw, db = conv.backward(dy, x)
    for name, got, want in (("dx", dx, xr.grad), ("dW", dw, w.grad), ("db", db, b.grad)):
        check("conv2d backward " + name, F64, got, want)
    dx_only = conv.backward(dy, x, dw=False, db=False)
    assert dx_only[1] is None and dx_only[2] is None and torch.equal(dx_only[0], dx)
    dl = deconv.Delinear(10, 4, dtype="float64", seed=4)
    x = torch.randn(16, 10)
    dl(x)
    dl.eval()
    lin = dl.folded()
    w, b = torch.from_numpy(lin.weight).requires_grad_(), torch.from_numpy(lin.bias).requires_grad_()
    xr = x.clone().requires_grad_()
    y = F.linear(xr, w, b)
    dy = torch.randn(y.shape)
    (y * dy).sum().backward()
    dx, dw, db = lin.backward(dy, x)
    for name, got, want in (("dx", dx, xr.grad), ("dW", dw, w.grad), ("db", db, b.grad)):
        check("linear backward " + name, F64, got, want)
    with pytest.raises(ShapeError):
        lin.backward(dy[:, :3], x)
