"""Symile (Saporta et al. 2024, arXiv:2411.01053): contrastive learning for three or more modalities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import acc, check_2d, check_like, check_min_batch, check_temperature, unit


def multilinear_inner_product(*xs: Tensor) -> Tensor:
    r"""MIP :math:`\langle x_1, \ldots, x_M \rangle = \sum_d \prod_m x_{m,d}`. Shapes: ``[B, D]`` each -> ``[B]``."""
    if len(xs) < 2 or any(x.dim() != 2 or x.shape != xs[0].shape for x in xs):
        raise ValueError(
            f"multilinear_inner_product: needs >= 2 tensors of one shape [B, D]; got {[tuple(x.shape) for x in xs]}."
        )
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out.sum(-1)


def symile(*modalities: Tensor, temperature: float = 0.07, normalize: bool = True) -> Tensor:
    r"""Symile loss with in-batch negatives, averaged over the target modality.

    For target modality m, the positive of row i is :math:`x_m^{(i)}` and the negatives are the
    other rows' :math:`x_m^{(j)}`, scored with the other modalities of row i fixed:

    .. math:: \ell^m_i = -\log \frac{\exp(\mathrm{MIP}(x_m^{(i)}, \{x_{m'}^{(i)}\}_{m' \ne m})/\tau)}
        {\sum_j \exp(\mathrm{MIP}(x_m^{(j)}, \{x_{m'}^{(i)}\}_{m' \ne m})/\tau)}

    The logits for target m are one matrix product: :math:`(\prod_{m' \ne m} x_{m'}) x_m^\top`.

    Args:
        modalities: M >= 2 tensors ``[B, D]`` (M = 2 is CLIP's symmetric InfoNCE).
        temperature: :math:`\tau > 0` (Symile learns ``1/tau`` as a logit scale; pass it here).
        normalize: L2-normalise each modality first, as the reference code does.
    """
    where = "symile"
    if len(modalities) < 2:
        raise ValueError(f"{where}: needs at least 2 modalities; got {len(modalities)}.")
    check_temperature(temperature, where)
    for m, x in enumerate(modalities):
        check_2d(f"modalities[{m}]", x, where)
        if x.shape != modalities[0].shape:
            raise ValueError(
                f"{where}: all modalities must share [B, D]; modality 0 is {tuple(modalities[0].shape)}, "
                f"modality {m} is {tuple(x.shape)}."
            )
        check_like(f"modalities[{m}]", x, "modalities[0]", modalities[0], where)
    check_min_batch(modalities[0].shape[0], where)
    xs = [unit(x) for x in modalities] if normalize else list(modalities)
    target = torch.arange(xs[0].shape[0], device=xs[0].device)
    terms = []
    for m in range(len(xs)):
        others = torch.ones_like(xs[0])
        for mm, x in enumerate(xs):
            if mm != m:
                others = others * x
        logits = acc(others @ xs[m].T) / temperature  # (B, B)
        terms.append(F.cross_entropy(logits, target))
    return torch.stack(terms).mean()
