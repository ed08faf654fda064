"""Image augmentations for batches of pixel observations, vectorised on the observations' device.

All functions take ``uint8`` (or float) tensors ``[B, C, H, W]`` (channel-first, frame-stacked:
``C = frames * 3``) and return the same dtype. One crop window is drawn per sample and shared by all
its channels, so the frames of a stack stay aligned (CURL, Laskin et al. 2020, arXiv:2004.04136).

Shapes:
    - **random_crop / center_crop:** ``[B, C, H, W] -> [B, C, size, size]``
    - **random_shift:** ``[B, C, H, W] -> [B, C, H, W]`` (DrQ, Kostrikov et al. 2020, arXiv:2004.13649)
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_image_batch(obs: Tensor, where: str) -> None:
    """Raise unless ``obs`` is a ``[B, C, H, W]`` tensor."""
    if not isinstance(obs, Tensor):
        raise TypeError(f"{where}: observations must be a torch.Tensor; got {type(obs).__name__}.")
    if obs.dim() != 4:
        raise ValueError(
            f"{where}: observations must be a channel-first batch [B, C, H, W]; got shape {tuple(obs.shape)}. "
            "Add a batch dimension with obs.unsqueeze(0)."
        )


def _check_size(obs: Tensor, size: int, where: str) -> None:
    check_image_batch(obs, where)
    height, width = obs.shape[-2:]
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ValueError(f"{where}: size must be a positive int; got {size!r}.")
    if size > min(height, width):
        raise ValueError(
            f"{where}: the crop ({size}x{size}) is larger than the frame ({height}x{width}). "
            f"Render larger frames or crop to at most {min(height, width)}."
        )


def _windows(obs: Tensor, top: Tensor, left: Tensor, size: int) -> Tensor:
    """Gather the ``size x size`` window at ``(top[b], left[b])`` of each sample; rows/columns outside
    the frame are clamped to the border (replicate padding).

    Shapes: obs ``[B, C, H, W]``, top/left ``[B]`` (long) -> ``[B, C, size, size]``.
    """
    b, c, height, width = obs.shape
    offsets = torch.arange(size, device=obs.device)
    rows = (top[:, None] + offsets).clamp(0, height - 1)  # (B, size)
    cols = (left[:, None] + offsets).clamp(0, width - 1)  # (B, size)
    batch = torch.arange(b, device=obs.device)[:, None, None, None]
    channel = torch.arange(c, device=obs.device)[None, :, None, None]
    return obs[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]  # (B, C, size, size)


def random_crop(obs: Tensor, size: int, generator: torch.Generator | None = None) -> Tensor:
    """One uniformly random ``size x size`` window per sample (CURL's augmentation).

    Args:
        obs: ``[B, C, H, W]`` with ``H, W >= size``.
        size: output side length (CURL: 84 from 100).
        generator: a ``torch.Generator`` on ``obs.device`` for reproducible draws, or None (global RNG).

    Raises:
        ValueError: if ``size`` exceeds the frame or ``obs`` is not ``[B, C, H, W]``.
    """
    _check_size(obs, size, "random_crop")
    b, _, height, width = obs.shape
    top = torch.randint(0, height - size + 1, (b,), device=obs.device, generator=generator)
    left = torch.randint(0, width - size + 1, (b,), device=obs.device, generator=generator)
    return _windows(obs, top, left, size)


def center_crop(obs: Tensor, size: int) -> Tensor:
    """The central ``size x size`` window (the evaluation-time counterpart of :func:`random_crop`).

    Raises:
        ValueError: if ``size`` exceeds the frame or ``obs`` is not ``[B, C, H, W]``.
    """
    _check_size(obs, size, "center_crop")
    top = (obs.shape[-2] - size) // 2
    left = (obs.shape[-1] - size) // 2
    return obs[..., top : top + size, left : left + size]


def random_shift(obs: Tensor, pad: int = 4, generator: torch.Generator | None = None) -> Tensor:
    """Shift each sample by up to ``pad`` pixels in each direction, replicating the border (DrQ).

    Equivalent to replicate-padding by ``pad`` and taking a random ``H x W`` crop; square frames only.

    Raises:
        ValueError: if ``pad < 0``, the frame is not square or ``obs`` is not ``[B, C, H, W]``.
    """
    check_image_batch(obs, "random_shift")
    b, _, height, width = obs.shape
    if height != width:
        raise ValueError(f"random_shift: frames must be square; got {height}x{width}. Crop them first.")
    if not isinstance(pad, int) or isinstance(pad, bool) or pad < 0:
        raise ValueError(f"random_shift: pad must be an int >= 0; got {pad!r}.")
    top = torch.randint(0, 2 * pad + 1, (b,), device=obs.device, generator=generator) - pad
    left = torch.randint(0, 2 * pad + 1, (b,), device=obs.device, generator=generator) - pad
    return _windows(obs, top, left, height)
