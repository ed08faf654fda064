"""One training run of a pixel agent with SB3's own loop (``learn``), and everything it writes.

A run directory holds ``config.json``, SB3's logs (``sb3/progress.csv``), the training episodes
(``episodes.monitor.csv`` from SB3's ``Monitor`` and ``returns.csv``: env_step, return), the
learning curve ``curve.png``, the model ``model.zip`` and ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor

from contrastkit.core import seed_everything
from contrastkit.core.checks import check_positive_int

from .agents import CurlDQN, CurlSAC, WInit
from .data import CONTINUOUS_TASKS, PIXEL_TASKS, PixelTask, make_pixel_env
from .evaluate import curl_accuracy, episode_returns, evaluate_agent, plot_learning_curves
from .objectives import Augmentation

Algo = Literal["curl-sac", "sac", "sac-noaug", "curl-dqn", "dqn", "dqn-noaug"]
ALGOS: tuple[str, ...] = get_args(Algo)
# algo -> (agent class, curl_weight, augmentation). "sac"/"dqn" are the same agents without the
# contrastive loss but with the same random crops (RAD); "-noaug" also drops the crops (center crops
# only), the unaugmented "pixel SAC" of the CURL paper's tables.
_AGENTS: dict[str, tuple[type[CurlSAC] | type[CurlDQN], float, Augmentation]] = {
    "curl-sac": (CurlSAC, 1.0, "crop"),
    "sac": (CurlSAC, 0.0, "crop"),
    "sac-noaug": (CurlSAC, 0.0, "none"),
    "curl-dqn": (CurlDQN, 1.0, "crop"),
    "dqn": (CurlDQN, 0.0, "crop"),
    "dqn-noaug": (CurlDQN, 0.0, "none"),
}


@dataclass(frozen=True)
class RLConfig:
    """Settings of one run (pixel task, agent, budget)."""

    env: PixelTask = "pixel-pendulum"
    """Built-in pixel task (see :func:`make_pixel_env`)."""
    algo: Algo = "curl-sac"
    """``curl-sac`` / ``sac`` / ``sac-noaug`` (continuous tasks), ``curl-dqn`` / ``dqn`` / ``dqn-noaug``
    (discrete tasks); ``sac``/``dqn`` keep CURL's random crops, ``-noaug`` trains on center crops."""
    steps: int = 20_000
    """Environment steps (agent steps x ``action_repeat``)."""
    seed: int = 0
    """Seeds python, numpy, torch, the environment and SB3."""
    image_size: int = 100
    """Rendered frame side before cropping (CURL: 100)."""
    crop_size: int = 84
    """Random-crop side at training, center-crop side when acting (CURL: 84)."""
    frame_stack: int = 3
    """Consecutive frames per observation."""
    action_repeat: int = 2
    """Environment steps per agent step."""
    batch_size: int = 128
    """Replay batch; the other samples of the batch are CURL's negatives."""
    buffer_size: int = 10_000
    """Replay buffer capacity (transitions). Each stores two uint8 frame stacks: 2 x 9 x 100 x 100
    bytes = 180 KB at the defaults, so 10k transitions (the whole default run) take 1.8 GB."""
    learning_starts: int = 1000
    """Agent steps of random actions before the first update."""
    net_arch: tuple[int, ...] = (1024, 1024)
    """Hidden units of the actor/critic (or Q) heads."""
    num_filters: int = 32
    """Channels per convolution of the pixel encoder."""
    w_init: WInit = "uniform"
    """Initialisation of CURL's ``W``: ``uniform`` (the reference's ``torch.rand``), ``identity``, ``random``."""
    eval_episodes: int = 10
    """Deterministic evaluation episodes after training."""
    device: str = "auto"
    """``"auto"``, ``"cpu"`` or ``"cuda"``."""

    def __post_init__(self) -> None:
        if self.env not in PIXEL_TASKS:
            raise ValueError(f"RLConfig: env must be one of {PIXEL_TASKS}; got {self.env!r}.")
        if self.algo not in _AGENTS:
            raise ValueError(f"RLConfig: algo must be one of {ALGOS}; got {self.algo!r}.")
        continuous_env = self.env in CONTINUOUS_TASKS
        if (_AGENTS[self.algo][0] is CurlSAC) != continuous_env:
            raise ValueError(
                f"RLConfig: {self.algo} does not fit {self.env} "
                f"({'continuous' if continuous_env else 'discrete'} actions); use "
                f"{'curl-sac, sac or sac-noaug' if continuous_env else 'curl-dqn, dqn or dqn-noaug'}."
            )
        for name in ("steps", "image_size", "crop_size", "frame_stack", "action_repeat", "batch_size", "buffer_size",
                     "num_filters", "eval_episodes"):
            check_positive_int(name, getattr(self, name), "RLConfig")
        for name in ("seed", "learning_starts"):
            check_positive_int(name, getattr(self, name), "RLConfig", allow_zero=True)
        if self.w_init not in get_args(WInit):
            raise ValueError(f"RLConfig: w_init must be one of {get_args(WInit)}; got {self.w_init!r}.")
        if self.steps < self.action_repeat:
            raise ValueError(
                f"RLConfig: steps ({self.steps}) must cover at least one agent step "
                f"(action_repeat={self.action_repeat})."
            )

    @property
    def agent_steps(self) -> int:
        return self.steps // self.action_repeat

    def make_env(self, seed: int, monitor_file: str | None = None) -> Monitor:
        """The task with this run's frame settings, wrapped in SB3's ``Monitor`` (which writes
        ``<monitor_file>.monitor.csv`` when a file is given)."""
        env = make_pixel_env(
            self.env,
            image_size=self.image_size,
            frame_stack=self.frame_stack,
            action_repeat=self.action_repeat,
            seed=seed,
        )
        return Monitor(env, filename=monitor_file)


