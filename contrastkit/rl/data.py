"""Pixel environments: gymnasium control tasks observed through rendered, stacked frames.

The built-in tasks need no download: classic-control environments are drawn with pygame
(headless through ``SDL_VIDEODRIVER=dummy``, set here if unset) and resized with OpenCV; Atari
games come from ``ale-py``, whose wheel ships the ROMs (optional: ``pip install ale-py``);
DMControl's cartpole-swingup (CURL's benchmark task) comes from ``dm_control`` through gymnasium's
``shimmy`` adapter, rendered by MuJoCo headless through ``MUJOCO_GL=egl`` (set here if unset;
``osmesa`` also works where its library is installed; optional: ``pip install contrastkit[dmc]``).

Wrapper chain (gymnasium's own wrappers where they fit)::

    gym.make(id, render_mode="rgb_array")      # state observations, unused
    -> ActionRepeat(k)                          # optional: one agent step = k environment steps
    -> AddRenderObservation(render_only=True)   # (H0, W0, 3) uint8 frame
    -> ResizeObservation((size, size))          # (size, size, 3)
    -> FrameStackObservation(frames)            # (frames, size, size, 3)
    -> StackedChannels()                        # (frames * 3, size, size): channel-first, what SB3 expects

Atari: ``gym.make("ALE/<Game>-v5", obs_type="rgb", frameskip=1)`` observes (210, 160, 3) frames
itself, so ``AddRenderObservation`` is left out; ``ActionRepeat`` does the frame skipping and the
ALE's sticky actions (probability 0.25, the v5 default) stay on.

DMControl: ``gym.make("dm_control/<domain>-<task>-v0", render_mode="rgb_array")`` renders camera 0
(CURL's view) directly at ``image_size``, so the resize is a no-op there; episodes are 1,000
environment steps, ended by truncation.
"""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import AddRenderObservation, FrameStackObservation, ResizeObservation

PixelTask = Literal[
    "pixel-pendulum", "pixel-cartpole", "atari-pong", "atari-breakout", "dmc-cartpole-swingup"
]
PIXEL_TASKS: tuple[str, ...] = get_args(PixelTask)
CONTINUOUS_TASKS: frozenset[str] = frozenset({"pixel-pendulum", "dmc-cartpole-swingup"})
"""Tasks with a continuous (``Box``) action space, for SAC; the others have discrete actions, for DQN."""
_GYM_IDS: dict[str, str] = {
    "pixel-pendulum": "Pendulum-v1",
    "pixel-cartpole": "CartPole-v1",
    "atari-pong": "ALE/Pong-v5",
    "atari-breakout": "ALE/Breakout-v5",
    "dmc-cartpole-swingup": "dm_control/cartpole-swingup-v0",
}


def _make_atari(gym_id: str) -> gym.Env:
    """An ALE game observed as RGB frames, without the ALE's own frame skipping."""
    try:
        import ale_py
    except ImportError as err:
        raise ImportError(
            f"make_pixel_env: {gym_id} needs ale-py (its wheel ships the ROMs): pip install ale-py"
        ) from err
    gym.register_envs(ale_py)
    return gym.make(gym_id, obs_type="rgb", frameskip=1)


def _make_dmc(gym_id: str, image_size: int) -> gym.Env:
    """A DMControl task through shimmy, rendering camera 0 at ``image_size`` x ``image_size``."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless: read when MuJoCo's renderer is imported
    try:
        import shimmy
    except ImportError as err:
        raise ImportError(
            f"make_pixel_env: {gym_id} needs dm_control, MuJoCo and shimmy: pip install 'contrastkit[dmc]'"
        ) from err
    gym.register_envs(shimmy)
    render = {"height": image_size, "width": image_size, "camera_id": 0}
    return gym.make(gym_id, render_mode="rgb_array", render_kwargs=render)


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
        task: ``"pixel-pendulum"`` (continuous, ``Pendulum-v1``), ``"pixel-cartpole"``
            (discrete, ``CartPole-v1``), ``"atari-pong"`` or ``"atari-breakout"`` (discrete,
            ``ALE/Pong-v5`` / ``ALE/Breakout-v5``; Atari's usual action repeat is 4) or
            ``"dmc-cartpole-swingup"`` (continuous, DMControl through shimmy; CURL's action repeat
            there is 8).
        image_size: side of the square rendered frame before cropping (CURL: 100, cropped to 84).
        frame_stack: number of consecutive frames per observation (CURL: 3).
        action_repeat: environment steps per agent step (default 1).
        seed: seeds the environment's first reset and its action space, or None.

    Returns:
        A ``gym.Env`` with observations ``uint8 [frame_stack * 3, image_size, image_size]``.

    Raises:
        ValueError: on an unknown task or a non-positive size, stack or repeat.
        ImportError: for an Atari task without ``ale-py``, a DMControl task without ``contrastkit[dmc]``.
    """
    if task not in _GYM_IDS:
        raise ValueError(f"make_pixel_env: task must be one of {PIXEL_TASKS}; got {task!r}.")
    _check_int("image_size", image_size, 8)
    _check_int("frame_stack", frame_stack, 1)
    _check_int("action_repeat", action_repeat, 1)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    atari = task.startswith("atari-")
    env: gym.Env
    if atari:
        env = _make_atari(_GYM_IDS[task])
    elif task.startswith("dmc-"):
        env = _make_dmc(_GYM_IDS[task], image_size)
    else:
        env = gym.make(_GYM_IDS[task], render_mode="rgb_array")
    if action_repeat > 1:
        env = ActionRepeat(env, action_repeat)
    if not atari:
        env = AddRenderObservation(env, render_only=True)
    env = ResizeObservation(env, (image_size, image_size))
    env = FrameStackObservation(env, frame_stack)
    env = StackedChannels(env)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env
