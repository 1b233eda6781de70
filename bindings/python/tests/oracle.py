"""An independent float64 PyTorch model of the reference implementation,
written from its description (coupled Newton-Schulz, unfold rows,
interleaved blocking, momentum, the freeze counter). Test-only."""

import math

import torch
import torch.nn.functional as F


def isqrt_coupled(a, n_iter):
    """Z/sqrt(n) after n_iter coupled iterations, per matrix of a (..., n, n)."""
    n = torch.linalg.matrix_norm(a, ord="fro", keepdim=True)
    eye = torch.eye(a.shape[-1], dtype=a.dtype).expand_as(a)
    y = a / n
    z = eye.clone()
    for _ in range(n_iter):
        t = 0.5 * (3.0 * eye - z @ y)
        y = y @ t
        z = t @ z
    return z / n.sqrt()


def isqrt_uncoupled(a, n_iter):
    """The uncoupled iteration Z <- Z (3I - Z^2 A/n)/2 from Z = I."""
    n = torch.linalg.matrix_norm(a, ord="fro", keepdim=True)
    eye = torch.eye(a.shape[-1], dtype=a.dtype).expand_as(a)
    y = a / n
    z = eye.clone()
    for _ in range(n_iter):
        z = 0.5 * z @ (3.0 * eye - z @ z @ y)
    return z / n.sqrt()


def isqrt_exact(a):
    w, v = torch.linalg.eigh(a)
    return v @ torch.diag_embed(w.rsqrt()) @ v.transpose(-1, -2)


def block_rule(c, block, groups):
    if block > c:
        block = c
    elif c % block:
        block = math.gcd(block, c)
    if groups > 1:
        block = c // groups
    return block


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv_rows(x, k, stride, padding, dilation, sampling):
    """The reference's data matrix: (rows, C*kh*kw), channel slowest."""
    kh, kw = pair(k)
    st = pair(stride)
    n, c = x.shape[:2]
    if kh == 1 and kw == 1:
        rows = x.permute(0, 2, 3, 1).reshape(-1, c)
        return rows[:: (st[0] * sampling) * (st[1] * sampling)]
    u = F.unfold(x, (kh, kw), dilation=dilation, padding=padding,
                 stride=(st[0] * sampling, st[1] * sampling))
    return u.transpose(1, 2).reshape(-1, u.shape[1])


def blocks(rows, c, k, block, groups, contiguous):
    """groups = 1: (rows*C/B, F) samples; groups > 1: (G, rows, F)."""
    if groups > 1:
        return rows.reshape(rows.shape[0], groups, -1).transpose(0, 1)
    g = c // block
    if contiguous:
        return rows.reshape(rows.shape[0], g, block * k).reshape(-1, block * k)
    return rows.reshape(rows.shape[0], -1, g).transpose(1, 2).reshape(-1, block * k)


def cov_stats(x, k, stride, padding, dilation, groups, block, eps, sampling, contiguous=False):
    """(mean, cov) as the reference's FastDeconv training step computes them."""
    kh, kw = pair(k)
    c = x.shape[1]
    b = block_rule(c, block, groups)
    rows = conv_rows(x, k, stride, padding, dilation, sampling)
    s = blocks(rows, c, kh * kw, b, groups, contiguous)
    mean = s.mean(dim=-2)
    xc = s - mean.unsqueeze(-2)
    f = s.shape[-1]
    cov = eps * torch.eye(f, dtype=x.dtype) + xc.transpose(-1, -2) @ xc / s.shape[-2]
    return mean, cov


