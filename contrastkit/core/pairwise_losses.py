"""Distance-based pair losses: triplet (Schroff et al. 2015), max-margin contrastive (Hadsell et al.
2006) and N-pair (Sohn 2016)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import acc, check_min_batch, check_pair, check_positive, check_reduction, reduce, safe_eps

Distance = Literal["euclidean", "cosine"]


def pair_distance(a: Tensor, b: Tensor, distance: Distance) -> Tensor:
    """Row-wise distance ``[B, D] x [B, D] -> [B]``: L2 norm or ``1 - cos``."""
    if distance == "euclidean":
        # The eps keeps the gradient of the norm finite for identical rows. In float16 1e-12 is 0; there
        # the zero distance alone is floored (at 2**-24), which leaves every other float16 sum as it was.
        d2 = (a - b).pow(2).sum(-1)
        return (d2.clamp_min(safe_eps(1e-12, d2.dtype)) if d2.dtype == torch.float16 else d2 + 1e-12).sqrt()
    if distance == "cosine":
        return 1.0 - F.cosine_similarity(a, b, dim=-1, eps=safe_eps(1e-8, a.dtype))
    raise ValueError(f"distance must be 'euclidean' or 'cosine'; got {distance!r}.")


def triplet(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    margin: float = 1.0,
    distance: Distance = "euclidean",
    swap: bool = False,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> Tensor:
    r"""Triplet margin loss :math:`\max(0, d(a, p) - d(a, n) + m)`.

    Args:
        anchor, positive, negative: ``[B, D]`` each.
        margin: :math:`m \ge 0`.
        distance: ``"euclidean"`` or ``"cosine"`` (``1 - cos``).
        swap: use :math:`\min(d(a,n), d(p,n))` as the negative distance (Balntas et al. 2016).

    Shapes: ``[B, D]`` x3 -> scalar (or ``[B]``).
    """
    where = "triplet"
    check_pair(anchor, positive, where, names=("anchor", "positive"))
    check_pair(anchor, negative, where, names=("anchor", "negative"))
    check_positive("margin", margin, where, allow_zero=True)
    check_reduction(reduction, where)
    d_ap = pair_distance(anchor, positive, distance)
    d_an = pair_distance(anchor, negative, distance)
    if swap:
        d_an = torch.minimum(d_an, pair_distance(positive, negative, distance))
    return reduce(F.relu(d_ap - d_an + margin), reduction)


def margin_contrastive(
    x1: Tensor,
    x2: Tensor,
    same: Tensor,
    *,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    power: float = 2.0,
    distance: Distance = "euclidean",
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> Tensor:
    r"""Max-margin pairwise contrastive loss (Hadsell, Chopra & LeCun 2006).

    .. math:: \ell = y\,[d - m_+]_+^p + (1 - y)\,[m_- - d]_+^p

    ``power=2, pos_margin=0`` is the original; ``power=1`` is pytorch-metric-learning's ContrastiveLoss.

    Args:
        x1, x2: ``[B, D]``.
        same: ``[B]`` bool, True for positive (similar) pairs.
    """
    where = "margin_contrastive"
    check_pair(x1, x2, where, names=("x1", "x2"))
    if not isinstance(same, Tensor) or same.dtype != torch.bool or same.shape != (x1.shape[0],):
        raise TypeError(f"{where}: same must be a bool tensor of shape ({x1.shape[0]},); got {same!r:.60}.")
    check_positive("pos_margin", pos_margin, where, allow_zero=True)
    check_positive("neg_margin", neg_margin, where, allow_zero=True)
    check_positive("power", power, where)
    check_reduction(reduction, where)
    d = pair_distance(x1, x2, distance)
    loss = torch.where(same, F.relu(d - pos_margin).pow(power), F.relu(neg_margin - d).pow(power))
    return reduce(loss, reduction)


def n_pair(
    anchor: Tensor,
    positive: Tensor,
    *,
    l2_reg: float = 0.0,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> Tensor:
    r"""Multi-class N-pair loss (Sohn 2016): the other rows' positives are the negatives.

    .. math:: \ell_i = \log\Big(1 + \sum_{j \ne i} \exp(a_i^\top p_j - a_i^\top p_i)\Big)
        + \lambda (\|a_i\|^2 + \|p_i\|^2)

    It is InfoNCE with the dot product and :math:`\tau = 1` plus an L2 penalty.

    Shapes: anchor, positive ``[B, D]`` (B >= 2) -> scalar (or ``[B]``).
    """
    where = "n_pair"
    check_pair(anchor, positive, where, names=("anchor", "positive"))
    check_min_batch(anchor.shape[0], where)
    check_positive("l2_reg", l2_reg, where, allow_zero=True)
    check_reduction(reduction, where)
    logits = acc(anchor @ positive.T)  # (B, B)
    target = torch.arange(anchor.shape[0], device=anchor.device)
    loss = F.cross_entropy(logits, target, reduction="none")
    if l2_reg:
        loss = loss + l2_reg * acc(anchor.pow(2).sum(-1) + positive.pow(2).sum(-1))
    return reduce(loss, reduction)

