"""torch.nn.Module forms of the oracle (tests/oracle.py): the reference's
FastDeconv, Delinear and ChannelDeconv as a user's trained model holds them
(same class names, parameters, buffers and attributes), differentiable, for
the deployment converter's tests. Test-only."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import oracle


class FastDeconv(nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, eps=1e-5, n_iter=5, momentum=0.1, block=64, sampling_stride=3, freeze=False,
                 freeze_iter=100):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.momentum, self.n_iter, self.eps = momentum, n_iter, eps
        self.block = oracle.block_rule(in_channels, block, groups)
        self.num_features = self.kernel_size[0] * self.kernel_size[1] * self.block
        self.sampling_stride = sampling_stride * self.stride[0]
        self.freeze, self.freeze_iter, self.counter = freeze, freeze_iter, 0
        f = self.num_features
        if groups == 1:
            self.register_buffer("running_mean", torch.zeros(f))
            self.register_buffer("running_deconv", torch.eye(f))
        else:
            self.register_buffer("running_mean", torch.zeros(self.kernel_size[0] * self.kernel_size[1]
                                                             * in_channels))
            self.register_buffer("running_deconv", torch.eye(f).repeat(in_channels // self.block, 1, 1))

    def forward(self, x):
        kk = self.kernel_size[0] * self.kernel_size[1]
        frozen = self.freeze and self.counter > self.freeze_iter
        if self.training:
            self.counter = (self.counter + 1) % (self.freeze_iter * 10)
        if self.training and not frozen:
            mean, cov = oracle.cov_stats(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                         self.groups, self.block, self.eps,
                                         self.sampling_stride // self.stride[0])
            d = oracle.isqrt_coupled(cov, self.n_iter)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean.reshape(self.running_mean.shape))
                self.running_deconv.mul_(1 - m).add_(m * d)
        else:
            mean, d = self.running_mean, self.running_deconv
        wf, bf = oracle.fold_weight(self.weight, self.bias, mean, d, self.in_channels, kk, self.block,
                                    self.groups)
        return F.conv2d(x, wf, bf, self.stride, self.padding, self.dilation, self.groups)


class Delinear(nn.Linear):
    def __init__(self, in_features, out_features, bias=True, eps=1e-5, n_iter=5, momentum=0.1, block=512):
        super().__init__(in_features, out_features, bias)
        self.eps, self.n_iter, self.momentum = eps, n_iter, momentum
        self.block = oracle.block_rule(in_features, block, 1)
        self.register_buffer("running_mean", torch.zeros(self.block))
        self.register_buffer("running_deconv", torch.eye(self.block))

    def forward(self, x):
        b = self.block
        if self.training:
            xs = x.reshape(-1, b)
            mean = xs.mean(0)
            xc = xs - mean
            cov = self.eps * torch.eye(b, dtype=x.dtype) + xc.t() @ xc / xs.shape[0]
            d = oracle.isqrt_coupled(cov, self.n_iter)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_deconv.mul_(1 - m).add_(m * d)
        else:
            mean, d = self.running_mean, self.running_deconv
        wf = (self.weight.reshape(-1, b) @ d).reshape(self.weight.shape)
        bf = -(wf.reshape(wf.shape[0], -1, b) @ mean).sum(-1)
        if self.bias is not None:
            bf = self.bias + bf
        return x @ wf.t() + bf


class ChannelDeconv(nn.Module):
    """The reference's ChannelDeconv (its uncentred covariance; uncentred=False
    gives the centred one the library computes by default)."""

    def __init__(self, block, eps=1e-2, n_iter=5, momentum=0.1, sampling_stride=3, uncentred=True):
        super().__init__()
        self.uncentred = uncentred
        self.block, self.eps, self.n_iter, self.momentum = block, eps, n_iter, momentum
        self.sampling_stride = sampling_stride
        self.register_buffer("running_mean1", torch.zeros(block, 1))
        self.register_buffer("running_deconv", torch.eye(block))
        self.register_buffer("running_mean2", torch.zeros(1, 1))
        self.register_buffer("running_var", torch.ones(1, 1))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        o = oracle.ChannelDeconv(self.block, self.eps, self.n_iter, self.momentum, self.sampling_stride,
                                 uncentred=self.uncentred)
        o.training = self.training
        for name in ("running_mean1", "running_deconv", "running_mean2", "running_var"):
            setattr(o, name, getattr(self, name))
        o.num_batches_tracked = int(self.num_batches_tracked)
        y = o(x)
        if self.training:
            with torch.no_grad():
                for name in ("running_mean1", "running_deconv", "running_mean2", "running_var"):
                    getattr(self, name).copy_(getattr(o, name).detach())
                self.num_batches_tracked.fill_(o.num_batches_tracked)
        return y
