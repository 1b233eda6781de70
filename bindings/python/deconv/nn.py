"""deconv.nn: the reference's layers as torch.nn.Modules that train on libdeconv.

``FastDeconv``, ``Delinear`` and ``ChannelDeconv`` take the constructor
arguments of the binding's classes (deconv.FastDeconv, ...), hold ``weight``
and ``bias`` as ``nn.Parameter`` and the running statistics as registered
buffers under the reference's names and shapes, so a state_dict of the
reference's modules loads into them and back. They follow ``.float()`` /
``.double()`` (the library computes in the module's dtype), ``train()`` /
``eval()``, and their forward and backward run in the library: a
``torch.autograd.Function`` calls the layer's forward, and its backward
calls the library's backward (in training through the batch statistics,
exactly as autograd of the reference; in evaluation or frozen with the
running buffers as constants). CPU tensors only.

State. The torch tensors are the truth: before a forward the weight and
bias are copied into the library's layer, and every running buffer whose
values differ from what the library holds (after load_state_dict, an
edit in place or through ``.data``) too; after a training forward the
library's updated running statistics are copied back into the buffers (in
place, so references to them stay valid).

Several forwards before a backward. The library's layer keeps the saved
state of its last forward only. Each autograd call records which forward
it was; when its backward comes after another forward of the same module
(a module applied twice in one graph, or a second batch run before the
first's backward), it replays its own forward on a private copy of the
library layer, rebuilt from the weights and running buffers that forward
saw (saved with it), and differentiates that. The result is the same;
only the time of one extra forward is spent. Gradients through the
module's input, weight and bias are what autograd gets; the running
buffers are not differentiated (as in the reference, where they are
updated under no_grad).
"""

import numpy as np
import torch
from torch import nn

from . import _layers
from .errors import ParameterError, ShapeError

__all__ = ["FastDeconv", "Delinear", "ChannelDeconv"]

_NP = {torch.float32: "float32", torch.float64: "float64"}


def _dtype_arg(dtype):
    """A torch floating dtype from None (the default dtype), a torch dtype or a name."""
    if dtype is None:
        return torch.get_default_dtype()
    if isinstance(dtype, torch.dtype):
        dt = dtype
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
        dt = {"float32": torch.float32, "float64": torch.float64}.get(name)
    if dt not in _NP:
        raise ParameterError("dtype must be float32 or float64, got %r" % (dtype,))
    return dt


def _check_input(x, dtype, what):
    if dtype not in _NP:
        raise ParameterError("the module is %s; the library computes in float32 or float64 (use "
                             ".float() or .double())" % dtype)
    if not isinstance(x, torch.Tensor):
        raise ParameterError("%s: expected a torch.Tensor, got %s" % (what, type(x).__name__))
    if x.device.type != "cpu":
        raise ParameterError("%s: a tensor on %s; only CPU tensors are accepted" % (what, x.device))
    if x.dtype != dtype:
        raise ParameterError("%s: dtype %s, the module computes in %s (convert the input, or the "
                             "module with .float() / .double())" % (what, x.dtype, dtype))


def _np(t):
    """A tensor's values as a NumPy array (shared memory when contiguous)."""
    return t.detach().contiguous().numpy()


class _LibraryFunction(torch.autograd.Function):
    """One forward of a module through its library layer, and its backward."""

    @staticmethod
    def forward(ctx, module, x, weight, bias):
        snapshot = module._snapshot()
        y = module._lib_forward(x, weight, bias)
        ctx.module, ctx.token, ctx.snapshot = module, module._token, snapshot
        ctx.save_for_backward(x, weight, bias)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable  # the library's backward is not itself differentiable
    def backward(ctx, dy):
        x, weight, bias = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx, dw, db = ctx.module._lib_backward(ctx, dy, x, weight, bias, need[1], need[2], need[3])
        return None, dx, dw, db


