"""Decoupled contrastive learning (Yeh et al. 2022, arXiv:2110.06848): DCL and DCLW."""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import acc, check_min_batch, check_pair, check_positive, check_temperature, unit


def von_mises_fisher_weight(z1: Tensor, z2: Tensor, sigma: float = 0.5) -> Tensor:
    r"""DCLW's positive weight :math:`w_i = 2 - B\,\mathrm{softmax}_i(\langle z^{(1)}_i, z^{(2)}_i\rangle/\sigma)`.

    Computed on detached, L2-normalised views, as in the paper's weighting function (a weight, not a
    path for gradients). Shapes: ``[B, D] x [B, D] -> [B]``; the weights average to 1.
    """
    check_pair(z1, z2, "von_mises_fisher_weight", names=("z1", "z2"))
    check_positive("sigma", sigma, "von_mises_fisher_weight")
    a = unit(z1.detach())
    b = unit(z2.detach())
    sim = acc((a * b).sum(-1)) / sigma
    return 2.0 - z1.shape[0] * torch.softmax(sim, dim=0)


def dcl(
    z1: Tensor,
    z2: Tensor,
    *,
    temperature: float = 0.1,
    weighted: bool = False,
    sigma: float = 0.5,
) -> Tensor:
    r"""Decoupled contrastive loss: NT-Xent with the positive removed from the denominator.

    .. math:: \ell_i^{(1)} = -w_i\,\langle z^{(1)}_i, z^{(2)}_i\rangle/\tau
        + \log \sum_{l \in \{1,2\},\, j \ne i} \exp(\langle z^{(1)}_i, z^{(l)}_j\rangle/\tau)

    averaged over both views and the batch; :math:`w_i = 1` (DCL) or the von Mises-Fisher weight
    (DCLW, ``weighted=True``). The loss can be negative: only its gradients matter.

    Shapes: z1, z2 ``[B, D]`` (B >= 2) -> scalar.
    """
    where = "dcl"
    check_pair(z1, z2, where, names=("z1", "z2"))
    check_temperature(temperature, where)
    check_positive("sigma", sigma, where)
    b = z1.shape[0]
    check_min_batch(b, where)
    a = unit(z1)
    p = unit(z2)
    weight = von_mises_fisher_weight(z1, z2, sigma) if weighted else None
    eye = torch.eye(b, dtype=torch.bool, device=z1.device)

    def one_side(x: Tensor, y: Tensor) -> Tensor:
        positive = acc((x * y).sum(-1)) / temperature  # (B,)
        if weight is not None:
            positive = positive * weight
        s_xx = acc(x @ x.T).div(temperature).masked_fill(eye, float("-inf"))  # (B, B)
        s_xy = acc(x @ y.T).div(temperature).masked_fill(eye, float("-inf"))  # (B, B)
        negative = torch.logsumexp(torch.cat([s_xx, s_xy], dim=1), dim=1)  # (B,)
        return (negative - positive).mean()

    return 0.5 * (one_side(a, p) + one_side(p, a))
