"""gather_distributed: two gloo ranks with half a batch each give the loss and gradients of one
process with the whole batch (under DDP's gradient averaging)."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from contrastkit.text import DebiasedSimCSELoss, SupSimCSELoss, UnsupSimCSELoss

WORLD, LOCAL, DIM = 2, 3, 8
# The adapters' tensor math never touches the encoder, so a stand-in module keeps the ranks light.
LOSSES = {
    "unsup": lambda gather: UnsupSimCSELoss(nn.Identity(), 0.1, gather_distributed=gather),
    "sup": lambda gather: SupSimCSELoss(nn.Identity(), 0.1, gather_distributed=gather),
    "debiased": lambda gather: DebiasedSimCSELoss(
        nn.Identity(), 0.1, false_negative_threshold=0.3, gather_distributed=gather
    ),
}


def batch() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(WORLD * LOCAL, DIM, generator=g) for _ in range(5)]  # h, h_plus, h_minus, r, r_plus


def loss_and_grads(name: str, tensors: list[torch.Tensor], gather: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    h, h_plus, h_minus, r, r_plus = (t.clone().requires_grad_(i < 3) for i, t in enumerate(tensors))
    loss_fn = LOSSES[name](gather)
    if name == "unsup":
        loss = loss_fn.compute_loss_from_embeddings([h, h_plus])
    elif name == "sup":
        loss = loss_fn.compute_loss_from_embeddings([h, h_plus, h_minus])
    else:
        loss = loss_fn.compute_loss_from_embeddings([h, h_plus], [r, r_plus], torch.ones(h.shape[0]))
    loss.backward()
    return loss.detach(), [t.grad if t.grad is not None else torch.zeros_like(t) for t in (h, h_plus, h_minus)]


def _rank(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    rows = slice(rank * LOCAL, (rank + 1) * LOCAL)
    results = {name: loss_and_grads(name, [t[rows] for t in batch()], gather=True) for name in LOSSES}
    torch.save(results, f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def test_two_ranks_equal_one_process_with_the_whole_batch(tmp_path):
    # spawn, not fork: a fork of a process whose OpenMP pool already ran (any earlier test) can deadlock.
    mp.start_processes(_rank, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, start_method="spawn")
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    for name in LOSSES:
        full_loss, full_grads = loss_and_grads(name, batch(), gather=False)
        assert torch.allclose(sum(r[name][0] for r in ranks) / WORLD, full_loss, atol=1e-6), name
        for r, result in enumerate(ranks):
            rows = slice(r * LOCAL, (r + 1) * LOCAL)
            for local, full in zip(result[name][1], full_grads, strict=True):
                # Each rank holds the gradient of the sum of all ranks' losses; DDP divides by WORLD.
                assert torch.allclose(local / WORLD, full[rows], atol=1e-6), name
