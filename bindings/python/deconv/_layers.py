"""The layers: FastDeconv, Delinear, ChannelDeconv and their folded forms."""

import ctypes
import math

import numpy as np

from . import _lib
from ._arrays import cint, is_tensor, null, opt_ptr, ptr, require_rank, result, to_numpy
from ._functional import _enum, _geometry, _Handle, _positive
from ._lib import LIB, call
from .errors import ParameterError, ShapeError


def _dtype(dtype):
    dt = np.dtype(dtype if not hasattr(dtype, "is_floating_point") else str(dtype).split(".")[-1])
    if dt not in (np.float32, np.float64):
        raise ParameterError("dtype must be float32 or float64, got %s" % dt)
    return dt


def _output(out, shape, dtype, user_shape=None):
    """(array to write, what to return): a fresh array, or the caller's out
    (a C-contiguous NumPy array or CPU tensor of the result's shape and dtype,
    written in place and returned as given)."""
    if out is None:
        return np.empty(shape, dtype=dtype), None
    user_shape = shape if user_shape is None else user_shape
    a = out
    if is_tensor(out):
        if out.device.type != "cpu":
            raise ParameterError("out: a tensor on %s; only CPU tensors are accepted" % out.device)
        a = out.detach().numpy()
    if not isinstance(a, np.ndarray):
        raise ParameterError("out: expected a NumPy array or a CPU tensor, got %s" % type(out).__name__)
    if a.dtype != dtype or not a.flags.c_contiguous or not a.flags.writeable:
        raise ParameterError("out: expected a writable C-contiguous %s array" % dtype)
    if a.shape != tuple(user_shape):
        raise ShapeError("out: shape %s, the result's is %s" % (tuple(a.shape), tuple(user_shape)))
    return a.reshape(shape), out


def _grad(want, shape, dtype):
    """(array or None, pointer, length) of a gradient destination: NULL and
    0 (not computed) when not wanted."""
    if not want:
        return None, null(dtype), 0
    a = np.empty(shape, dtype=dtype)
    return a, ptr(a), a.size


def _dy(dy, dtype, shape):
    """dy as a C-contiguous array of dtype, with the output's shape."""
    g = to_numpy(dy, dtype, "dy")[0]
    if g.shape != tuple(shape):
        raise ShapeError("dy: shape %s, the output's is %s" % (tuple(g.shape), tuple(shape)))
    return g


def _init_uniform(rng, shape, fan_in, dtype):
    # torch.nn.Conv2d / Linear's default: kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), +).
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class _Layer(_Handle):
    """Common machinery: named buffers read and written through the C interface."""

    _prefix = None        # "deconv_fastdeconv"
    _buffers = {}         # name -> shape function of self (the reference's shapes)
    _ints = ()            # integer properties kept in the state dict

    def _c(self, what, dtype=None):
        if dtype is None:
            return getattr(LIB, "%s_%s" % (self._prefix, what))
        return getattr(LIB, "%s_%s_%s" % (self._prefix, what, "f64" if dtype == np.float64 else "f32"))

    def _get(self, name):
        n = ctypes.c_size_t()
        call(self._c("len"), self.handle, name.encode(), ctypes.byref(n))
        out = np.empty(n.value, dtype=self.dtype)
        call(self._c("get", self.dtype), self.handle, name.encode(), ptr(out), out.size)
        shape = self._buffers[name](self)
        return out.reshape(shape) if out.size else out

    def _set(self, name, value):
        if value is None:
            if name == "bias":
                raise ParameterError("bias cannot be removed from a layer")
            raise ParameterError("%s cannot be None" % name)
        a = to_numpy(value, self.dtype, name)[0]
        want = self._buffers[name](self)
        if a.size != int(np.prod(want)):
            raise ShapeError("%s: shape %s, expected %s" % (name, tuple(a.shape), tuple(want)))
        call(self._c("set", self.dtype), self.handle, name.encode(), ptr(a), a.size)

    def _get_int(self, name):
        v = ctypes.c_longlong()
        call(self._c("get_int"), self.handle, name.encode(), ctypes.byref(v))
        return v.value

    def _set_int(self, name, value):
        call(self._c("set_int"), self.handle, name.encode(), int(value))

    @property
    def training(self):
        return bool(self._get_int("training"))

    @training.setter
    def training(self, on):
        call(self._c("set_training"), self.handle, 1 if on else 0)

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def _out(self, a, tensor):
        return result(a, tensor)

    def state_dict(self):
        """The reference module's state dict: name -> NumPy array."""
        d = {}
        for name in self._buffers:
            if name == "bias" and not self._has_bias:
                continue
            d[name] = self._get(name)
        for name in self._ints:
            d[name] = np.asarray(self._get_int(name), dtype=np.int64)
        return d

    def load_state_dict(self, state, strict=True):
        """Loads the reference module's state dict (tensors or arrays). With strict,
        missing or unexpected keys are a ParameterError."""
        keys = set(self.state_dict_keys())
        given = set(state)
        if strict and keys != given:
            raise ParameterError("state dict keys: missing %s, unexpected %s"
                                 % (sorted(keys - given), sorted(given - keys)))
        for name in self._buffers:
            if name in state and name in keys:
                self._set(name, state[name])
        for name in self._ints:
            if name in state:
                v = state[name]
                self._set_int(name, int(v.item() if hasattr(v, "item") else v))

    def state_dict_keys(self):
        return [n for n in self._buffers if n != "bias" or self._has_bias] + list(self._ints)


