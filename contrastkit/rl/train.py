"""One training run of a pixel agent with SB3's own loop (``learn``), and everything it writes.

A run directory holds ``config.json``, SB3's logs (``sb3/progress.csv``), the training episodes
(``episodes.monitor.csv`` from SB3's ``Monitor`` and ``returns.csv``: env_step, return), the
learning curve ``curve.png``, the model ``model.zip``, ``metrics.json`` and ``checkpoint.pt``.

Resume. ``checkpoint.pt`` holds the model with its optimizers, the filled part of the replay
buffer, the RNG states and every action sent to the environment; it is written atomically at the
start of a rollout (the previous step's transition is stored and its gradient steps are done),
every ``checkpoint_every`` environment steps, at the end, and on Ctrl-C. Training again in the same
directory continues from it bit-for-bit: the environment is rebuilt by replaying the recorded
actions from the run's seed (its state, e.g. a pendulum's angle or the ALE's RNG, is in no file),
checked against the observation the checkpoint saw, and the episode and SB3 logs are cut back to
the checkpoint and continued.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import CSVOutputFormat, Logger
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv
from tqdm.auto import tqdm

from contrastkit.core import (
    atomic_save,
    check_same_settings,
    load_saved,
    read_json,
    rng_state,
    saved_settings,
    seed_everything,
    set_rng_state,
)
from contrastkit.core.checks import check_positive_int

from .agents import CurlDQN, CurlSAC, CurlUpdate, WInit
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
    curl_update: CurlUpdate = "joint"
    """curl-sac: one optimizer step on the summed TD + CURL loss (``joint``) or a CURL step through its
    own optimizer after the TD step (``separate``); see :class:`~contrastkit.rl.CurlSAC`. The DQN
    agents always sum them."""
    eval_episodes: int = 10
    """Deterministic evaluation episodes after training."""
    device: str = "auto"
    """``"auto"``, ``"cpu"`` or ``"cuda"``."""
    checkpoint_every: int = 5_000
    """Environment steps between checkpoints (``checkpoint.pt``: model, optimizers, replay buffer, RNG
    states and actions taken; training again in the run directory resumes from it); 0: none. It holds
    the filled replay buffer, so it can be large (180 KB per transition at the default frame sizes)."""
    resume: bool = True
    """Continue from the run directory's ``checkpoint.pt`` if there is one."""
    progress: bool = False
    """Show SB3's progress bar (``contrastkit rl train`` shows it by default)."""

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
        for name in ("seed", "learning_starts", "checkpoint_every"):
            check_positive_int(name, getattr(self, name), "RLConfig", allow_zero=True)
        if self.w_init not in get_args(WInit):
            raise ValueError(f"RLConfig: w_init must be one of {get_args(WInit)}; got {self.w_init!r}.")
        if self.curl_update not in get_args(CurlUpdate):
            raise ValueError(f"RLConfig: curl_update must be one of {get_args(CurlUpdate)}; got {self.curl_update!r}.")
        if self.curl_update != "joint" and _AGENTS[self.algo][0] is not CurlSAC:
            raise ValueError(f"RLConfig: curl_update applies to the SAC agents; {self.algo} always sums its losses.")
        if self.steps < self.action_repeat:
            raise ValueError(
                f"RLConfig: steps ({self.steps}) must cover at least one agent step "
                f"(action_repeat={self.action_repeat})."
            )

    @property
    def agent_steps(self) -> int:
        return self.steps // self.action_repeat

    def make_env(self, seed: int, monitor_file: str | None = None, append: bool = False) -> Monitor:
        """The task with this run's frame settings, wrapped in SB3's ``Monitor`` (which writes
        ``<monitor_file>.monitor.csv`` when a file is given, after the rows already there if ``append``)."""
        env = make_pixel_env(
            self.env,
            image_size=self.image_size,
            frame_stack=self.frame_stack,
            action_repeat=self.action_repeat,
            seed=seed,
        )
        return Monitor(env, filename=monitor_file, override_existing=not append)


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
        **({"curl_update": config.curl_update} if cls is CurlSAC else {}),
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
    raw = read_json(config_path, "load_agent", keys=("algo", "net_arch"))
    net_arch = tuple(raw["net_arch"]) if isinstance(raw["net_arch"], list) else raw["net_arch"]  # JSON has no tuples
    config = saved_settings(RLConfig, {**raw, "net_arch": net_arch}, config_path, "load_agent")
    cls = _AGENTS[config.algo][0]
    try:
        return config, cls.load(model_path, device=config.device)
    except (AssertionError, ValueError, KeyError, RuntimeError, OSError) as exc:  # SB3 asserts on a zip of another kind
        raise ValueError(f"load_agent: cannot load {model_path} as a {config.algo} model ({type(exc).__name__}: {exc}).") from exc


