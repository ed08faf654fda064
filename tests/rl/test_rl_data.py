"""Pixel environments: the wrapper chain's shapes, channel order, action repeat and errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from conftest import needs_dmc

from contrastkit.rl.data import CONTINUOUS_TASKS, ActionRepeat, StackedChannels, make_pixel_env


@pytest.mark.parametrize(
    "task",
    ["pixel-pendulum", "pixel-cartpole", "atari-pong", pytest.param("dmc-cartpole-swingup", marks=needs_dmc)],
)
def test_pixel_tasks_give_stacked_channel_first_uint8_frames(task: str) -> None:
    if task.startswith("atari-"):
        pytest.importorskip("ale_py")
    env = make_pixel_env(task, image_size=24, frame_stack=2, seed=0)  # type: ignore[arg-type]
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (6, 24, 24) and env.observation_space.dtype == np.uint8
    assert obs.shape == (6, 24, 24) and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    obs2, *_ = env.step(env.action_space.sample())
    # Channels 3..5 are the newest frame; after one step, channels 0..2 hold the previous newest.
    np.testing.assert_array_equal(obs2[:3], obs[3:])
    assert obs.std() > 0  # a rendered scene, not a blank frame
    # CONTINUOUS_TASKS (which picks SAC or DQN) agrees with the task's own action space.
    assert isinstance(env.action_space, gym.spaces.Box) == (task in CONTINUOUS_TASKS)
    env.close()


def test_stacked_channels_orders_frames_then_colours() -> None:
    class Stack(gym.Env):
        observation_space = gym.spaces.Box(0, 255, (2, 4, 5, 3), np.uint8)
        action_space = gym.spaces.Discrete(1)

    wrapper = StackedChannels(Stack())
    frames = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    out = wrapper.observation(frames)
    assert out.shape == (6, 4, 5) == wrapper.observation_space.shape
    for f in range(2):
        for c in range(3):
            np.testing.assert_array_equal(out[3 * f + c], frames[f, :, :, c])


class Counter(gym.Env):
    """Reward t at step t; the episode ends after ``length`` steps."""

    observation_space = gym.spaces.Discrete(100)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, length: int) -> None:
        self.length, self.t = length, 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[int, dict[str, Any]]:
        self.t = 0
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        self.t += 1
        return self.t, float(self.t), self.t >= self.length, False, {}


def test_action_repeat_sums_rewards_and_stops_at_the_episode_end() -> None:
    env = ActionRepeat(Counter(length=5), repeat=3)
    env.reset()
    assert env.step(0)[:3] == (3, 1.0 + 2.0 + 3.0, False)
    assert env.step(0)[:3] == (5, 4.0 + 5.0, True)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="task must be one of"):
        make_pixel_env("pixel-doom")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="image_size"):
        make_pixel_env("pixel-pendulum", image_size=4)
    with pytest.raises(ValueError, match="repeat"):
        ActionRepeat(Counter(3), repeat=0)
    with pytest.raises(ValueError, match="after FrameStackObservation"):
        StackedChannels(Counter(3))


@needs_dmc
def test_dmcontrol_frames_follow_the_seed() -> None:
    def frames(seed: int) -> np.ndarray:
        env = make_pixel_env("dmc-cartpole-swingup", image_size=16, frame_stack=1, action_repeat=2, seed=seed)
        obs = [env.reset(seed=seed)[0]] + [env.step(np.array([0.5]))[0] for _ in range(3)]
        env.close()
        return np.stack(obs)

    first = frames(0)
    np.testing.assert_array_equal(frames(0), first)
    assert not np.array_equal(frames(1), first)  # the seed sets the initial pole and cart state
