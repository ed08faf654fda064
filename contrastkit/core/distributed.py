"""Negatives from every ``torch.distributed`` rank.

``gather_with_grad`` concatenates a tensor from all ranks along dim 0. In backward the incoming
gradient is summed over ranks (all-reduce) and each rank keeps its own slice, so the local shard
receives the gradient of the *sum* of all ranks' losses. Under DDP (which averages parameter
gradients over ``W`` ranks) this is exactly the gradient of the loss on the global batch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def check_distributed_available(where: str) -> None:
    if not dist.is_available():
        raise ValueError(
            f"{where}: gather_distributed=True but torch.distributed is not available in this torch "
            "build. Set gather_distributed=False."
        )


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        sizes = torch.tensor([x.shape[0]], device=x.device)
        all_sizes = [torch.zeros_like(sizes) for _ in range(dist.get_world_size())]
        dist.all_gather(all_sizes, sizes)
        counts = [int(s.item()) for s in all_sizes]
        biggest = max(counts)
        # all_gather needs equal shapes: pad to the largest shard, then cut the padding away.
        padded = x.new_zeros((biggest, *x.shape[1:]))
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in counts]
        dist.all_gather(parts, padded.contiguous())
        ctx.counts = counts
        ctx.rank = dist.get_rank()
        return torch.cat([p[:n] for p, n in zip(parts, counts, strict=True)], dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.counts[: ctx.rank])
        return grad[start : start + ctx.counts[ctx.rank]]


def gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x: [n_r, ...]`` from every rank into ``[sum_r n_r, ...]``, keeping gradients.

    Without an initialised process group this returns ``x`` unchanged, so code can call it always.
    """
    if not is_distributed() or dist.get_world_size() == 1:
        return x
    out: Tensor = _GatherWithGrad.apply(x)  # type: ignore[no-untyped-call]
    return out


def gather_no_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` from every rank without gradients (ids, labels, queue entries)."""
    if not is_distributed() or dist.get_world_size() == 1:
        return x
    with torch.no_grad():
        return _GatherWithGrad.apply(x)  # type: ignore[no-any-return,no-untyped-call]


def rank_offset(local_size: int, device: torch.device | None = None) -> int:
    """Index of this rank's first row in the gathered batch (sizes may differ per rank)."""
    if not is_distributed() or dist.get_world_size() == 1:
        return 0
    sizes = torch.tensor([local_size], device=device)
    all_sizes = [torch.zeros_like(sizes) for _ in range(dist.get_world_size())]
    dist.all_gather(all_sizes, sizes)
    return int(sum(int(s.item()) for s in all_sizes[: dist.get_rank()]))
