r"""Node-level graph contrastive objectives built on :mod:`contrastkit.core`.

* :func:`grace_loss` / :class:`GRACE`: two augmented views, node-level InfoNCE with inter- and
  intra-view negatives; O(N^2) time, and O(N^2) memory unless ``chunk_size`` is set.
* :func:`pamc_loss` / :class:`PamC`: positives from the r-hop normalised adjacency, negatives between
  K meta-nodes (cluster aggregates); O(E·D + N·K·D) time and memory, linear in the graph.
* DGI is PyG's :class:`~torch_geometric.nn.DeepGraphInfomax` (see :class:`~.models.DGIModel`).

Losses take tensors and return a scalar; the models live in :mod:`contrastkit.graph.models`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from contrastkit.core import contrast, gather_rows
from contrastkit.core.checks import check_2d, check_pair, check_positive, check_temperature
from contrastkit.core.similarity import resolve_similarity

AssignmentMode = Literal["soft", "hard"]
Aggregate = Literal["mean", "sum"]
TemperatureMode = Literal["divide", "multiply"]
NodeSimilarity = Literal["cosine", "dot"]


# ---------------------------------------------------------------------------------------------- GRACE
def grace_loss(z1: Tensor, z2: Tensor, *, temperature: float = 0.5, chunk_size: int | None = None) -> Tensor:
    r"""GRACE's node-level InfoNCE (Zhu et al. 2020, arXiv:2006.04131) over two views.

    With :math:`u_i, v_i` the (projected) embeddings of node i in the two views and
    :math:`\theta` the cosine similarity,

    .. math:: \ell(u_i, v_i) = -\log \frac{e^{\theta(u_i, v_i)/\tau}}{e^{\theta(u_i, v_i)/\tau}
        + \sum_{k \ne i} e^{\theta(u_i, v_k)/\tau} + \sum_{k \ne i} e^{\theta(u_i, u_k)/\tau}}

    and :math:`\mathcal{L} = \frac{1}{2N}\sum_i [\ell(u_i, v_i) + \ell(v_i, u_i)]`. Computed by the
    core's :func:`~contrastkit.core.info_nce.contrast` with candidates ``[v; u]`` and the anchor
    itself excluded; ``chunk_size`` gives the same value and gradients in ``O(N * chunk_size)`` memory.

    Shapes: z1, z2 ``[N, D]`` -> scalar (float32).

    Raises:
        ValueError/TypeError: shapes differ, non-float inputs, ``temperature <= 0``.
    """
    where = "grace_loss"
    check_pair(z1, z2, where, names=("z1", "z2"))
    check_temperature(temperature, where)
    n = z1.shape[0]
    if n < 2:
        raise ValueError(f"{where}: node-level contrast needs at least 2 nodes; got {n}.")
    u = F.normalize(z1, dim=-1, eps=1e-8)
    v = F.normalize(z2, dim=-1, eps=1e-8)
    rows = torch.arange(n, device=z1.device)
    self_col = (n + rows)[:, None]  # (N, 1): the anchor's own column in [other view; same view]
    total = z1.new_zeros((), dtype=torch.float32)
    for a, b in ((u, v), (v, u)):
        candidates = torch.cat([b, a])  # (2N, D)
        per_node = contrast(
            a, candidates, scale=1.0 / temperature, pos_col=rows, exclude=self_col, chunk_size=chunk_size
        )
        total = total + per_node.mean()
    return total / 2


class GRACE(nn.Module):
    """Module form of :func:`grace_loss`: holds ``temperature`` and ``chunk_size``.

    Example:
        >>> loss = GRACE(temperature=0.4)(projector(h1), projector(h2))  # doctest: +SKIP
    """

    def __init__(self, temperature: float = 0.5, chunk_size: int | None = None) -> None:
        super().__init__()
        check_temperature(temperature, type(self).__name__)
        if chunk_size is not None and chunk_size <= 0:
            raise ValueError(f"GRACE: chunk_size must be a positive int or None; got {chunk_size}.")
        self.temperature = float(temperature)
        self.chunk_size = chunk_size

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return grace_loss(z1, z2, temperature=self.temperature, chunk_size=self.chunk_size)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, chunk_size={self.chunk_size}"


# ---------------------------------------------------------------------------------------------- PamC
def neighbourhood_weights(
    edge_index: Tensor, num_nodes: int, hops: int = 1, *, cumulative: bool = False
) -> tuple[Tensor, Tensor]:
    r"""Off-diagonal entries of :math:`\hat A^r` (or of :math:`\sum_{t=1}^{r} \hat A^t` when
    ``cumulative``), :math:`\hat A = D^{-1/2}(A + I)D^{-1/2}`, by sparse ops.

    ``hops`` = r. ``r = 1`` is the graph's own edges; each further hop is one sparse product, so the
    entries grow like ``N * degree^r``. ``cumulative=True`` is the reference code's ``--influence``
    option: every hop up to r contributes, the nearer ones with their own (larger) weights. The
    diagonal (a node with itself) is dropped: a node is not its own positive.

    Shapes: edge_index ``[2, E]`` -> ``(index [2, P], weight [P])``.
    """
    if hops < 1:
        raise ValueError(f"neighbourhood_weights: hops must be >= 1; got {hops}.")
    index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
    assert weight is not None  # gcn_norm always returns weights for a plain edge_index
    a_hat = torch.sparse_coo_tensor(index, weight, (num_nodes, num_nodes), check_invariants=True).coalesce()
    power = total = a_hat
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        for _ in range(hops - 1):
            power = torch.sparse.mm(power, a_hat).coalesce()
            total = (total + power).coalesce() if cumulative else power
    index, weight = total.indices(), total.values()
    off = (index[0] != index[1]) & (weight > 0)
    return index[:, off], weight[off]


def hard_assignments(q: Tensor) -> Tensor:
    """One-hot of ``argmax_k q_ik`` (no gradient), as the PamC reference code. ``[N, K] -> [N, K]``."""
    return F.one_hot(q.detach().argmax(1), q.shape[1]).to(q.dtype)


def meta_nodes(z: Tensor, assignments: Tensor, aggregate: Aggregate = "mean") -> tuple[Tensor, Tensor]:
    r"""Meta-node embeddings :math:`m_k = \sum_i s_{ik} z_i` (sum) or that divided by :math:`\sum_i s_{ik}` (mean).

    Shapes: z ``[N, D]``, assignments ``[N, K]`` (soft or one-hot) -> ``(m [K, D], mass [K])``.
    An empty cluster (mass 0) gives a zero meta-node; :func:`pamc_loss` leaves those out.
    """
    if aggregate not in ("mean", "sum"):
        raise ValueError(f"meta_nodes: aggregate must be 'mean' or 'sum'; got {aggregate!r}.")
    if z.dim() != 2 or assignments.dim() != 2 or assignments.shape[0] != z.shape[0]:
        raise ValueError(
            f"meta_nodes: need z [N, D] and assignments [N, K]; got {tuple(z.shape)} and {tuple(assignments.shape)}."
        )
    mass = assignments.sum(0)  # (K,)
    m = assignments.T @ z  # (K, D)
    if aggregate == "mean":
        m = m / mass.clamp_min(1e-12)[:, None]
    return m, mass


def _segment_logsumexp(values: Tensor, index: Tensor, size: int) -> Tensor:
    """``out[i] = log sum_{e: index[e] = i} exp(values[e])``; ``-inf`` where there is no entry."""
    top = torch.full((size,), float("-inf"), dtype=values.dtype, device=values.device)
    top = top.scatter_reduce(0, index, values.detach(), reduce="amax", include_self=True)
    safe_top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    sums = torch.zeros_like(top).index_add(0, index, torch.exp(values - safe_top[index]))
    return torch.log(sums) + safe_top


def pamc_loss(
    z: Tensor,
    q: Tensor,
    pos_index: Tensor,
    pos_weight: Tensor,
    *,
    temperature: float = 0.5,
    temperature_mode: TemperatureMode = "divide",
    assignment: AssignmentMode = "soft",
    aggregate: Aggregate = "mean",
    similarity: NodeSimilarity = "cosine",
    fallback: Tensor | None = None,
) -> Tensor:
    r"""PamC's contrastive term (Kulatilleke et al. 2022, "Efficient block contrastive learning via
    parameter-free meta-node approximation", arXiv:2209.14067): positives from the graph, negatives
    between meta-nodes.

    With :math:`c = 1/\tau` (``temperature_mode="divide"``, the usual InfoNCE form) or
    :math:`c = \tau` (``"multiply"``, the reference code), :math:`w_{ij}` the off-diagonal entries of
    :math:`\hat A^r` (:func:`neighbourhood_weights`) and meta-nodes :math:`m_k` from the assignments
    (:func:`meta_nodes`):

    .. math:: \mathcal{L} = -\frac{1}{|V^+|}\sum_{i \in V^+} \log \sum_{j \ne i} w_{ij}\, e^{c\, s(z_i, z_j)}
        \;+\; \frac{1}{|K^+|}\sum_{k \in K^+} \log \sum_{l \in K^+, l \ne k} e^{c\, s(m_k, m_l)}

    :math:`V^+` are the nodes with at least one positive (isolated nodes are left out) and
    :math:`K^+` the non-empty clusters. The second term covers all N^2 node negatives through K^2
    meta-node pairs: O(N·K·D) to build the meta-nodes, O(K^2·D) to contrast them.

    Where this differs from the reference code (github.com/gayanku/PAMC, ``NcontrastCCSP``):

    * the code sums member embeddings with hard argmax assignments (``assignment="hard",
      aggregate="sum"``); the default here, as the paper describes the method, aggregates with the
      clustering head's soft assignments, so the contrast also trains the head. With the cosine
      similarity (paper and code) sum and mean give the same loss; ``aggregate`` matters for ``"dot"``.
    * the code multiplies the similarity by tau (``temperature_mode="multiply"``); the default
      divides, so ``temperature=0.5`` here equals ``tau=2`` there.
    * the code keeps the self pairs ``i = j`` and ``k = l`` in both sums as ``e^0 = 1`` terms, and
      an empty cluster gives a zero meta-node whose cosine is NaN; here self pairs are excluded
      and empty clusters dropped. If fewer than two clusters are non-empty under hard assignments,
      the soft assignments (``fallback``, default ``q``) are used for that step (the negative term
      needs two meta-nodes).
    * :math:`\hat A` is normalised symmetrically, :math:`D^{-1/2}(A+I)D^{-1/2}`, as GCN does; SCGC,
      whose code PamC's adapts, row-normalises, :math:`D^{-1}(A+I)` (PamC's own graph loader is not
      public, so this may differ from it). With the symmetric form a neighbour's weight falls with
      the degrees of both ends, with the row form only with the node's own.
    * with ``--influence`` the code weights the positives by :math:`\sum_{t \le r} \hat A^t`, not
      :math:`\hat A^r`: ``neighbourhood_weights(..., cumulative=True)``.

    Args:
        z: node embeddings ``[N, D]``.
        q: soft cluster assignments ``[N, K]`` (rows sum to 1; :class:`~.models.ClusterHead`).
        pos_index: ``[2, P]`` positive pairs ``(i, j)``; pos_weight: ``[P]`` their weights > 0.
        temperature: :math:`\tau > 0`.
        temperature_mode: ``"divide"`` (default) or ``"multiply"``.
        assignment: ``"soft"`` (default) or ``"hard"`` meta-node membership.
        aggregate: ``"mean"`` (default) or ``"sum"``.
        similarity: ``"cosine"`` (default) or ``"dot"`` for both terms.
        fallback: soft assignments ``[N, K]`` for a step where fewer than two meta-nodes are
            non-empty (default ``q``; :class:`PamC` passes the head's when ``q`` is a fixed one-hot
            membership, e.g. from k-means).

    Returns:
        A scalar, float32 (float64 for float64 inputs).

    Raises:
        ValueError: shape mismatches, K < 2, no positive pair, weights <= 0, unknown modes.
    """
    where = "pamc_loss"
    check_2d("z", z, where)
    check_2d("q", q, where)
    check_temperature(temperature, where)
    n, k = q.shape
    if n != z.shape[0]:
        raise ValueError(f"{where}: z and q must have the same number of nodes; got {z.shape[0]} and {n}.")
    if k < 2:  # K > N is fine: at most N clusters are non-empty, and empty ones are dropped (a small mini-batch)
        raise ValueError(f"{where}: need K >= 2 clusters; got K={k}.")
    if fallback is not None and fallback.shape != q.shape:
        raise ValueError(f"{where}: fallback must be shaped like q {tuple(q.shape)}; got {tuple(fallback.shape)}.")
    if pos_index.dim() != 2 or pos_index.shape[0] != 2 or pos_weight.shape != (pos_index.shape[1],):
        raise ValueError(
            f"{where}: pos_index must be [2, P] and pos_weight [P]; got {tuple(pos_index.shape)} and "
            f"{tuple(pos_weight.shape)}. Build them with neighbourhood_weights()."
        )
    if pos_weight.numel() == 0:
        raise ValueError(f"{where}: no positive pairs: the graph has no edges. PamC takes its positives from edges.")
    # One device sync for the three checks of a training step; the details only on failure.
    if not bool(torch.stack([(pos_weight > 0).all(), pos_index.min() >= 0, pos_index.max() < n]).all()):
        if not bool((pos_weight > 0).all()):  # also catches NaN
            raise ValueError(f"{where}: pos_weight must be > 0; got min {float(pos_weight.min())}.")
        raise ValueError(
            f"{where}: pos_index holds node ids in [{int(pos_index.min())}, {int(pos_index.max())}]; "
            f"there are {n} nodes."
        )
    for name, value, options in (
        ("temperature_mode", temperature_mode, ("divide", "multiply")),
        ("assignment", assignment, ("soft", "hard")),
        ("aggregate", aggregate, ("mean", "sum")),
        ("similarity", similarity, ("cosine", "dot")),
    ):
        if value not in options:
            raise ValueError(f"{where}: {name} must be one of {options}; got {value!r}.")
    scale = 1.0 / temperature if temperature_mode == "divide" else float(temperature)
    sim = resolve_similarity(similarity)

    # Positive term: log sum_j w_ij exp(c s_ij) as a segment log-sum-exp over the edge list.
    row, col = pos_index
    acc = torch.promote_types(z.dtype, torch.float32)  # float32 for half inputs, float64 kept
    zv = F.normalize(z, dim=-1, eps=1e-8) if similarity == "cosine" else z
    s_pos = (gather_rows(zv, row) * gather_rows(zv, col)).sum(-1).to(acc)  # (P,); zv[row] drifted between runs
    pos = _segment_logsumexp(torch.log(pos_weight.to(acc)) + scale * s_pos, row, n)  # (N,)
    pos_term = -pos[torch.isfinite(pos)].mean()

    # Negative term over meta-node pairs.
    s = hard_assignments(q) if assignment == "hard" else q
    m, mass = meta_nodes(z, s, aggregate)
    alive = mass > 0
    if int(alive.sum()) < 2:
        m, mass = meta_nodes(z, q if fallback is None else fallback, aggregate)
        alive = mass > 0
        if int(alive.sum()) < 2:  # one non-empty soft cluster too: no pair of meta-nodes to contrast
            raise ValueError(f"{where}: fewer than two non-empty clusters, even under the soft assignments.")
    m = m[alive]
    logits = scale * sim.pairwise(m, m).to(acc)  # (K+, K+)
    logits = logits.masked_fill(torch.eye(m.shape[0], dtype=torch.bool, device=m.device), float("-inf"))
    neg_term = torch.logsumexp(logits, dim=1).mean()
    return pos_term + neg_term


def target_distribution(q: Tensor) -> Tensor:
    r"""DEC's sharpened target :math:`p_{ik} = \frac{q_{ik}^2 / f_k}{\sum_{k'} q_{ik'}^2 / f_{k'}}`,
    :math:`f_k = \sum_i q_{ik}`; returned without gradient. ``[N, K] -> [N, K]``."""
    q = q.detach()
    weight = q.pow(2) / q.sum(0).clamp_min(1e-12)
    return weight / weight.sum(1, keepdim=True)


def clustering_kl(q: Tensor, p: Tensor | None = None) -> Tensor:
    r""":math:`\mathrm{KL}(P \| Q) = \frac{1}{N}\sum_{i,k} p_{ik} \log(p_{ik}/q_{ik})`, with P the
    :func:`target_distribution` of Q unless given. ``[N, K] -> scalar``."""
    p = target_distribution(q) if p is None else p
    if q.dim() != 2 or p.shape != q.shape:
        raise ValueError(f"clustering_kl: q and p must both be [N, K]; got {tuple(q.shape)} and {tuple(p.shape)}.")
    return F.kl_div(q.clamp_min(1e-12).log(), p, reduction="batchmean")


class PamC(nn.Module):
    r"""PamC's full objective: :func:`pamc_loss` + ``cluster_weight`` * :func:`clustering_kl`.

    .. math:: \mathcal{L} = \mathcal{L}_{\text{PamC}}(Z, Q) + \beta\, \mathrm{KL}(P \| Q)

    Args:
        temperature, temperature_mode, assignment, aggregate, similarity: as :func:`pamc_loss`.
        cluster_weight: :math:`\beta \ge 0` (default 0.1; 0 turns the DEC term off).

    :meth:`reference_code` returns the configuration of the authors' code.

    Example:
        >>> objective = PamC(temperature=0.5)
        >>> loss = objective(z, q, *neighbourhood_weights(edge_index, z.shape[0]))  # doctest: +SKIP
    """

    def __init__(
        self,
        temperature: float = 0.5,
        *,
        temperature_mode: TemperatureMode = "divide",
        assignment: AssignmentMode = "soft",
        aggregate: Aggregate = "mean",
        similarity: NodeSimilarity = "cosine",
        cluster_weight: float = 0.1,
    ) -> None:
        super().__init__()
        check_temperature(temperature, type(self).__name__)
        check_positive("cluster_weight", cluster_weight, "PamC", allow_zero=True)
        self.temperature = float(temperature)
        self.temperature_mode: TemperatureMode = temperature_mode
        self.assignment: AssignmentMode = assignment
        self.aggregate: Aggregate = aggregate
        self.similarity: NodeSimilarity = similarity
        self.cluster_weight = float(cluster_weight)

    @classmethod
    def reference_code(cls, tau: float = 2.0, cluster_weight: float = 0.1) -> PamC:
        """The authors' configuration: hard argmax, summed members, similarity multiplied by tau."""
        return cls(
            tau, temperature_mode="multiply", assignment="hard", aggregate="sum", cluster_weight=cluster_weight
        )

    def forward(
        self, z: Tensor, q: Tensor, pos_index: Tensor, pos_weight: Tensor, meta_assignments: Tensor | None = None
    ) -> Tensor:
        """``meta_assignments`` (``[N]`` cluster ids, optional) replace the head's memberships for the
        meta-nodes; the DEC term still trains the head's ``q``, and its soft assignments stand in for a
        step where fewer than two of those clusters are non-empty."""
        memberships = q
        if meta_assignments is not None:
            if meta_assignments.shape != (q.shape[0],):
                raise ValueError(
                    f"PamC: meta_assignments must be [N={q.shape[0]}]; got {tuple(meta_assignments.shape)}."
                )
            memberships = F.one_hot(meta_assignments, q.shape[1]).to(q.dtype)
        loss = pamc_loss(
            z,
            memberships,
            pos_index,
            pos_weight,
            temperature=self.temperature,
            temperature_mode=self.temperature_mode,
            assignment=self.assignment,
            aggregate=self.aggregate,
            similarity=self.similarity,
            fallback=None if meta_assignments is None else q,
        )
        if self.cluster_weight:
            loss = loss + self.cluster_weight * clustering_kl(q)
        return loss

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, temperature_mode={self.temperature_mode!r}, "
            f"assignment={self.assignment!r}, aggregate={self.aggregate!r}, cluster_weight={self.cluster_weight}"
        )
