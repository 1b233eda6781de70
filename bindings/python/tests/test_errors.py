import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import deconv
from deconv import errors

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, env=None):
    """Runs code in a fresh interpreter (the package importable); returns the CompletedProcess."""
    e = dict(os.environ)
    e["PYTHONPATH"] = PKG + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True,
                          text=True, timeout=60)


def test_status_classes_are_pinned():
    want = {1: "ShapeError", 2: "ParameterError", 3: "SizeError", 4: "NonFiniteError",
            5: "NotSymmetricError", 6: "NotPositiveDefiniteError", 7: "DivergedError",
            8: "NotConvergedError", 9: "EmptyError", 10: "BusyError", 11: "OverlapError",
            12: "UnsupportedError", 100: "OutOfMemoryError", 101: "InternalError"}
    for status, name in want.items():
        e = errors.error_for_status(status, "m")
        assert type(e).__name__ == name and e.status == status and e.message == "m"
        assert isinstance(e, deconv.DeconvError)
    assert type(errors.error_for_status(55, "x")) is deconv.DeconvError
    assert deconv.SizeError is not OverflowError


def _raises(cls, f, *a, **kw):
    with pytest.raises(cls) as info:
        f(*a, **kw)
    assert isinstance(info.value, deconv.DeconvError)
    assert str(info.value), "no message"
    return info.value


def test_bad_inputs_raise_with_messages():
    x = np.ones((1, 2, 5, 5), np.float32)
    _raises(deconv.ShapeError, deconv.im2col, np.ones((2, 5, 5)), 3)
    _raises(deconv.ParameterError, deconv.im2col, x, 0)
    _raises(deconv.ParameterError, deconv.im2col, x, 3, padding=-1)
    _raises(deconv.ParameterError, deconv.im2col, x, 3, layout="nchw")
    e = _raises(deconv.DeconvError, deconv.im2col, x, 7)  # kernel larger than the image
    assert e.status in (1, 2)
    _raises(deconv.ShapeError, deconv.isqrt, np.ones((3, 4)))
    _raises(deconv.NotSymmetricError, deconv.isqrt, np.array([[2.0, 1.0], [0.0, 2.0]]))
    _raises(deconv.DeconvError, deconv.isqrt, -np.eye(3), method="exact")
    bad = np.eye(3)
    bad[1, 1] = np.nan
    _raises(deconv.NonFiniteError, deconv.isqrt, bad)
    xn = x.copy()
    xn[0, 0, 2, 2] = np.nan
    _raises(deconv.NonFiniteError, deconv.covariance, xn, 3, block=1)
    layer = deconv.FastDeconv(2, 3, 3, padding=1)
    _raises(deconv.NonFiniteError, layer, xn)
    _raises(deconv.ShapeError, layer, np.ones((1, 3, 5, 5)))
    _raises(deconv.ShapeError, layer, np.ones((2, 5, 5)))
    _raises(deconv.ParameterError, deconv.FastDeconv, -1, 3, 3)
    _raises(deconv.ParameterError, deconv.FastDeconv, 4, 3, 3, groups=3)
    _raises(deconv.ParameterError, deconv.FastDeconv, 4, 3, 3, dtype="int32")
    _raises(deconv.ParameterError, deconv.Delinear, 0, 3)
    _raises(deconv.ShapeError, deconv.Delinear(4, 2), np.ones((3, 5)))
    _raises(deconv.DeconvError, deconv.ChannelDeconv(4), np.ones((2, 3, 4, 4)))  # block > channels
    # a running deconvolution matrix must be symmetric positive definite
    _raises(deconv.DeconvError, setattr, layer, "running_deconv", -np.eye(layer.num_features))
    _raises(deconv.ParameterError, deconv.isqrt, np.eye(2), method="newton")
    _raises(deconv.ParameterError, deconv.im2col, np.array(["a"]), 1)
    _raises(deconv.SizeError, deconv.im2col, x, 2 ** 40)


def test_empty_batch_of_matrices():
    assert deconv.isqrt(np.zeros((0, 4, 4))).shape == (0, 4, 4)


def test_dtypes():
    x16 = torch.randn(1, 2, 4, 4).half()
    u = deconv.im2col(x16, 2)
    assert u.dtype == torch.float32
    xi = np.arange(32).reshape(1, 2, 4, 4)
    assert deconv.im2col(xi, 2).dtype == np.float32
    layer = deconv.FastDeconv(2, 1, 1, dtype="float64")
    assert layer(np.ones((1, 2, 3, 3), np.float32)).dtype == np.float64
    # non-contiguous input: made contiguous, same result
    xt = np.asfortranarray(np.random.default_rng(0).standard_normal((2, 3, 6, 6)))
    assert np.array_equal(deconv.im2col(xt, 3), deconv.im2col(np.ascontiguousarray(xt), 3))
    tt = torch.randn(3, 2, 6, 6).transpose(2, 3)
    assert torch.equal(deconv.im2col(tt, 3), deconv.im2col(tt.contiguous(), 3))
    with pytest.raises(deconv.ParameterError):
        deconv.im2col(torch.zeros(1, 1, 2, 2, dtype=torch.complex64), 1)


