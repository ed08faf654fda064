r"""Next-item losses, sequence augmentations and the CL4SRec, DuoRec and MCLRec objectives.

Every objective is ``loss = next_item_loss + weight * contrastive_term``. The contrastive terms are
built on :func:`contrastkit.core.info_nce` (2N-view InfoNCE with in-batch negatives) and
:func:`contrastkit.core.group_mask` (DuoRec's same-target false negatives).

Papers:
    * CL4SRec: Xie et al. 2022, "Contrastive Learning for Sequential Recommendation", arXiv:2010.14395.
    * DuoRec: Qiu et al. 2022, "Contrastive Learning for Representation Degeneration Problem in
      Sequential Recommendation", arXiv:2110.05730.
    * MCLRec: Qin et al. 2023, "Meta-optimized Contrastive Learning for Sequential Recommendation",
      arXiv:2304.07763.

Notation: ``B`` sequences, ``L`` positions, ``D`` embedding size, ``I`` real items.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.core import gather_rows, group_mask, info_nce, resolve_similarity
from contrastkit.core.checks import check_min_batch
from contrastkit.core.similarity import SimilarityLike

from .data import PAD, Batch
from .models import Augmenter, SASRec

NextItemLoss = Literal["ce", "bpr", "sampled_softmax"]
NEXT_ITEM_LOSSES: tuple[str, ...] = ("ce", "bpr", "sampled_softmax")
MCLRecViews = Literal["cl4srec", "duorec"]


# ----------------------------------------------------------------------------- next-item losses
def sample_other_items(targets: Tensor, n_items: int, k: int, generator: torch.Generator | None = None) -> Tensor:
    """``k`` items per target drawn uniformly from the ``n_items - 1`` items that are not the target.

    Shapes: targets ``[N]`` (values ``1..n_items``) -> ``[N, k]``.
    """
    if n_items < 2:
        raise ValueError(f"sample_other_items: need at least 2 items to draw negatives; got n_items={n_items}.")
    shift = torch.randint(1, n_items, (targets.shape[0], k), device=targets.device, generator=generator)
    return (targets[:, None] - 1 + shift) % n_items + 1  # never the target itself


def next_item_loss(
    hidden: Tensor,
    targets: Tensor,
    item_embeddings: Tensor,
    *,
    kind: NextItemLoss = "ce",
    n_negatives: int = 100,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""The recommendation loss of a representation ``h`` whose next item is ``t``; scores ``s_i = h . e_i``.

    * ``"ce"``: full softmax over all items, :math:`-\log \frac{e^{s_t}}{\sum_{i=1}^{I} e^{s_i}}`.
    * ``"bpr"``: one uniform negative :math:`j \ne t`, :math:`-\log \sigma(s_t - s_j)`.
    * ``"sampled_softmax"``: ``n_negatives`` uniform negatives :math:`j_k \ne t`,
      :math:`-\log \frac{e^{s_t}}{e^{s_t} + \sum_k e^{s_{j_k}}}`.

    Args:
        hidden: ``[N, D]`` representations (one per supervised position).
        targets: ``[N]`` next items in ``1..I``.
        item_embeddings: ``[I, D]``; row ``i - 1`` is item ``i``.
        kind: ``"ce"`` (default), ``"bpr"`` or ``"sampled_softmax"``.
        n_negatives: negatives per position for ``"sampled_softmax"``.

    Returns:
        The mean over the N positions (a scalar).
    """
    n_items = item_embeddings.shape[0]
    if kind not in NEXT_ITEM_LOSSES:
        raise ValueError(f"next_item_loss: kind must be one of {NEXT_ITEM_LOSSES}; got {kind!r}.")
    if targets.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"next_item_loss: targets must be integer item indices; got {targets.dtype}.")
    if targets.numel() == 0:
        raise ValueError("next_item_loss: no supervised positions (every target is padding).")
    if bool((targets < 1).any()) or bool((targets > n_items).any()):
        raise ValueError(f"next_item_loss: targets must be item indices in 1..{n_items}; got range "
                         f"[{int(targets.min())}, {int(targets.max())}].")
    if kind == "ce":
        return F.cross_entropy(hidden @ item_embeddings.T, targets - 1)  # logits (N, I)
    k = 1 if kind == "bpr" else n_negatives
    if k < 1:
        raise ValueError(f"next_item_loss: n_negatives must be >= 1; got {n_negatives}.")
    negatives = sample_other_items(targets, n_items, k, generator)  # (N, k)
    pos = (hidden * gather_rows(item_embeddings, targets - 1)).sum(-1)  # (N,)
    neg = torch.einsum("nd,nkd->nk", hidden, gather_rows(item_embeddings, negatives - 1))  # (N, k)
    if kind == "bpr":
        return -F.logsigmoid(pos - neg[:, 0]).mean()
    logits = torch.cat([pos[:, None], neg], dim=1)  # (N, 1 + k)
    return F.cross_entropy(logits, torch.zeros_like(targets))


