"""Augmentations: vectorised crops and shifts against per-sample loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from contrastkit.rl.augment import center_crop, random_crop, random_shift


def _frames(b: int, c: int = 6, h: int = 12, w: int = 12) -> torch.Tensor:
    return torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(b))


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("size", [5, 12])
def test_random_crop_takes_one_window_per_sample_with_the_drawn_offsets(batch: int, size: int) -> None:
    obs = _frames(batch)
    out = random_crop(obs, size, generator=torch.Generator().manual_seed(7))
    # The same generator draws the tops, then the lefts.
    g = torch.Generator().manual_seed(7)
    tops = torch.randint(0, 12 - size + 1, (batch,), generator=g)
    lefts = torch.randint(0, 12 - size + 1, (batch,), generator=g)
    assert out.dtype == torch.uint8 and out.shape == (batch, 6, size, size)
    for b in range(batch):
        t, left = int(tops[b]), int(lefts[b])
        assert torch.equal(out[b], obs[b, :, t : t + size, left : left + size])


def test_random_crop_draws_different_windows_across_the_batch() -> None:
    obs = torch.arange(64 * 64, dtype=torch.float32).reshape(1, 1, 64, 64).expand(32, 3, 64, 64)
    corners = random_crop(obs, 8, generator=torch.Generator().manual_seed(0))[:, 0, 0, 0]
    assert len(torch.unique(corners)) > 16


def test_center_crop_is_the_middle_window_and_identity_at_full_size() -> None:
    obs = _frames(2, h=10, w=10)
    assert torch.equal(center_crop(obs, 6), obs[:, :, 2:8, 2:8])
    assert torch.equal(center_crop(obs, 10), obs)


@pytest.mark.parametrize("pad", [0, 2])
def test_random_shift_matches_replicate_padding_then_cropping(pad: int) -> None:
    obs = _frames(3, h=8, w=8)
    out = random_shift(obs, pad, generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    tops = torch.randint(0, 2 * pad + 1, (3,), generator=g)
    lefts = torch.randint(0, 2 * pad + 1, (3,), generator=g)
    padded = np.pad(obs.numpy(), ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
    for b in range(3):
        t, left = int(tops[b]), int(lefts[b])
        assert np.array_equal(out[b].numpy(), padded[b, :, t : t + 8, left : left + 8])


def test_bad_input_is_rejected_with_the_rule() -> None:
    obs = _frames(2, h=8, w=8)
    with pytest.raises(ValueError, match="larger than the frame"):
        random_crop(obs, 9)
    with pytest.raises(ValueError, match="larger than the frame"):
        center_crop(obs, 9)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        random_crop(obs[0], 4)
    with pytest.raises(ValueError, match="square"):
        random_shift(_frames(2, h=8, w=10))
    with pytest.raises(ValueError, match="pad"):
        random_shift(obs, -1)
    with pytest.raises(TypeError, match="torch.Tensor"):
        center_crop(obs.numpy(), 4)  # type: ignore[arg-type]