class _Module(nn.Module):
    """What the three modules share: the library layer, kept in step with the
    module's dtype, parameters, buffers and mode."""

    _names = ()      # buffers and parameters mirrored in the library layer
    _int_state = ()  # (module attribute or buffer, library integer property)

    def _init_library(self):
        self._lib = None
        self._seen = {}   # buffer name -> a copy of the values the library holds
        self._token = 0   # forwards run by the library layer, for backward's check

    # -- the library layer ------------------------------------------------

    def _module_dtype(self):
        raise NotImplementedError

    def _make_layer(self, dtype):
        """A fresh binding layer of this module's configuration."""
        raise NotImplementedError

    def _tensors(self, weight, bias):
        """name -> the tensor the library layer must hold: the weight and bias
        a forward was given, and the module's buffers."""
        out = {}
        for name in self._names:
            t = weight if name == "weight" else bias if name == "bias" else getattr(self, name)
            if t is not None:
                out[name] = t
        return out

    def _ints(self):
        return {prop: int(getattr(self, attr)) for attr, prop in self._int_state}

    def _layer(self, weight, bias):
        """The library layer, created or rebuilt for the module's dtype, with
        every parameter and buffer changed since copied in."""
        dt = self._module_dtype()
        if self._lib is None or self._lib.dtype != np.dtype(_NP[dt]):
            self._lib = self._make_layer(_NP[dt])
            self._seen = {}
        lib = self._lib
        for name, t in self._tensors(weight, bias).items():
            v = _np(t)
            if name in ("weight", "bias"):
                lib._set(name, v)  # changes every step; nothing to save by comparing
                continue
            # Buffers: compared by value (an edit through .data leaves no
            # version behind), set only when changed: the library checks a
            # deconvolution matrix it is given (a factorization).
            seen = self._seen.get(name)
            if seen is None or seen.shape != v.shape or not np.array_equal(seen, v):
                lib._set(name, v)
                self._seen[name] = v.copy()
        for prop, v in self._ints().items():
            if lib._get_int(prop) != v:
                lib._set_int(prop, v)
        if lib.training != self.training:
            lib.training = self.training
        return lib

    def _pull(self, lib):
        """Copies the library's running statistics back into the buffers
        after a training forward."""
        with torch.no_grad():
            for name in self._buffer_names:
                t = getattr(self, name)
                v = lib._get(name)
                t.copy_(torch.from_numpy(v).reshape(t.shape))
                self._seen[name] = _np(t).copy()
        for attr, prop in self._int_state:
            v = lib._get_int(prop)
            cur = getattr(self, attr)
            if isinstance(cur, torch.Tensor):
                cur.fill_(v)
            else:
                setattr(self, attr, v)

    def _snapshot(self):
        """What a replay of the coming forward needs: the running buffers and
        integer state before it (the parameters are saved by autograd)."""
        return ({name: getattr(self, name).detach().clone() for name in self._buffer_names},
                self._ints(), self.training)

    def _lib_forward(self, x, weight, bias):
        lib = self._layer(weight, bias)
        y = self._call_layer(lib, x)
        self._token += 1
        if self.training:
            self._pull(lib)
        return torch.from_numpy(np.ascontiguousarray(y))

    def _replay_layer(self, ctx, x, weight, bias):
        """A private library layer that has run ctx's forward again."""
        buffers, ints, training = ctx.snapshot
        lib = self._make_layer(_NP[x.dtype])
        if weight is not None:
            lib._set("weight", _np(weight))
        if bias is not None:
            lib._set("bias", _np(bias))
        for name, t in buffers.items():
            lib._set(name, _np(t))
        for prop, v in ints.items():
            lib._set_int(prop, v)
        lib.training = training
        self._call_layer(lib, x)
        return lib

    def _lib_backward(self, ctx, dy, x, weight, bias, need_dx, need_dw, need_db):
        lib = self._lib
        if ctx.token != self._token or lib is None or lib.dtype != np.dtype(_NP[x.dtype]):
            lib = self._replay_layer(ctx, x, weight, bias)
        grads = self._call_backward(lib, _np(dy), x, need_dx, need_dw, need_db)
        return tuple(None if g is None else torch.from_numpy(np.ascontiguousarray(g)) for g in grads)

    def _apply_function(self, x, weight, bias):
        if torch.is_grad_enabled() and (x.requires_grad or any(
                p is not None and p.requires_grad for p in (weight, bias))):
            return _LibraryFunction.apply(self, x, weight, bias)
        return self._lib_forward(x, weight, bias)

    def __getstate__(self):
        # The library layer is a C handle: copies and pickles leave it out
        # and make their own from the tensors at their first forward.
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        state["_lib"], state["_seen"], state["_token"] = None, {}, 0
        return state

    def __setstate__(self, state):
        super().__setstate__(state)

    def _apply(self, fn):
        # .float(), .double(), .to(): the tensors are replaced, so the library
        # layer must take them all again (and is rebuilt for a new dtype).
        out = super()._apply(fn)
        self._seen = {}
        return out


class FastDeconv(_Module, nn.Conv2d):
    """The reference's FastDeconv as a trainable torch module on libdeconv.

    Arguments as :class:`deconv.FastDeconv` (dtype None: torch's default
    dtype; seed: the weights' initialisation, torch.nn.Conv2d's, drawn from a
    generator seeded so); ``weight``, ``bias`` parameters, ``running_mean``,
    ``running_deconv`` buffers and the ``counter`` attribute as the
    reference's module.
    """

    _names = ("weight", "bias", "running_mean", "running_deconv")
    _buffer_names = ("running_mean", "running_deconv")
    _int_state = (("counter", "counter"),)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, eps=1e-5, n_iter=5, momentum=0.1, block=64, sampling_stride=3,
                 freeze=False, freeze_iter=100, dtype=None, grouping="reference", seed=None):
        dt = _dtype_arg(dtype)
        config = dict(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
                      stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias,
                      eps=eps, n_iter=n_iter, momentum=momentum, block=block,
                      sampling_stride=sampling_stride, freeze=freeze, freeze_iter=freeze_iter,
                      grouping=grouping)
        # The library checks the configuration first: a bad one is a DeconvError.
        lib = _layers.FastDeconv(dtype=_NP[dt], **config)
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                           groups, bias, dtype=dt)
        if seed is not None:
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                self.reset_parameters()
        self._config = config
        self._init_library()
        self.eps, self.n_iter, self.momentum = float(eps), int(n_iter), float(momentum)
        self.block, self.num_features = lib.block, lib.num_features
        self.sampling_stride = int(sampling_stride) * self.stride[0]
        self.freeze, self.freeze_iter, self.counter = bool(freeze), int(freeze_iter), 0
        self.grouping = grouping
        self.register_buffer("running_mean", torch.from_numpy(lib.running_mean.copy()).to(dt))
        self.register_buffer("running_deconv", torch.from_numpy(lib.running_deconv.copy()).to(dt))
        self._lib = lib

    def _module_dtype(self):
        return self.weight.dtype

    def _make_layer(self, dtype):
        return _layers.FastDeconv(dtype=dtype, **self._config)

    def _call_layer(self, lib, x):
        return lib(_np(x))

    def _call_backward(self, lib, dy, x, need_dx, need_dw, need_db):
        return lib.backward(dy, _np(x), need_dx, need_dw, need_db)

    def forward(self, x):
        _check_input(x, self._module_dtype(), "x")
        if x.dim() != 4:
            raise ShapeError("x: expected (N, C, H, W), got shape %s" % (tuple(x.shape),))
        return self._apply_function(x, self.weight, self.bias)

    def extra_repr(self):
        return nn.Conv2d.extra_repr(self) + ", block={}, eps={}, n_iter={}, momentum={}, " \
            "sampling_stride={}".format(self.block, self.eps, self.n_iter, self.momentum,
                                        self._config["sampling_stride"])


class Delinear(_Module, nn.Linear):
    """The reference's Delinear as a trainable torch module on libdeconv.

    Arguments as :class:`deconv.Delinear`; ``weight``, ``bias``,
    ``running_mean`` (block), ``running_deconv`` (block x block) as the
    reference's module. Inputs (..., in_features).
    """

    _names = ("weight", "bias", "running_mean", "running_deconv")
    _buffer_names = ("running_mean", "running_deconv")

    def __init__(self, in_features, out_features, bias=True, eps=1e-5, n_iter=5, momentum=0.1,
                 block=512, dtype=None, seed=None):
        dt = _dtype_arg(dtype)
        config = dict(in_features=in_features, out_features=out_features, bias=bias, eps=eps,
                      n_iter=n_iter, momentum=momentum, block=block)
        lib = _layers.Delinear(dtype=_NP[dt], **config)
        nn.Linear.__init__(self, in_features, out_features, bias, dtype=dt)
        if seed is not None:
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                self.reset_parameters()
        self._config = config
        self._init_library()
        self.eps, self.n_iter, self.momentum, self.block = float(eps), int(n_iter), float(momentum), lib.block
        self.register_buffer("running_mean", torch.from_numpy(lib.running_mean.copy()).to(dt))
        self.register_buffer("running_deconv", torch.from_numpy(lib.running_deconv.copy()).to(dt))
        self._lib = lib

    def _module_dtype(self):
        return self.weight.dtype

    def _make_layer(self, dtype):
        return _layers.Delinear(dtype=dtype, **self._config)

    def _call_layer(self, lib, x):
        return lib(_np(x))

    def _call_backward(self, lib, dy, x, need_dx, need_dw, need_db):
        return lib.backward(dy, _np(x), need_dx, need_dw, need_db)

    def forward(self, x):
        _check_input(x, self._module_dtype(), "x")
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ShapeError("x: expected (..., %d), got shape %s" % (self.in_features, tuple(x.shape)))
        return self._apply_function(x, self.weight, self.bias)

    def extra_repr(self):
        return nn.Linear.extra_repr(self) + ", block={}, eps={}, n_iter={}, momentum={}".format(
            self.block, self.eps, self.n_iter, self.momentum)


class ChannelDeconv(_Module):
    """The reference's ChannelDeconv (channel whitening, no weights) as a
    torch module on libdeconv.

    Arguments as :class:`deconv.ChannelDeconv` (``uncentred=True`` is the
    reference's uncentred covariance; the default centres it); buffers
    ``running_mean1`` (block x 1), ``running_deconv``, ``running_mean2``,
    ``running_var`` (1 x 1) and ``num_batches_tracked`` as the reference's
    module. Inputs (N, C, H, W) or (N, C).
    """

    _names = ("running_mean1", "running_deconv", "running_mean2", "running_var")
    _buffer_names = _names
    _int_state = (("num_batches_tracked", "num_batches_tracked"),)

    def __init__(self, block, eps=1e-2, n_iter=5, momentum=0.1, sampling_stride=3, dtype=None,
                 uncentred=False):
        super().__init__()
        dt = _dtype_arg(dtype)
        self._config = dict(block=block, eps=eps, n_iter=n_iter, momentum=momentum,
                            sampling_stride=sampling_stride, uncentred=uncentred)
        self._init_library()
        lib = self._make_layer(_NP[dt])
        self.block, self.eps, self.n_iter, self.momentum = int(block), float(eps), int(n_iter), float(momentum)
        self.sampling_stride, self.uncentred = int(sampling_stride), bool(uncentred)
        for name in self._names:
            self.register_buffer(name, torch.from_numpy(np.array(lib._get(name))).to(dt))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self._lib = lib

    def _module_dtype(self):
        return self.running_deconv.dtype

    def _make_layer(self, dtype):
        return _layers.ChannelDeconv(dtype=dtype, **self._config)

    def _call_layer(self, lib, x):
        return lib(_np(x))

    def _call_backward(self, lib, dy, x, need_dx, need_dw, need_db):
        return (lib.backward(dy, _np(x)) if need_dx else None), None, None

    def forward(self, x):
        _check_input(x, self._module_dtype(), "x")
        if x.dim() not in (2, 4):
            raise ShapeError("x: expected (N, C, H, W) or (N, C), got shape %s" % (tuple(x.shape),))
        return self._apply_function(x, None, None)

    def extra_repr(self):
        return "block={}, eps={}, n_iter={}, momentum={}, sampling_stride={}{}".format(
            self.block, self.eps, self.n_iter, self.momentum, self.sampling_stride,
            ", uncentred=True" if self.uncentred else "")
