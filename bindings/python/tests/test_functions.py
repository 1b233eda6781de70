import numpy as np
import pytest
import torch
import torch.nn.functional as F

import deconv
import oracle
from compare import TOL, close

RNG = np.random.default_rng(1234)

GEOMS = [  # kernel, stride, padding, dilation
    (1, 1, 0, 1), (2, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 2, 1), (3, 1, 2, 2),
    ((3, 2), (2, 1), (1, 0), (1, 2)), ((1, 3), 1, (0, 1), 1), (2, 2, 0, 1),
]


@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_matches_unfold(geom, dtype):
    k, s, p, d = geom
    x = RNG.standard_normal((2, 3, 9, 8)).astype(dtype)
    got = deconv.im2col(x, k, s, p, d)
    want = F.unfold(torch.from_numpy(x), k, dilation=d, padding=p, stride=s).numpy()
    assert got.dtype == dtype
    close("im2col", got, want, 0)
    rows = deconv.im2col(x, k, s, p, d, layout="rows")
    close("im2col", rows, want.transpose(0, 2, 1).reshape(-1, want.shape[1]), 0)
    back = deconv.col2im(got, (9, 8), k, s, p, d)
    want_back = F.fold(torch.from_numpy(want), (9, 8), k, dilation=d, padding=p, stride=s).numpy()
    close("col2im", back, want_back, TOL[dtype])
    back_rows = deconv.col2im(rows, (9, 8), k, s, p, d, layout="rows")
    close("col2im", back_rows, want_back, TOL[dtype])


def test_im2col_sampling_and_tensor():
    x = torch.randn(2, 4, 10, 10, dtype=torch.float32)
    got = deconv.im2col(x, 3, stride=1, padding=1, sampling_stride=3)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    close("im2col", got, F.unfold(x, 3, padding=1, stride=3), 0)