def build_agent(config: RLConfig, env: Monitor) -> CurlSAC | CurlDQN:
    """The agent named by ``config.algo`` on ``env``."""
    cls, curl_weight, augmentation = _AGENTS[config.algo]
    return cls(
        "CnnPolicy",
        env,
        buffer_size=config.buffer_size,
        learning_starts=config.learning_starts,
        batch_size=config.batch_size,
        crop_size=config.crop_size,
        num_filters=config.num_filters,
        curl_weight=curl_weight,
        augmentation=augmentation,
        w_init=config.w_init,
        policy_kwargs={"net_arch": list(config.net_arch)},
        seed=config.seed,
        device=config.device,
    )


def load_agent(run_dir: Path) -> tuple[RLConfig, CurlSAC | CurlDQN]:
    """The config and trained model of a run directory written by :func:`train_agent`."""
    config_path, model_path = run_dir / "config.json", run_dir / "model.zip"
    for path in (config_path, model_path):
        if not path.exists():
            raise FileNotFoundError(
                f"load_agent: {path} is missing; is {run_dir} a `contrastkit rl train` run?"
            )
    raw = json.loads(config_path.read_text())
    config = RLConfig(**{**raw, "net_arch": tuple(raw["net_arch"])})
    cls = _AGENTS[config.algo][0]
    return config, cls.load(model_path, device=config.device)


def train_agent(config: RLConfig, run_dir: Path) -> dict[str, float]:
    """Train, save and evaluate one agent; write the run directory (see the module docstring).

    Returns:
        ``return_mean``/``return_std`` of the deterministic evaluation, ``env_steps_per_second``
        (training only), ``train_seconds``, ``env_steps`` and, for CURL agents, ``curl_accuracy``
        (:func:`curl_accuracy` on one replay batch; chance is ``1 / batch_size``).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
    seed_everything(config.seed)
    env = config.make_env(config.seed, monitor_file=str(run_dir / "episodes"))
    model = build_agent(config, env)
    model.set_logger(configure(str(run_dir / "sb3"), ["csv"]))
    start = time.perf_counter()
    model.learn(total_timesteps=config.agent_steps)
    seconds = time.perf_counter() - start
    model.save(run_dir / "model.zip")
    env.close()

    steps, returns = episode_returns(run_dir, config.action_repeat)
    np.savetxt(
        run_dir / "returns.csv",
        np.column_stack([steps, returns]),
        delimiter=",",
        header="env_step,return",
        comments="",
        fmt=["%d", "%.4f"],
    )
    plot_learning_curves({config.algo: [(steps, returns)]}, run_dir / "curve.png", title=config.env)
    metrics = evaluate_agent(model, config.make_env(config.seed + 10_000), config.eval_episodes)
    metrics.update(
        env_steps=float(config.agent_steps * config.action_repeat),
        train_seconds=seconds,
        env_steps_per_second=config.agent_steps * config.action_repeat / seconds,
    )
    if model.curl_weight > 0:
        batch = model.replay_buffer.sample(config.batch_size)  # type: ignore[union-attr]
        metrics["curl_accuracy"] = curl_accuracy(model, batch.observations)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics
