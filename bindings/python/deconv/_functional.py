"""The stateless functions: im2col, col2im, covariance, isqrt, fold, restore."""

import collections
import ctypes
import threading

import numpy as np

from . import _lib
from ._arrays import cint, null, opt_ptr, pair, ptr, require_rank, result, to_numpy
from ._lib import LIB, call, fn
from .errors import ParameterError, ShapeError


def _geometry(kernel_size, stride, padding, dilation):
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation")
    for name, v in (("kernel_size", kh), ("kernel_size", kw), ("stride", sh), ("stride", sw),
                    ("dilation", dh), ("dilation", dw)):
        if v < 1:
            raise ParameterError("%s must be positive, got %d" % (name, v))
    for v in (ph, pw):
        if v < 0:
            raise ParameterError("padding must be non-negative, got %d" % v)
    return _lib.Geometry(*(cint(v, "geometry") for v in (kh, kw, sh, sw, ph, pw, dh, dw)))


def _enum(table, value, name):
    try:
        return table[value]
    except (KeyError, TypeError):
        raise ParameterError("%s must be one of %s, got %r" % (name, sorted(table), value)) from None


def _positive(v, name, zero_ok=False):
    v = int(v)
    if v < (0 if zero_ok else 1):
        raise ParameterError("%s must be %s, got %d" % (name, "non-negative" if zero_ok else "positive", v))
    return v


class _Handle:
    """Owns one C handle, released by close() or when garbage-collected."""

    _free = None

    def __init__(self, h):
        self._h = h

    @property
    def handle(self):
        if self._h is None:
            raise ParameterError("%s is closed" % type(self).__name__)
        return self._h

    def close(self):
        h, self._h = getattr(self, "_h", None), None
        if h is not None:
            type(self)._free(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _create(creator, params):
    h = ctypes.c_void_p()
    call(creator, ctypes.byref(params), ctypes.byref(h))
    return h


class _Im2colPlan(_Handle):
    _free = LIB.deconv_im2col_plan_free


class _CovPlan(_Handle):
    _free = LIB.deconv_cov_plan_free


def _im2col_plan(n, c, h, w, geom, sampling_stride, layout):
    p = _lib.Im2colParams(batch=cint(n, "batch"), channels=cint(c, "channels"), height=cint(h, "height"),
                          width=cint(w, "width"), geometry=geom,
                          sampling=_positive(sampling_stride, "sampling_stride"),
                          layout=_enum(_lib.LAYOUT, layout, "layout"))
    return _Im2colPlan(_create(LIB.deconv_im2col_plan_create, p))


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, sampling_stride=1, layout="unfold"):
    """The patches of the NCHW batch x, as torch.nn.functional.unfold.

    layout "unfold": (N, C*kh*kw, L), F.unfold's layout; "rows":
    (N*L, C*kh*kw), the paper's data matrix. sampling_stride S keeps every
    S-th window per axis (windows every stride*S input positions).
    """
    a, tensor = to_numpy(x)
    require_rank(a, (4,), "x")
    geom = _geometry(kernel_size, stride, padding, dilation)
    n, c, h, w = a.shape
    with _im2col_plan(n, c, h, w, geom, sampling_stride, layout) as plan:
        rows, cols = LIB.deconv_im2col_plan_rows(plan.handle), LIB.deconv_im2col_plan_cols(plan.handle)
        out = np.empty(LIB.deconv_im2col_plan_dst_len(plan.handle), dtype=a.dtype)
        call(fn("deconv_im2col", a.dtype), plan.handle, ptr(out), out.size, ptr(a), a.size)
    if _lib.LAYOUT[layout] == 1:
        out = out.reshape(n, cols, rows // max(n, 1) if n else 0)
    else:
        out = out.reshape(rows, cols)
    return result(out, tensor)


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1, sampling_stride=1,
           layout="unfold"):
    """The adjoint of im2col, as torch.nn.functional.fold: patches summed back
    into an (N, C, H, W) image of output_size (H, W)."""
    a, tensor = to_numpy(cols)
    layout_v = _enum(_lib.LAYOUT, layout, "layout")
    geom = _geometry(kernel_size, stride, padding, dilation)
    h, w = pair(output_size, "output_size")
    k = geom.kernel_h * geom.kernel_w
    if layout_v == 1:
        require_rank(a, (3,), "cols")
        n, ck = a.shape[0], a.shape[1]
    else:
        require_rank(a, (2,), "cols")
        ck = a.shape[1]
    if ck % k:
        raise ShapeError("cols: %d columns is not a multiple of the kernel's %d positions" % (ck, k))
    c = ck // k
    if layout_v == 0:
        with _im2col_plan(1, c, h, w, geom, sampling_stride, layout) as p1:
            per = LIB.deconv_im2col_plan_rows(p1.handle)
        if per == 0 or a.shape[0] % per:
            raise ShapeError("cols: %d rows is not a multiple of the %d positions of one image"
                             % (a.shape[0], per))
        n = a.shape[0] // per
    with _im2col_plan(n, c, h, w, geom, sampling_stride, layout) as plan:
        out = np.empty(LIB.deconv_im2col_plan_src_len(plan.handle), dtype=a.dtype)
        call(fn("deconv_col2im", a.dtype), plan.handle, ptr(out), out.size, ptr(a), a.size)
    return result(out.reshape(n, c, h, w), tensor)


def _cov_params(n, c, h, w, geom, groups, block, eps, sampling_stride, grouping):
    return _lib.CovParams(batch=cint(n, "batch"), channels=cint(c, "channels"), height=cint(h, "height"),
                          width=cint(w, "width"), geometry=geom, groups=_positive(groups, "groups"),
                          sampling=_positive(sampling_stride, "sampling_stride"),
                          block=_positive(block, "block"),
                          grouping=_enum(_lib.GROUPING, grouping, "grouping"), eps=float(eps))


def _cov_shapes(plan):
    g, f = LIB.deconv_cov_plan_groups(plan), LIB.deconv_cov_plan_features(plan)
    return ((f,), (f, f)) if g == 1 else ((g, f), (g, f, f))


def covariance(x, kernel_size, stride=1, padding=0, dilation=1, groups=1, block=64, eps=1e-5,
               sampling_stride=3, grouping="reference"):
    """(mean, cov) of the deconvolution statistics of the NCHW batch x for a
    convolution of this geometry, as the reference's FastDeconv computes them
    in training: cov = eps*I + centred second moment.

    mean is (F,) and cov (F, F) with F = kh*kw*block; with groups > 1 they
    are (groups, F) and (groups, F, F). grouping "reference" (interleaved
    features, the reference's) or "contiguous" (channel blocks).
    """
    a, tensor = to_numpy(x)
    require_rank(a, (4,), "x")
    p = _cov_params(*a.shape, _geometry(kernel_size, stride, padding, dilation), groups, block, eps,
                    sampling_stride, grouping)
    with _CovPlan(_create(LIB.deconv_cov_plan_create, p)) as plan:
        ms, cs = _cov_shapes(plan.handle)
        mean = np.empty(ms, dtype=a.dtype)
        cov = np.empty(cs, dtype=a.dtype)
        call(fn("deconv_cov_compute", a.dtype), plan.handle, ptr(mean), mean.size, ptr(cov), cov.size,
             ptr(a), a.size)
    return result(mean, tensor), result(cov, tensor)


class _CovStats(_Handle):
    _free = LIB.deconv_cov_stats_free


