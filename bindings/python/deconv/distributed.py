"""Statistics synchronised across the ranks of a torch.distributed process group."""

import numpy as np

from . import _lib
from ._arrays import ptr
from ._functional import Stats
from .errors import ParameterError


def _mean64(stats):
    """The float64 mean of what stats holds, flat (zeros when it holds nothing)."""
    h = stats._handle()
    ms, cs = stats._shapes
    mean = np.zeros(ms, dtype=np.float64)
    if stats.count > 0:
        cov = np.empty(cs, dtype=np.float64)
        _lib.call(_lib.fn("deconv_cov_stats_finalize", mean.dtype), h, ptr(mean), mean.size, ptr(cov),
                  cov.size)
    return mean.ravel()


def all_reduce_stats(stats, group=None):
    """Sums the deconv.Stats ``stats`` over the ranks of ``group`` (default the
    world), in place, with torch.distributed.all_reduce; returns stats.

    Every rank must call it, with a Stats of the same geometry whose channels
    are known (updated at least once, or made with ``channels=``). The sums
    are exchanged in float64 about a reference point identical on every rank:
    the count-weighted mean of the ranks' means (itself one all_reduce), so
    no precision is lost to a far origin.
    """
    import torch
    import torch.distributed as dist

    if not isinstance(stats, Stats):
        raise ParameterError("all_reduce_stats: expected a deconv.Stats, got %s" % type(stats).__name__)
    n = stats.count
    mean = _mean64(stats)
    head = torch.from_numpy(np.concatenate([[n], n * mean]))
    dist.all_reduce(head, op=dist.ReduceOp.SUM, group=group)
    total = head[0].item()
    ref = (head[1:] / total).numpy() if total > 0 else np.zeros_like(mean)
    sums = torch.from_numpy(stats.sums(ref))
    dist.all_reduce(sums, op=dist.ReduceOp.SUM, group=group)
    return stats.from_sums(sums.numpy(), ref)


__all__ = ["all_reduce_stats"]
