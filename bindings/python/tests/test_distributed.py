import datetime
import os
import socket
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import deconv
from compare import close

# geometries: (keywords of deconv.Stats, channels)
GEOMS = [
    (dict(kernel_size=3, padding=1, block=2, sampling_stride=2), 6),
    (dict(kernel_size=3, padding=1, groups=2, sampling_stride=1), 4),
    (dict(kernel_size=1, block=4, grouping="contiguous", sampling_stride=1), 8),
]


def _batch(i, c):
    rng = np.random.default_rng(100 + i)
    return rng.standard_normal((6, c, 7, 8)) * 3 + 20.0  # far from the origin


def _worker(rank, world, port, out_dir):
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank,
                            world_size=world, timeout=datetime.timedelta(seconds=30))
    try:
        for i, (kw, c) in enumerate(GEOMS):
            x = _batch(i, c)
            half = x.shape[0] // world
            s = deconv.Stats(dtype="float64", **kw)
            s.update(x[rank * half:(rank + 1) * half])
            assert deconv.distributed.all_reduce_stats(s) is s
            mean, cov = s.finalize()
            np.save(os.path.join(out_dir, "mean%d_%d.npy" % (i, rank)), mean)
            np.save(os.path.join(out_dir, "cov%d_%d.npy" % (i, rank)), cov)
            np.save(os.path.join(out_dir, "count%d_%d.npy" % (i, rank)), np.array(s.count))
        # a rank that saw nothing (channels given up front) still takes part
        s = deconv.Stats(dtype="float64", channels=6, **GEOMS[0][0])
        if rank == 1:
            s.update(_batch(0, 6))
        deconv.distributed.all_reduce_stats(s)
        np.save(os.path.join(out_dir, "empty_%d.npy" % rank), s.finalize()[1])
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_all_reduce_stats_two_ranks(tmp_path, monkeypatch):
    world = 2
    port = _free_port()
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    ctx = mp.spawn(_worker, args=(world, port, str(tmp_path)), nprocs=world, join=False)
    deadline = time.monotonic() + 90
    try:
        while not ctx.join(timeout=1):
            assert time.monotonic() < deadline, "the ranks did not finish within 90 s"
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
    for i, (kw, c) in enumerate(GEOMS):
        want = deconv.Stats(dtype="float64", **kw).update(_batch(i, c))
        wm, wc = want.finalize()
        for rank in range(world):
            m = np.load(tmp_path / ("mean%d_%d.npy" % (i, rank)))
            cv = np.load(tmp_path / ("cov%d_%d.npy" % (i, rank)))
            assert float(np.load(tmp_path / ("count%d_%d.npy" % (i, rank)))) == want.count
            close("all_reduce_stats", m, wm, 1e-6)
            close("all_reduce_stats", cv, wc, 1e-6)
        # every rank holds the same numbers
        assert np.array_equal(np.load(tmp_path / ("cov%d_0.npy" % i)), np.load(tmp_path / ("cov%d_1.npy" % i)))
    want = deconv.Stats(dtype="float64", **GEOMS[0][0]).update(_batch(0, 6)).finalize()[1]
    for rank in range(world):
        close("all_reduce_stats", np.load(tmp_path / ("empty_%d.npy" % rank)), want, 1e-6)


def test_all_reduce_stats_rejects_other_types():
    import pytest
    with pytest.raises(deconv.ParameterError):
        deconv.distributed.all_reduce_stats(object())
