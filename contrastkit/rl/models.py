"""The convolutional pixel encoder CURL shares between actor and critic, as an SB3 features extractor."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import Tensor, nn

from .augment import center_crop


def check_pixel_space(space: gym.Space[Any], crop_size: int, where: str) -> tuple[int, int, int]:
    """Return ``(C, H, W)`` of a channel-first uint8 image space that a ``crop_size`` crop fits in.

    Raises:
        TypeError: if the space is not a ``Box``.
        ValueError: if it is not a ``uint8 [C, H, W]`` image or the crop is larger than the frame.
    """
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(
            f"{where}: needs an image observation space (Box uint8 [C, H, W]); got {space}. "
            "Wrap the environment with contrastkit.rl.make_pixel_env or AddRenderObservation."
        )
    if space.dtype != np.uint8 or len(space.shape) != 3:
        raise ValueError(
            f"{where}: needs an image observation space (Box uint8 [C, H, W]); got shape {space.shape} and "
            f"dtype {space.dtype}. Render frames (AddRenderObservation) and stack them channel-first."
        )
    channels, height, width = (int(d) for d in space.shape)
    if channels > min(height, width):
        raise ValueError(
            f"{where}: observations must be channel-first [C, H, W]; got shape {space.shape}. "
            "Transpose the frames (contrastkit.rl.StackedChannels does this)."
        )
    if (
        not isinstance(crop_size, int)
        or isinstance(crop_size, bool)
        or not 0 < crop_size <= min(height, width)
    ):
        raise ValueError(
            f"{where}: crop_size must be an int in [1, {min(height, width)}] for {height}x{width} frames; "
            f"got {crop_size!r}. Render larger frames (image_size) or lower crop_size."
        )
    return channels, height, width


def _curl_init(module: nn.Module) -> None:
    """CURL's ``weight_init``: orthogonal linear layers, delta-orthogonal convolutions, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.orthogonal_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        nn.init.zeros_(module.weight)
        nn.init.zeros_(module.bias)
        mid = module.kernel_size[0] // 2
        with torch.no_grad():
            nn.init.orthogonal_(module.weight[:, :, mid, mid], nn.init.calculate_gain("relu"))


class PixelEncoder(BaseFeaturesExtractor):
    r"""CURL's pixel encoder: center crop, conv stack, linear layer, LayerNorm.

    ``x / 255 -> Conv(3x3, stride 2) -> ReLU -> [Conv(3x3, stride 1) -> ReLU] x (num_layers - 1)
    -> flatten -> Linear -> LayerNorm``, as in CURL's reference (``output_logits=True``: no tanh).

    Initialisation, as CURL's ``weight_init``: each convolution is delta-orthogonal (only the centre
    tap is non-zero, an orthogonal ``[out, in]`` matrix with ReLU gain :math:`\sqrt 2`), the linear
    layer orthogonal, all biases zero. With PyTorch's default init the activations shrink layer by
    layer, LayerNorm divides by their tiny spread and the first updates can push every ReLU of a
    layer negative for all inputs: a dead encoder whose features are the same for every frame.

    It takes raw pixel values (uint8, or floats in [0, 255]: use it with SB3's
    ``normalize_images=False``) and center-crops any frame larger than ``crop_size``, so the policy
    acts on center crops of full frames while training feeds random crops of exactly ``crop_size``.

    Args:
        observation_space: ``Box(uint8, [C, H, W])`` with ``H, W >= crop_size``.
        features_dim: output size (CURL: 50).
        crop_size: side of the crops the convolutions see (CURL: 84).
        num_layers: convolution layers (CURL: 4).
        num_filters: channels per convolution (CURL: 32).

    Shapes:
        - **input:** ``[B, C, H', W']`` with ``crop_size <= H' <= H`` (likewise W')
        - **output:** ``[B, features_dim]``

    Raises:
        TypeError / ValueError: for a non-image space, a crop larger than the frame, or sizes < 1.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        features_dim: int = 50,
        crop_size: int = 84,
        num_layers: int = 4,
        num_filters: int = 32,
    ) -> None:
        channels, _, _ = check_pixel_space(observation_space, crop_size, type(self).__name__)
        for name, value in (
            ("features_dim", features_dim),
            ("num_layers", num_layers),
            ("num_filters", num_filters),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PixelEncoder: {name} must be an int >= 1; got {value!r}.")
        side = (crop_size - 3) // 2 + 1 - 2 * (num_layers - 1)  # output side of the conv stack
        if crop_size < 3 or side < 1:
            raise ValueError(
                f"PixelEncoder: crop_size={crop_size} is too small for {num_layers} 3x3 convolutions "
                f"(the first with stride 2); use crop_size >= {2 * (2 * num_layers - 1) + 1} or fewer layers."
            )
        super().__init__(observation_space, features_dim)
        self.crop_size = crop_size
        layers: list[nn.Module] = [nn.Conv2d(channels, num_filters, 3, stride=2), nn.ReLU()]
        for _ in range(num_layers - 1):
            layers += [nn.Conv2d(num_filters, num_filters, 3, stride=1), nn.ReLU()]
        self.convs = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(
            nn.Linear(num_filters * side * side, features_dim), nn.LayerNorm(features_dim)
        )
        self.apply(_curl_init)

    def forward(self, observations: Tensor) -> Tensor:
        x = center_crop(observations, self.crop_size).float() / 255.0  # (B, C, crop, crop)
        features: Tensor = self.head(self.convs(x))  # (B, features_dim)
        return features