def test_no_copy_for_float_contiguous():
    from deconv._arrays import to_numpy
    a = np.ones((2, 3), np.float32)
    assert to_numpy(a)[0] is a
    t = torch.ones(2, 3, dtype=torch.float64)
    assert to_numpy(t)[0].ctypes.data == t.data_ptr()


def test_missing_library_is_an_import_error():
    r = run_python("""
        try:
            import deconv
        except ImportError as e:
            print("IMPORT-ERROR", e)
    """, env={"DECONV_LIBRARY": "/nonexistent/libdeconv.so"})
    assert r.returncode == 0, r.stderr
    assert "IMPORT-ERROR" in r.stdout and "DECONV_LIBRARY" in r.stdout


def test_version_handshake():
    from deconv import _lib
    assert _lib.header_version()[:2] == _lib.LIBRARY_VERSION[:2]
    assert _lib.HEADER_VERSION == _lib.header_version()  # the constant is kept in sync
    _lib.check_version((0, 1, 0), (0, 1, 0), "lib")
    _lib.check_version((0, 2, 0), (0, 2, 0), "lib")
    _lib.check_version((0, 2, 0), (0, 1, 0), "lib")
    with pytest.raises(ImportError, match="0.2.x"):  # a 0.1 library lacks the backward passes
        _lib.check_version((0, 1, 0), (0, 2, 0), "lib")
    for got in [(1, 1, 0), (0, 0, 9)]:
        with pytest.raises(ImportError, match="0.1.x"):
            _lib.check_version(got, (0, 1, 0), "lib")


def test_finder_lists_places_tried():
    from deconv import _lib
    cands, _ = _lib._candidates()
    descs = [d for d, _ in cands]
    assert "next to the package" in descs and "the system library path" in descs


def test_crash_prone_cases_in_a_subprocess():
    # Mismatched lengths, closed handles, empty batches, huge sizes: errors, never a crash.
    r = run_python("""
        import numpy as np, deconv
        caught = 0
        cases = [
            lambda: deconv.covariance(np.ones((0, 2, 5, 5)), 3),
            lambda: deconv.col2im(np.ones((1, 9, 4)), (5, 5), 3),
            lambda: deconv.col2im(np.ones((1, 10, 9)), (5, 5), 3),
            lambda: deconv.fold(np.ones((3, 2, 3, 3)), None, np.ones(5), np.eye(18), 2),
            lambda: deconv.fold(np.ones((3, 2, 3, 3)), np.ones(2), np.ones(18), np.eye(18), 2),
            lambda: deconv.restore(np.ones((3, 8)), None, np.ones(4), np.zeros((4, 4)), 4),
            lambda: deconv.Stats(3, channels=2).merge(deconv.Stats(5, channels=2).update(np.ones((1, 2, 6, 6)))),
            lambda: deconv.Stats(3, channels=2).from_sums(np.ones(3)),
            lambda: deconv.FastDeconv(2, 2, 3)(np.ones((1, 2, 2, 2))),
            lambda: deconv.FastDeconv(2, 2, 3, sampling_stride=-3),
            lambda: deconv.FastDeconv(2, 2, 3, momentum=float("nan")),
            lambda: deconv.Delinear(4, 2, block=3, n_iter=0),
            lambda: deconv.isqrt(np.eye(4), n_iter=-1),
            lambda: deconv.isqrt(np.zeros((2, 0, 0))),
            lambda: deconv.im2col(np.ones((1, 1, 4, 4)), 1, stride=-1),
        ]
        l = deconv.FastDeconv(2, 2, 3); l.close()
        cases += [lambda: l(np.ones((1, 2, 5, 5))), lambda: l.folded(), lambda: l.state_dict()]
        for i, f in enumerate(cases):
            try:
                f()
                print("NO-ERROR", i)
            except deconv.DeconvError as e:
                assert str(e)
                caught += 1
        print("CAUGHT", caught, len(cases))
    """)
    assert r.returncode == 0, r.stderr
    caught, total = map(int, r.stdout.split("CAUGHT")[1].split()[:2])
    assert caught == total, r.stdout


def test_readme_example_runs():
    readme = os.path.join(PKG, "..", "..", "README.md")
    if not os.path.exists(readme):
        pytest.fail("README.md not found beside the checkout")
    text = open(readme).read().split("<!-- python-example -->", 1)[1]
    code = text.split("```python", 1)[1].split("```", 1)[0]
    r = run_python(code)
    assert r.returncode == 0, r.stderr


def test_torch_is_optional_at_import():
    r = run_python("""
        import sys
        sys.modules["torch"] = None          # any import of torch now fails
        import numpy as np, deconv
        y = deconv.im2col(np.ones((1, 2, 4, 4), np.float32), 2)
        print("OK", type(y).__name__)
    """)
    assert r.returncode == 0, r.stderr
    assert "OK ndarray" in r.stdout


