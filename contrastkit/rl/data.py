"""Pixel environments: gymnasium control tasks observed through rendered, stacked frames.

The built-in tasks need no download: classic-control environments are drawn with pygame
(headless through ``SDL_VIDEODRIVER=dummy``, set here if unset) and resized with OpenCV.

Wrapper chain (gymnasium's own wrappers where they fit)::

    gym.make(id, render_mode="rgb_array")      # state observations, unused
    -> ActionRepeat(k)                          # optional: one agent step = k environment steps
    -> AddRenderObservation(render_only=True)   # (H0, W0, 3) uint8 frame
    -> ResizeObservation((size, size))          # (size, size, 3)
    -> FrameStackObservation(frames)            # (frames, size, size, 3)
    -> StackedChannels()                        # (frames * 3, size, size): channel-first, what SB3 expects
"""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import AddRenderObservation, FrameStackObservation, ResizeObservation

PixelTask = Literal["pixel-pendulum", "pixel-cartpole"]
PIXEL_TASKS: tuple[str, ...] = get_args(PixelTask)
_GYM_IDS: dict[str, str] = {"pixel-pendulum": "Pendulum-v1", "pixel-cartpole": "CartPole-v1"}


class ActionRepeat(gym.Wrapper):
    """Repeat each action ``repeat`` times, summing the rewards; stops early when the episode ends.

    CURL's DMControl protocol uses 2-8; environment steps = agent steps x ``repeat``.
    """

    def __init__(self, env: gym.Env, repeat: int) -> None:
        super().__init__(env)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
            raise ValueError(f"ActionRepeat: repeat must be an int >= 1; got {repeat!r}.")
        self.repeat = repeat

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        total = 0.0
        for _ in range(self.repeat):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, info


class StackedChannels(gym.ObservationWrapper):
    """``(frames, H, W, 3)`` stacked RGB frames -> channel-first ``(frames * 3, H, W)``.

    Channel ``3 * f + c`` is colour ``c`` of frame ``f`` (oldest frame first).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 4:
            raise ValueError(
                f"StackedChannels: expects a (frames, H, W, C) Box observation space; got {space}. "
                "Place it after FrameStackObservation."
            )
        frames, height, width, channels = space.shape
        self.observation_space = spaces.Box(0, 255, (frames * channels, height, width), dtype=np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        frames, height, width, channels = observation.shape
        return np.ascontiguousarray(
            observation.transpose(0, 3, 1, 2).reshape(frames * channels, height, width)
        )


def _check_int(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"make_pixel_env: {name} must be an int >= {minimum}; got {value!r}.")


def make_pixel_env(
    task: PixelTask,
    *,
    image_size: int = 100,
    frame_stack: int = 3,
    action_repeat: int = 1,
    seed: int | None = None,
) -> gym.Env:
    """Build a built-in pixel task.

    Args:
        task: ``"pixel-pendulum"`` (continuous, ``Pendulum-v1``) or ``"pixel-cartpole"``
            (discrete, ``CartPole-v1``).
        image_size: side of the square rendered frame before cropping (CURL: 100, cropped to 84).
        frame_stack: number of consecutive frames per observation (CURL: 3).
        action_repeat: environment steps per agent step (default 1).
        seed: seeds the environment's first reset and its action space, or None.

    Returns:
        A ``gym.Env`` with observations ``uint8 [frame_stack * 3, image_size, image_size]``.

    Raises:
        ValueError: on an unknown task or a non-positive size, stack or repeat.
    """
    if task not in _GYM_IDS:
        raise ValueError(f"make_pixel_env: task must be one of {PIXEL_TASKS}; got {task!r}.")
    _check_int("image_size", image_size, 8)
    _check_int("frame_stack", frame_stack, 1)
    _check_int("action_repeat", action_repeat, 1)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    env: gym.Env = gym.make(_GYM_IDS[task], render_mode="rgb_array")
    if action_repeat > 1:
        env = ActionRepeat(env, action_repeat)
    env = AddRenderObservation(env, render_only=True)
    env = ResizeObservation(env, (image_size, image_size))
    env = FrameStackObservation(env, frame_stack)
    env = StackedChannels(env)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env
