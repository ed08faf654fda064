"""Alignment and uniformity on the hypersphere (Wang & Isola 2020, arXiv:2005.10242)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .checks import acc, check_2d, check_min_batch, check_pair, check_positive, unit


def alignment(x: Tensor, y: Tensor, *, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Alignment :math:`\mathbb{E}_{(x,y)}\,\|f(x) - f(y)\|_2^{\alpha}` over positive pairs.

    Shapes: x, y ``[B, D]`` -> scalar. ``normalize`` projects onto the unit sphere first, as the
    paper assumes.
    """
    where = "alignment"
    check_pair(x, y, where, names=("x", "y"))
    check_positive("alpha", alpha, where)
    if normalize:
        x, y = unit(x), unit(y)
    # eps keeps the gradient of the norm finite when x == y
    return (acc(x - y).pow(2).sum(-1) + 1e-12).pow(alpha / 2).mean()


def uniformity(x: Tensor, *, t: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Uniformity :math:`\log \mathbb{E}_{i<j}\, e^{-t \|f(x_i) - f(x_j)\|_2^2}` (lower is more uniform).

    Computed as a log-sum-exp over the :math:`B(B-1)/2` pairs, so it never underflows to log(0).
    Shapes: x ``[B, D]`` (B >= 2) -> scalar.
    """
    where = "uniformity"
    check_2d("x", x, where)
    check_min_batch(x.shape[0], where)
    check_positive("t", t, where)
    if normalize:
        x = unit(x)
    b = x.shape[0]
    xf = acc(x)
    sq = (xf * xf).sum(-1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * xf @ xf.T).clamp_min(0.0)  # (B, B)
    i, j = torch.triu_indices(b, b, offset=1, device=x.device)
    return torch.logsumexp(-t * d2[i, j], dim=0) - math.log(i.numel())