# ----------------------------------------------------------------------------- augmentations
def _lengths(seqs: Tensor) -> Tensor:
    if seqs.dtype != torch.long or seqs.dim() != 2:
        raise TypeError(f"augmentations take [B, L] long left-padded item tensors; got {seqs.dtype} {tuple(seqs.shape)}.")
    real = seqs != PAD
    # The augmentations place the n real items in the last n columns; a right-padded row (or a
    # hole) would be cropped to padding.
    if bool((real[:, :-1] & ~real[:, 1:]).any()):
        raise ValueError("augmentations take left-padded sequences (padding 0 before the items); got padding after an item.")
    return real.sum(1)


def _check_rate(name: str, rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {rate}.")


def crop(seqs: Tensor, rate: float, generator: torch.Generator | None = None) -> Tensor:
    r"""CL4SRec item crop: keep a random contiguous run of :math:`\max(1, \lfloor \eta n \rfloor)` items.

    Shapes: ``[B, L]`` left-padded -> ``[B, L]`` left-padded (``n`` = real items in the row).
    """
    _check_rate("crop rate", rate)
    b, length = seqs.shape
    n = _lengths(seqs)
    keep = torch.minimum((rate * n).floor().long().clamp(min=1), n)  # (B,)
    start = (torch.rand(b, device=seqs.device, generator=generator) * (n - keep + 1)).long()  # (B,)
    col = torch.arange(length, device=seqs.device)
    # Output column j >= L - keep holds real item start + j - (L - keep), found at column L - n + that.
    src = col[None, :] + (keep - n + start)[:, None]  # (B, L)
    valid = col[None, :] >= (length - keep)[:, None]
    return torch.where(valid, seqs.gather(1, src.clamp(0, length - 1)), torch.zeros_like(seqs))


def mask_items(seqs: Tensor, rate: float, mask_token: int, generator: torch.Generator | None = None) -> Tensor:
    r"""CL4SRec item mask: replace :math:`\lfloor \gamma n \rfloor` random real items with ``mask_token``.

    Shapes: ``[B, L]`` -> ``[B, L]``.
    """
    _check_rate("mask rate", rate)
    n = _lengths(seqs)
    k = (rate * n).floor().long()  # (B,)
    priority = torch.rand(seqs.shape, device=seqs.device, generator=generator).masked_fill(seqs == PAD, 2.0)
    rank = priority.argsort(1).argsort(1)  # (B, L) rank of each column among its row
    return torch.where(rank < k[:, None], torch.full_like(seqs, mask_token), seqs)


def reorder(seqs: Tensor, rate: float, generator: torch.Generator | None = None) -> Tensor:
    r"""CL4SRec item reorder: shuffle a random contiguous run of :math:`\lfloor \beta n \rfloor` items.

    Shapes: ``[B, L]`` -> ``[B, L]``.
    """
    _check_rate("reorder rate", rate)
    b, length = seqs.shape
    n = _lengths(seqs)
    size = (rate * n).floor().long()  # (B,)
    lo = length - n + (torch.rand(b, device=seqs.device, generator=generator) * (n - size + 1)).long()  # (B,)
    col = torch.arange(length, device=seqs.device).expand(b, -1)
    inside = (col >= lo[:, None]) & (col < (lo + size)[:, None])
    # Columns outside keep their integer key; inside ones get keys strictly between lo-1 and lo+size.
    u = torch.rand(seqs.shape, device=seqs.device, generator=generator)
    key = torch.where(inside, lo[:, None] - 0.5 + u * size[:, None], col.to(u.dtype))
    return seqs.gather(1, key.argsort(1))


def random_augment(
    seqs: Tensor,
    *,
    mask_token: int,
    crop_rate: float = 0.6,
    mask_rate: float = 0.3,
    reorder_rate: float = 0.6,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One of crop / mask / reorder per sequence, chosen uniformly (CL4SRec's view generator).

    Shapes: ``[B, L]`` -> ``[B, L]``.
    """
    views = torch.stack(
        [
            crop(seqs, crop_rate, generator),
            mask_items(seqs, mask_rate, mask_token, generator),
            reorder(seqs, reorder_rate, generator),
        ]
    )  # (3, B, L)
    choice = torch.randint(3, (seqs.shape[0],), device=seqs.device, generator=generator)
    return views[choice, torch.arange(seqs.shape[0], device=seqs.device)]


# ----------------------------------------------------------------------------- contrastive terms
def two_view_info_nce(
    z1: Tensor,
    z2: Tensor,
    *,
    temperature: float = 1.0,
    similarity: SimilarityLike = "dot",
    same_ids: Tensor | None = None,
) -> Tensor:
    r"""InfoNCE over the 2N views of N pairs: each view's positive is its pair, the other 2N-2 views are negatives.

    .. math:: \ell_a = -\log \frac{e^{s(v_a, v_{a^+})/\tau}}{e^{s(v_a, v_{a^+})/\tau} +
        \sum_{b \notin \{a, a^+\}} [\mathrm{id}_b \ne \mathrm{id}_a]\, e^{s(v_a, v_b)/\tau}}

    averaged over the 2N views ``v = [z1; z2]``. With ``same_ids`` views whose sequences share an id
    (DuoRec: the same next item) are not negatives of each other; without it, this is the
    loss of the CL4SRec/DuoRec reference code (and with cosine similarity, :func:`contrastkit.core.nt_xent`).

    Args:
        z1, z2: ``[N, D]`` the two views of N sequences.
        temperature: :math:`\tau > 0` (default 1.0, the reference codes' value with dot products).
        similarity: ``"dot"`` (default, as the references) or ``"cosine"``, ...
        same_ids: ``[N]`` integer ids; None keeps every other view as a negative.

    Returns:
        A scalar.
    """
    n = z1.shape[0]
    check_min_batch(n, "two_view_info_nce")  # one pair alone has no negative: the loss would be 0
    z = torch.cat([z1, z2])  # (2N, D)
    partner = torch.cat([z2, z1])  # (2N, D) key a is the positive of query a
    rows = torch.arange(2 * n, device=z1.device)
    itself = F.one_hot((rows + n) % (2 * n), 2 * n).bool()  # column holding the query's own view
    neg_mask = ~itself
    if same_ids is not None:
        if same_ids.shape != (n,):
            raise ValueError(f"two_view_info_nce: same_ids must be [N]={n}; got {tuple(same_ids.shape)}.")
        ids = torch.cat([same_ids, same_ids])
        neg_mask = neg_mask & ~group_mask(ids, ids)
    return info_nce(z, partner, temperature=temperature, similarity=similarity, neg_mask=neg_mask)


def margin_regulariser(z1: Tensor, z2: Tensor, *, similarity: SimilarityLike = "dot") -> Tensor:
    r"""MCLRec's contrastive regulariser: keeps augmented pairs from becoming trivially easy.

    For every view ``a`` of ``[z1; z2]`` with positive logit :math:`p_a` and negative logits
    :math:`n_{ab}` (the other 2N-2 views), with :math:`m_a = \max_b n_{ab}`:

    .. math:: R = \frac{1}{2N}\sum_a [p_a - m_a]_+ \;+\; \frac{1}{2N(2N-2)}\sum_{a,b} [\max(p_a, m_a) - n_{ab}]_+

    as in the authors' code (``meta_contrast_rl``): a positive may not stand out above the hardest
    negative, and negatives are pulled up to the larger of the two.

    Shapes: z1, z2 ``[N, D]`` -> scalar.
    """
    n = z1.shape[0]
    check_min_batch(n, "margin_regulariser")
    z = torch.cat([z1, z2])  # (2N, D)
    logits = resolve_similarity(similarity).pairwise(z, z)  # (2N, 2N)
    rows = torch.arange(2 * n, device=z.device)
    pos_col = (rows + n) % (2 * n)
    pos = logits[rows, pos_col]  # (2N,)
    is_neg = torch.ones_like(logits, dtype=torch.bool)
    is_neg[rows, rows] = False
    is_neg[rows, pos_col] = False
    neg = logits[is_neg].view(2 * n, 2 * n - 2)  # (2N, 2N - 2)
    hardest = neg.max(1).values
    return F.relu(pos - hardest).mean() + F.relu(torch.maximum(pos, hardest)[:, None] - neg).mean()


# ----------------------------------------------------------------------------- objectives
class SequentialObjective(nn.Module):
    """SASRec's next-item loss at every non-padding position; the base of the contrastive objectives.

    Calling ``objective(model, batch)`` returns ``{"loss": total, "rec": next-item loss, ...}``, the
    form :class:`contrastkit.core.Trainer` expects from a step function.

    Args:
        loss: ``"ce"`` (full softmax, default), ``"bpr"`` or ``"sampled_softmax"``.
        n_negatives: negatives per position for ``"sampled_softmax"``.
    """

    def __init__(self, *, loss: NextItemLoss = "ce", n_negatives: int = 100) -> None:
        super().__init__()
        if loss not in NEXT_ITEM_LOSSES:
            raise ValueError(f"{type(self).__name__}: loss must be one of {NEXT_ITEM_LOSSES}; got {loss!r}.")
        self.loss, self.n_negatives = loss, n_negatives

    def rec_loss(self, model: SASRec, batch: Batch) -> Tensor:
        hidden = model.encode(batch.inputs)  # (B, L, D)
        supervised = batch.targets != PAD  # (B, L)
        return next_item_loss(
            hidden[supervised], batch.targets[supervised], model.item_embeddings(), kind=self.loss, n_negatives=self.n_negatives
        )

    def forward(self, model: SASRec, batch: Batch) -> dict[str, Tensor]:
        rec = self.rec_loss(model, batch)
        return {"loss": rec, "rec": rec.detach()}

    def extra_repr(self) -> str:
        return f"loss={self.loss!r}"


class _Contrastive(SequentialObjective):
    """Shared hyper-parameters of the contrastive objectives (weight, temperature, similarity, min_pairs).

    ``min_pairs``: batches with fewer sequences get no contrastive term (the next-item loss only).
    An epoch's last, incomplete batch (2 windows for 610 users in batches of 32) would otherwise
    give a 4-view InfoNCE with 2 negatives per view, whose gradient on the shared encoder was up
    to ~10x that of a full batch's contrastive term on ml-latest-small.
    """

    def __init__(
        self,
        *,
        weight: float,
        temperature: float,
        similarity: SimilarityLike,
        loss: NextItemLoss,
        n_negatives: int,
        min_pairs: int = 2,
    ) -> None:
        super().__init__(loss=loss, n_negatives=n_negatives)
        if weight < 0:
            raise ValueError(f"{type(self).__name__}: weight must be >= 0; got {weight}.")
        if min_pairs < 2:
            raise ValueError(f"{type(self).__name__}: min_pairs must be >= 2 (in-batch negatives); got {min_pairs}.")
        self.weight, self.temperature, self.similarity, self.min_pairs = weight, temperature, similarity, min_pairs

    def contrasts(self, batch: Batch) -> bool:
        """Whether this batch is large enough (``>= min_pairs`` sequences) for the contrastive term."""
        return batch.inputs.shape[0] >= self.min_pairs

    def rec_only(self, rec: Tensor, *extra: str) -> dict[str, Tensor]:
        zero = rec.new_zeros(())
        return {"loss": rec, "rec": rec.detach(), **{name: zero for name in extra}}

    def contrast(self, z1: Tensor, z2: Tensor, same_ids: Tensor | None = None) -> Tensor:
        return two_view_info_nce(z1, z2, temperature=self.temperature, similarity=self.similarity, same_ids=same_ids)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, weight={self.weight}, temperature={self.temperature}"


class CL4SRec(_Contrastive):
    r"""CL4SRec: two stochastic views per sequence (crop / mask / reorder), InfoNCE over the 2N views.

    .. math:: \mathcal{L} = \mathcal{L}_{rec} + \lambda\, \mathrm{InfoNCE}_{2N}(h(\tilde s^{(1)}), h(\tilde s^{(2)}))

    Args:
        weight: :math:`\lambda` (default 0.1).
        crop_rate, mask_rate, reorder_rate: :math:`\eta, \gamma, \beta` of the augmentations.
        temperature, similarity: of the InfoNCE term (default 1.0 and dot products, as the reference).
        loss, n_negatives: the next-item loss (see :class:`SequentialObjective`).
    """

    def __init__(
        self,
        *,
        weight: float = 0.1,
        crop_rate: float = 0.6,
        mask_rate: float = 0.3,
        reorder_rate: float = 0.6,
        temperature: float = 1.0,
        similarity: SimilarityLike = "dot",
        loss: NextItemLoss = "ce",
        n_negatives: int = 100,
        min_pairs: int = 2,
    ) -> None:
        super().__init__(
            weight=weight, temperature=temperature, similarity=similarity, loss=loss, n_negatives=n_negatives, min_pairs=min_pairs
        )
        for name, rate in (("crop_rate", crop_rate), ("mask_rate", mask_rate), ("reorder_rate", reorder_rate)):
            _check_rate(f"CL4SRec: {name}", rate)
        self.rates = {"crop_rate": crop_rate, "mask_rate": mask_rate, "reorder_rate": reorder_rate}

    def views(self, model: SASRec, seqs: Tensor) -> tuple[Tensor, Tensor]:
        """Representations ``[B, D]`` of two independent augmentations of every sequence."""
        v1 = random_augment(seqs, mask_token=model.mask_token, **self.rates)
        v2 = random_augment(seqs, mask_token=model.mask_token, **self.rates)
        z = model.represent(torch.cat([v1, v2]))  # (2B, D)
        return z[: seqs.shape[0]], z[seqs.shape[0] :]

    def forward(self, model: SASRec, batch: Batch) -> dict[str, Tensor]:
        rec = self.rec_loss(model, batch)
        if not self.contrasts(batch):
            return self.rec_only(rec, "cl")
        cl = self.contrast(*self.views(model, batch.inputs))
        return {"loss": rec + self.weight * cl, "rec": rec.detach(), "cl": cl.detach()}


def duorec_views(model: SASRec, batch: Batch) -> tuple[Tensor, Tensor]:
    """DuoRec's two views ``[B, D]``: a second dropout pass over each window and over its same-target partner.

    Both run in one forward pass with fresh dropout masks (the model-level augmentation); the
    partner is :attr:`Batch.partner`, another training prefix with the same next item.
    """
    b = batch.inputs.shape[0]
    z = model.represent(torch.cat([batch.inputs, batch.partner]))  # (2B, D)
    return z[:b], z[b:]


class DuoRec(_Contrastive):
    r"""DuoRec: a dropout view of each sequence contrasted with another sequence that has the same next item.

    .. math:: \mathcal{L} = \mathcal{L}_{rec} + \lambda\, \mathrm{InfoNCE}_{2N}(h'(s), h'(s^{+}))

    :math:`h'` is a second forward pass (a new dropout mask: the model-level augmentation) and
    :math:`s^{+}` a training prefix whose next item equals that of :math:`s` (the supervised
    positive, :attr:`Batch.partner`); this is the reference's default ``us_x`` form.

    Sequences in the batch that share the next item are *false negatives*. The reference code keeps
    them as negatives; ``mask_same_target=True`` (the default here) removes them from the
    denominator via :func:`contrastkit.core.group_mask`. Set it to False to reproduce the reference.

    Args:
        weight: :math:`\lambda` (default 0.1, the reference's ``lmd_sem``).
        mask_same_target: drop same-target sequences from the negatives (default True).
        temperature, similarity: of the InfoNCE term (default 1.0 and dot products, as the reference).
        loss, n_negatives: the next-item loss.
    """

    def __init__(
        self,
        *,
        weight: float = 0.1,
        mask_same_target: bool = True,
        temperature: float = 1.0,
        similarity: SimilarityLike = "dot",
        loss: NextItemLoss = "ce",
        n_negatives: int = 100,
        min_pairs: int = 2,
    ) -> None:
        super().__init__(
            weight=weight, temperature=temperature, similarity=similarity, loss=loss, n_negatives=n_negatives, min_pairs=min_pairs
        )
        self.mask_same_target = mask_same_target

    def forward(self, model: SASRec, batch: Batch) -> dict[str, Tensor]:
        rec = self.rec_loss(model, batch)
        if not self.contrasts(batch):
            return self.rec_only(rec, "cl")
        same = batch.targets[:, -1] if self.mask_same_target else None
        cl = self.contrast(*duorec_views(model, batch), same)
        return {"loss": rec + self.weight * cl, "rec": rec.detach(), "cl": cl.detach()}

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mask_same_target={self.mask_same_target}"


class MCLRec(CL4SRec):
    r"""MCLRec: CL4SRec's views plus two learnable augmenters, trained in a meta step that alternates with the encoder.

    With views :math:`z_1, z_2` (CL4SRec augmentations, or DuoRec's with ``views="duorec"``) and augmented views :math:`a_1 = g_1(z_1)`,
    :math:`a_2 = g_2(z_2)` (residual MLPs that start as the identity, :class:`Augmenter`):

    .. math:: M = \mathrm{NCE}(z_1, a_2) + \mathrm{NCE}(z_2, a_1) + \mathrm{NCE}(a_1, a_2)
        + \rho\,[R(z_1, a_2) + R(z_2, a_1) + R(a_1, a_2)]

    .. math:: \mathcal{L}_{enc} = \mathcal{L}_{rec} + \lambda\, \mathrm{NCE}(z_1, z_2) + \beta M

    Each call first takes the meta step: one Adam step on the augmenters' parameters minimising
    :math:`M` with the encoder fixed (its outputs detached), then returns :math:`\mathcal{L}_{enc}`
    for the encoder step, with the updated augmenters fixed. :math:`R` is :func:`margin_regulariser`.
    This is the first-order alternation of the authors' code (encoder step, augmenter step).
    The next-item loss is always computed on the clean sequences; augmentations only enter the
    contrastive terms.

    Unlike the authors' plain MLPs, the augmenters start as the identity, so :math:`M` begins as
    three copies of CL4SRec's pair loss and the meta step learns perturbations at the
    representation's scale. Plain randomly initialised MLPs map a representation of norm
    :math:`\sqrt{D}` to a random direction of about a quarter of that norm; with dot-product
    InfoNCE the encoder term :math:`\beta M` then pulled the encoder towards those random maps
    for as long as the (slow) meta steps left them uninformative (on ml-latest-small, test
    NDCG@10 0.0046 against SASRec-CE's 0.0160 after 8 epochs).

    The augmenters' optimizer state is part of ``state_dict()`` (``get_extra_state``), so a
    :class:`~contrastkit.core.Trainer` checkpoint resumes it exactly. Give the Trainer an optimizer
    over the encoder's parameters only (:func:`contrastkit.recsys.train.fit` does).

    ``views`` picks the stochastic views that the augmenters start from: ``"cl4srec"`` (default, the
    paper's crop / mask / reorder data augmentations) or ``"duorec"`` (a deviation from the paper:
    DuoRec's dropout view of each window and of a same-target partner, with same-target sequences
    masked out of every InfoNCE term's negatives unless ``mask_same_target=False``), for data on
    which CL4SRec's augmentations do not help but DuoRec's views do.

    Args:
        hidden: representation size ``D`` (the augmenters' width).
        views: ``"cl4srec"`` (default) or ``"duorec"``, as above.
        weight: :math:`\lambda` (default 0.1); beta: :math:`\beta` (default 0.1);
        reg_weight: :math:`\rho` (default 0.1, the reference's factor); meta_lr: the augmenters' Adam rate.
        crop_rate, mask_rate, reorder_rate, temperature, similarity, loss, n_negatives: as :class:`CL4SRec`.
        mask_same_target: with ``views="duorec"``, as :class:`DuoRec` (ignored with CL4SRec's views).
    """

    def __init__(
        self,
        hidden: int,
        *,
        views: MCLRecViews = "cl4srec",
        weight: float = 0.1,
        beta: float = 0.1,
        reg_weight: float = 0.1,
        meta_lr: float = 1e-3,
        crop_rate: float = 0.6,
        mask_rate: float = 0.3,
        reorder_rate: float = 0.6,
        temperature: float = 1.0,
        similarity: SimilarityLike = "dot",
        loss: NextItemLoss = "ce",
        n_negatives: int = 100,
        min_pairs: int = 2,
        mask_same_target: bool = True,
    ) -> None:
        super().__init__(
            min_pairs=min_pairs,
            weight=weight,
            crop_rate=crop_rate,
            mask_rate=mask_rate,
            reorder_rate=reorder_rate,
            temperature=temperature,
            similarity=similarity,
            loss=loss,
            n_negatives=n_negatives,
        )
        if beta < 0 or reg_weight < 0 or meta_lr <= 0:
            raise ValueError(f"MCLRec: need beta >= 0, reg_weight >= 0, meta_lr > 0; got {beta}, {reg_weight}, {meta_lr}.")
        if views not in get_args(MCLRecViews):
            raise ValueError(f"MCLRec: views must be one of {get_args(MCLRecViews)}; got {views!r}.")
        self.views_from: MCLRecViews = views
        self.mask_same_target = mask_same_target
        self.beta, self.reg_weight = beta, reg_weight
        self.augmenters = nn.ModuleList([Augmenter(hidden), Augmenter(hidden)])
        self.meta_optimizer = torch.optim.Adam(self.augmenters.parameters(), lr=meta_lr)

    def meta_loss(self, z1: Tensor, z2: Tensor, same_ids: Tensor | None = None) -> Tensor:
        """:math:`M` for views ``z1, z2`` ``[B, D]`` through the current augmenters (``same_ids``: as :meth:`contrast`)."""
        a1, a2 = self.augmenters[0](z1), self.augmenters[1](z2)
        pairs = ((z1, a2), (z2, a1), (a1, a2))
        total = sum(self.contrast(x, y, same_ids) for x, y in pairs)
        if self.reg_weight:
            total = total + self.reg_weight * sum(margin_regulariser(x, y, similarity=self.similarity) for x, y in pairs)
        return total  # type: ignore[return-value]

    def meta_step(self, z1: Tensor, z2: Tensor, same_ids: Tensor | None = None) -> Tensor:
        """One augmenter update on detached representations; returns the meta loss before the step."""
        params = list(self.augmenters.parameters())
        loss = self.meta_loss(z1.detach(), z2.detach(), same_ids)
        grads = torch.autograd.grad(loss, params)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        self.meta_optimizer.step()
        for p in params:
            p.grad = None
        return loss.detach()

    def forward(self, model: SASRec, batch: Batch) -> dict[str, Tensor]:
        rec = self.rec_loss(model, batch)
        if not self.contrasts(batch):
            return self.rec_only(rec, "cl", "meta")
        if self.views_from == "duorec":
            (z1, z2), same = duorec_views(model, batch), batch.targets[:, -1] if self.mask_same_target else None
        else:
            (z1, z2), same = self.views(model, batch.inputs), None
        meta = self.meta_step(z1, z2, same) if self.training else z1.new_zeros(())
        for p in self.augmenters.parameters():
            p.requires_grad_(False)
        try:
            enc_meta = self.meta_loss(z1, z2, same)
        finally:
            for p in self.augmenters.parameters():
                p.requires_grad_(True)
        cl = self.contrast(z1, z2, same)
        loss = rec + self.weight * cl + self.beta * enc_meta
        return {"loss": loss, "rec": rec.detach(), "cl": cl.detach(), "meta": meta}

    def get_extra_state(self) -> dict[str, Any]:
        return {"meta_optimizer": self.meta_optimizer.state_dict()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.meta_optimizer.load_state_dict(state["meta_optimizer"])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, views={self.views_from!r}, beta={self.beta}, reg_weight={self.reg_weight}"