def fold_weight(w, bias, mean, d, c, k, block, groups, contiguous=False):
    """W' = W D blockwise (the data's blocking), b' = b - sum W'.mean."""
    cout = w.shape[0]
    if groups > 1:
        f = d.shape[-1]
        wg = w.reshape(groups, cout // groups, f)
        wf = wg @ d
        bf = -(wf * mean.reshape(groups, 1, f)).sum(-1)
        wf = wf.reshape(w.shape)
        bf = bf.reshape(cout)
    else:
        g = c // block
        f = d.shape[-1]
        if contiguous:
            wb = w.reshape(cout, g, f)
        else:
            wb = w.reshape(cout, f, g).transpose(1, 2)
        wfb = wb @ d
        bf = -(wfb @ mean).sum(-1)
        if contiguous:
            wf = wfb.reshape(w.shape)
        else:
            wf = wfb.transpose(1, 2).reshape(w.shape)
    if bias is not None:
        bf = bias + bf
    return wf, bf


class FastDeconv:
    """The reference FastDeconv, float64, as a plain object."""

    def __init__(self, cin, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True, eps=1e-5,
                 n_iter=5, momentum=0.1, block=64, sampling_stride=3, freeze=False, freeze_iter=100,
                 contiguous=False, weight=None, bias_value=None):
        self.cin, self.cout, self.k = cin, cout, pair(k)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.eps, self.n_iter, self.momentum = eps, n_iter, momentum
        self.block = block_rule(cin, block, groups)
        self.sampling = sampling_stride
        self.freeze, self.freeze_iter, self.counter = freeze, freeze_iter, 0
        self.contiguous = contiguous
        self.weight, self.bias = weight, bias_value if bias else None
        kk = self.k[0] * self.k[1]
        f = kk * self.block
        if groups == 1:
            self.running_mean = torch.zeros(f, dtype=torch.float64)
            self.running_deconv = torch.eye(f, dtype=torch.float64)
        else:
            self.running_mean = torch.zeros(kk * cin, dtype=torch.float64)
            self.running_deconv = torch.eye(f, dtype=torch.float64).repeat(cin // self.block, 1, 1)
        self.training = True

    def __call__(self, x):
        kk = self.k[0] * self.k[1]
        # frozen is decided before the counter advances
        frozen = self.freeze and self.counter > self.freeze_iter
        if self.training:
            self.counter = (self.counter + 1) % (self.freeze_iter * 10)
        if self.training and not frozen:
            mean, cov = cov_stats(x, self.k, self.stride, self.padding, self.dilation, self.groups,
                                  self.block, self.eps, self.sampling, self.contiguous)
            d = isqrt_coupled(cov, self.n_iter)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean.reshape(self.running_mean.shape)
            self.running_deconv = (1 - m) * self.running_deconv + m * d
        else:
            mean, d = self.running_mean, self.running_deconv
        wf, bf = fold_weight(self.weight, self.bias, mean, d, self.cin, kk, self.block, self.groups,
                             self.contiguous)
        return F.conv2d(x, wf, bf, self.stride, self.padding, self.dilation, self.groups)


class Delinear:
    def __init__(self, fin, fout, bias=True, eps=1e-5, n_iter=5, momentum=0.1, block=512,
                 weight=None, bias_value=None):
        self.block = block_rule(fin, block, 1)
        self.eps, self.n_iter, self.momentum = eps, n_iter, momentum
        self.weight, self.bias = weight, bias_value if bias else None
        self.running_mean = torch.zeros(self.block, dtype=torch.float64)
        self.running_deconv = torch.eye(self.block, dtype=torch.float64)
        self.training = True

    def __call__(self, x):
        b = self.block
        if self.training:
            xs = x.reshape(-1, b)
            mean = xs.mean(0)
            xc = xs - mean
            cov = self.eps * torch.eye(b, dtype=x.dtype) + xc.t() @ xc / xs.shape[0]
            d = isqrt_coupled(cov, self.n_iter)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_deconv = (1 - m) * self.running_deconv + m * d
        else:
            mean, d = self.running_mean, self.running_deconv
        wf = (self.weight.reshape(-1, b) @ d).reshape(self.weight.shape)
        bf = -(wf.reshape(wf.shape[0], -1, b) @ mean).sum(-1)
        if self.bias is not None:
            bf = self.bias + bf
        return x @ wf.t() + bf


class ChannelDeconv:
    """The reference ChannelDeconv; uncentred=True is its quirk, False the centred covariance."""

    def __init__(self, block, eps=1e-2, n_iter=5, momentum=0.1, sampling_stride=3, uncentred=False):
        self.block, self.eps, self.n_iter, self.momentum = block, eps, n_iter, momentum
        self.sampling, self.uncentred = sampling_stride, uncentred
        self.running_mean1 = torch.zeros(block, 1, dtype=torch.float64)
        self.running_deconv = torch.eye(block, dtype=torch.float64)
        self.running_mean2 = torch.zeros(1, 1, dtype=torch.float64)
        self.running_var = torch.ones(1, 1, dtype=torch.float64)
        self.num_batches_tracked = 0
        self.training = True

    def __call__(self, x):
        shape = x.shape
        if x.dim() == 2:
            x = x.reshape(shape[0], shape[1], 1, 1)
        n, cc, h, w = x.shape
        b = self.block
        c = cc // b * b
        x1 = x[:, :c].permute(1, 0, 2, 3).reshape(b, -1)
        s = self.sampling
        xs = x1[:, :: s * s] if (h >= s and w >= s) else x1
        x2 = x[:, c:]
        if c != cc:
            x2f = x2.reshape(n, -1)  # per image, (C-c)*H*W values in NCHW order
            x2s = x2f[:, :: s * s] if (s > 1 and h >= s and w >= s) else x2f
        if self.training:
            mean1 = xs.mean(-1, keepdim=True)
            if self.uncentred:
                cov = xs @ xs.t() / xs.shape[1] + self.eps * torch.eye(b, dtype=x.dtype)
            else:
                xsc = xs - mean1
                cov = xsc @ xsc.t() / xs.shape[1] + self.eps * torch.eye(b, dtype=x.dtype)
            d = isqrt_coupled(cov, self.n_iter)
            if c != cc:
                mean2 = x2s.mean().reshape(1, 1)
                var = x2s.var().reshape(1, 1)
            m = self.momentum
            if self.num_batches_tracked == 0:
                self.running_mean1 = mean1.clone()
                self.running_deconv = d.clone()
                if c != cc:
                    self.running_mean2 = mean2.clone()
                    self.running_var = var.clone()
            else:
                self.running_mean1 = (1 - m) * self.running_mean1 + m * mean1
                self.running_deconv = (1 - m) * self.running_deconv + m * d
                if c != cc:
                    self.running_mean2 = (1 - m) * self.running_mean2 + m * mean2
                    self.running_var = (1 - m) * self.running_var + m * var
            self.num_batches_tracked += 1
        else:
            mean1, d = self.running_mean1, self.running_deconv
            mean2, var = self.running_mean2, self.running_var
        y1 = (d @ (x1 - mean1)).reshape(c, n, h, w).permute(1, 0, 2, 3)
        if c != cc:
            y2 = (x2 - mean2) / (var + self.eps).sqrt()
            y = torch.cat([y1, y2], dim=1)
        else:
            y = y1
        return y.reshape(shape)
