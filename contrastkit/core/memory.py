"""MoCo-style memory of past keys and momentum (EMA) encoders (He et al. 2020, arXiv:1911.05722)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from .checks import check_2d, check_labels, check_positive_int
from .distributed import gather_no_grad


class MemoryQueue(nn.Module):
    """FIFO queue of detached keys used as shared negatives, with optional group ids.

    The queue lives in buffers, so it moves with ``.to(device)`` and is saved in ``state_dict``
    (checkpoints resume with the same negatives).

    Args:
        size: capacity K.
        dim: embedding size D.
        gather_distributed: enqueue the keys of every rank (as MoCo does), not only local ones.

    Shapes:
        ``enqueue(keys [B, D], ids [B] | None)``; ``negatives() -> [n, D]`` with n <= K the filled part;
        ``neg_mask(query_ids [B]) -> [B, n]`` True where the queued key is from another group.

    Example:
        >>> queue = MemoryQueue(4096, 128)
        >>> loss = info_nce(q, k, queue.negatives())  # doctest: +SKIP
        >>> queue.enqueue(k)  # doctest: +SKIP
    """

    keys: Tensor
    ids: Tensor
    ptr: Tensor
    filled: Tensor

    def __init__(self, size: int, dim: int, *, gather_distributed: bool = False) -> None:
        super().__init__()
        check_positive_int("size", size, "MemoryQueue")
        check_positive_int("dim", dim, "MemoryQueue")
        self.size, self.dim = size, dim
        self.gather_distributed = gather_distributed
        self.register_buffer("keys", torch.zeros(size, dim))
        self.register_buffer("ids", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self.filled)

    @torch.no_grad()
    def enqueue(self, keys: Tensor, ids: Tensor | None = None) -> None:
        check_2d("keys", keys, "MemoryQueue.enqueue")
        if keys.shape[1] != self.dim:
            raise ValueError(f"MemoryQueue.enqueue: keys must be [B, {self.dim}]; got {tuple(keys.shape)}.")
        if ids is not None:
            check_labels(ids, keys.shape[0], "MemoryQueue.enqueue", name="ids")
            if ids.numel() and int(ids.min()) < -1:
                raise ValueError(
                    f"MemoryQueue.enqueue: ids must be >= 0 (or -1 for a key without a group); got {int(ids.min())}. "
                    "Use encode_ids()."
                )
        keys = keys.detach()
        if self.gather_distributed:
            keys = gather_no_grad(keys)
            ids = gather_no_grad(ids) if ids is not None else None
        if ids is None:
            ids = torch.full((keys.shape[0],), -1, dtype=torch.long, device=keys.device)
        keys, ids = keys[-self.size :], ids[-self.size :]  # a batch larger than the queue keeps its newest
        n = keys.shape[0]
        slots = (int(self.ptr) + torch.arange(n, device=self.keys.device)) % self.size
        self.keys[slots] = keys.to(self.keys.dtype)
        self.ids[slots] = ids.to(self.ids.device)
        self.ptr.fill_((int(self.ptr) + n) % self.size)
        self.filled.fill_(min(self.size, int(self.filled) + n))

    def negatives(self) -> Tensor:
        """The filled part of the queue ``[n, D]`` (detached)."""
        return self.keys[: int(self.filled)]

    def neg_mask(self, query_ids: Tensor) -> Tensor:
        """``[B, n]`` bool: True where the queued key belongs to another group than the query.

        Keys enqueued without ids (id -1) count as negatives of every query.
        """
        if not isinstance(query_ids, Tensor) or query_ids.dim() != 1 or query_ids.is_floating_point():
            got = f"{query_ids.dtype} {tuple(query_ids.shape)}" if isinstance(query_ids, Tensor) else type(query_ids).__name__
            raise TypeError(f"MemoryQueue.neg_mask: query_ids must be a 1-D integer tensor [B]; got {got}.")
        queued = self.ids[: int(self.filled)]
        return (query_ids[:, None] != queued[None, :]) | (queued[None, :] < 0)

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}, filled={int(self.filled)}"


@torch.no_grad()
def momentum_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    r"""EMA update :math:`\theta_t \leftarrow m\,\theta_t + (1 - m)\,\theta_o`, in place; buffers are copied.

    Both modules must have the same architecture. Uses fused ``_foreach`` kernels.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum_update: momentum must be in [0, 1]; got {momentum}.")
    t_params: list[Tensor] = list(target.parameters())
    o_params: list[Tensor] = [p.detach() for p in online.parameters()]
    if len(t_params) != len(o_params):
        raise ValueError("momentum_update: target and online have different numbers of parameters.")
    # Checked before anything is written: a failure halfway would leave the target scaled by m.
    for (name, t), o in zip(target.named_parameters(), o_params, strict=True):
        if t.shape != o.shape:
            raise ValueError(
                f"momentum_update: parameter {name!r} is {tuple(t.shape)} in target but {tuple(o.shape)} in "
                "online; both modules must have the same architecture."
            )
    t_buffers, o_buffers = list(target.buffers()), list(online.buffers())
    if len(t_buffers) != len(o_buffers):
        raise ValueError(
            f"momentum_update: target has {len(t_buffers)} buffers and online {len(o_buffers)}; both modules must "
            "have the same architecture."
        )
    if t_params:
        torch._foreach_mul_(t_params, momentum)
        torch._foreach_add_(t_params, o_params, alpha=1.0 - momentum)
    for tb, ob in zip(t_buffers, o_buffers, strict=True):
        tb.copy_(ob)


class MomentumEncoder(nn.Module):
    """A frozen EMA copy of an encoder (MoCo's key encoder, BYOL's target, CURL's key encoder).

    Args:
        encoder: the online encoder; it is deep-copied, the copy never receives gradients.
        momentum: EMA coefficient m (MoCo 0.999, CURL ``1 - encoder_tau`` = 0.95).

    ``forward`` runs the copy without gradients; call :meth:`update` after each optimizer step.
    """

    def __init__(self, encoder: nn.Module, momentum: float = 0.999) -> None:
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"MomentumEncoder: momentum must be in [0, 1]; got {momentum}.")
        self.momentum = momentum
        self.encoder = copy.deepcopy(encoder)
        self.encoder.requires_grad_(False)

    @torch.no_grad()
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.encoder(*args, **kwargs)

    def update(self, online: nn.Module) -> None:
        momentum_update(self.encoder, online, self.momentum)

    def extra_repr(self) -> str:
        return f"momentum={self.momentum}"