class Stats:
    """An accumulator of covariance statistics over many batches (exact
    pairwise merging, in double precision).

    Takes the geometry keywords of :func:`covariance`; ``channels`` may be
    given up front (needed by :meth:`from_sums` before any update), else it
    is taken from the first batch. ``update(x)`` adds a batch, ``merge(o)``
    adds another accumulator's statistics, ``sums()`` exports them as plain
    sums (which add across replicas) and ``from_sums(v)`` replaces them by
    such sums; ``finalize()`` gives (mean, cov) as :func:`covariance` would
    for all the data at once.
    """

    def __init__(self, kernel_size, stride=1, padding=0, dilation=1, groups=1, block=64, eps=1e-5,
                 sampling_stride=3, grouping="reference", channels=None, dtype="float32"):
        self._geom = _geometry(kernel_size, stride, padding, dilation)
        self._kw = dict(groups=groups, block=block, eps=eps, sampling_stride=sampling_stride,
                        grouping=grouping)
        _cov_params(1, 1, 1, 1, self._geom, **self._kw)  # validates the keywords
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError("dtype must be float32 or float64, got %s" % self.dtype)
        self._channels = None
        self._stats = None
        self._shapes = None
        self._tensor = False
        self._closed = False
        if channels is not None:
            self._init(_positive(channels, "channels"))

    def _plan(self, n, c, h, w):
        return _CovPlan(_create(LIB.deconv_cov_plan_create,
                                _cov_params(n, c, h, w, self._geom, **self._kw)))

    def _init(self, channels):
        g = self._geom
        h = g.dilation_h * (g.kernel_h - 1) + 1
        w = g.dilation_w * (g.kernel_w - 1) + 1
        with self._plan(1, channels, h, w) as plan:
            s = ctypes.c_void_p()
            call(LIB.deconv_cov_stats_create, plan.handle, ctypes.byref(s))
            self._shapes = _cov_shapes(plan.handle)
        self._stats = _CovStats(s)
        self._channels = channels

    def _handle(self):
        if self._closed:
            raise ParameterError("Stats is closed")
        if self._stats is None:
            raise ParameterError("Stats: channels unknown; update() with a batch first or pass channels=")
        return self._stats.handle

    def update(self, x):
        """Adds the statistics of the NCHW batch x; returns self."""
        if self._closed:
            raise ParameterError("Stats is closed")
        a, tensor = to_numpy(x)
        require_rank(a, (4,), "x")
        self._tensor = self._tensor or tensor
        if self._stats is None:
            self._init(a.shape[1])
        with self._plan(*a.shape) as plan:
            call(fn("deconv_cov_stats_accumulate", a.dtype), self._handle(), plan.handle, ptr(a), a.size)
        return self

    def merge(self, other):
        """Adds the statistics of another Stats of the same geometry; returns self."""
        if not isinstance(other, Stats):
            raise ParameterError("merge: expected a Stats, got %s" % type(other).__name__)
        if other._stats is None:
            return self
        if self._stats is None:
            self._init(other._channels)
        call(LIB.deconv_cov_stats_merge, self._handle(), other._handle())
        return self

    @property
    def count(self):
        """The number of samples accumulated into each covariance."""
        if self._stats is None:
            return 0.0
        c = ctypes.c_double()
        call(LIB.deconv_cov_stats_count, self._handle(), ctypes.byref(c))
        return c.value

    def sums(self, ref=None):
        """The statistics as a float64 vector of plain sums about ref (default the
        origin): [n, sum(x-r), sum (x-r)(x-r)^T, ...]. Vectors of disjoint data add."""
        h = self._handle()
        r, rl = self._ref(ref)
        out = np.empty(LIB.deconv_cov_stats_sums_len(h), dtype=np.float64)
        call(LIB.deconv_cov_stats_export, h, r, rl, ptr(out), out.size)
        return out

    def _ref(self, ref):
        if ref is None:
            return null(np.float64), 0
        self._ref_keep = np.asarray(to_numpy(ref, np.float64, "ref")[0]).ravel()
        return ptr(self._ref_keep), self._ref_keep.size

    def from_sums(self, sums, ref=None):
        """Replaces the statistics by those the vector (from :meth:`sums`) describes; returns self."""
        h = self._handle()
        v = to_numpy(sums, np.float64, "sums")[0].ravel()
        r, rl = self._ref(ref)
        call(LIB.deconv_cov_stats_import, h, r, rl, ptr(v), v.size)
        return self

    def reset(self):
        if self._stats is not None:
            call(LIB.deconv_cov_stats_reset, self._handle())
        return self

    def finalize(self):
        """(mean, cov) of everything accumulated; EmptyError when nothing was."""
        h = self._handle()
        ms, cs = self._shapes
        mean = np.empty(ms, dtype=self.dtype)
        cov = np.empty(cs, dtype=self.dtype)
        call(fn("deconv_cov_stats_finalize", self.dtype), h, ptr(mean), mean.size, ptr(cov), cov.size)
        return result(mean, self._tensor), result(cov, self._tensor)

    def close(self):
        self._closed = True
        if self._stats is not None:
            self._stats.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Isqrt(_Handle):
    _free = LIB.deconv_isqrt_free


