"""gather_distributed: 2 CPU processes on gloo see the global batch.

The mean of the two ranks' losses equals the single-process loss on the concatenated batch, and
each rank's gradient (which gather_with_grad sums over ranks) divided by the world size, as DDP's
gradient averaging does, equals the single-process gradient of its shard.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from contrastkit.core import MemoryQueue, info_nce, nt_xent, supcon

WORLD = 2
N_LOCAL = 5


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(WORLD * N_LOCAL, 4, generator=g, dtype=torch.float64)
    k = torch.randn(WORLD * N_LOCAL, 4, generator=g, dtype=torch.float64)
    labels = torch.arange(WORLD * N_LOCAL) % 3  # every anchor has a positive, so rank means average exactly
    return q, k, labels


LOSSES = {
    "info_nce": lambda q, k, y, gather, c=None: info_nce(q, k, temperature=0.3, gather_distributed=gather, chunk_size=c),
    "nt_xent": lambda q, k, y, gather, c=None: nt_xent(q, k, temperature=0.5, gather_distributed=gather, chunk_size=c),
    "supcon": lambda q, k, y, gather, c=None: supcon(q, y, temperature=0.2, gather_distributed=gather),
}


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    q, k, y = _data()
    sl = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
    results = {}
    for name, fn in LOSSES.items():
        for chunk in (None, 2):
            ql, kl = q[sl].clone().requires_grad_(), k[sl].clone().requires_grad_()
            loss = fn(ql, kl, y[sl], True, chunk)
            loss.backward()
            results[(name, chunk)] = (loss.detach(), ql.grad, kl.grad)
    queue = MemoryQueue(8, 4, gather_distributed=True).double()
    queue.enqueue(k[sl], ids=y[sl])
    results["queue"] = (queue.negatives().clone(), queue.ids.clone())
    torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(str(tmp / "init"), str(tmp)), nprocs=WORLD, join=True)
    return [torch.load(Path(tmp) / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("chunk", [None, 2])
def test_two_processes_equal_one_process_on_the_global_batch(rank_results: list[dict], name: str, chunk: int | None) -> None:
    q, k, y = _data()
    q, k = q.clone().requires_grad_(), k.clone().requires_grad_()
    single = LOSSES[name](q, k, y, False)
    single.backward()
    losses = [r[(name, chunk)][0] for r in rank_results]
    assert torch.stack(losses).mean().item() == pytest.approx(single.item(), rel=1e-10)
    for rank, r in enumerate(rank_results):
        sl = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
        torch.testing.assert_close(r[(name, chunk)][1] / WORLD, q.grad[sl], rtol=1e-9, atol=1e-12)
        if name != "supcon":
            torch.testing.assert_close(r[(name, chunk)][2] / WORLD, k.grad[sl], rtol=1e-9, atol=1e-12)


def test_distributed_queue_enqueues_every_rank(rank_results: list[dict]) -> None:
    _, k, y = _data()
    for r in rank_results:
        keys, ids = r["queue"]
        torch.testing.assert_close(keys, k[-8:])
        assert ids.tolist() == y[-8:].tolist()


def test_single_process_gather_is_identity() -> None:
    from contrastkit.core import gather_with_grad

    x = torch.randn(3, 2)
    assert gather_with_grad(x) is x