def _buffer_property(name):
    def get(self):
        return self._get(name)

    def set_(self, value):
        self._set(name, value)
    return property(get, set_, doc="The %r buffer, in the reference's shape." % name)


class Conv2d(_Handle):
    """A plain 2-D convolution (cross-correlation, as torch's), immutable:
    what :meth:`FastDeconv.folded` returns. Callable on NCHW x; ``out=`` (a
    C-contiguous array or CPU tensor of the result's shape and dtype) is
    written in place and returned, as for every layer's call."""

    _free = LIB.deconv_conv2d_free

    def __init__(self, handle, out_channels, weight_shape):
        super().__init__(handle)
        self.dtype = np.dtype("float64" if LIB.deconv_conv2d_dtype(handle) == _lib.DTYPE_F64 else "float32")
        self.out_channels = out_channels
        self._wshape = weight_shape

    def _get(self, name, shape):
        n = ctypes.c_size_t()
        call(LIB.deconv_conv2d_len, self.handle, name.encode(), ctypes.byref(n))
        out = np.empty(n.value, dtype=self.dtype)
        call(_lib.fn("deconv_conv2d_get", self.dtype), self.handle, name.encode(), ptr(out), out.size)
        return out.reshape(shape) if out.size else None

    @property
    def weight(self):
        return self._get("weight", self._wshape)

    @property
    def bias(self):
        return self._get("bias", (self.out_channels,))

    def __call__(self, x, out=None):
        a, tensor = to_numpy(x, self.dtype)
        require_rank(a, (4,), "x")
        n, _, h, w = a.shape
        oh, ow = ctypes.c_int(), ctypes.c_int()
        call(LIB.deconv_conv2d_output_size, self.handle, cint(h, "height"), cint(w, "width"),
             ctypes.byref(oh), ctypes.byref(ow))
        out, given = _output(out, (n, self.out_channels, oh.value, ow.value), self.dtype)
        call(_lib.fn("deconv_conv2d_forward", self.dtype), self.handle, ptr(out), out.size, ptr(a),
             a.size, cint(n, "batch"), h, w)
        return given if given is not None else result(out, tensor)

    def backward(self, dy, x, dx=True, dw=True, db=True):
        """(dx, dw, db): the gradients of a loss with respect to x, the
        weight and the bias given dy, its gradient with respect to self(x);
        those not wanted (or the bias of a layer without one) are None."""
        a, tensor = to_numpy(x, self.dtype)
        require_rank(a, (4,), "x")
        n, _, h, w = a.shape
        oh, ow = ctypes.c_int(), ctypes.c_int()
        call(LIB.deconv_conv2d_output_size, self.handle, cint(h, "height"), cint(w, "width"),
             ctypes.byref(oh), ctypes.byref(ow))
        g = _dy(dy, self.dtype, (n, self.out_channels, oh.value, ow.value))
        gx, px, lx = _grad(dx, a.shape, self.dtype)
        gw, pw, lw = _grad(dw, self._wshape, self.dtype)
        nb = ctypes.c_size_t()
        call(LIB.deconv_conv2d_len, self.handle, b"bias", ctypes.byref(nb))
        gb, pb, lb = _grad(db and nb.value > 0, (self.out_channels,), self.dtype)
        call(_lib.fn("deconv_conv2d_backward", self.dtype), self.handle, px, lx, pw, lw, pb, lb,
             ptr(g), g.size, ptr(a), a.size, cint(n, "batch"), h, w)
        return tuple(result(v, tensor) for v in (gx, gw, gb))


