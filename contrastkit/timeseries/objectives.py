r"""COMET's four contrastive levels for medical time series, each usable alone, built on ``info_nce``.

COMET: Wang et al., "Contrast Everything: A Hierarchical Contrastive Framework for Medical
Time-Series", NeurIPS 2023 (arXiv:2310.14017). Every level takes two views ``z1, z2`` ``[B, T, D]``
of the same batch (per-timestep encoder outputs) and contrasts the ``2B`` (or ``2T``) stacked rows:

.. math:: \ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)} \log
    \frac{e^{s(z_i, z_p)/\tau}}{e^{s(z_i, z_p)/\tau} + \sum_{n \in N(i)} e^{s(z_i, z_n)/\tau}}

=============  ===============================  =================================  ====================
level          rows                             positives :math:`P(i)`             negatives :math:`N(i)`
=============  ===============================  =================================  ====================
observation    the ``2T`` timestamps of one     same timestamp, other view         other timestamps of
               sample, at every max-pooled                                         the sample (both
               scale ``T, T/2, ..., 2``                                            views)
sample         ``2B`` time-pooled samples       same sample, other view            other samples
trial          ``2B`` time-pooled samples       *other* samples of the same trial  other trials
patient        ``2B`` time-pooled samples       *other* samples of the patient     other patients
=============  ===============================  =================================  ====================

Differences from the authors' code (github.com/DL4mHealth/COMET, commit 0882df9), on purpose:
the trial and patient levels exclude the sample's own other view from the negatives as well as
from the positives (the sample level owns that pair), contrast time-pooled representations rather
than flattened ``[T * D]`` ones, and use the ``2B`` stacked rows in both directions; the sample
level contrasts time-pooled representations instead of every timestamp; and all levels share one
pair of views instead of two forward passes per level. Rows without a positive (a trial with a
single sample in the batch) are left out; a level with no positive at all returns 0 with a
:class:`NoPositivePairsWarning` the first time, and one whose rows have positives but no negative
(a batch of one patient, at the patient level) a constant with the same warning.

Notation: B = batch size, T = time steps, D = representation size.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.core import group_mask, info_nce
from contrastkit.core.checks import check_temperature
from contrastkit.core.similarity import SimilarityLike

from .models import pool_time

Level = Literal["observation", "sample", "trial", "patient"]
LEVELS: tuple[Level, ...] = get_args(Level)
ObservationSimilarity = Literal["dot", "cosine"]


class NoPositivePairsWarning(UserWarning):
    """A contrastive level found no positive pair, or no negative, in a batch and so gave no gradient."""


_WARNED: set[str] = set()


def _check_views(z1: Tensor, z2: Tensor, where: str) -> None:
    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, Tensor) or not z.is_floating_point():
            raise TypeError(f"{where}: {name} must be a floating-point tensor; got {getattr(z, 'dtype', type(z))}.")
    if z1.dim() != 3 or z1.shape != z2.shape:
        raise ValueError(
            f"{where}: z1 and z2 must both be [B, T, D] with the same shape; "
            f"got {tuple(z1.shape)} and {tuple(z2.shape)}."
        )


def _check_ids(ids: Tensor, b: int, device: torch.device, where: str, name: str) -> Tensor:
    if not isinstance(ids, Tensor) or ids.is_floating_point() or ids.dtype == torch.bool:
        raise TypeError(
            f"{where}: {name} must be an integer tensor of codes; got {getattr(ids, 'dtype', type(ids))}. "
            "Encode string ids once with contrastkit.core.encode_ids."
        )
    if ids.shape != (b,):
        raise ValueError(f"{where}: {name} must have shape ({b},); got {tuple(ids.shape)}.")
    return ids.to(device)


def stacked_contrast(
    z: Tensor,
    pos_mask: Tensor,
    neg_mask: Tensor,
    *,
    temperature: float,
    similarity: SimilarityLike,
    level: str,
) -> Tensor:
    """Mean InfoNCE over the rows of ``z`` ``[N, D]`` that have a positive; 0 (with a warning) if none.

    ``pos_mask``/``neg_mask`` ``[N, N]`` bool must be False on the diagonal. A row without a
    positive gets itself as a placeholder positive (so :func:`info_nce` stays finite) and weight 0.
    """
    has_pos = pos_mask.any(dim=1)  # (N,)
    if not bool(has_pos.any()):
        if level not in _WARNED:
            _WARNED.add(level)
            warnings.warn(
                f"{level} level: no positive pair in the batch (no two samples share an id), so it "
                "contributes 0. Use HierarchicalBatchSampler with samples_per_trial >= 2.",
                NoPositivePairsWarning,
                stacklevel=3,
            )
        return z.sum() * 0.0
    if not bool((neg_mask.any(dim=1) & has_pos).any()) and f"{level}-negatives" not in _WARNED:
        _WARNED.add(f"{level}-negatives")
        warnings.warn(
            f"{level} level: no row with a positive has a negative in the batch (e.g. one patient per batch "
            "at the patient level), so it gives no gradient. Put samples of several ids in each batch.",
            NoPositivePairsWarning,
            stacklevel=3,
        )
    eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    pos = pos_mask | (eye & ~has_pos[:, None])
    per_row = info_nce(
        z, z, pos_mask=pos, neg_mask=neg_mask, temperature=temperature, similarity=similarity, reduction="none"
    )  # (N,)
    return (per_row * has_pos).sum() / has_pos.sum()


def _two_view_masks(ids: Tensor, own_view_positive: bool) -> tuple[Tensor, Tensor]:
    """Masks over the ``2n`` stacked rows ``[view 1; view 2]`` for per-row group codes ``ids`` ``[n]``.

    ``own_view_positive``: the row's other view is the positive (sample level, where
    ``ids`` are ``arange(n)``); otherwise other rows sharing an id are positives and the own other
    view is neither positive nor negative (trial/patient levels).
    """
    n = ids.shape[0]
    rows = torch.arange(n, device=ids.device).repeat(2)  # (2n,)
    same_row = group_mask(rows)  # (2n, 2n)
    same_id = group_mask(ids.repeat(2))  # (2n, 2n)
    if own_view_positive:
        return same_row & ~torch.eye(2 * n, dtype=torch.bool, device=ids.device), ~same_id
    return same_id & ~same_row, ~same_id


def _observation_scale(z1: Tensor, z2: Tensor, temperature: float, similarity: ObservationSimilarity) -> Tensor:
    """One scale of the observation level, all samples at once: ``[B, T, D]`` views -> scalar."""
    t = z1.shape[1]
    z = torch.cat([z1, z2], dim=1)  # (B, 2T, D)
    if similarity == "cosine":
        z = F.normalize(z, dim=-1, eps=1e-8)
    logits = torch.bmm(z, z.transpose(1, 2))  # (B, 2T, 2T)
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32)) / temperature  # >= float32
    self_pair = torch.eye(2 * t, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pair, float("-inf"))
    target = (torch.arange(2 * t, device=z.device) + t) % (2 * t)  # (2T,) the same step, other view
    return F.cross_entropy(logits.reshape(-1, 2 * t), target.repeat(z.shape[0]))


def observation_loss(
    z1: Tensor,
    z2: Tensor,
    *,
    temperature: float = 1.0,
    similarity: ObservationSimilarity = "dot",
    max_scales: int | None = None,
) -> Tensor:
    r"""Observation level: the same timestamp across two views is the positive, other timestamps negative.

    For each sample the ``2T`` rows ``[z1_b; z2_b]`` are contrasted (each row's positive is the same
    timestamp in the other view; the other ``2T - 2`` rows are negatives), averaged over rows and
    samples; then both views are max-pooled by 2 along time and the loss repeated while ``T >= 2``.
    The result is the mean over scales (TS2Vec's temporal loss; defaults: dot product,
    :math:`\tau=1`). Per scale this equals :func:`contrastkit.core.info_nce` on each sample's ``2T``
    rows with the other-view mask (the tests check it), computed for all samples in one batched
    product because the core's ``info_nce`` has no group dimension.

    Args:
        z1, z2: ``[B, T, D]``.
        temperature: :math:`\tau > 0`.
        similarity: ``"dot"`` (TS2Vec, COMET) or ``"cosine"``.
        max_scales: use at most this many scales (None: all).

    Raises:
        ValueError: on mismatched shapes, ``T < 2`` (a single timestamp has no negatives), a bad
            temperature or similarity.
    """
    where = "observation_loss"
    _check_views(z1, z2, where)
    if z1.shape[1] < 2:
        raise ValueError(f"{where}: needs T >= 2 timestamps; got T={z1.shape[1]}.")
    if max_scales is not None and (not isinstance(max_scales, int) or max_scales < 1):
        raise ValueError(f"{where}: max_scales must be an int >= 1 or None; got {max_scales!r}.")
    if similarity not in ("dot", "cosine"):
        raise ValueError(f"{where}: similarity must be 'dot' or 'cosine'; got {similarity!r}.")
    check_temperature(temperature, where)
    scale_losses = []
    while z1.shape[1] >= 2 and (max_scales is None or len(scale_losses) < max_scales):
        scale_losses.append(_observation_scale(z1, z2, temperature, similarity))
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)  # (B, T // 2, D)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    return torch.stack(scale_losses).mean()


def sample_loss(
    z1: Tensor, z2: Tensor, *, temperature: float = 0.1, similarity: SimilarityLike = "cosine"
) -> Tensor:
    """Sample level: a sample's other view is its positive, the other ``2B - 2`` rows negatives.

    On time-max-pooled representations; with the cosine default this is SimCLR's NT-Xent.

    Shapes: z1, z2 ``[B, T, D]`` -> scalar. Needs ``B >= 2``.
    """
    where = "sample_loss"
    _check_views(z1, z2, where)
    if z1.shape[0] < 2:
        raise ValueError(f"{where}: needs a batch of at least 2 samples; got B={z1.shape[0]}.")
    pos, neg = _two_view_masks(torch.arange(z1.shape[0], device=z1.device), own_view_positive=True)
    z = torch.cat([pool_time(z1), pool_time(z2)])  # (2B, D)
    return stacked_contrast(z, pos, neg, temperature=temperature, similarity=similarity, level="sample")


def group_level_loss(
    z1: Tensor,
    z2: Tensor,
    ids: Tensor,
    *,
    temperature: float = 0.1,
    similarity: SimilarityLike = "cosine",
    level: str = "group",
) -> Tensor:
    """Other samples with the same id (either view) are positives; samples with another id negatives.

    The trial and patient levels; the mask is :func:`contrastkit.core.group_mask` on integer codes
    (one vectorised comparison on the tensors' device). A sample's own other view is neither.

    Shapes: z1, z2 ``[B, T, D]``, ids ``[B]`` integer -> scalar.
    """
    where = f"{level}_loss"
    _check_views(z1, z2, where)
    ids = _check_ids(ids, z1.shape[0], z1.device, where, "ids")
    pos, neg = _two_view_masks(ids, own_view_positive=False)
    z = torch.cat([pool_time(z1), pool_time(z2)])  # (2B, D)
    return stacked_contrast(z, pos, neg, temperature=temperature, similarity=similarity, level=level)


def trial_loss(
    z1: Tensor, z2: Tensor, trial: Tensor, *, temperature: float = 0.1, similarity: SimilarityLike = "cosine"
) -> Tensor:
    """Trial level: :func:`group_level_loss` with trial codes ``[B]``."""
    return group_level_loss(z1, z2, trial, temperature=temperature, similarity=similarity, level="trial")


def patient_loss(
    z1: Tensor, z2: Tensor, patient: Tensor, *, temperature: float = 0.1, similarity: SimilarityLike = "cosine"
) -> Tensor:
    """Patient level: :func:`group_level_loss` with patient codes ``[B]``."""
    return group_level_loss(z1, z2, patient, temperature=temperature, similarity=similarity, level="patient")


@dataclass(frozen=True)
class LevelWeights:
    """Weights of COMET's levels; a level with weight 0 is not computed."""

    observation: float = 0.25
    """Observation level (timestamps)."""
    sample: float = 0.25
    """Sample level (instances)."""
    trial: float = 0.25
    """Trial level (samples of a trial)."""
    patient: float = 0.25
    """Patient level (samples of a patient)."""

    def __post_init__(self) -> None:
        values = asdict(self)
        bad = {k: v for k, v in values.items() if not isinstance(v, (int, float)) or not 0 <= v < math.inf}
        if bad:
            raise ValueError(f"LevelWeights: weights must be finite numbers >= 0; got {bad}.")
        if sum(values.values()) <= 0:
            raise ValueError("LevelWeights: at least one level needs a weight > 0.")

    @classmethod
    def equal(cls, levels: Sequence[str]) -> LevelWeights:
        """Weight ``1 / len(levels)`` on each named level, 0 elsewhere: ``equal(["sample", "trial"])``."""
        unknown = sorted(set(levels) - set(LEVELS))
        if unknown or not levels:
            raise ValueError(f"LevelWeights.equal: levels must be a non-empty subset of {list(LEVELS)}; got {list(levels)}.")
        return cls(**{lv: (1.0 / len(set(levels)) if lv in levels else 0.0) for lv in LEVELS})

    def active(self) -> list[Level]:
        return [lv for lv in LEVELS if getattr(self, lv) > 0]


PAPER_WEIGHTS = LevelWeights()
"""0.25 on each level (the paper's default)."""
PTB_WEIGHTS = LevelWeights(observation=0.1, sample=0.7, trial=0.1, patient=0.1)
"""The paper's weights for PTB (observation 0.1, sample 0.7, trial 0.1, patient 0.1)."""


class COMET(nn.Module):
    r"""The weighted sum of the four levels: :math:`\mathcal{L} = \sum_\ell w_\ell \mathcal{L}_\ell`.

    Args:
        weights: :class:`LevelWeights` or a mapping ``{level: weight}`` (missing levels get 0).
        observation_temperature: :math:`\tau` of the observation level (default 1, dot product).
        temperature: :math:`\tau` of the sample, trial and patient levels (default 0.1, cosine).
        max_scales: observation-level scales (None: all).

    Shapes:
        ``forward(z1, z2, trial, patient)`` with views ``[B, T, D]`` and codes ``[B]`` returns
        ``{"loss": total, "<level>": level loss, ...}`` for the active levels (a step_fn output).

    Example:
        >>> comet = COMET(LevelWeights.equal(["sample", "trial"]))
        >>> out = comet(torch.randn(8, 16, 4), torch.randn(8, 16, 4), torch.arange(8) // 2, torch.arange(8) // 4)
        >>> sorted(out)
        ['loss', 'sample', 'trial']
    """

    def __init__(
        self,
        weights: LevelWeights | Mapping[str, float] = PAPER_WEIGHTS,
        *,
        observation_temperature: float = 1.0,
        temperature: float = 0.1,
        max_scales: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(weights, LevelWeights):
            unknown = sorted(set(weights) - set(LEVELS))
            if unknown:
                raise ValueError(f"COMET: unknown levels {unknown}; choose from {list(LEVELS)}.")
            weights = LevelWeights(**{lv: float(weights.get(lv, 0.0)) for lv in LEVELS})
        check_temperature(observation_temperature, "COMET (observation_temperature)")
        check_temperature(temperature, "COMET")
        self.weights = weights
        self.observation_temperature = float(observation_temperature)
        self.temperature = float(temperature)
        self.max_scales = max_scales

    def forward(self, z1: Tensor, z2: Tensor, trial: Tensor, patient: Tensor) -> dict[str, Tensor]:
        losses: dict[str, Tensor] = {}
        for level in self.weights.active():
            if level == "observation":
                losses[level] = observation_loss(
                    z1, z2, temperature=self.observation_temperature, max_scales=self.max_scales
                )
            elif level == "sample":
                losses[level] = sample_loss(z1, z2, temperature=self.temperature)
            else:
                ids = trial if level == "trial" else patient
                losses[level] = group_level_loss(z1, z2, ids, temperature=self.temperature, level=level)
        total = sum((getattr(self.weights, lv) * loss for lv, loss in losses.items()), start=z1.new_zeros(()))
        return {"loss": total, **losses}

    def extra_repr(self) -> str:
        w = ", ".join(f"{lv}={getattr(self.weights, lv):g}" for lv in LEVELS)
        return f"{w}, temperature={self.temperature:g}, observation_temperature={self.observation_temperature:g}"
