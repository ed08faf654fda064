"""Supervised contrastive loss (Khosla et al. 2020, arXiv:2004.11362), the L^out form."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from .checks import acc, check_2d, check_labels, check_min_batch, check_temperature, unit
from .distributed import check_distributed_available, gather_no_grad, gather_with_grad, rank_offset


def supcon(
    embeddings: Tensor,
    labels: Tensor,
    *,
    temperature: float = 0.1,
    gather_distributed: bool = False,
) -> Tensor:
    r"""SupCon: every other sample with the same label is a positive.

    .. math:: \mathcal{L} = \frac{1}{|I'|}\sum_{i \in I'} \frac{-1}{|P(i)|}\sum_{p \in P(i)}
        \log \frac{\exp(z_i \cdot z_p/\tau)}{\sum_{a \ne i} \exp(z_i \cdot z_a/\tau)}

    with :math:`z` L2-normalised, :math:`P(i) = \{p \ne i: y_p = y_i\}` and :math:`I'` the anchors
    with at least one positive. Stack the views of a sample as separate rows with the same label.

    Args:
        embeddings: ``[B, D]``.
        labels: ``[B]`` integer class / group ids.
        temperature: :math:`\tau > 0` (default 0.1).
        gather_distributed: anchors are local, candidates come from every rank.

    Returns:
        A scalar. With no positive pair in the batch it is 0 (still connected to the graph)
        and a warning is issued.
    """
    where = "supcon"
    check_2d("embeddings", embeddings, where)
    check_labels(labels, embeddings.shape[0], where)
    check_temperature(temperature, where)
    z = unit(embeddings)
    if gather_distributed:
        check_distributed_available(where)
        candidates, cand_labels = gather_with_grad(z), gather_no_grad(labels)
        offset = rank_offset(z.shape[0], z.device)
    else:
        candidates, cand_labels, offset = z, labels, 0
    check_min_batch(candidates.shape[0], where)
    b = z.shape[0]
    logits = acc(z @ candidates.T) / temperature  # (B, M)
    rows = torch.arange(b, device=z.device)
    self_mask = torch.zeros_like(logits, dtype=torch.bool)
    self_mask[rows, rows + offset] = True
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (labels[:, None] == cand_labels[None, :]) & ~self_mask
    n_pos = pos.sum(1)
    has_pos = n_pos > 0
    if not bool(has_pos.any()):
        warnings.warn(f"{where}: no two samples share a label; the loss is 0 for this batch.", stacklevel=2)
        return acc(embeddings.sum() * 0.0)
    per_anchor = -log_prob.masked_fill(~pos, 0.0).sum(1)[has_pos] / n_pos[has_pos]
    return per_anchor.mean()


class SupCon(nn.Module):
    """Module form of :func:`supcon`."""

    def __init__(self, temperature: float = 0.1, *, gather_distributed: bool = False) -> None:
        super().__init__()
        check_temperature(temperature, type(self).__name__)
        self.temperature = float(temperature)
        self.gather_distributed = gather_distributed

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return supcon(
            embeddings, labels, temperature=self.temperature, gather_distributed=self.gather_distributed
        )

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