class Linear(_Handle):
    """A plain fully-connected layer y = x W^T + b, immutable: what
    :meth:`Delinear.folded` returns."""

    _free = LIB.deconv_linear_free

    def __init__(self, handle, in_features, out_features):
        super().__init__(handle)
        self.dtype = np.dtype("float64" if LIB.deconv_linear_dtype(handle) == _lib.DTYPE_F64 else "float32")
        self.in_features, self.out_features = in_features, out_features

    def _get(self, name, shape):
        n = ctypes.c_size_t()
        call(LIB.deconv_linear_len, self.handle, name.encode(), ctypes.byref(n))
        out = np.empty(n.value, dtype=self.dtype)
        call(_lib.fn("deconv_linear_get", self.dtype), self.handle, name.encode(), ptr(out), out.size)
        return out.reshape(shape) if out.size else None

    @property
    def weight(self):
        return self._get("weight", (self.out_features, self.in_features))

    @property
    def bias(self):
        return self._get("bias", (self.out_features,))

    def __call__(self, x, out=None):
        a, tensor = to_numpy(x, self.dtype)
        lead = a.shape[:-1]
        if a.ndim < 1 or a.shape[-1] != self.in_features:
            raise ShapeError("x: expected (..., %d), got shape %s" % (self.in_features, tuple(a.shape)))
        a2 = a.reshape(-1, self.in_features)
        out, given = _output(out, (a2.shape[0], self.out_features), self.dtype, lead + (self.out_features,))
        call(_lib.fn("deconv_linear_forward", self.dtype), self.handle, ptr(out), out.size, ptr(a2),
             a2.size, cint(a2.shape[0], "batch"))
        return given if given is not None else result(out.reshape(lead + (self.out_features,)), tensor)

    def backward(self, dy, x, dx=True, dw=True, db=True):
        """(dx, dw, db) given dy, as :meth:`Conv2d.backward`."""
        a, tensor = to_numpy(x, self.dtype)
        if a.ndim < 1 or a.shape[-1] != self.in_features:
            raise ShapeError("x: expected (..., %d), got shape %s" % (self.in_features, tuple(a.shape)))
        a2 = a.reshape(-1, self.in_features)
        g = _dy(dy, self.dtype, a.shape[:-1] + (self.out_features,))
        gx, px, lx = _grad(dx, a.shape, self.dtype)
        gw, pw, lw = _grad(dw, (self.out_features, self.in_features), self.dtype)
        nb = ctypes.c_size_t()
        call(LIB.deconv_linear_len, self.handle, b"bias", ctypes.byref(nb))
        gb, pb, lb = _grad(db and nb.value > 0, (self.out_features,), self.dtype)
        call(_lib.fn("deconv_linear_backward", self.dtype), self.handle, px, lx, pw, lw, pb, lb,
             ptr(g), g.size, ptr(a2), a2.size, cint(a2.shape[0], "batch"))
        return tuple(result(v, tensor) for v in (gx, gw, gb))