def test_finder_uses_the_checkout_build_directory():
    r = run_python("import deconv; print(deconv.library_path)", env={"DECONV_LIBRARY": ""})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(os.path.join("build", "libdeconv.so"))


def test_pip_install_with_the_library_next_to_the_package(tmp_path):
    import shutil
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip("pip is not installed for this interpreter")
    src, site = tmp_path / "src", tmp_path / "site"
    # a copy, so that the build leaves nothing in the source tree
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info",
                                                             "libdeconv.so*"))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--no-index", "--target", str(site), str(src)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    shutil.copy(deconv.library_path, site / "deconv" / "libdeconv.so")
    e = dict(os.environ, PYTHONPATH=str(site), DECONV_LIBRARY="")
    r = subprocess.run([sys.executable, "-c", "import deconv; print(deconv.library_path)"], env=e,
                       capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(site / "deconv" / "libdeconv.so")


def test_every_header_function_is_declared_and_structs_match():
    import ctypes
    import re
    from deconv import _lib
    header = open(os.path.join(PKG, "..", "..", "include", "deconv.h")).read()
    names = set(re.findall(r"DECONV_API[^;]*?\b(deconv_\w+)\s*\(", header))
    assert names == set(_lib._PROTOS), (sorted(names - set(_lib._PROTOS)), sorted(set(_lib._PROTOS) - names))
    L = _lib.LIB
    # The library's fillers write the documented defaults into the binding's
    # Structures: a field out of place would show here.
    fd = _lib.FastDeconvConfig()
    L.deconv_fastdeconv_config_default(ctypes.byref(fd), 3, 4, 5)
    assert fd.struct_size == ctypes.sizeof(_lib.FastDeconvConfig)
    assert (fd.in_channels, fd.out_channels, fd.geometry.kernel_h, fd.geometry.kernel_w) == (3, 4, 5, 5)
    assert (fd.eps, fd.n_iter, fd.momentum, fd.block, fd.sampling_stride, fd.freeze_iter, fd.bias) == \
        (1e-5, 5, 0.1, 64, 3, 100, 1)
    dl = _lib.DelinearConfig()
    L.deconv_delinear_config_default(ctypes.byref(dl), 6, 7)
    assert (dl.struct_size, dl.in_features, dl.out_features, dl.bias, dl.eps, dl.n_iter, dl.momentum,
            dl.block) == (ctypes.sizeof(dl), 6, 7, 1, 1e-5, 5, 0.1, 512)
    cd = _lib.ChannelDeconvConfig()
    L.deconv_channeldeconv_config_default(ctypes.byref(cd), 4)
    assert (cd.struct_size, cd.block, cd.eps, cd.n_iter, cd.momentum, cd.sampling_stride, cd.uncentred) == \
        (ctypes.sizeof(cd), 4, 1e-2, 5, 0.1, 3, 0)
    cp = _lib.CovParams()
    L.deconv_cov_params_default(ctypes.byref(cp), 2, 3, 9, 8, 3)
    assert (cp.struct_size, cp.batch, cp.channels, cp.height, cp.width, cp.geometry.kernel_w,
            cp.sampling, cp.block, cp.grouping, cp.eps) == (ctypes.sizeof(cp), 2, 3, 9, 8, 3, 3, 64, 0, 1e-5)
    cc = _lib.CovChannelParams()
    L.deconv_cov_channel_params_default(ctypes.byref(cc), 2, 5, 4, 4, 3)
    assert (cc.struct_size, cc.batch, cc.channels, cc.block, cc.sampling, cc.uncentred, cc.eps) == \
        (ctypes.sizeof(cc), 2, 5, 3, 3, 0, 1e-2)
    cl = _lib.CovLinearParams()
    L.deconv_cov_linear_params_default(ctypes.byref(cl), 2, 10)
    assert (cl.struct_size, cl.batch, cl.features, cl.block, cl.eps) == (ctypes.sizeof(cl), 2, 10, 512, 1e-5)
    ip = _lib.Im2colParams()
    L.deconv_im2col_params_default(ctypes.byref(ip), 2, 3, 9, 8, 3)
    assert (ip.struct_size, ip.batch, ip.width, ip.geometry.kernel_h, ip.sampling, ip.layout) == \
        (ctypes.sizeof(ip), 2, 8, 3, 1, 0)
    ic = _lib.IsqrtConfig()
    L.deconv_isqrt_config_default(ctypes.byref(ic))
    assert (ic.struct_size, ic.method, ic.iterations, ic.scaling) == (ctypes.sizeof(ic), 0, 5, 0)
    c2 = _lib.Conv2dConfig()
    L.deconv_conv2d_config_default(ctypes.byref(c2), 3, 4, 5)
    assert (c2.struct_size, c2.in_channels, c2.out_channels, c2.geometry.kernel_w, c2.groups) == \
        (ctypes.sizeof(c2), 3, 4, 5, 1)
    lc = _lib.LinearConfig()
    L.deconv_linear_config_default(ctypes.byref(lc), 3, 4)
    assert (lc.struct_size, lc.in_features, lc.out_features) == (ctypes.sizeof(lc), 3, 4)
