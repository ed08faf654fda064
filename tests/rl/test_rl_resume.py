"""A run stopped by a crash or Ctrl-C and trained again in its directory ends exactly where an uninterrupted one does."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

from contrastkit.rl.train import RLConfig, load_agent, train_agent

# Checkpoints every 20 environment steps = 10 agent steps; learning starts at agent step 8.
TINY = {
    "steps": 120, "action_repeat": 2, "image_size": 20, "crop_size": 16, "frame_stack": 2, "batch_size": 8,
    "learning_starts": 8, "buffer_size": 100, "net_arch": (16,), "num_filters": 4, "eval_episodes": 1,
    "device": "cpu", "w_init": "identity", "checkpoint_every": 20,
}  # fmt: skip
CARTPOLE = RLConfig(env="pixel-cartpole", algo="curl-dqn", **TINY)  # type: ignore[arg-type]
# 240 environment steps: one 200-step Pendulum episode ends in the run.
PENDULUM = RLConfig(env="pixel-pendulum", algo="curl-sac", **{**TINY, "steps": 240})  # type: ignore[arg-type]
SEPARATE = dataclasses.replace(PENDULUM, curl_update="separate")  # the CURL step's own optimizer, checkpointed too


class StopAt(BaseCallback):
    """Stops training at agent step ``agent_step``: by an exception (a crash), a Ctrl-C, or SB3's own
    early stop (a callback returning False)."""

    def __init__(self, agent_step: int, how: str) -> None:
        super().__init__()
        self.agent_step, self.how = agent_step, how

    def _on_step(self) -> bool:
        if self.num_timesteps == self.agent_step:
            if self.how == "ctrl-c":
                os.kill(os.getpid(), signal.SIGINT)
            elif self.how == "crash":
                raise RuntimeError("simulated crash")
            return self.how != "callback"
        return True


def tensors(run: Path) -> dict[str, torch.Tensor]:
    _, model = load_agent(run)
    return {**model.policy.state_dict(), **{f"curl.{k}": v for k, v in model.curl.state_dict().items()}}


def assert_same_run(a: Path, b: Path, checkpoints: bool = True) -> None:
    ta, tb = tensors(a), tensors(b)
    assert ta.keys() == tb.keys()
    for name in ta:
        assert torch.equal(ta[name], tb[name]), name
    if checkpoints:  # the final checkpoints: the same replay buffer and the same actions taken
        ca, cb = (torch.load(run / "checkpoint.pt", weights_only=False) for run in (a, b))
        assert ca["replay_buffer"]["pos"] == cb["replay_buffer"]["pos"] > 0
        for name, values in ca["replay_buffer"]["arrays"].items():
            assert torch.equal(values, cb["replay_buffer"]["arrays"][name]), name
        np.testing.assert_array_equal(ca["actions"], cb["actions"])
    assert (a / "returns.csv").read_text() == (b / "returns.csv").read_text()
    episodes = [pd.read_csv(run / "episodes.monitor.csv", skiprows=1)[["r", "l"]] for run in (a, b)]
    pd.testing.assert_frame_equal(*episodes)
    # SB3's log, less the wall-clock columns, row for row (the resumed run continues the same file).
    texts = [(run / "sb3" / "progress.csv").read_text() for run in (a, b)]
    if not texts[0]:  # SB3 logs every 4th episode
        assert not texts[1]
        return
    logs = [pd.read_csv(run / "sb3" / "progress.csv") for run in (a, b)]
    columns = sorted(c for c in logs[0].columns if c not in ("time/fps", "time/time_elapsed"))
    pd.testing.assert_frame_equal(logs[0][columns], logs[1][columns])


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> dict[RLConfig, Path]:
    """Uninterrupted runs of both agents (each writes its checkpoints along the way)."""
    root = tmp_path_factory.mktemp("straight")
    runs = {}
    for i, config in enumerate((CARTPOLE, PENDULUM, SEPARATE)):
        runs[config] = root / f"{config.env}-{i}"
        train_agent(config, runs[config])
    return runs


# CurlSAC collects one agent step per rollout, CurlDQN four (SB3's train_freq), and checkpoints fall at the
# start of a rollout: every 10 agent steps for SAC, at 12, 24, 36, 48 for DQN.
@pytest.mark.parametrize(
    ("config", "how", "stop"),
    [
        (CARTPOLE, "ctrl-c", 40),  # checkpoint at 40; the episode ending at 41 logs values recorded before it
        (PENDULUM, "crash", 47),  # resumes from 40, with checkpoint_every=0 (see below)
        (SEPARATE, "crash", 47),
        (CARTPOLE, "callback", 47),  # SB3's early stop: resumes from 36
        (CARTPOLE, "callback", 60),  # an early stop at the last step is not a finished run
    ],
)
def test_a_stopped_run_resumes_bit_for_bit(
    config: RLConfig, how: str, stop: int, straight: dict[RLConfig, Path], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    if how == "callback":  # training ends early but the run is written: it reports the steps it took
        assert train_agent(config, run, callbacks=[StopAt(stop, how)])["env_steps"] == 2 * stop
    else:
        with pytest.raises(KeyboardInterrupt if how == "ctrl-c" else RuntimeError):
            train_agent(config, run, callbacks=[StopAt(stop, how)])
        assert not (run / "model.zip").exists()
    assert len(torch.load(run / "checkpoint.pt", weights_only=False)["actions"]) == {40: 40, 47: 40 if how == "crash" else 36, 60: 48}[stop]
    # Resuming with checkpoint_every=0 still brings the checkpoint it came from up to date.
    metrics = train_agent(dataclasses.replace(config, checkpoint_every=0) if how == "crash" else config, run)
    assert metrics["env_steps"] == config.steps
    assert_same_run(straight[config], run)
    if how == "ctrl-c":  # its log has rows at agent steps 20 and 41, the second written after the resume
        assert pd.read_csv(run / "sb3" / "progress.csv")["time/total_timesteps"].tolist() == [20, 41]


def test_ctrl_c_before_the_first_step_stops_without_a_checkpoint(tmp_path: Path) -> None:
    class CtrlCAtStart(BaseCallback):
        def _on_training_start(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)

        def _on_step(self) -> bool:
            return True

    with pytest.raises(KeyboardInterrupt, match="before the first step; nothing to resume"):
        train_agent(CARTPOLE, tmp_path, callbacks=[CtrlCAtStart()])
    assert not (tmp_path / "checkpoint.pt").exists()


def test_a_finished_run_past_its_steps_is_only_reevaluated(tmp_path: Path) -> None:
    # 122 environment steps = 61 agent steps; DQN collects 4 at a time, so the run ends at 64.
    config = dataclasses.replace(CARTPOLE, steps=122)
    assert train_agent(config, tmp_path)["env_steps"] == 128
    monitor = (tmp_path / "episodes.monitor.csv").read_text()
    before = tensors(tmp_path)
    assert train_agent(config, tmp_path)["env_steps"] == 128
    assert (tmp_path / "episodes.monitor.csv").read_text() == monitor
    after = tensors(tmp_path)
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_checkpoints_do_not_change_the_run_and_a_finished_run_is_not_retrained(
    straight: dict[RLConfig, Path], tmp_path: Path
) -> None:
    train_agent(dataclasses.replace(CARTPOLE, checkpoint_every=0), tmp_path / "never")
    assert not (tmp_path / "never" / "checkpoint.pt").exists()
    assert_same_run(straight[CARTPOLE], tmp_path / "never", checkpoints=False)
    # Training a finished run again reads its final checkpoint and only re-evaluates.
    model_zip = straight[CARTPOLE] / "model.zip"
    before = tensors(straight[CARTPOLE])
    metrics = train_agent(CARTPOLE, straight[CARTPOLE])
    assert metrics["env_steps"] == CARTPOLE.steps and model_zip.is_file()
    after = tensors(straight[CARTPOLE])
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_a_checkpoint_resumes_only_the_run_that_wrote_it(straight: dict[RLConfig, Path], tmp_path: Path) -> None:
    run = straight[PENDULUM]
    with pytest.raises(ValueError, match=r"other settings \(batch_size 8 -> 16\).*--no-resume"):
        train_agent(dataclasses.replace(PENDULUM, batch_size=16), run)
    with pytest.raises(ValueError, match="already trained 240 environment steps > steps=60"):
        train_agent(dataclasses.replace(PENDULUM, steps=60), run)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read .*checkpoint.pt"):
        train_agent(PENDULUM, broken)
    # resume=False trains afresh over it, as if no checkpoint were there.
    train_agent(dataclasses.replace(PENDULUM, resume=False), broken)
    assert_same_run(run, broken)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; CI has none")
def test_a_stopped_run_resumes_bit_for_bit_on_cuda(tmp_path: Path) -> None:
    config = dataclasses.replace(PENDULUM, device="cuda")
    train_agent(config, tmp_path / "straight")
    with pytest.raises(RuntimeError):
        train_agent(config, tmp_path / "run", callbacks=[StopAt(47, "crash")])
    train_agent(config, tmp_path / "run")
    assert_same_run(tmp_path / "straight", tmp_path / "run")


def test_load_agent_names_a_damaged_config_or_model(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{")
    with open(tmp_path / "model.zip", "wb") as file:
        np.savez(file, x=np.zeros(2))  # a zip, but no SB3 model
    with pytest.raises(ValueError, match=r"load_agent: .*config.json is not a readable JSON file"):
        load_agent(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dataclasses.asdict(RLConfig(device="cpu"))))
    with pytest.raises(ValueError, match=r"load_agent: cannot load .*model.zip as a curl-sac model \(AssertionError"):
        load_agent(tmp_path)
    settings = dataclasses.asdict(RLConfig(device="cpu"))
    for edit, message in [({"crop_margin": 4}, r"settings \['crop_margin'\] that RLConfig does not have"),
                          ({"algo": "ppo"}, r"settings that RLConfig refuses \(.*algo")]:
        (tmp_path / "config.json").write_text(json.dumps({**settings, **edit}))
        with pytest.raises(ValueError, match=r"load_agent: .*config.json holds " + message):
            load_agent(tmp_path)