@pytest.mark.parametrize("method", ["coupled", "coupled_reference", "uncoupled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_iter", [1, 5, 15])
def test_isqrt_iterations(method, dtype, n_iter):
    if method == "uncoupled" and n_iter > 5:
        n_iter = 5  # the uncoupled iteration drifts once converged (the library reports DivergedError)
    a = RNG.standard_normal((3, 2, 12, 40))
    a = a @ a.swapaxes(-1, -2) / 40 + 1e-2 * np.eye(12)
    got = deconv.isqrt(a.astype(dtype), n_iter=n_iter, method=method)
    it = oracle.isqrt_uncoupled if method == "uncoupled" else oracle.isqrt_coupled
    want = it(torch.from_numpy(a), n_iter)
    close("isqrt %s" % method, got, want, 3 * TOL[dtype] if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_isqrt_exact_and_trace(dtype):
    a = RNG.standard_normal((9, 30))
    a = a @ a.T / 30 + 0.1 * np.eye(9)
    got = deconv.isqrt(torch.from_numpy(a.astype(dtype)), method="exact")
    close("isqrt exact", got, oracle.isqrt_exact(torch.from_numpy(a)), 10 * TOL[dtype])
    z, trace = deconv.isqrt(a.astype(dtype), n_iter=30, return_trace=True)
    assert trace.shape == (31,)
    assert trace[-1] < trace[0]
    close("isqrt coupled 30", z, oracle.isqrt_exact(torch.from_numpy(a)), 1e-3 if dtype == np.float32 else 1e-8)
    with pytest.raises(deconv.NotConvergedError):
        deconv.isqrt(a, n_iter=2, tol=1e-14)


COV_CASES = [  # c, kernel, stride, padding, dilation, groups, block, sampling, grouping
    (6, 3, 1, 1, 1, 1, 2, 3, "reference"),
    (6, 3, 1, 1, 1, 1, 2, 3, "contiguous"),
    (8, 1, 1, 0, 1, 1, 4, 3, "reference"),
    (8, 1, 2, 0, 1, 1, 64, 1, "reference"),
    (6, 2, 2, 0, 1, 3, 64, 1, "reference"),
    (4, 3, 1, 1, 1, 4, 64, 2, "reference"),
    (6, (3, 2), (1, 2), (1, 0), (2, 1), 1, 4, 1, "reference"),
    (9, 5, 1, 2, 1, 1, 6, 2, "contiguous"),
]


@pytest.mark.parametrize("case", COV_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_covariance(case, dtype):
    c, k, s, p, d, g, b, samp, grouping = case
    x = RNG.standard_normal((3, c, 11, 10)) + 0.5
    mean, cov = deconv.covariance(x.astype(dtype), k, s, p, d, groups=g, block=b, eps=1e-3,
                                  sampling_stride=samp, grouping=grouping)
    wm, wc = oracle.cov_stats(torch.from_numpy(x), k, s, p, d, g, b, 1e-3, samp,
                              contiguous=grouping == "contiguous")
    close("covariance", mean, wm, TOL[dtype])
    close("covariance", cov, wc, TOL[dtype])


def test_stats_merge_and_sums():
    x = RNG.standard_normal((6, 4, 9, 9))
    kw = dict(padding=1, block=2, eps=1e-3, sampling_stride=2)
    whole = deconv.covariance(x, 3, **kw)
    a = deconv.Stats(3, **kw, dtype="float64").update(x[:2]).update(x[2:3])
    b = deconv.Stats(3, **kw, dtype="float64").update(x[3:])
    m = a.merge(b).finalize()
    close("stats", m[0], whole[0], 1e-12)
    close("stats", m[1], whole[1], 1e-12)
    s1 = deconv.Stats(3, **kw, dtype="float64").update(x[:3]).sums()
    s2 = deconv.Stats(3, **kw, dtype="float64").update(x[3:]).sums()
    r = deconv.Stats(3, **kw, channels=4, dtype="float64").from_sums(s1 + s2).finalize()
    close("stats", r[0], whole[0], 1e-10)
    close("stats", r[1], whole[1], 1e-10)
    with pytest.raises(deconv.EmptyError):
        deconv.Stats(3, **kw, channels=4).finalize()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups,grouping", [(1, "reference"), (1, "contiguous"), (2, "reference")])
@pytest.mark.parametrize("bias", [True, False])
def test_fold_restore(dtype, groups, grouping, bias):
    c, cout, k, block = 4, 6, 3, 2 if groups == 1 else 2
    x = RNG.standard_normal((2, c, 8, 8))
    mean, cov = oracle.cov_stats(torch.from_numpy(x), k, 1, 1, 1, groups, block, 1e-2, 1,
                                 contiguous=grouping == "contiguous")
    d = oracle.isqrt_coupled(cov, 5)
    w = torch.from_numpy(RNG.standard_normal((cout, c // groups, k, k)))
    b = torch.from_numpy(RNG.standard_normal(cout)) if bias else None
    ww, wb = oracle.fold_weight(w, b, mean.reshape(-1), d, c, k * k, block, groups,
                                contiguous=grouping == "contiguous")
    cast = (lambda t: t.to(torch.float32)) if dtype == np.float32 else (lambda t: t)
    fw, fb = deconv.fold(cast(w), None if b is None else cast(b), cast(mean), cast(d), block,
                         groups=groups, grouping=grouping)
    close("fold", fw, ww, TOL[dtype])
    close("fold", fb, wb, TOL[dtype])
    rw, rb = deconv.restore(fw, fb if bias else None, cast(mean), cast(d), block, groups=groups,
                            grouping=grouping)
    close("restore", rw, w, 10 * TOL[dtype])
    if bias:
        close("restore", rb, b, 10 * TOL[dtype])
    else:
        assert rb is None


def test_settings():
    assert deconv.__version__.count(".") == 2
    n = deconv.threads()
    deconv.set_threads(1)
    assert deconv.threads() == 1
    deconv.set_threads(n)
    isa = deconv.isa()
    deconv.set_isa("generic")
    assert deconv.isa() == "generic"
    deconv.set_isa(isa)
    with pytest.raises(deconv.ParameterError, match="."):
        deconv.set_isa("mmx")
    with pytest.raises(deconv.ParameterError):
        deconv.set_threads(-1)


def test_isqrt_kept_handles_threads_and_eviction():
    import threading
    rng = np.random.default_rng(17)
    mats = {}
    for n in range(2, 14):  # more sizes than the per-thread cache keeps
        m = rng.standard_normal((n, 3 * n))
        mats[n] = m @ m.T / (3 * n) + 0.1 * np.eye(n)
    want = {n: oracle.isqrt_coupled(torch.from_numpy(a), 5).numpy() for n, a in mats.items()}
    errors = []

    def work(order):
        try:
            for _ in range(3):
                for n in order:
                    close("isqrt kept handles", deconv.isqrt(mats[n]), want[n], 1e-10)
                    close("isqrt kept handles", deconv.isqrt(mats[n], n_iter=5, method="coupled_reference"),
                          want[n], 1e-10)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(sorted(mats, reverse=r),)) for r in (False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_isqrt_one_matrix_fast_path(dtype):
    # One native C-contiguous matrix takes the fast path; a batch of one,
    # a read-only, a Fortran-ordered or a byte-swapped copy of it the
    # general one or the fast one with another address route: every route
    # gives the same bits, and the oracle's values.
    for n in (1, 2, 27, 33):
        m = RNG.standard_normal((n, 3 * n))
        a = (m @ m.T / (3 * n) + 0.1 * np.eye(n)).astype(dtype)
        got = deconv.isqrt(a)
        assert got.dtype == dtype and got.shape == (n, n) and got.flags.c_contiguous
        close("isqrt fast path", got, oracle.isqrt_coupled(torch.from_numpy(a.astype(np.float64)), 5),
              3 * TOL[dtype] if dtype == np.float32 else 1e-9)
        assert np.array_equal(deconv.isqrt(a[None])[0], got)
        ro = a.copy()
        ro.setflags(write=False)
        assert np.array_equal(deconv.isqrt(ro), got)
        assert np.array_equal(deconv.isqrt(np.asfortranarray(a)), got)
        # (A byte-swapped array is converted to native float32, as any
        # dtype other than native float32/float64 is.)
        swapped = a.astype(a.dtype.newbyteorder())
        assert np.array_equal(deconv.isqrt(swapped), deconv.isqrt(a.astype(np.float32)))
        # Equal arguments of other types validate alike.
        assert np.array_equal(deconv.isqrt(a, n_iter=5.0, tol=None), got)
    a = np.eye(4, dtype=dtype)
    for bad in ({"n_iter": 0}, {"method": "newton"}, {"tol": 0}, {"tol": -1.0}):
        for _ in range(2):  # a rejected argument is rejected again
            with pytest.raises(deconv.ParameterError):
                deconv.isqrt(a, **bad)
    with pytest.raises(deconv.NotSymmetricError, match=r"a\[0,1\]"):
        deconv.isqrt(np.array([[2.0, 1.0], [0.0, 2.0]], dtype=dtype))
    with pytest.raises(deconv.NotPositiveDefiniteError):
        deconv.isqrt(np.array([[1.0, 2.0], [2.0, 1.0]], dtype=dtype))
    # The error structure a failed call filled is rewritten by the next.
    assert np.array_equal(deconv.isqrt(a), deconv.isqrt(a[None])[0])
