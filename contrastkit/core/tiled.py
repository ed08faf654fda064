"""Exact contrastive log-sum-exp in tiles: memory O(B * chunk) instead of O(B * M).

The autograd function below keeps only the per-row log-sum-exp from forward and recomputes each
``[chunk, M]`` tile of logits in backward, so the loss and its gradients equal the dense ones
(up to float round-off) while the ``[B, M]`` logit matrix never exists.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .checks import (
    check_mask,
    check_matrix_pair,
    check_positive,
    check_positive_int,
)


def _tile_logits(
    q: Tensor, c: Tensor, scale: float, r0: int, r1: int, neg_mask: Tensor | None, exclude: Tensor | None
) -> Tensor:
    s = (q[r0:r1] @ c.T).mul_(scale)  # (chunk, M)
    if s.dtype in (torch.float16, torch.bfloat16):
        s = s.float()
    if neg_mask is not None:
        s.masked_fill_(~neg_mask[r0:r1], float("-inf"))
    if exclude is not None:
        rows = torch.arange(r1 - r0, device=s.device).unsqueeze(1).expand_as(exclude[r0:r1])
        s[rows, exclude[r0:r1]] = float("-inf")
    return s


class _TiledNegativeLSE(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        q: Tensor,
        c: Tensor,
        scale: float,
        chunk: int,
        neg_mask: Tensor | None,
        exclude: Tensor | None,
    ) -> Tensor:
        acc_dtype = torch.float64 if q.dtype == torch.float64 else torch.float32
        lse = torch.empty(q.shape[0], dtype=acc_dtype, device=q.device)
        for r0 in range(0, q.shape[0], chunk):
            r1 = min(r0 + chunk, q.shape[0])
            lse[r0:r1] = torch.logsumexp(_tile_logits(q, c, scale, r0, r1, neg_mask, exclude), dim=1)
        ctx.save_for_backward(q, c, lse, neg_mask, exclude)
        ctx.scale, ctx.chunk = scale, chunk
        return lse

    @staticmethod
    def backward(ctx: Any, grad_lse: Tensor) -> tuple[Tensor | None, ...]:
        q, c, lse, neg_mask, exclude = ctx.saved_tensors
        scale, chunk = ctx.scale, ctx.chunk
        grad_q = torch.zeros_like(q, dtype=lse.dtype)
        grad_c = torch.zeros_like(c, dtype=lse.dtype)
        # Rows without any negative have lse = -inf and no gradient; keep them out of exp(-inf + inf).
        safe_lse = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))
        for r0 in range(0, q.shape[0], chunk):
            r1 = min(r0 + chunk, q.shape[0])
            s = _tile_logits(q, c, scale, r0, r1, neg_mask, exclude)
            p = s.sub_(safe_lse[r0:r1, None]).exp_().mul_((grad_lse[r0:r1] * scale)[:, None])  # (chunk, M)
            grad_q[r0:r1] = p @ c.to(p.dtype)
            grad_c.addmm_(p.T, q[r0:r1].to(p.dtype))
        return grad_q.to(q.dtype), grad_c.to(c.dtype), None, None, None, None


def tiled_negative_lse(
    q: Tensor,
    c: Tensor,
    scale: float,
    chunk: int,
    neg_mask: Tensor | None = None,
    exclude: Tensor | None = None,
) -> Tensor:
    r"""Per-row log-sum-exp over negatives, computed in row tiles.

    .. math:: \mathrm{lse}_i = \log \sum_{j \in N(i)} \exp(s \cdot q_i^\top c_j)

    Args:
        q: queries ``[B, D]``.
        c: candidates ``[M, D]``.
        scale: ``1 / temperature``.
        chunk: rows per tile; peak extra memory is ``chunk * M`` floats.
        neg_mask: ``[B, M]`` bool, True where ``c_j`` is a negative of ``q_i`` (default: all).
        exclude: ``[B, E]`` long, columns removed from row i's negatives (the positive, the anchor).

    Returns:
        ``[B]`` (float64 for float64 inputs, else float32); ``-inf`` for rows without negatives.
    """
    where = "tiled_negative_lse"
    check_matrix_pair("q", q, "c", c, where)
    check_positive("scale", scale, where)
    check_positive_int("chunk", chunk, where)
    if neg_mask is not None:
        check_mask("neg_mask", neg_mask, (q.shape[0], c.shape[0]), where)
    if exclude is not None and (
        not isinstance(exclude, Tensor)
        or exclude.dim() != 2
        or exclude.shape[0] != q.shape[0]
        or exclude.dtype not in (torch.int32, torch.int64)
    ):
        raise ValueError(
            f"{where}: exclude must be an integer (long) tensor [B, E] with B={q.shape[0]}; got "
            f"{exclude.dtype if isinstance(exclude, Tensor) else type(exclude).__name__} "
            f"{tuple(exclude.shape) if isinstance(exclude, Tensor) else ''}."
        )
    out: Tensor = _TiledNegativeLSE.apply(  # type: ignore[no-untyped-call]
        q, c, float(scale), int(chunk), neg_mask, exclude)
    return out
