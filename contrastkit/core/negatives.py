"""Vectorised negative handling: row gathers, group masks, top-k hard negatives and MoCHi-style mixing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .checks import (
    check_mask,
    check_matrix_pair,
    check_positive_int,
    unit,
)
from .similarity import SimilarityLike, resolve_similarity


def gather_rows(x: Tensor, index: Tensor) -> Tensor:
    """``x[index]`` for a long ``index`` of any shape, with a backward that is the same on every run.

    The backward of advanced indexing, ``x[index]``, accumulates repeated rows in an order that
    depends on the CPU's threads, so two identical runs (or a run and its resume) drift apart in the
    last bits; ``index_select``'s does not.

    Shapes: x ``[M, *F]``, index ``[*S]`` -> ``[*S, *F]``.
    """
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= x.shape[0]):
        raise ValueError(
            f"gather_rows: index holds rows outside [0, {x.shape[0]}) (x has {x.shape[0]} rows); got range "
            f"[{int(index.min())}, {int(index.max())}]."
        )
    return x.index_select(0, index.reshape(-1)).view(*index.shape, *x.shape[1:])


def encode_ids(values: Sequence[object] | np.ndarray | pd.Series, device: torch.device | str | None = None) -> Tensor:
    """Map arbitrary hashable ids (strings, ints) to a ``[N]`` long tensor of dense codes, once, on the host.

    Use it when reading a table; afterwards every mask is an integer comparison on the device.
    """
    codes, _ = pd.factorize(pd.Series(values), use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError("encode_ids: ids contain missing values (NaN/None); fill or drop them first.")
    return torch.as_tensor(codes, dtype=torch.long, device=device)


def group_mask(query_ids: Tensor, key_ids: Tensor | None = None) -> Tensor:
    r"""Same-group mask :math:`M_{ij} = [\mathrm{id}_i = \mathrm{id}'_j]`, vectorised.

    Use it as ``pos_mask`` (several positives per query: same patient, same class, same next item)
    or, negated, as ``neg_mask`` (drop false negatives).

    Shapes: query_ids ``[B]``, key_ids ``[M]`` (default: query_ids) -> ``[B, M]`` bool.
    """
    key_ids = query_ids if key_ids is None else key_ids
    for name, ids in (("query_ids", query_ids), ("key_ids", key_ids)):
        if not isinstance(ids, Tensor):
            raise TypeError(f"group_mask: {name} must be a tensor; got {type(ids).__name__}. Use encode_ids().")
        if ids.dim() != 1:
            raise ValueError(f"group_mask: {name} must be 1-D; got shape {tuple(ids.shape)}.")
        if ids.is_floating_point():
            raise TypeError(f"group_mask: {name} must be integer ids; got {ids.dtype}. Use encode_ids().")
    return query_ids[:, None] == key_ids[None, :]


def topk_hard_negatives(
    query: Tensor,
    candidates: Tensor,
    k: int,
    *,
    similarity: SimilarityLike = "cosine",
    exclude: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The k candidates most similar to each query (the hardest negatives), excluding masked ones.

    Args:
        query: ``[B, D]``.
        candidates: ``[M, D]``.
        k: how many per query (``k <= M``).
        exclude: ``[B, M]`` bool, True where a candidate must not be chosen (the positive,
            same-group items).

    Returns:
        ``(negatives [B, k, D], indices [B, k])``; selection happens without gradients, the gathered
        negatives keep them.
    """
    where = "topk_hard_negatives"
    check_matrix_pair("query", query, "candidates", candidates, where)
    check_positive_int("k", k, where)
    if not 0 < k <= candidates.shape[0]:
        raise ValueError(f"{where}: k must be in [1, {candidates.shape[0]}]; got {k}.")
    with torch.no_grad():
        scores = resolve_similarity(similarity).pairwise(query, candidates).float()  # (B, M)
        if exclude is not None:
            check_mask("exclude", exclude, tuple(scores.shape), where)
            allowed = (~exclude).sum(1)
            if bool((allowed < k).any()):
                raise ValueError(f"{where}: some queries have fewer than k={k} allowed candidates.")
            scores = scores.masked_fill(exclude, float("-inf"))
        idx = scores.topk(k, dim=1).indices  # (B, k)
    return gather_rows(candidates, idx), idx


def mix_hard_negatives(
    query: Tensor,
    negatives: Tensor,
    *,
    n_hard: int = 64,
    n_mix: int = 16,
    n_mix_query: int = 8,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""MoCHi (Kalantidis et al. 2020, arXiv:2010.01028): synthetic hard negatives, detached.

    From the ``n_hard`` negatives closest to each query:

    .. math:: h = \frac{\alpha n_i + (1-\alpha) n_j}{\|\cdot\|}, \ \alpha \sim U(0,1); \qquad
        h' = \frac{\beta q + (1-\beta) n_j}{\|\cdot\|}, \ \beta \sim U(0, 0.5)

    Pass the result as ``info_nce(..., extra_negatives=...)``.

    Shapes: query ``[B, D]``, negatives ``[M, D]`` -> ``[B, n_mix + n_mix_query, D]`` (unit norm).
    """
    where = "mix_hard_negatives"
    check_matrix_pair("query", query, "negatives", negatives, where)
    check_positive_int("n_hard", n_hard, where)
    check_positive_int("n_mix", n_mix, where, allow_zero=True)
    check_positive_int("n_mix_query", n_mix_query, where, allow_zero=True)
    if not 0 < n_hard <= negatives.shape[0]:
        raise ValueError(f"{where}: n_hard must be in [1, {negatives.shape[0]}]; got {n_hard}.")
    if n_mix + n_mix_query == 0:
        raise ValueError(f"{where}: n_mix and n_mix_query must not both be 0.")
    with torch.no_grad():
        q = unit(query.detach(), 1e-12)
        hard, _ = topk_hard_negatives(q, unit(negatives.detach(), 1e-12), n_hard)  # (B, H, D)
        b, dev = q.shape[0], q.device

        def pick(n: int) -> Tensor:
            i = torch.randint(n_hard, (b, n), device=dev, generator=generator)
            return torch.gather(hard, 1, i[..., None].expand(-1, -1, hard.shape[-1]))  # (B, n, D)

        parts = []
        if n_mix:
            alpha = torch.rand(b, n_mix, 1, device=dev, generator=generator)
            parts.append(unit(alpha * pick(n_mix) + (1 - alpha) * pick(n_mix), 1e-12))
        if n_mix_query:
            beta = 0.5 * torch.rand(b, n_mix_query, 1, device=dev, generator=generator)
            parts.append(unit(beta * q[:, None] + (1 - beta) * pick(n_mix_query), 1e-12))
        return torch.cat(parts, dim=1).to(query.dtype)