# What a resumed run may change: its budget, its evaluation, where it runs, how often it checkpoints, the bar.
_MAY_CHANGE_ON_RESUME = frozenset({"steps", "eval_episodes", "device", "checkpoint_every", "resume", "progress"})
_CHECKPOINT_KEYS = (
    "config", "model", "replay_buffer", "actions", "rng", "action_space_rng", "log_rows", "log_pending", "train_seconds"
)


class _Checkpoints(BaseCallback):
    """Records the actions sent to the environment and writes ``checkpoint.pt`` at clean points.

    A clean point is the start of a rollout, where the previous steps' transitions are stored and
    their gradient steps are done. One is due every ``every`` agent steps, and after a Ctrl-C
    (``stop_requested``), when it is written before training stops with ``KeyboardInterrupt``.
    ``clean`` says whether the last rollout ran to its end: a callback that stops training returns
    before its step's transition is stored and trained on, which is no point to resume from.
    """

    def __init__(self, run_dir: Path, config: RLConfig, actions: list[np.ndarray], seconds_before: float) -> None:
        super().__init__()
        self.run_dir, self.config, self.actions = run_dir, config, actions
        self.every = -(-config.checkpoint_every // config.action_repeat)  # agent steps; 0: never
        self.last_saved = len(actions)
        self.seconds_before, self.started = seconds_before, time.perf_counter()
        self.stop_requested = False
        self.clean = True

    def train_seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def _on_step(self) -> bool:
        self.actions.append(np.array(self.locals["actions"], copy=True))
        self.clean = False
        return True

    def _on_rollout_end(self) -> None:
        self.clean = True

    def _on_rollout_start(self) -> None:
        if self.stop_requested:
            if not self.actions:
                raise KeyboardInterrupt("stopped before the first step; nothing to resume")
            self.save()
            raise KeyboardInterrupt(f"stopped; {self.run_dir / 'checkpoint.pt'} resumes the run")
        if self.every and self.model.num_timesteps - self.last_saved >= self.every:
            self.save()

    def save(self) -> None:
        model, buffer = self.model, self.model.replay_buffer
        assert buffer is not None
        filled = buffer.buffer_size if buffer.full else buffer.pos
        packed = io.BytesIO()
        model.save(packed)
        log_rows = {}
        for name in ("episodes.monitor.csv", "sb3/progress.csv"):
            path = self.run_dir / name
            log_rows[name] = len(path.read_text().splitlines()) if path.exists() else 0
        state = {
            "config": dataclasses.asdict(self.config),
            "model": packed.getvalue(),
            "replay_buffer": {
                "pos": buffer.pos,
                "full": buffer.full,
                # As tensors sharing the buffer's memory: torch.save writes them without the copy that
                # pickling a numpy array makes (1.8 GB for a full buffer at the default frame sizes).
                "arrays": {name: torch.from_numpy(value[:filled]) for name, value in vars(buffer).items()
                           if isinstance(value, np.ndarray) and value.shape[:1] == (buffer.buffer_size,)},
            },
            "actions": np.stack(self.actions),
            "rng": rng_state(),
            "action_space_rng": model.action_space.np_random.bit_generator.state,
            "log_rows": log_rows,
            # Values recorded since the last dump of SB3's log: the first dump after a resume holds them too.
            "log_pending": {name: dict(getattr(model.logger, name))
                            for name in ("name_to_value", "name_to_count", "name_to_excluded")},
            "train_seconds": self.train_seconds(),
        }
        atomic_save(state, self.run_dir / "checkpoint.pt")
        self.last_saved = model.num_timesteps


@contextlib.contextmanager
def _interrupt_at_checkpoint(checkpoints: _Checkpoints) -> Iterator[None]:
    """While training, a first Ctrl-C asks for a checkpoint at the next clean point; a second stops at once."""
    if not checkpoints.every or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if checkpoints.stop_requested:
            raise KeyboardInterrupt
        checkpoints.stop_requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _load_checkpoint(path: Path, config: RLConfig) -> dict[str, Any]:
    fix = "Use a new run dir, delete the checkpoint, or pass resume=False (--no-resume)."
    try:
        state = load_saved(path, "train_agent", keys=_CHECKPOINT_KEYS)
    except ValueError as exc:
        raise ValueError(f"{exc} {fix}") from exc
    saved = state["config"]
    check_same_settings(
        path,
        "train_agent",
        {name: value for name, value in saved.items() if name not in _MAY_CHANGE_ON_RESUME},
        {name: value for name, value in dataclasses.asdict(config).items() if name not in _MAY_CHANGE_ON_RESUME},
        fix,
    )
    done = len(state["actions"]) * config.action_repeat
    # A finished run may have gone past its steps: an agent collects whole rollouts (DQN: 4 agent steps).
    if done > config.steps and saved["steps"] != config.steps:
        raise ValueError(f"train_agent: {path} has already trained {done} environment steps > steps={config.steps}. {fix}")
    return state


def _cut_log(path: Path, lines: int) -> None:
    """Keep the first ``lines`` lines of a log: what it held when the checkpoint was written."""
    if path.exists():
        kept = path.read_text().splitlines(keepends=True)[:lines]
        path.write_text("".join(kept))


def _monitor_start(path: Path, default: float) -> float:
    """The start time in the header of a Monitor file: a resumed Monitor times its episodes from it, since SB3
    orders episodes by that time (``load_results``)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return float(json.loads(path.read_text().splitlines()[0].lstrip("#"))["t_start"])
    return default


class _ContinuedCSV(CSVOutputFormat):
    """SB3's CSV log format, continuing a file: its rows stay and its header names the known columns."""

    def __init__(self, filename: Path) -> None:
        if not filename.exists() or not filename.read_text().strip():
            super().__init__(str(filename))
            return
        self.file = open(filename, "r+")  # noqa: SIM115 - the logger closes it
        self.keys = self.file.readline().rstrip("\n").split(",")
        self.file.seek(0, io.SEEK_END)
        self.separator, self.quotechar = ",", '"'


def _restore(state: dict[str, Any], config: RLConfig, env: Monitor) -> CurlSAC | CurlDQN:
    """The agent of a checkpoint, with its replay buffer, on ``env`` brought back to where the run was."""
    cls = _AGENTS[config.algo][0]
    model = cls.load(io.BytesIO(state["model"]), env=env, device=config.device, force_reset=False)
    buffer, saved = model.replay_buffer, state["replay_buffer"]
    assert buffer is not None
    for name, values in saved["arrays"].items():
        getattr(buffer, name)[: len(values)] = values.numpy()
    buffer.pos, buffer.full = saved["pos"], saved["full"]

    venv = model.get_env()
    assert isinstance(venv, DummyVecEnv) and isinstance(venv.envs[0], Monitor)
    monitor = venv.envs[0]
    writer, monitor.results_writer = monitor.results_writer, None  # these episodes are in the file already
    venv.seed(config.seed)
    obs = venv.reset()
    actions = state["actions"]
    for action in tqdm(actions, desc="replaying the environment", leave=False, disable=len(actions) < 2_000):
        obs = venv.step(action)[0]
    monitor.results_writer = writer
    if not np.array_equal(obs, model._last_obs):
        raise RuntimeError(
            f"train_agent: replaying the {len(actions)} recorded actions from seed {config.seed} did not reach the "
            f"checkpoint's observation: {config.env} is not deterministic given its seed here, so it cannot resume."
        )
    set_rng_state(state["rng"])
    model.action_space.np_random.bit_generator.state = state["action_space_rng"]
    return model


def train_agent(config: RLConfig, run_dir: Path, callbacks: Sequence[BaseCallback] = ()) -> dict[str, float]:
    """Train, save and evaluate one agent; write the run directory (see the module docstring).

    With ``config.resume`` and a ``checkpoint.pt`` in ``run_dir``, training continues from it
    (bit-for-bit on the same device) up to ``config.steps``; the other settings must be the
    checkpoint's. ``callbacks``: SB3 callbacks added to the training loop (they start afresh on a
    resume).

    Returns:
        ``return_mean``/``return_std`` of the deterministic evaluation, ``env_steps_per_second``
        and ``train_seconds`` (training only, summed over resumed sessions), ``env_steps`` and, for
        CURL agents, ``curl_accuracy`` (:func:`curl_accuracy` on one replay batch; chance is
        ``1 / batch_size``).

    Raises:
        ValueError: the checkpoint is unreadable, was written with other settings, or has trained
            past ``config.steps``.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = run_dir / "checkpoint.pt"
    state = _load_checkpoint(checkpoint, config) if config.resume and checkpoint.exists() else None
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
    (run_dir / "sb3").mkdir(exist_ok=True)
    progress = run_dir / "sb3" / "progress.csv"
    if state is None:
        seed_everything(config.seed)
        env = config.make_env(config.seed, monitor_file=str(run_dir / "episodes"))
        model = build_agent(config, env)
        log_format = CSVOutputFormat(str(progress))
    else:
        for name, lines in state["log_rows"].items():
            _cut_log(run_dir / name, lines)
        env = config.make_env(config.seed, monitor_file=str(run_dir / "episodes"), append=True)
        env.t_start = _monitor_start(run_dir / "episodes.monitor.csv", env.t_start)
        model = _restore(state, config, env)
        log_format = _ContinuedCSV(progress)
    model.set_logger(Logger(str(run_dir / "sb3"), [log_format]))
    for name, pending in (state["log_pending"] if state else {}).items():
        getattr(model.logger, name).update(pending)
    actions = list(state["actions"]) if state else []
    checkpoints = _Checkpoints(run_dir, config, actions, state["train_seconds"] if state else 0.0)
    remaining = config.agent_steps - model.num_timesteps
    if remaining > 0:
        with _interrupt_at_checkpoint(checkpoints):
            model.learn(
                total_timesteps=remaining,
                reset_num_timesteps=state is None,
                callback=[checkpoints, *callbacks],
                progress_bar=config.progress,
            )
        # After a callback stopped training the last periodic checkpoint stays the one to resume from. A run
        # resumed with checkpoint_every=0 still updates the checkpoint it came from, which would redo steps.
        if checkpoints.clean and (config.checkpoint_every or checkpoint.exists()):
            checkpoints.save()
    seconds = checkpoints.train_seconds() if remaining > 0 else checkpoints.seconds_before
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
    trained = model.num_timesteps * config.action_repeat  # fewer than config.steps if a callback stopped early
    metrics.update(
        env_steps=float(trained),
        train_seconds=seconds,
        env_steps_per_second=trained / seconds,
    )
    if model.curl_weight > 0:
        batch = model.replay_buffer.sample(config.batch_size)  # type: ignore[union-attr]
        metrics["curl_accuracy"] = curl_accuracy(model, batch.observations)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics
