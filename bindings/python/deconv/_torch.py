"""torch_fold: a model trained with the reference's modules, converted for
deployment to plain torch.nn.Conv2d / torch.nn.Linear layers.

The reference's modules are recognised by class name and buffers, without
importing the reference: FastDeconv (a convolution with ``running_mean`` and
``running_deconv``), Delinear (the same for a fully-connected layer) and
ChannelDeconv (``running_mean1``, ``running_deconv``, ``running_mean2``,
``running_var``, no weights). Their evaluation-mode computation is folded
into the weights in float64 (this library's :func:`deconv.fold`) and cast
back to the module's dtype.
"""

import copy

import numpy as np

from ._functional import fold
from .errors import ParameterError

_FASTDECONV = ("running_mean", "running_deconv")
_CHANNEL = ("running_mean1", "running_deconv", "running_mean2", "running_var")


def _has(m, names):
    buffers = dict(m.named_buffers(recurse=False))
    return all(n in buffers for n in names)


def _kind(m):
    name = type(m).__name__
    w = getattr(m, "weight", None)
    if name == "FastDeconv" and _has(m, _FASTDECONV) and w is not None and w.dim() == 4:
        return "fastdeconv"
    if name == "Delinear" and _has(m, _FASTDECONV) and w is not None and w.dim() == 2:
        return "delinear"
    if name == "ChannelDeconv" and _has(m, _CHANNEL):
        return "channel"
    return None


def _np64(t):
    return None if t is None else t.detach().cpu().to(dtype=_torch().float64).numpy()


def _torch():
    import torch
    return torch


def _tensor(a, like):
    return _torch().from_numpy(np.ascontiguousarray(a)).to(dtype=like.dtype, device=like.device)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _fold_fastdeconv(m):
    nn = _torch().nn
    w = m.weight
    kh, kw = w.shape[2], w.shape[3]
    d = m.running_deconv
    block = d.shape[-1] // (kh * kw)
    groups = int(getattr(m, "groups", 1))
    wf, bf = fold(_np64(w), _np64(m.bias), _np64(m.running_mean), _np64(d), block, groups)
    conv = nn.Conv2d(int(getattr(m, "in_channels", w.shape[1] * groups)), w.shape[0], (kh, kw),
                     stride=_pair(getattr(m, "stride", 1)), padding=getattr(m, "padding", 0),
                     dilation=_pair(getattr(m, "dilation", 1)), groups=groups, bias=True,
                     padding_mode=getattr(m, "padding_mode", "zeros"), device=w.device, dtype=w.dtype)
    with _torch().no_grad():
        conv.weight.copy_(_tensor(wf, w))
        conv.bias.copy_(_tensor(bf, w))
    conv.train(m.training)
    return conv


def _fold_delinear(m):
    nn = _torch().nn
    w = m.weight
    d = m.running_deconv
    wf, bf = fold(_np64(w), _np64(m.bias), _np64(m.running_mean), _np64(d), d.shape[-1],
                  grouping="contiguous")  # Delinear cuts each row into contiguous chunks
    lin = nn.Linear(w.shape[1], w.shape[0], bias=True, device=w.device, dtype=w.dtype)
    with _torch().no_grad():
        lin.weight.copy_(_tensor(wf, w))
        lin.bias.copy_(_tensor(bf, w))
    lin.train(m.training)
    return lin


def _channel_affine(m, channels):
    """(A, a0), float64: the ChannelDeconv's evaluation map y = A x + a0 on C channels."""
    d = _np64(m.running_deconv)
    b = d.shape[0]
    c = channels // b * b
    if c == 0:
        raise ParameterError("ChannelDeconv: %d channels, fewer than its block %d" % (channels, b))
    g = c // b
    a = np.zeros((channels, channels))
    # the first c channels: feature r is channels r*g .. r*g+g-1, so the map is D (x) I_g
    a[:c, :c] = np.kron(d, np.eye(g))
    mu = np.empty(channels)
    mu[:c] = np.repeat(_np64(m.running_mean1).ravel(), g)
    if c < channels:
        eps = float(getattr(m, "eps", 1e-2))
        s = 1.0 / np.sqrt(_np64(m.running_var).item() + eps)
        a[c:, c:] = s * np.eye(channels - c)
        mu[c:] = _np64(m.running_mean2).item()
    return a, -a @ mu


def _channel_count(m, nxt):
    if nxt is not None:
        w = nxt.weight
        return w.shape[1] * (getattr(nxt, "groups", 1) if w.dim() == 4 else 1)
    return None


_POINTWISE = []


def _pointwise_class():
    """Pointwise: a 1x1 nn.Conv2d that also takes (N, C) input, as (N, C, 1, 1)
    (what the reference's ChannelDeconv does with 2-D input). Defined when
    torch is first needed; the module's __getattr__ gives it by name, so a
    saved model that holds one loads again."""
    if not _POINTWISE:
        nn = _torch().nn

        class Pointwise(nn.Conv2d):
            """A fixed 1x1 convolution y = A x + a0 per pixel, for (N, C, H, W)
            and (N, C) input alike."""

            def forward(self, x):
                if x.dim() == 2:
                    return super().forward(x[:, :, None, None]).flatten(1)
                return super().forward(x)

        Pointwise.__module__ = __name__
        Pointwise.__qualname__ = "Pointwise"
        _POINTWISE.append(Pointwise)
    return _POINTWISE[0]


def __getattr__(name):
    if name == "Pointwise":
        return _pointwise_class()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _pointwise(m, a, a0):
    """A fixed 1x1 convolution computing y = A x + a0 per pixel (Pointwise, which
    takes 2-D input too)."""
    like = m.running_deconv
    c = a.shape[0]
    conv = _pointwise_class()(c, c, 1, bias=True, device=like.device, dtype=like.dtype)
    with _torch().no_grad():
        conv.weight.copy_(_tensor(a.reshape(c, c, 1, 1), like))
        conv.bias.copy_(_tensor(a0, like))
    conv.requires_grad_(False)
    conv.train(m.training)
    return conv


def _foldable_into(nxt):
    nn = _torch().nn
    if type(nxt) is nn.Linear:
        return True
    if type(nxt) is nn.Conv2d:
        # zero padding of y is not the image of a padded x: fold only without padding
        p = nxt.padding
        return p == "valid" or (not isinstance(p, str) and all(int(v) == 0 for v in _pair(p)))
    return False


def _fold_into(nxt, a, a0):
    """nxt(A x + a0) as one layer: W' = W A, b' = b + W a0 (summed over the kernel)."""
    w = _np64(nxt.weight)
    b = _np64(nxt.bias)
    if w.ndim == 4:
        groups = nxt.groups
        if groups != 1:
            raise ParameterError("cannot fold a ChannelDeconv into a grouped convolution")
        wf = np.einsum("ocij,cd->odij", w, a)
        shift = np.einsum("ocij,c->o", w, a0)
    else:
        wf = w @ a
        shift = w @ a0
    bf = shift if b is None else b + shift
    nn = _torch().nn
    if w.ndim == 4:
        new = nn.Conv2d(nxt.in_channels, nxt.out_channels, nxt.kernel_size, stride=nxt.stride,
                        padding=nxt.padding, dilation=nxt.dilation, groups=1, bias=True,
                        padding_mode=nxt.padding_mode, device=nxt.weight.device, dtype=nxt.weight.dtype)
    else:
        new = nn.Linear(nxt.in_features, nxt.out_features, bias=True, device=nxt.weight.device,
                        dtype=nxt.weight.dtype)
    with _torch().no_grad():
        new.weight.copy_(_tensor(wf, nxt.weight))
        new.bias.copy_(_tensor(bf, nxt.weight))
    new.train(nxt.training)
    return new


def _flatten_linear(module, names, i, channels):
    """The name of the nn.Linear after an nn.Flatten (flattening dimensions 1 ..
    -1) that follows position i of the Sequential module, when its inputs are
    whole pixels of channels values, or None."""
    nn = _torch().nn
    if i + 2 >= len(names):
        return None
    fl, lin = module._modules[names[i + 1]], module._modules[names[i + 2]]
    if type(fl) is nn.Flatten and fl.start_dim == 1 and fl.end_dim == -1 and type(lin) is nn.Linear \
            and lin.in_features % channels == 0:
        return names[i + 2]
    return None


def _fold_through_flatten(lin, a, a0):
    """lin(flatten(A x + a0)) as one nn.Linear, for x of C = A's side channels
    and in_features / C pixels each (flatten index c * pixels + s):
    W'[o, :, s] = W[o, :, s] A, b' = b + sum_s W[o, :, s] a0."""
    c = a.shape[0]
    w = _np64(lin.weight)
    out_f, in_f = w.shape
    if in_f % c != 0:
        raise ParameterError("ChannelDeconv of %d channels before Flatten and a Linear of %d inputs"
                             % (c, in_f))
    w3 = w.reshape(out_f, c, in_f // c)
    wf = np.einsum("ocs,cd->ods", w3, a).reshape(out_f, in_f)
    shift = np.einsum("ocs,c->o", w3, a0)
    b = _np64(lin.bias)
    bf = shift if b is None else b + shift
    nn = _torch().nn
    new = nn.Linear(lin.in_features, lin.out_features, bias=True, device=lin.weight.device,
                    dtype=lin.weight.dtype)
    with _torch().no_grad():
        new.weight.copy_(_tensor(wf, lin.weight))
        new.bias.copy_(_tensor(bf, lin.weight))
    new.train(lin.training)
    return new


def _shape_preserving(m):
    nn = _torch().nn
    return (m.__class__.__module__ == "torch.nn.modules.activation"
            or isinstance(m, (nn.Identity, nn.Dropout, nn.Dropout2d)))


def _channels_before(seq, names):
    """The channel count the last layer before (past activations and the like) produces."""
    for name in reversed(names):
        m = seq._modules[name]
        for attr in ("out_channels", "out_features", "num_features"):
            v = getattr(m, attr, None)
            if isinstance(v, int):
                return v
        if not _shape_preserving(m):
            return None
    return None


def _convert(module):
    """Converts the children of module in place (module itself is the caller's)."""
    nn = _torch().nn
    for name, child in list(module.named_children()):
        k = _kind(child)
        if k == "fastdeconv":
            module._modules[name] = _fold_fastdeconv(child)
        elif k == "delinear":
            module._modules[name] = _fold_delinear(child)
        elif k is None:
            _convert(child)
    # ChannelDeconv: into the next layer of a Sequential, or the Linear after a
    # Flatten, else a 1x1 convolution
    names = list(module._modules)
    for i, name in enumerate(names):
        child = module._modules[name]
        if child is None or _kind(child) != "channel":
            continue
        nxt_name = names[i + 1] if i + 1 < len(names) else None
        nxt = module._modules[nxt_name] if nxt_name is not None else None
        seq = isinstance(module, nn.Sequential)
        channels = getattr(child, "num_features", None)
        if channels is None and seq:
            channels = _channels_before(module, names[:i])
        lin_name = _flatten_linear(module, names, i, int(channels)) if seq and channels is not None else None
        if seq and nxt is not None and _foldable_into(nxt) and getattr(nxt, "groups", 1) == 1:
            a, a0 = _channel_affine(child, _channel_count(child, nxt))
            module._modules[nxt_name] = _fold_into(nxt, a, a0)
            module._modules[name] = nn.Identity()
        elif lin_name is not None:
            # ChannelDeconv -> Flatten -> Linear: into the Linear, pixel by pixel
            a, a0 = _channel_affine(child, int(channels))
            module._modules[lin_name] = _fold_through_flatten(module._modules[lin_name], a, a0)
            module._modules[name] = nn.Identity()
        else:
            if channels is None:
                raise ParameterError("ChannelDeconv %r: its channel count is unknown (no num_features "
                                     "attribute, no layer before it that gives it, no Conv2d/Linear "
                                     "after it to fold into)" % name)
            module._modules[name] = _pointwise(child, *_channel_affine(child, int(channels)))


def torch_fold(model):
    """A deep copy of model for deployment: every reference FastDeconv becomes a
    torch.nn.Conv2d and every Delinear a torch.nn.Linear, their running
    statistics folded into weight and bias (the copy computes what model
    computes in evaluation mode). A ChannelDeconv followed, in an
    nn.Sequential, by an unpadded, ungrouped nn.Conv2d or an nn.Linear, or by an
    nn.Flatten and an nn.Linear, is folded into that layer (it becomes
    nn.Identity); any other becomes a fixed 1x1 convolution (an nn.Conv2d
    that takes 2-D input too) whose channel count is taken from a ``num_features``
    attribute or the layer before it in the nn.Sequential (past activations).
    model itself is not modified."""
    nn = _torch().nn
    if not isinstance(model, nn.Module):
        raise ParameterError("torch_fold: expected a torch.nn.Module, got %s" % type(model).__name__)
    out = copy.deepcopy(model)
    k = _kind(out)
    if k == "fastdeconv":
        return _fold_fastdeconv(out)
    if k == "delinear":
        return _fold_delinear(out)
    if k == "channel":
        holder = nn.Sequential(out)
        _convert(holder)
        return holder[0]
    _convert(out)
    return out