class FastDeconv(_Layer):
    """The reference's FastDeconv layer (a convolution that deconvolves its input).

    Weight and bias start as torch.nn.Conv2d's defaults (drawn with NumPy,
    seeded by ``seed``); assign ``weight``/``bias`` or use load_state_dict to
    take a trained module's. ``grouping="contiguous"`` blocks channels
    contiguously instead of the reference's interleaving.
    """

    _prefix = "deconv_fastdeconv"
    _free = LIB.deconv_fastdeconv_free
    _buffers = {
        "weight": lambda s: (s.out_channels, s.in_channels // s.groups) + s.kernel_size,
        "bias": lambda s: (s.out_channels,),
        "running_mean": lambda s: (s.num_features,) if s.groups == 1 else (s.groups * s.num_features,),
        "running_deconv": lambda s: ((s.num_features, s.num_features) if s.groups == 1
                                     else (s.groups, s.num_features, s.num_features)),
    }

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, eps=1e-5, n_iter=5, momentum=0.1, block=64, sampling_stride=3,
                 freeze=False, freeze_iter=100, dtype="float32", grouping="reference", seed=None):
        self._h = None
        self.dtype = _dtype(dtype)
        geom = _geometry(kernel_size, stride, padding, dilation)
        self.in_channels = _positive(in_channels, "in_channels")
        self.out_channels = _positive(out_channels, "out_channels")
        self.groups = _positive(groups, "groups")
        self.kernel_size = (geom.kernel_h, geom.kernel_w)
        self.stride = (geom.stride_h, geom.stride_w)
        self.padding = (geom.pad_h, geom.pad_w)
        self.dilation = (geom.dilation_h, geom.dilation_w)
        self._has_bias = bool(bias)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ParameterError("groups=%d must divide in_channels=%d and out_channels=%d"
                                 % (self.groups, self.in_channels, self.out_channels))
        cfg = _lib.FastDeconvConfig(
            in_channels=cint(in_channels, "in_channels"), out_channels=cint(out_channels, "out_channels"),
            geometry=geom, groups=self.groups, bias=int(self._has_bias), eps=float(eps),
            n_iter=cint(n_iter, "n_iter"), momentum=float(momentum), block=cint(block, "block"),
            sampling_stride=cint(sampling_stride, "sampling_stride"), freeze=int(bool(freeze)),
            freeze_iter=cint(freeze_iter, "freeze_iter"),
            grouping=_enum(_lib.GROUPING, grouping, "grouping"))
        fan_in = self.in_channels // self.groups * geom.kernel_h * geom.kernel_w
        rng = np.random.default_rng(seed)
        w = _init_uniform(rng, (self.out_channels, fan_in), fan_in, self.dtype)
        b = _init_uniform(rng, (self.out_channels,), fan_in, self.dtype) if self._has_bias else None
        bp, bl = opt_ptr(b, self.dtype)
        h = ctypes.c_void_p()
        call(self._c("create", self.dtype), ctypes.byref(cfg), ptr(w), w.size, bp, bl, ctypes.byref(h))
        self._h = h
        self.eps, self.n_iter, self.momentum = float(eps), int(n_iter), float(momentum)
        self.sampling_stride, self.freeze, self.freeze_iter = int(sampling_stride), bool(freeze), int(freeze_iter)
        self.grouping = grouping
        self.block = self._get_int("block")
        self.num_features = self._get_int("num_features")

    weight = _buffer_property("weight")
    bias = property(lambda s: s._get("bias") if s._has_bias else None,
                    lambda s, v: s._set("bias", v), doc="The bias (None without one).")
    running_mean = _buffer_property("running_mean")
    running_deconv = _buffer_property("running_deconv")

    @property
    def counter(self):
        """The freeze counter (training forwards, modulo 10*freeze_iter)."""
        return self._get_int("counter")

    @counter.setter
    def counter(self, v):
        self._set_int("counter", v)

    def __call__(self, x, out=None):
        a, tensor = to_numpy(x, self.dtype)
        require_rank(a, (4,), "x")
        n, c, h, w = a.shape
        if c != self.in_channels:
            raise ShapeError("x: %d channels, the layer takes %d" % (c, self.in_channels))
        oh, ow = ctypes.c_int(), ctypes.c_int()
        call(self._c("output_size"), self.handle, cint(h, "height"), cint(w, "width"),
             ctypes.byref(oh), ctypes.byref(ow))
        out, given = _output(out, (n, self.out_channels, oh.value, ow.value), self.dtype)
        call(self._c("forward", self.dtype), self.handle, ptr(out), out.size, ptr(a), a.size,
             cint(n, "batch"), h, w)
        return given if given is not None else result(out, tensor)

    forward = __call__

    def backward(self, dy, x, dx=True, dw=True, db=True):
        """(dx, dw, db): the gradients of a loss with respect to x, the
        weight and the bias, given dy, its gradient with respect to the
        output of the layer's last forward, which must have been on this x
        (in training mode through the batch statistics, as autograd of the
        reference; in evaluation mode or frozen with the running buffers as
        constants). Those not wanted (or the bias of a layer without one)
        are None. The layer keeps no other forward's state: see deconv.nn
        for several forwards in flight."""
        a, tensor = to_numpy(x, self.dtype)
        require_rank(a, (4,), "x")
        n, c, h, w = a.shape
        if c != self.in_channels:
            raise ShapeError("x: %d channels, the layer takes %d" % (c, self.in_channels))
        oh, ow = ctypes.c_int(), ctypes.c_int()
        call(self._c("output_size"), self.handle, cint(h, "height"), cint(w, "width"),
             ctypes.byref(oh), ctypes.byref(ow))
        g = _dy(dy, self.dtype, (n, self.out_channels, oh.value, ow.value))
        gx, px, lx = _grad(dx, a.shape, self.dtype)
        gw, pw, lw = _grad(dw, self._buffers["weight"](self), self.dtype)
        gb, pb, lb = _grad(db and self._has_bias, (self.out_channels,), self.dtype)
        call(self._c("backward", self.dtype), self.handle, px, lx, pw, lw, pb, lb, ptr(g), g.size,
             ptr(a), a.size, cint(n, "batch"), h, w)
        return tuple(result(v, tensor) for v in (gx, gw, gb))

    def folded(self):
        """A :class:`Conv2d` computing what this layer computes in evaluation mode."""
        h = ctypes.c_void_p()
        call(self._c("folded"), self.handle, ctypes.byref(h))
        return Conv2d(h, self.out_channels, self._buffers["weight"](self))


