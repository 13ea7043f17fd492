"""MultiTaskMetrics: missing labels skipped, flat keys, constant memory, DDP sync (2 gloo ranks)."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mthub.metrics import DepthMetric, EdgeMetric, MultiTaskMetrics, SegmentationMetric


def _batch(seed: int, b: int = 2):
    g = torch.Generator().manual_seed(seed)
    outputs = {"semseg": torch.randn(b, 4, 6, 6, generator=g), "depth": torch.rand(b, 1, 6, 6, generator=g) + 0.5}
    labels = {"semseg": torch.randint(0, 4, (b, 6, 6), generator=g), "depth": torch.rand(b, 1, 6, 6, generator=g) + 0.5}
    return outputs, labels


def _metrics(**kw) -> MultiTaskMetrics:
    return MultiTaskMetrics.from_tasks(["semseg", "depth"], overrides={"semseg": {"num_classes": 4}}, **kw)


def test_flat_keys_and_skip_missing_task():
    mt = _metrics()
    out, lab = _batch(0)
    mt.update(out, {"semseg": lab["semseg"], "depth": None})
    res = mt.compute()
    assert set(res) == {"semseg/mIoU", "semseg/pixel_acc"}  # depth never labelled: no keys, no crash
    ref = SegmentationMetric(num_classes=4)
    ref.update(out["semseg"], lab["semseg"])
    assert res["semseg/mIoU"] == pytest.approx(ref.compute()["mIoU"])
    mt.reset()
    assert mt.compute() == {}


def test_samples_with_all_ignore_or_absent_labels_are_skipped():
    out, lab = _batch(1, b=3)
    masked = {k: v.clone() for k, v in lab.items()}
    masked["semseg"][1] = 255  # sample 1 has no segmentation label
    masked["depth"][2] = 0  # sample 2 has no depth label
    mt = _metrics()
    mt.update(out, masked, present={"depth": torch.tensor([True, False, True])})  # and sample 1 no depth
    seg, depth = SegmentationMetric(num_classes=4), DepthMetric()
    seg.update(out["semseg"][[0, 2]], lab["semseg"][[0, 2]])
    depth.update(out["depth"][[0]], lab["depth"][[0]])
    res = mt.compute()
    assert res["semseg/mIoU"] == pytest.approx(seg.compute()["mIoU"])
    assert res["depth/rmse"] == pytest.approx(depth.compute()["rmse"])
    # all-ignore for every sample: skipped without calling the metric
    mt.update(out, {"semseg": torch.full((3, 6, 6), 255), "depth": torch.zeros(3, 1, 6, 6)})
    assert mt.compute() == pytest.approx(res)


def test_missing_output_raises_and_state_is_constant():
    mt = _metrics()
    out, lab = _batch(2)
    with pytest.raises(KeyError, match="no model output 'depth'"):
        mt.update({"semseg": out["semseg"]}, lab)
    sizes = {mt.state_numel()}
    for seed in range(10):
        mt.update(*_batch(seed))
        sizes.add(mt.state_numel())
    assert sizes == {16 + 8}  # 4×4 confusion matrix + 4 sums, 3 δ counts, 1 pixel count


def test_dataset_defaults():
    mt = MultiTaskMetrics.from_tasks(["semseg", "edge"], dataset="nyud")
    assert mt.metrics["semseg"].num_classes == 40
    assert isinstance(mt.metrics["edge"], EdgeMetric) and mt.metrics["edge"].max_dist == 0.011
    pascal = MultiTaskMetrics.from_tasks(["human_parts", "edge"], dataset="pascal")
    assert pascal.metrics["human_parts"].num_classes == 7 and pascal.metrics["edge"].max_dist == 0.0075
    gathered = MultiTaskMetrics.from_tasks(["depth", "sal"], sync_on_compute=False)
    assert not any(m.sync_on_compute for m in gathered.metrics.values())
    with pytest.raises(ValueError, match="needs num_classes"):
        MultiTaskMetrics.from_tasks(["semseg"])


def _rank_main(rank: int, port: int, q) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        assert dist.get_world_size() == 2
        mt = _metrics()
        for seed in range(rank, 4, 2):  # rank 0: seeds 0, 2; rank 1: seeds 1, 3
            out, lab = _batch(seed)
            if rank == 0:
                lab["depth"] = None  # rank 0 never sees depth labels: compute must still be collective
            mt.update(out, lab)
        q.put((rank, mt.compute()))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_rank_gloo_sync_equals_single_process():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # spawn, not fork: forking after torch's OpenMP pool has started (earlier tests in the session) can deadlock.
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_rank_main, args=(r, port, q)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict(q.get(timeout=240) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    single = _metrics()
    for seed in range(4):
        out, lab = _batch(seed)
        if seed % 2 == 0:
            lab["depth"] = None
        single.update(out, lab)
    expected = single.compute()
    assert set(expected) >= {"semseg/mIoU", "depth/rmse"}
    assert results[0] == pytest.approx(expected) and results[1] == pytest.approx(expected)
