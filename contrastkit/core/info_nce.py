"""InfoNCE (van den Oord et al. 2018, arXiv:1807.03748), the loss behind CPC, MoCo, SimCLR and CLIP.

.. math:: \\ell_i = -\\log \\frac{e^{s(q_i,k_i)/\\tau}}{e^{s(q_i,k_i)/\\tau} + \\sum_{n \\in N(i)} e^{s(q_i,n)/\\tau}}
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checks import (
    acc,
    check_2d,
    check_floating,
    check_like,
    check_mask,
    check_min_batch,
    check_pair,
    check_positive_int,
    check_reduction,
    check_rows_nonempty,
    check_same_dim,
    check_temperature,
    reduce,
    unit,
)
from .distributed import check_distributed_available, gather_with_grad, rank_offset
from .similarity import BilinearSimilarity, SimilarityLike, _Named, resolve_similarity, scores
from .tiled import tiled_negative_lse

Reduction = Literal["mean", "sum", "none"]
_NEG_INF = float("-inf")


def linear_views(similarity: object, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor] | None:
    """Return ``(a', b')`` with ``s(a_i, b_j) = a'_i . b'_j`` when the similarity is bilinear in form.

    Tiled losses need this: they compute logits tile by tile as plain matrix products.
    """
    if isinstance(similarity, _Named) and similarity.name == "cosine":
        return unit(a), unit(b)
    if isinstance(similarity, _Named) and similarity.name == "dot":
        return a, b
    if isinstance(similarity, BilinearSimilarity):
        similarity.check_dim(a, b)
        return a @ similarity.W, b
    return None


def _loss_from_parts(l_pos: Tensor, neg_lse: Tensor) -> Tensor:
    """-log(e^{l_pos} / (e^{l_pos} + e^{neg_lse})), stable; neg_lse = -inf gives 0."""
    return torch.logaddexp(l_pos, neg_lse) - l_pos


def contrast(
    q: Tensor,
    c: Tensor,
    *,
    scale: float,
    pos_col: Tensor | None = None,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    exclude: Tensor | None = None,
    extra_logits: Tensor | None = None,
    chunk_size: int | None = None,
) -> Tensor:
    """Per-query InfoNCE over candidates, logits ``scale * q_i . c_j`` (dense or tiled).

    Exactly one of ``pos_col`` (``[B]``: one positive column per query) or ``pos_mask`` (``[B, M]``)
    is given. Negatives of row i are ``neg_mask[i]`` (default: every non-positive column) minus the
    columns in ``exclude[i]``, plus the per-query ``extra_logits`` ``[B, K]``. With several positives the per-positive terms are averaged (SupCon
    "out" form), each positive contrasted only against the negatives.

    Shapes: q ``[B, D]``, c ``[M, D]`` -> ``[B]`` (float32 for half inputs).
    """
    b = q.shape[0]
    rows = torch.arange(b, device=q.device)
    exclude_all: Tensor | None
    if exclude is not None and pos_col is not None:
        exclude_all = torch.cat([exclude, pos_col[:, None]], dim=1)
    elif pos_col is not None:
        exclude_all = pos_col[:, None]
    else:
        exclude_all = exclude
    if pos_mask is not None:
        # A marked positive is never a negative of its own query.
        neg_mask = ~pos_mask if neg_mask is None else neg_mask & ~pos_mask

    if chunk_size is not None:
        neg_lse = tiled_negative_lse(q, c, scale, chunk_size, neg_mask, exclude_all)
        if extra_logits is not None:
            neg_lse = torch.logaddexp(neg_lse, torch.logsumexp(extra_logits, dim=1))
        if pos_col is not None:
            l_pos = acc((q * c[pos_col]).sum(-1)) * scale
            return _loss_from_parts(l_pos, neg_lse)
        assert pos_mask is not None
        r, j = pos_mask.nonzero(as_tuple=True)
        l_pos = acc((q[r] * c[j]).sum(-1)) * scale
        per_pair = _loss_from_parts(l_pos, neg_lse[r])
        total = torch.zeros(b, device=q.device, dtype=per_pair.dtype).index_add_(0, r, per_pair)
        return total / pos_mask.sum(1).to(total.dtype)

    logits = acc(q @ c.T) * scale  # (B, M)
    if exclude is not None:
        # An excluded column at -inf is neither a negative nor (being no positive) a term.
        logits = logits.index_put((rows[:, None].expand_as(exclude), exclude), logits.new_tensor(_NEG_INF))
    return _from_logits(logits, pos_col, pos_mask, neg_mask, extra_logits)


def info_nce(
    query: Tensor,
    key: Tensor,
    negatives: Tensor | None = None,
    *,
    extra_negatives: Tensor | None = None,
    in_batch: bool = False,
    temperature: float = 0.1,
    similarity: SimilarityLike = "cosine",
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    chunk_size: int | None = None,
    gather_distributed: bool = False,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""InfoNCE / NT-Xent-style contrastive loss with in-batch, shared or per-query negatives.

    .. math:: \ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)} \log
        \frac{e^{s(q_i,k_p)/\tau}}{e^{s(q_i,k_p)/\tau} + \sum_{n \in N(i)} e^{s(q_i,n)/\tau}}

    * ``negatives is None``: in-batch. Candidates are all keys; by default ``P(i) = {i}`` and every
      other key is a negative. ``pos_mask`` ``[B, B]`` marks several positives per query (averaged
      in log space, SupCon-style); marked positives are never negatives of their query (false
      negatives leave the denominator). ``neg_mask`` ``[B, B]`` narrows the negatives further.
    * ``negatives`` ``[M, D]``: shared negatives (a MoCo queue); the only positive is ``key[i]``.
    * ``negatives`` ``[B, K, D]``: per-query negatives (mined hard negatives).
      ``neg_mask`` ``[B, M]`` / ``[B, K]`` drops entries (queue items from the query's own group).
    * ``negatives`` ``[M, D]`` with ``in_batch=True``: the other keys of the batch *and* the shared
      negatives (SimCSE with hard negatives, ESimCSE's in-batch + queue); masks are then
      ``[B, B + M]`` (keys first).
    * ``extra_negatives`` ``[B, K, D]`` are added to the negatives of their query in any mode:
      mined hard negatives, MoCHi's synthetic negatives (:func:`mix_hard_negatives`).

    Args:
        query: ``[B, D]``.
        key: ``[B, D]``; ``key[i]`` is the positive of ``query[i]``.
        negatives: ``None``, ``[M, D]`` or ``[B, K, D]``.
        extra_negatives: ``[B, K, D]`` per-query negatives added on top, or None.
        in_batch: with shared ``negatives``, also use the other keys as negatives.
        temperature: :math:`\tau > 0` (default 0.1).
        similarity: ``"cosine"`` (default), ``"dot"``, ``"neg_sq_euclidean"``, a
            :class:`BilinearSimilarity`, or any ``f([N, D], [M, D]) -> [N, M]``.
        pos_mask: ``[B, B]`` bool (in-batch only), True where ``key[j]`` is a positive of ``query[i]``.
        neg_mask: bool, True where the candidate is a negative of the query (see above).
        chunk_size: compute in tiles of this many queries: the same loss and gradients with
            ``O(B * chunk_size)`` extra memory instead of ``O(B^2)``. Needs a cosine, dot or bilinear
            similarity.
        gather_distributed: take keys from every ``torch.distributed`` rank (in-batch only); the
            positive of local query i is then global column ``offset + i``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (``[B]``).

    Returns:
        A scalar (or ``[B]``) in float32 for half-precision inputs (computed in float32), else the input dtype.
        A query whose masks leave it no negative contributes exactly 0 (its positives are the whole
        denominator); :func:`hard_negative_info_nce`, which cannot be defined without negatives, raises instead.

    Raises:
        ValueError: on shape mismatches, ``temperature <= 0``, fewer than 2 samples for in-batch
            negatives, a ``pos_mask`` row without positives, or an unsupported option combination.
        TypeError: on non-floating inputs or non-bool masks.

    Also known as: NT-Xent (SimCLR), the MoCo loss, MultipleNegativesRankingLoss (sentence-transformers).

    Example:
        >>> q, k = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = info_nce(q, k, temperature=0.1)
    """
    where = "info_nce"
    check_pair(query, key, where)
    check_temperature(temperature, where)
    check_reduction(reduction, where)
    sim = resolve_similarity(similarity)
    scale = 1.0 / float(temperature)
    b = query.shape[0]
    check_positive_int("chunk_size", chunk_size, where, optional=True)

    extra_logits = None
    if extra_negatives is not None:
        check_floating("extra_negatives", extra_negatives, where)
        check_like("extra_negatives", extra_negatives, "query", query, where)
        if extra_negatives.dim() != 3 or extra_negatives.shape[0] != b:
            raise ValueError(
                f"{where}: extra_negatives must be [B, K, D] with B={b}; got {tuple(extra_negatives.shape)}."
            )
        check_same_dim("query", query, "extra_negatives", extra_negatives, where)
        extra_logits = acc(scores(sim, query, extra_negatives, where)) * scale  # (B, K)

    if in_batch and (negatives is None or negatives.dim() != 2):
        raise ValueError(
            f"{where}: in_batch=True adds shared negatives [M, D] to the in-batch ones; got negatives of "
            f"shape {None if negatives is None else tuple(negatives.shape)}. Without negatives, in-batch is the default."
        )
    if negatives is None or in_batch:
        if gather_distributed:
            check_distributed_available(where)
            keys = gather_with_grad(key)
            offset = rank_offset(b, key.device)
        else:
            keys, offset = key, 0
        if negatives is None:
            check_min_batch(keys.shape[0], where)
        else:
            check_floating("negatives", negatives, where)
            check_same_dim("query", query, "negatives", negatives, where)
            keys = torch.cat([keys, negatives.to(keys.dtype)])  # (B * W + M, D): shared columns last
        if pos_mask is not None:
            check_mask("pos_mask", pos_mask, (b, keys.shape[0]), where)
            check_rows_nonempty("pos_mask", pos_mask, where)
        if neg_mask is not None:
            check_mask("neg_mask", neg_mask, (b, keys.shape[0]), where)
        views = linear_views(sim, query, keys)
        pos_col = None if pos_mask is not None else torch.arange(b, device=query.device) + offset
        if views is None:
            if chunk_size is not None:
                raise ValueError(
                    f"{where}: chunk_size needs a cosine, dot or BilinearSimilarity similarity; got {sim!r}."
                )
            # Arbitrary similarity: build logits directly, then reuse the same masking logic.
            logits = acc(scores(sim, query, keys, where)) * scale
            per_query = _from_logits(logits, pos_col, pos_mask, neg_mask, extra_logits)
        else:
            q, c = views
            per_query = contrast(
                q,
                c,
                scale=scale,
                pos_col=pos_col,
                pos_mask=pos_mask,
                neg_mask=neg_mask,
                extra_logits=extra_logits,
                chunk_size=chunk_size,
            )
        return reduce(per_query, reduction)

    if pos_mask is not None:
        raise ValueError(
            f"{where}: pos_mask applies to in-batch negatives only; with explicit negatives the positive "
            "of query i is key[i]. Use neg_mask to drop false negatives."
        )
    if gather_distributed:
        raise ValueError(
            f"{where}: gather_distributed applies to in-batch negatives; with explicit negatives gather "
            "them yourself (see MemoryQueue) and pass gather_distributed=False."
        )
    check_floating("negatives", negatives, where)
    check_like("negatives", negatives, "query", query, where)
    check_same_dim("query", query, "negatives", negatives, where)
    l_pos = acc(scores(sim, query, key.unsqueeze(1), where).squeeze(1)) * scale  # (B,)
    if negatives.dim() == 3:
        if negatives.shape[0] != b:
            raise ValueError(
                f"{where}: per-query negatives must be [B, K, D] with B={b}; got {tuple(negatives.shape)}."
            )
        l_neg = acc(scores(sim, query, negatives, where)) * scale  # (B, K)
        if neg_mask is not None:
            check_mask("neg_mask", neg_mask, tuple(l_neg.shape), where)
            l_neg = l_neg.masked_fill(~neg_mask, _NEG_INF)
        if extra_logits is not None:
            l_neg = torch.cat([l_neg, extra_logits], dim=1)
        return reduce(_loss_from_parts(l_pos, torch.logsumexp(l_neg, dim=1)), reduction)
    check_2d("negatives", negatives, where)
    if neg_mask is not None:
        check_mask("neg_mask", neg_mask, (b, negatives.shape[0]), where)
    views = linear_views(sim, query, negatives)
    if chunk_size is not None and views is not None:
        neg_lse = tiled_negative_lse(views[0], views[1], scale, chunk_size, neg_mask)
    else:
        l_neg = acc(scores(sim, query, negatives, where)) * scale  # (B, M)
        if neg_mask is not None:
            l_neg = l_neg.masked_fill(~neg_mask, _NEG_INF)
        neg_lse = torch.logsumexp(l_neg, dim=1)
    if extra_logits is not None:
        neg_lse = torch.logaddexp(neg_lse, torch.logsumexp(extra_logits, dim=1))
    return reduce(_loss_from_parts(l_pos, neg_lse), reduction)


