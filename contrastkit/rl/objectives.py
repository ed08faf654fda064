r"""CURL's contrastive auxiliary objective (Laskin, Srinivas & Abbeel 2020, arXiv:2004.04136).

Two random crops of the same observation stack are the query and the key; the key is encoded by a
momentum (EMA) copy of the encoder; the similarity is bilinear; the other samples of the batch are
the negatives:

.. math:: \mathcal{L} = -\frac{1}{B}\sum_{i=1}^{B}
    \log \frac{\exp(q_i^\top W k_i)}{\sum_{j=1}^{B} \exp(q_i^\top W k_j)}
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from contrastkit.core import BilinearSimilarity, MomentumEncoder, info_nce
from contrastkit.core.checks import check_positive_int

from .augment import center_crop, random_crop, random_shift

Augmentation = Literal["crop", "shift", "none"]


def curl_loss(query: Tensor, key: Tensor, similarity: BilinearSimilarity) -> Tensor:
    r"""CURL's InfoNCE: bilinear logits :math:`q_i^\top W k_j`, no temperature, in-batch negatives.

    Args:
        query: ``[B, D]`` online-encoder features of the anchor crops.
        key: ``[B, D]`` momentum-encoder features of the positive crops (no gradient expected).
        similarity: the learned :math:`W` (``[D, D]``).

    Returns:
        A scalar: the mean over the batch of cross-entropy with target ``i`` for row ``i``.

    Raises:
        TypeError: if ``similarity`` is not a :class:`BilinearSimilarity`.
        ValueError: on shape mismatches or ``B < 2`` (no negatives).

    Relations: :func:`contrastkit.core.info_nce` with ``temperature=1`` and ``similarity=W``.
    """
    if not isinstance(similarity, BilinearSimilarity):
        raise TypeError(
            f"curl_loss: similarity must be a BilinearSimilarity (the learned W); got {type(similarity).__name__}."
        )
    return info_nce(query, key, temperature=1.0, similarity=similarity)


class CurlAuxiliary(nn.Module):
    """What CURL adds to an off-policy agent: the augmentation, ``W`` and the key encoder.

    The key encoder is its own EMA copy of the online encoder (``momentum = 1 - encoder_tau``); the
    agent calls :meth:`update_key_encoder` every ``key_update_interval`` gradient steps. (CURL's
    reference code reuses the critic target's encoder, which is the same EMA with the same schedule.)

    Args:
        encoder: the online encoder (``[B, C, S, S]`` raw pixels -> ``[B, D]``); deep-copied for the key.
        features_dim: D.
        crop_size: S, side of the training crops.
        augmentation: ``"crop"``: a random ``S x S`` crop (CURL); ``"shift"``: the center ``S x S`` crop
            shifted by up to ``shift_pad`` pixels with replicated borders (DrQ); ``"none"``: the center
            crop, unaugmented (the CURL paper's "pixel SAC" baseline; the two CURL views are then equal).
        shift_pad: maximum shift in pixels for ``"shift"``.
        encoder_tau: EMA rate of the key encoder (CURL: 0.05).
        w_init: initialisation of ``W``: ``"uniform"`` (CURL's ``torch.rand``), ``"identity"``, ``"random"``.

    Shapes:
        - :meth:`augment`: ``[B, C, H, W] -> [B, C, S, S]``
        - :meth:`forward`: query ``[B, D]``, observations ``[B, C, H, W]`` -> scalar
    """

    def __init__(
        self,
        encoder: nn.Module,
        features_dim: int,
        *,
        crop_size: int,
        augmentation: Augmentation = "crop",
        shift_pad: int = 4,
        encoder_tau: float = 0.05,
        w_init: Literal["uniform", "identity", "random"] = "uniform",
    ) -> None:
        super().__init__()
        if augmentation not in ("crop", "shift", "none"):
            raise ValueError(f"CurlAuxiliary: augmentation must be 'crop', 'shift' or 'none'; got {augmentation!r}.")
        if not 0.0 < encoder_tau <= 1.0:
            raise ValueError(f"CurlAuxiliary: encoder_tau must be in (0, 1]; got {encoder_tau}.")
        check_positive_int("crop_size", crop_size, "CurlAuxiliary")
        check_positive_int("shift_pad", shift_pad, "CurlAuxiliary", allow_zero=True)
        self.crop_size = crop_size
        self.augmentation: Augmentation = augmentation
        self.shift_pad = shift_pad
        self.similarity = BilinearSimilarity(features_dim, init=w_init)
        self.key_encoder = MomentumEncoder(encoder, momentum=1.0 - encoder_tau)

    def augment(self, observations: Tensor) -> Tensor:
        """One independent random view per sample: ``[B, C, H, W] -> [B, C, S, S]`` (same dtype)."""
        if self.augmentation == "crop":
            return random_crop(observations, self.crop_size)
        if self.augmentation == "none":
            return center_crop(observations, self.crop_size)
        return random_shift(center_crop(observations, self.crop_size), self.shift_pad)

    def forward(self, query: Tensor, observations: Tensor) -> Tensor:
        """CURL loss of ``query`` (the online features of one view of ``observations``) against the
        momentum features of a second, independent view of the same observations."""
        key = self.key_encoder(self.augment(observations))  # (B, D), no gradient
        return curl_loss(query, key, self.similarity)

    @property
    def encoder_tau(self) -> float:
        return 1.0 - self.key_encoder.momentum

    def update_key_encoder(self, encoder: nn.Module) -> None:
        """EMA step of the key encoder towards ``encoder``."""
        self.key_encoder.update(encoder)

    def extra_repr(self) -> str:
        return f"crop_size={self.crop_size}, augmentation={self.augmentation!r}, encoder_tau={self.encoder_tau:g}"
