"""PixelEncoder: shapes, evaluation-time center crop, and the image-space rules."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from contrastkit.rl.augment import center_crop
from contrastkit.rl.models import PixelEncoder, check_pixel_space

SPACE = gym.spaces.Box(0, 255, (6, 20, 20), np.uint8)


@pytest.mark.parametrize("batch", [1, 3])
def test_encoder_maps_training_crops_and_full_frames_to_features(batch: int) -> None:
    encoder = PixelEncoder(SPACE, features_dim=10, crop_size=16, num_layers=2, num_filters=4)
    frames = torch.randint(0, 256, (batch, 6, 20, 20), dtype=torch.uint8)
    full = encoder(frames)
    assert full.shape == (batch, 10)
    # Full frames are center-cropped: the same as encoding the center crop; floats in [0, 255] agree.
    torch.testing.assert_close(full, encoder(center_crop(frames, 16)))
    torch.testing.assert_close(full, encoder(frames.float()))


def test_encoder_output_is_layer_normalised() -> None:
    encoder = PixelEncoder(SPACE, features_dim=10, crop_size=16, num_layers=1, num_filters=4)
    out = encoder(torch.randint(0, 256, (4, 6, 16, 16), dtype=torch.uint8))
    torch.testing.assert_close(out.mean(1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        out.var(1, unbiased=False), torch.ones(4), atol=1e-2, rtol=0
    )  # LayerNorm's eps


def test_non_image_spaces_and_oversized_crops_are_rejected() -> None:
    with pytest.raises(TypeError, match="image observation space"):
        check_pixel_space(gym.spaces.Discrete(3), 8, "X")
    with pytest.raises(ValueError, match="image observation space"):
        PixelEncoder(gym.spaces.Box(-1.0, 1.0, (3,), np.float32), crop_size=2)
    with pytest.raises(ValueError, match="channel-first"):
        PixelEncoder(gym.spaces.Box(0, 255, (20, 20, 6), np.uint8), crop_size=16)
    with pytest.raises(ValueError, match="crop_size must be an int in"):
        PixelEncoder(SPACE, crop_size=21)
    with pytest.raises(ValueError, match="too small"):
        PixelEncoder(SPACE, crop_size=3, num_layers=2)
    with pytest.raises(ValueError, match="num_filters"):
        PixelEncoder(SPACE, crop_size=16, num_filters=0)


def test_encoder_starts_from_curls_delta_orthogonal_init() -> None:
    encoder = PixelEncoder(SPACE, features_dim=10, crop_size=16, num_layers=2, num_filters=4)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    linear = encoder.head[0]
    for conv in convs:
        centre = conv.weight[:, :, 1, 1].detach().double()  # [out, in]
        off_centre = conv.weight.detach().clone()
        off_centre[:, :, 1, 1] = 0
        assert torch.count_nonzero(off_centre) == 0 and torch.count_nonzero(conv.bias) == 0
        # Orthogonal with ReLU gain sqrt(2): the rows (out <= in) or columns (out > in) have norm^2 2.
        gram = centre @ centre.T if centre.shape[0] <= centre.shape[1] else centre.T @ centre
        torch.testing.assert_close(
            gram, 2.0 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-6, rtol=0
        )  # float32 weights
    weight = linear.weight.detach().double()  # [10, in], in > 10: orthonormal rows
    torch.testing.assert_close(weight @ weight.T, torch.eye(10, dtype=torch.float64), atol=1e-6, rtol=0)
    assert torch.count_nonzero(linear.bias) == 0


def test_encoder_features_differ_across_frames_at_init() -> None:
    # The failure this init prevents: every ReLU of a layer dead, the same features for all frames.
    space = gym.spaces.Box(0, 255, (9, 40, 40), np.uint8)
    torch.manual_seed(0)
    encoder = PixelEncoder(space, crop_size=32)
    out = encoder(torch.randint(0, 256, (8, 9, 40, 40), dtype=torch.uint8))
    assert out.std(0).min() > 0.1