def _from_logits(
    logits: Tensor,
    pos_col: Tensor | None,
    pos_mask: Tensor | None,
    neg_mask: Tensor | None,
    extra_logits: Tensor | None = None,
) -> Tensor:
    """The dense branch of :func:`contrast` for precomputed logits ``[B, M]`` (+ extra ``[B, K]``)."""
    if extra_logits is not None:
        # Extra negatives become columns that are negatives of their own row only.
        logits = torch.cat([logits, extra_logits.to(logits.dtype)], dim=1)  # (B, M + K)
        pad = torch.zeros_like(extra_logits, dtype=torch.bool)
        pos_mask = None if pos_mask is None else torch.cat([pos_mask, pad], dim=1)
        neg_mask = None if neg_mask is None else torch.cat([neg_mask, ~pad], dim=1)
    rows = torch.arange(logits.shape[0], device=logits.device)
    if pos_col is not None and neg_mask is None:
        return F.cross_entropy(logits, pos_col, reduction="none")
    if pos_mask is not None:
        neg_mask = ~pos_mask if neg_mask is None else neg_mask & ~pos_mask
    assert neg_mask is not None
    negatives = neg_mask.clone()
    if pos_col is not None:
        negatives[rows, pos_col] = False
    neg_lse = torch.logsumexp(logits.masked_fill(~negatives, _NEG_INF), dim=1)
    if pos_col is not None:
        return _loss_from_parts(logits[rows, pos_col], neg_lse)
    assert pos_mask is not None
    per_entry = _loss_from_parts(logits, neg_lse[:, None]).masked_fill(~pos_mask, 0.0)
    return per_entry.sum(1) / pos_mask.sum(1).to(per_entry.dtype)


class InfoNCE(nn.Module):
    """Module form of :func:`info_nce`; holds the hyper-parameters (and a learned similarity).

    Args:
        temperature: :math:`\\tau > 0`.
        similarity: as in :func:`info_nce`; a :class:`BilinearSimilarity` is registered as a
            submodule so its ``W`` trains with the model.
        chunk_size: tile size for the exact low-memory path, or None.
        gather_distributed: use keys from every rank as negatives.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    def __init__(
        self,
        temperature: float = 0.1,
        similarity: SimilarityLike = "cosine",
        *,
        chunk_size: int | None = None,
        gather_distributed: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        check_temperature(temperature, type(self).__name__)
        check_reduction(reduction, type(self).__name__)
        # A misspelt similarity or a bad chunk size fails here, not at the first batch of a long run.
        resolve_similarity(similarity)
        check_positive_int("chunk_size", chunk_size, type(self).__name__, optional=True)
        if gather_distributed:
            check_distributed_available(type(self).__name__)
        self.temperature = float(temperature)
        self.similarity = similarity
        self.chunk_size = chunk_size
        self.gather_distributed = gather_distributed
        self.reduction: Reduction = reduction

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        negatives: Tensor | None = None,
        *,
        extra_negatives: Tensor | None = None,
        in_batch: bool = False,
        pos_mask: Tensor | None = None,
        neg_mask: Tensor | None = None,
    ) -> Tensor:
        return info_nce(
            query,
            key,
            negatives,
            extra_negatives=extra_negatives,
            in_batch=in_batch,
            temperature=self.temperature,
            similarity=self.similarity,
            pos_mask=pos_mask,
            neg_mask=neg_mask,
            chunk_size=self.chunk_size,
            gather_distributed=self.gather_distributed,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, chunk_size={self.chunk_size}"
