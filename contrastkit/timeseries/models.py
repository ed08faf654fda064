"""TS2Vec-style dilated convolutional encoder with timestamp masking, and a classifier on top.

Reference: Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022
(arXiv:2106.10466); COMET (Wang et al., NeurIPS 2023, arXiv:2310.14017) uses the same encoder.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MaskMode = Literal["binomial", "continuous"]


def random_timestamp_mask(
    batch: int,
    length: int,
    *,
    keep: float = 0.5,
    mode: MaskMode = "binomial",
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Which timestamps an encoder view keeps: ``[B, T]`` bool, True = kept.

    ``"binomial"``: each timestamp kept independently with probability ``keep`` (TS2Vec).
    ``"continuous"``: one contiguous span of ``round((1 - keep) * T)`` steps masked per row (COMET).
    """
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"random_timestamp_mask: keep must be in (0, 1]; got {keep}.")
    if mode == "binomial":
        return torch.rand(batch, length, device=device, generator=generator) < keep
    if mode == "continuous":
        span = round((1.0 - keep) * length)
        start = torch.randint(0, length - span + 1, (batch, 1), device=device, generator=generator)
        steps = torch.arange(length, device=device)[None, :]  # (1, T)
        return (steps < start) | (steps >= start + span)
    raise ValueError(f"random_timestamp_mask: mode must be 'binomial' or 'continuous'; got {mode!r}.")


class _ResidualDilatedBlock(nn.Module):
    """Two same-padded dilated convolutions (GELU before each) with a residual connection."""

    def __init__(self, in_ch: int, out_ch: int, dilation: int, kernel_size: int) -> None:
        super().__init__()
        pad = (kernel_size - 1) * dilation // 2
        self.conv1 = nn.Conv1d(in_ch, out_ch, kernel_size, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(out_ch, out_ch, kernel_size, padding=pad, dilation=dilation)
        self.project = nn.Conv1d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(F.gelu(self.conv1(F.gelu(x)))) + self.project(x)


class DilatedConvEncoder(nn.Module):
    r"""``[B, C, T]`` -> per-timestep representations ``[B, T, D]``.

    A per-timestep linear projection to ``hidden``, optional timestamp masking (masked steps are
    zeroed *after* the projection, as in TS2Vec), ``depth`` residual blocks with dilations
    :math:`1, 2, 4, \dots, 2^{depth-1}` and a final block to ``out_dim``. The receptive field is
    :math:`1 + 2 (k - 1)(2^{depth+1} - 1)` steps.

    Args:
        in_channels: input channels ``C``.
        out_dim: representation size ``D`` (TS2Vec: 320).
        hidden: hidden width (TS2Vec: 64).
        depth: number of hidden residual blocks (TS2Vec: 10).
        kernel_size: odd convolution width (default 3).
        dropout: dropout on the representations during training (TS2Vec: 0.1).

    Shapes:
        - **input:** ``x`` ``[B, C, T]``, ``mask`` ``[B, T]`` bool (True = kept) or None.
        - **output:** ``[B, T, D]``.

    Example:
        >>> enc = DilatedConvEncoder(in_channels=64, out_dim=32, hidden=16, depth=3)
        >>> enc(torch.randn(8, 64, 128)).shape
        torch.Size([8, 128, 32])
    """

    def __init__(
        self,
        in_channels: int,
        *,
        out_dim: int = 320,
        hidden: int = 64,
        depth: int = 10,
        kernel_size: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_dim", out_dim), ("hidden", hidden)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"DilatedConvEncoder: {name} must be an int >= 1; got {value!r}.")
        if not isinstance(depth, int) or depth < 0:
            raise ValueError(f"DilatedConvEncoder: depth must be an int >= 0; got {depth!r}.")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"DilatedConvEncoder: kernel_size must be odd (same padding); got {kernel_size}.")
        self.in_channels, self.out_dim, self.hidden, self.depth = in_channels, out_dim, hidden, depth
        self.input_proj = nn.Linear(in_channels, hidden)
        widths = [hidden] * depth + [out_dim]
        self.blocks = nn.Sequential(
            *(
                _ResidualDilatedBlock(hidden if i == 0 else widths[i - 1], widths[i], 2**i, kernel_size)
                for i in range(depth + 1)
            )
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"DilatedConvEncoder: x must be [B, {self.in_channels}, T]; got {tuple(x.shape)}. "
                "Channels come second (use x.transpose(1, 2) for [B, T, C])."
            )
        h = self.input_proj(x.transpose(1, 2))  # (B, T, H)
        if mask is not None:
            if mask.shape != h.shape[:2] or mask.dtype != torch.bool:
                raise ValueError(
                    f"DilatedConvEncoder: mask must be bool {tuple(h.shape[:2])}; got {mask.dtype} {tuple(mask.shape)}."
                )
            h = h * mask[..., None]
        h = self.blocks(h.transpose(1, 2))  # (B, D, T)
        return self.dropout(h).transpose(1, 2)  # (B, T, D)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, out_dim={self.out_dim}, hidden={self.hidden}, depth={self.depth})"


def pool_time(h: Tensor) -> Tensor:
    """Instance representation: max over time, ``[B, T, D]`` -> ``[B, D]`` (TS2Vec / COMET)."""
    return h.amax(dim=1)


class Classifier(nn.Module):
    """Encoder + time max-pool + linear head: ``[B, C, T]`` -> logits ``[B, n_classes]``.

    Used for fine-tuning (the encoder trains too) and for supervised training from scratch.
    """

    def __init__(self, encoder: DilatedConvEncoder, n_classes: int) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"Classifier: n_classes must be >= 2; got {n_classes}.")
        self.encoder = encoder
        self.head = nn.Linear(encoder.out_dim, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(pool_time(self.encoder(x)))
