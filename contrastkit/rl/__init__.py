"""contrastkit.rl: CURL, contrastive representations for reinforcement learning from pixels.

CURL (Laskin, Srinivas & Abbeel 2020, arXiv:2004.04136) trains the pixel encoder of an off-policy
agent with an auxiliary InfoNCE loss: two random crops of an observation stack are query and key,
the key comes from a momentum (EMA) encoder and the similarity is bilinear, :math:`q^\\top W k`.

For stable-baselines3 users it is a one-word change::

    from contrastkit.rl import CurlSAC, make_pixel_env

    env = make_pixel_env("pixel-pendulum", image_size=100)     # uint8 [9, 100, 100]
    model = CurlSAC("CnnPolicy", env, crop_size=84).learn(20_000)   # was: SAC("CnnPolicy", env)

Modules: ``data`` (pixel environments), ``augment`` (batched crops and shifts), ``models``
(:class:`PixelEncoder`), ``objectives`` (:func:`curl_loss`, :class:`CurlAuxiliary`), ``agents``
(:class:`CurlSAC`, :class:`CurlDQN`), ``train`` / ``evaluate`` (runs, returns, curves), ``cli``.
"""

from __future__ import annotations

from .agents import CurlDQN, CurlSAC
from .augment import center_crop, random_crop, random_shift
from .data import PIXEL_TASKS, ActionRepeat, StackedChannels, make_pixel_env
from .evaluate import curl_accuracy, episode_returns, evaluate_agent, plot_learning_curves
from .models import PixelEncoder, check_pixel_space
from .objectives import CurlAuxiliary, curl_loss
from .train import ALGOS, RLConfig, build_agent, load_agent, train_agent

__all__ = [
    "ALGOS",
    "PIXEL_TASKS",
    "ActionRepeat",
    "CurlAuxiliary",
    "CurlDQN",
    "CurlSAC",
    "PixelEncoder",
    "RLConfig",
    "StackedChannels",
    "build_agent",
    "center_crop",
    "check_pixel_space",
    "curl_accuracy",
    "curl_loss",
    "episode_returns",
    "evaluate_agent",
    "load_agent",
    "make_pixel_env",
    "plot_learning_curves",
    "random_crop",
    "random_shift",
    "train_agent",
]