class Delinear(_Layer):
    """The reference's Delinear layer (a fully-connected layer whose input is
    whitened in chunks of ``block`` features)."""

    _prefix = "deconv_delinear"
    _free = LIB.deconv_delinear_free
    _buffers = {
        "weight": lambda s: (s.out_features, s.in_features),
        "bias": lambda s: (s.out_features,),
        "running_mean": lambda s: (s.block,),
        "running_deconv": lambda s: (s.block, s.block),
    }

    def __init__(self, in_features, out_features, bias=True, eps=1e-5, n_iter=5, momentum=0.1,
                 block=512, dtype="float32", seed=None):
        self._h = None
        self.dtype = _dtype(dtype)
        self.in_features = _positive(in_features, "in_features")
        self.out_features = _positive(out_features, "out_features")
        self._has_bias = bool(bias)
        cfg = _lib.DelinearConfig(in_features=cint(in_features, "in_features"),
                                  out_features=cint(out_features, "out_features"),
                                  bias=int(self._has_bias), eps=float(eps), n_iter=cint(n_iter, "n_iter"),
                                  momentum=float(momentum), block=_positive(block, "block"))
        rng = np.random.default_rng(seed)
        w = _init_uniform(rng, (self.out_features, self.in_features), self.in_features, self.dtype)
        b = _init_uniform(rng, (self.out_features,), self.in_features, self.dtype) if self._has_bias else None
        bp, bl = opt_ptr(b, self.dtype)
        h = ctypes.c_void_p()
        call(self._c("create", self.dtype), ctypes.byref(cfg), ptr(w), w.size, bp, bl, ctypes.byref(h))
        self._h = h
        self.eps, self.n_iter, self.momentum = float(eps), int(n_iter), float(momentum)
        self.block = self._get_int("block")

    weight = _buffer_property("weight")
    bias = property(lambda s: s._get("bias") if s._has_bias else None,
                    lambda s, v: s._set("bias", v), doc="The bias (None without one).")
    running_mean = _buffer_property("running_mean")
    running_deconv = _buffer_property("running_deconv")

    def __call__(self, x, out=None):
        a, tensor = to_numpy(x, self.dtype)
        if a.ndim < 1 or a.shape[-1] != self.in_features:
            raise ShapeError("x: expected (..., %d), got shape %s" % (self.in_features, tuple(a.shape)))
        lead = a.shape[:-1]
        a2 = a.reshape(-1, self.in_features)
        out, given = _output(out, (a2.shape[0], self.out_features), self.dtype, lead + (self.out_features,))
        call(self._c("forward", self.dtype), self.handle, ptr(out), out.size, ptr(a2), a2.size,
             cint(a2.shape[0], "batch"))
        return given if given is not None else result(out.reshape(lead + (self.out_features,)), tensor)

    forward = __call__

    def backward(self, dy, x, dx=True, dw=True, db=True):
        """(dx, dw, db) of the layer's last forward on x, as
        :meth:`FastDeconv.backward`."""
        a, tensor = to_numpy(x, self.dtype)
        if a.ndim < 1 or a.shape[-1] != self.in_features:
            raise ShapeError("x: expected (..., %d), got shape %s" % (self.in_features, tuple(a.shape)))
        a2 = a.reshape(-1, self.in_features)
        g = _dy(dy, self.dtype, a.shape[:-1] + (self.out_features,))
        gx, px, lx = _grad(dx, a.shape, self.dtype)
        gw, pw, lw = _grad(dw, (self.out_features, self.in_features), self.dtype)
        gb, pb, lb = _grad(db and self._has_bias, (self.out_features,), self.dtype)
        call(self._c("backward", self.dtype), self.handle, px, lx, pw, lw, pb, lb, ptr(g), g.size,
             ptr(a2), a2.size, cint(a2.shape[0], "batch"))
        return tuple(result(v, tensor) for v in (gx, gw, gb))

    def folded(self):
        """A :class:`Linear` computing what this layer computes in evaluation mode."""
        h = ctypes.c_void_p()
        call(self._c("folded"), self.handle, ctypes.byref(h))
        return Linear(h, self.in_features, self.out_features)