_NULL64 = null(np.float64)
_ISQRT_CACHE = threading.local()
_ISQRT_CACHE_SIZE = 8


def _isqrt_handle(n, key):
    """A kept handle for n and key (method, iterations, tol), one cache per
    thread (a handle serves one thread at a time): its workspaces are not
    rebuilt on every call."""
    cache = getattr(_ISQRT_CACHE, "handles", None)
    if cache is None:
        cache = _ISQRT_CACHE.handles = collections.OrderedDict()
    key = (n,) + key
    handle = cache.get(key)
    if handle is None:
        cfg = _lib.IsqrtConfig(method=key[1], iterations=key[2], tol=key[3])
        h = ctypes.c_void_p()
        call(LIB.deconv_isqrt_create, n, ctypes.byref(cfg), ctypes.byref(h))
        handle = cache[key] = _Isqrt(h)
        while len(cache) > _ISQRT_CACHE_SIZE:
            cache.popitem(last=False)[1].close()
    else:
        cache.move_to_end(key)
    return handle


_ISQRT_COMPUTE = {"f": LIB.deconv_isqrt_compute_f32, "d": LIB.deconv_isqrt_compute_f64}

# The one-matrix call of the fast path below, typed to take addresses as
# integers (see _lib.raw): handle, dst, dst_len, a, a_len, trace, trace_len,
# result, err.
_VP, _SZ = ctypes.c_void_p, ctypes.c_size_t
_ISQRT_RAW = {np.dtype(np.float32): _lib.raw("deconv_isqrt_compute_f32",
                                             [_VP, _VP, _SZ, _VP, _SZ, _VP, _SZ, _VP, _VP]),
              np.dtype(np.float64): _lib.raw("deconv_isqrt_compute_f64",
                                             [_VP, _VP, _SZ, _VP, _SZ, _VP, _SZ, _VP, _VP])}

# (n_iter, method, tol) as given -> the validated configuration, for the
# fast path: validation is a function of the values alone, so arguments
# equal to ones validated before need no second look. Bounded: cleared
# when it grows past _ISQRT_KEYS_MAX (only arguments that passed enter).
_ISQRT_KEYS = {}
_ISQRT_KEYS_MAX = 64


def _isqrt_config(n_iter, method, tol):
    """(method code, iterations, tol) from isqrt's arguments, validated."""
    n_iter = _positive(n_iter, "n_iter")
    cfg = (_enum(_lib.ISQRT_METHOD, method, "method"), n_iter, 0.0 if tol is None else float(tol))
    if tol is not None and not tol > 0:
        raise ParameterError("tol must be positive, got %r" % (tol,))
    return cfg


def _address(x):
    """The address of the C-contiguous array x's first element."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(x))  # the cheapest way, for writable arrays
    except (TypeError, ValueError):  # read-only
        return x.__array_interface__["data"][0]


def _isqrt_one(x, n_iter, method, tol):
    """isqrt of one C-contiguous, native float32/float64 NumPy matrix
    (n, n), n > 0, without a trace: the call whose cost is mostly the
    binding's own for small n. The checks are the general path's; what it
    saves is their repetition (the configuration is validated once per
    distinct arguments), the typed-pointer conversions and a fresh error
    structure per call (each thread keeps one, which every call rewrites)."""
    try:
        cfg = _ISQRT_KEYS[(n_iter, method, tol)]
    except (KeyError, TypeError):
        cfg = _isqrt_config(n_iter, method, tol)
        try:
            if len(_ISQRT_KEYS) >= _ISQRT_KEYS_MAX:
                _ISQRT_KEYS.clear()
            _ISQRT_KEYS[(n_iter, method, tol)] = cfg
        except TypeError:  # unhashable arguments: validated every time
            pass
    n = x.shape[0]
    handle = _isqrt_handle(n, cfg)
    h = handle.handle
    err = getattr(_ISQRT_CACHE, "err", None)
    if err is None:
        err = _ISQRT_CACHE.err = _lib.Error()
        _ISQRT_CACHE.err_addr = ctypes.addressof(err)
    out = np.empty((n, n), x.dtype)
    nn = n * n
    st = _ISQRT_RAW[x.dtype](h.value, _address(out), nn, _address(x), nn, None, 0, None,
                             _ISQRT_CACHE.err_addr)
    if st:
        _lib.check(st, err)
    return out


def isqrt(a, n_iter=5, method="coupled", tol=None, return_trace=False):
    """The inverse square root of the symmetric positive definite a (..., n, n).

    method "coupled" (the reference's coupled Newton-Schulz iteration with
    Frobenius pre-scaling, computed fast), "coupled_reference" (the same,
    operation for operation as the reference), "uncoupled", or "exact"
    (eigendecomposition). The result is A^(-1/2) of a itself (the scaling
    is undone). tol > 0 stops early at that residual (NotConvergedError if
    never reached within n_iter). return_trace: also return the residual
    ||Z_k Z_k A/c - I||_F of every iterate, shape (..., n_iter + 1), NaN
    where not reached.
    """
    if (type(a) is np.ndarray and not return_trace and a.ndim == 2 and a.dtype in _ISQRT_RAW
            and a.shape[0] == a.shape[1] and a.shape[0] > 0 and a.flags.c_contiguous):
        return _isqrt_one(a, n_iter, method, tol)
    x, tensor = to_numpy(a)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError("a: expected (..., n, n), got shape %s" % (tuple(x.shape),))
    n = x.shape[-1]
    if n == 0:
        raise ShapeError("a: empty matrices")
    cfg = _isqrt_config(n_iter, method, tol)
    batch = x.shape[:-2]
    count = int(np.prod(batch)) if batch else 1
    out = np.empty_like(x)
    h = _isqrt_handle(n, cfg).handle
    if count == 1 and not return_trace:
        # One matrix (the common case, and the one where the binding's own
        # cost shows): x and out are C-contiguous and hold n*n values each.
        call(_ISQRT_COMPUTE[x.dtype.char], h, ptr(out), out.size, ptr(x), x.size, _NULL64, 0, None)
    elif return_trace or count == 1:
        tl = LIB.deconv_isqrt_trace_len(h) if return_trace else 0
        trace = np.full(batch + (tl,), np.nan) if return_trace else None
        flat_x, flat_o = x.reshape(count, n, n), out.reshape(count, n, n)
        compute = fn("deconv_isqrt_compute", x.dtype)
        for i in range(count):
            xi, oi = flat_x[i], flat_o[i]
            if return_trace:
                ti = trace.reshape(count, tl)[i]
                call(compute, h, ptr(oi), oi.size, ptr(xi), xi.size, ptr(ti), tl, None)
            else:
                call(compute, h, ptr(oi), oi.size, ptr(xi), xi.size, _NULL64, 0, None)
    else:
        call(fn("deconv_isqrt_compute_batch", x.dtype), h, count, ptr(out), out.size, ptr(x), x.size)
    if return_trace:
        return result(out, tensor), result(trace, tensor)
    return result(out, tensor)


def _fold_args(weight, bias, mean, deconv, block, groups, grouping, name):
    w, tensor = to_numpy(weight, None, name)
    dt = w.dtype
    b = None if bias is None else to_numpy(bias, dt, "bias")[0]
    m = to_numpy(mean, dt, "mean")[0]
    d = to_numpy(deconv, dt, "deconv")[0]
    require_rank(w, (2, 4), name)
    groups = _positive(groups, "groups")
    block = _positive(block, "block")
    if d.ndim < 2 or d.shape[-1] != d.shape[-2]:
        raise ShapeError("deconv: expected (F, F) or (groups, F, F), got shape %s" % (tuple(d.shape),))
    f = d.shape[-1]
    k = 1 if w.ndim == 2 else w.shape[2] * w.shape[3]
    if f != k * block:
        raise ShapeError("deconv: side %d, but block %d with a %d-position kernel needs %d"
                         % (f, block, k, k * block))
    rows = w.shape[0]
    features = int(np.prod(w.shape[1:]))
    q = d.size // (f * f)
    if q != (groups if groups > 1 else 1):
        raise ShapeError("deconv: %d matrices for %d groups" % (q, groups))
    if m.size != q * f:
        raise ShapeError("mean: %d values, expected %d" % (m.size, q * f))
    if b is not None and b.size != rows:
        raise ShapeError("bias: %d values for %d output rows" % (b.size, rows))
    blocking = _lib.Blocking(features=cint(features, "features"), block=f,
                             grouping=_enum(_lib.GROUPING, grouping, "grouping"))
    return w, b, m, d, rows, blocking, tensor


def fold(weight, bias, mean, deconv, block, groups=1, grouping="reference"):
    """(weight', bias') with the whitening (mean, deconv) folded into the
    weights, as the reference's FastDeconv (4-D weight) or Delinear (2-D
    weight) does: W' = W D blockwise, b' = b - sum W'.mean. block is the
    layer's channel block (for Delinear its feature chunk), so D is
    kh*kw*block square. bias None is a zero bias (the result has one)."""
    w, b, m, d, rows, blocking, tensor = _fold_args(weight, bias, mean, deconv, block, groups,
                                                    grouping, "weight")
    w_out = np.empty_like(w)
    b_out = np.empty(rows, dtype=w.dtype)
    bp, bl = opt_ptr(b, w.dtype)
    call(fn("deconv_fold", w.dtype), ptr(w_out), w_out.size, ptr(b_out), b_out.size, ptr(w), w.size,
         bp, bl, rows, ctypes.byref(blocking), ptr(d), d.size, ptr(m), m.size)
    return result(w_out, tensor), result(b_out, tensor)


def restore(weight, bias, mean, deconv, block, groups=1, grouping="reference"):
    """Undoes :func:`fold`: from folded (weight, bias) gives the original ones
    (bias None gives None). D must be symmetric positive definite."""
    w, b, m, d, rows, blocking, tensor = _fold_args(weight, bias, mean, deconv, block, groups,
                                                    grouping, "weight")
    w_out = np.empty_like(w)
    b_out = None if b is None else np.empty(rows, dtype=w.dtype)
    bop, bol = opt_ptr(b_out, w.dtype)
    bp, bl = opt_ptr(b, w.dtype)
    call(fn("deconv_restore", w.dtype), ptr(w_out), w_out.size, bop, bol, ptr(w), w.size, bp, bl,
         rows, ctypes.byref(blocking), ptr(d), d.size, ptr(m), m.size)
    return result(w_out, tensor), result(b_out, tensor)


# ---- Backward passes (the library's own, not autograd's) ---------------------


def covariance_backward(x, dmean, dcov, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                        block=64, eps=1e-5, sampling_stride=3, grouping="reference"):
    """dx: the gradient with respect to x of a loss whose gradients with
    respect to :func:`covariance`'s (mean, cov) for x (same arguments) are
    dmean and dcov (either may be None: zero)."""
    a, tensor = to_numpy(x)
    require_rank(a, (4,), "x")
    p = _cov_params(*a.shape, _geometry(kernel_size, stride, padding, dilation), groups, block, eps,
                    sampling_stride, grouping)
    with _CovPlan(_create(LIB.deconv_cov_plan_create, p)) as plan:
        ms, cs = _cov_shapes(plan.handle)
        mean = np.empty(ms, dtype=a.dtype)
        cov = np.empty(cs, dtype=a.dtype)
        call(fn("deconv_cov_compute", a.dtype), plan.handle, ptr(mean), mean.size, ptr(cov), cov.size,
             ptr(a), a.size)
        gm = None if dmean is None else to_numpy(dmean, a.dtype, "dmean")[0]
        gc = None if dcov is None else to_numpy(dcov, a.dtype, "dcov")[0]
        for g, want, name in ((gm, ms, "dmean"), (gc, cs, "dcov")):
            if g is not None and g.shape != want:
                raise ShapeError("%s: shape %s, expected %s" % (name, tuple(g.shape), want))
        dx = np.zeros_like(a)
        pm, lm = opt_ptr(gm, a.dtype)
        pc, lc = opt_ptr(gc, a.dtype)
        call(fn("deconv_cov_backward", a.dtype), plan.handle, ptr(dx), dx.size, pm, lm, pc, lc,
             ptr(a), a.size, ptr(mean), mean.size)
    return result(dx, tensor)


def isqrt_backward(a, dd, n_iter=5, method="coupled"):
    """da: the gradient with respect to a (..., n, n) of a loss whose
    gradient with respect to :func:`isqrt` (a, n_iter, method) is dd, as
    reverse-mode differentiation of the iteration itself (not of the exact
    inverse square root it approximates). "coupled_reference" gives
    autograd's gradient of the reference's iteration exactly; "coupled"
    computes with the symmetric part (a + a^T)/2 of its input, so its
    gradient is the symmetric part of that one."""
    x, tensor = to_numpy(a)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2] or x.shape[-1] == 0:
        raise ShapeError("a: expected (..., n, n), got shape %s" % (tuple(x.shape),))
    g = to_numpy(dd, x.dtype, "dd")[0]
    if g.shape != x.shape:
        raise ShapeError("dd: shape %s, a's is %s" % (tuple(g.shape), tuple(x.shape)))
    n = x.shape[-1]
    count = int(np.prod(x.shape[:-2])) if x.ndim > 2 else 1
    cfg = _lib.IsqrtConfig(method=_enum(_lib.ISQRT_METHOD, method, "method"),
                           iterations=_positive(n_iter, "n_iter"), grad=1)
    d = np.empty_like(x)
    da = np.empty_like(x)
    with _Isqrt(_create_isqrt(n, cfg)) as h:
        call(fn("deconv_isqrt_compute_batch", x.dtype), h.handle, count, ptr(d), d.size, ptr(x), x.size)
        call(fn("deconv_isqrt_backward_batch", x.dtype), h.handle, count, ptr(da), da.size, ptr(g),
             g.size)
    return result(da, tensor)


def _create_isqrt(n, cfg):
    h = ctypes.c_void_p()
    call(LIB.deconv_isqrt_create, n, ctypes.byref(cfg), ctypes.byref(h))
    return h


def fold_backward(dweight, dbias, weight, mean, deconv, block, groups=1, grouping="reference"):
    """(dW, db, dmean, ddeconv): the gradients with respect to :func:`fold`'s
    weight, bias, mean and deconv of a loss whose gradients with respect to
    its (weight', bias') are dweight and dbias (None: zero)."""
    w, _, m, d, rows, blocking, tensor = _fold_args(weight, None, mean, deconv, block, groups,
                                                    grouping, "weight")
    gw = to_numpy(dweight, w.dtype, "dweight")[0]
    if gw.shape != w.shape:
        raise ShapeError("dweight: shape %s, weight's is %s" % (tuple(gw.shape), tuple(w.shape)))
    gb = None if dbias is None else to_numpy(dbias, w.dtype, "dbias")[0]
    if gb is not None and gb.size != rows:
        raise ShapeError("dbias: %d values for %d output rows" % (gb.size, rows))
    dw, db = np.empty_like(w), np.empty(rows, dtype=w.dtype)
    dm, dd = np.empty_like(m), np.empty_like(d)
    pb, lb = opt_ptr(gb, w.dtype)
    call(fn("deconv_fold_backward", w.dtype), ptr(dw), dw.size, ptr(db), db.size, ptr(dd), dd.size,
         ptr(dm), dm.size, ptr(gw), gw.size, pb, lb, ptr(w), w.size, rows, ctypes.byref(blocking),
         ptr(d), d.size, ptr(m), m.size)
    return tuple(result(v, tensor) for v in (dw, db, dm, dd))
