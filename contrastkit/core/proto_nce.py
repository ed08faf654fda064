"""ProtoNCE, the prototype term of Prototypical Contrastive Learning (Li et al. 2021, arXiv:2005.04966)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import acc, check_2d, check_like, check_positive, check_same_dim, unit


def _check_clustering(
    m: int, protos: Tensor, assign: Tensor, phi: Tensor, b: int, where: str
) -> None:
    check_2d(f"prototypes[{m}]", protos, where)
    for name, t in ((f"assignments[{m}]", assign), (f"concentrations[{m}]", phi)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor; got {type(t).__name__}.")
    if assign.is_floating_point():
        raise TypeError(f"{where}: assignments[{m}] must be integer cluster ids; got {assign.dtype}.")
    if assign.shape != (b,):
        raise ValueError(f"{where}: assignments[{m}] must be [B]={b}; got {tuple(assign.shape)}.")
    if assign.numel() and (int(assign.min()) < 0 or int(assign.max()) >= protos.shape[0]):
        raise ValueError(
            f"{where}: assignments[{m}] holds ids outside [0, {protos.shape[0]}); got range "
            f"[{int(assign.min())}, {int(assign.max())}]."
        )
    if phi.shape != (protos.shape[0],) or not bool(((phi > 0) & torch.isfinite(phi)).all()):
        raise ValueError(f"{where}: concentrations[{m}] must be [{protos.shape[0]}], finite and > 0.")


def proto_nce(
    query: Tensor,
    prototypes: list[Tensor],
    assignments: list[Tensor],
    concentrations: list[Tensor],
) -> Tensor:
    r"""Prototype term of ProtoNCE, averaged over M clusterings.

    .. math:: \mathcal{L}_{proto} = \frac{1}{M}\sum_{m=1}^{M} -\log
        \frac{\exp(v \cdot c^m_s/\phi^m_s)}{\sum_{j=1}^{K_m} \exp(v \cdot c^m_j/\phi^m_j)}

    with :math:`v` the L2-normalised query, :math:`c^m_s` its assigned prototype and :math:`\phi`
    the per-prototype concentration (:func:`estimate_concentration`). The full PCL loss is
    ``info_nce(query, key, queue) + proto_nce(...)``. Here every other prototype is a negative
    (the paper samples r of them when K is huge).

    Shapes: query ``[B, D]``; prototypes[m] ``[K_m, D]``; assignments[m] ``[B]``;
    concentrations[m] ``[K_m]`` -> scalar.
    """
    where = "proto_nce"
    check_2d("query", query, where)
    if query.shape[0] == 0:
        raise ValueError(f"{where}: the batch is empty (query has shape {tuple(query.shape)}).")
    if not (len(prototypes) == len(assignments) == len(concentrations) >= 1):
        raise ValueError(
            f"{where}: prototypes, assignments and concentrations must be lists of the same length >= 1; "
            f"got {len(prototypes)}, {len(assignments)}, {len(concentrations)}."
        )
    v = unit(query)
    terms = []
    for m, (protos, assign, phi) in enumerate(zip(prototypes, assignments, concentrations, strict=True)):
        _check_clustering(m, protos, assign, phi, query.shape[0], where)
        check_same_dim("query", query, f"prototypes[{m}]", protos, where)
        check_like(f"prototypes[{m}]", protos, "query", query, where)
        c = unit(protos)
        logits = acc(v @ c.T) / phi.to(acc(v).dtype)[None, :]  # (B, K_m)
        terms.append(F.cross_entropy(logits, assign.long()))
    return torch.stack(terms).mean()


@torch.no_grad()
def estimate_concentration(
    embeddings: Tensor, assignments: Tensor, centroids: Tensor, *, alpha: float = 10.0
) -> Tensor:
    r"""PCL's concentration :math:`\phi = \frac{\sum_z \|v_z - c\|_2}{Z \log(Z + \alpha)}` per cluster.

    Clusters with at most one member get the largest value of the others (the reference code's
    ``dmax``: a singleton is given the loosest concentration seen), then values are clipped to the
    10th-90th percentile and divided by their mean (the reference code then multiplies by its
    temperature; pass ``temperature * phi`` to :func:`proto_nce`).

    Shapes: embeddings ``[N, D]``, assignments ``[N]``, centroids ``[K, D]`` -> ``[K]``.
    """
    where = "estimate_concentration"
    check_2d("embeddings", embeddings, where)
    check_positive("alpha", alpha, where)
    check_2d("centroids", centroids, where)
    check_same_dim("embeddings", embeddings, "centroids", centroids, where)
    if embeddings.shape[0] == 0:
        raise ValueError(f"{where}: embeddings is empty (shape {tuple(embeddings.shape)}).")
    k = centroids.shape[0]
    _check_clustering(0, centroids, assignments, torch.ones(k), embeddings.shape[0], where)
    dist = (embeddings - centroids[assignments]).norm(dim=-1)
    sums = torch.zeros(k, device=embeddings.device).index_add_(0, assignments, dist.float())
    counts = torch.bincount(assignments, minlength=k).float()
    phi = sums / (counts * torch.log(counts + alpha)).clamp_min(1e-12)
    valid = counts > 1
    if bool(valid.any()):
        phi = torch.where(valid, phi, phi[valid].max())
    else:
        phi = torch.ones_like(phi)
    lo, hi = torch.quantile(phi, 0.1), torch.quantile(phi, 0.9)
    phi = phi.clamp(lo, hi)
    if not bool(phi.any()):  # every cluster's members sit on its centroid: 0 / 0, all equally tight
        return torch.ones_like(phi)
    return phi / phi.mean()