class ChannelDeconv(_Layer):
    """The reference's ChannelDeconv (channel whitening, no weights).

    ``uncentred=True`` reproduces the reference's uncentred covariance (its
    quirk); the default centres it.
    """

    _prefix = "deconv_channeldeconv"
    _free = LIB.deconv_channeldeconv_free
    _buffers = {
        "running_mean1": lambda s: (s.block, 1),
        "running_deconv": lambda s: (s.block, s.block),
        "running_mean2": lambda s: (1, 1),
        "running_var": lambda s: (1, 1),
    }
    _ints = ("num_batches_tracked",)
    _has_bias = False

    def __init__(self, block, eps=1e-2, n_iter=5, momentum=0.1, sampling_stride=3, dtype="float32",
                 uncentred=False):
        self._h = None
        self.dtype = _dtype(dtype)
        cfg = _lib.ChannelDeconvConfig(block=_positive(block, "block"), eps=float(eps),
                                       n_iter=cint(n_iter, "n_iter"), momentum=float(momentum),
                                       sampling_stride=cint(sampling_stride, "sampling_stride"),
                                       uncentred=int(bool(uncentred)))
        h = ctypes.c_void_p()
        call(self._c("create", self.dtype), ctypes.byref(cfg), ctypes.byref(h))
        self._h = h
        self.block = int(block)
        self.eps, self.n_iter, self.momentum = float(eps), int(n_iter), float(momentum)
        self.sampling_stride, self.uncentred = int(sampling_stride), bool(uncentred)

    running_mean1 = _buffer_property("running_mean1")
    running_deconv = _buffer_property("running_deconv")
    running_mean2 = _buffer_property("running_mean2")
    running_var = _buffer_property("running_var")

    @property
    def num_batches_tracked(self):
        return self._get_int("num_batches_tracked")

    def __call__(self, x):
        a, tensor = to_numpy(x, self.dtype)
        require_rank(a, (2, 4), "x")
        shape = a.shape
        n, c, h, w = shape if a.ndim == 4 else shape + (1, 1)
        out = np.empty(shape, dtype=self.dtype)
        call(self._c("forward", self.dtype), self.handle, ptr(out), out.size, ptr(a), a.size,
             cint(n, "batch"), cint(c, "channels"), cint(h, "height"), cint(w, "width"))
        return result(out, tensor)

    forward = __call__

    def backward(self, dy, x):
        """dx: the gradient with respect to x of a loss whose gradient with
        respect to the output of the layer's last forward (on this x) is dy,
        as :meth:`FastDeconv.backward`."""
        a, tensor = to_numpy(x, self.dtype)
        require_rank(a, (2, 4), "x")
        n, c, h, w = a.shape if a.ndim == 4 else a.shape + (1, 1)
        g = _dy(dy, self.dtype, a.shape)
        out = np.empty(a.shape, dtype=self.dtype)
        call(self._c("backward", self.dtype), self.handle, ptr(out), out.size, ptr(g), g.size,
             ptr(a), a.size, cint(n, "batch"), cint(c, "channels"), cint(h, "height"),
             cint(w, "width"))
        return result(out, tensor)
