"""Runs end to end: `contrastkit rl train` / `rl evaluate` and the files a run leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_dmc
from stable_baselines3.common.monitor import load_results

from contrastkit.cli import main
from contrastkit.rl.train import RLConfig, build_agent, load_agent

TINY_ARGS = [
    "--image-size", "20", "--crop-size", "16", "--frame-stack", "2", "--batch-size", "8",
    "--learning-starts", "8", "--buffer-size", "100", "--net-arch", "16", "--num-filters", "4",
    "--eval-episodes", "1", "--device", "cpu", "--w-init", "identity",
]  # fmt: skip


def test_cli_train_writes_a_complete_run_and_evaluate_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    argv = [
        "rl",
        "train",
        "--env",
        "pixel-cartpole",
        "--algo",
        "curl-dqn",
        "--steps",
        "120",
        "--action-repeat",
        "2",
    ]
    assert main([*argv, *TINY_ARGS, "--run-dir", str(run)]) == 0
    for name in ("config.json", "model.zip", "curve.png", "returns.csv", "metrics.json", "sb3/progress.csv"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["env_steps"] == 120 and metrics["env_steps_per_second"] > 0
    assert 0.0 <= metrics["curl_accuracy"] <= 1.0
    # returns.csv is the Monitor's episodes, with episode ends in environment steps (x action repeat).
    returns = np.loadtxt(run / "returns.csv", delimiter=",", skiprows=1, ndmin=2)
    episodes = load_results(str(run))
    np.testing.assert_allclose(returns[:, 1], episodes["r"].to_numpy(), rtol=1e-4)
    np.testing.assert_array_equal(returns[:, 0], 2 * np.cumsum(episodes["l"].to_numpy()))

    capsys.readouterr()
    assert main(["rl", "evaluate", "--run-dir", str(run), "--episodes", "2"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["episodes"] == 2 and evaluated["return_mean"] >= 1  # CartPole pays 1 per step
    config, model = load_agent(run)
    assert config.algo == "curl-dqn" and type(model).__name__ == "CurlDQN"


@needs_dmc
def test_curl_sac_trains_on_dmcontrol_cartpole_swingup(tmp_path: Path) -> None:
    run = tmp_path / "dmc"
    argv = ["rl", "train", "--env", "dmc-cartpole-swingup", "--algo", "curl-sac", "--steps", "80", "--action-repeat", "4"]
    assert main([*argv, *TINY_ARGS, "--run-dir", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["env_steps"] == 80 and 0.0 <= metrics["curl_accuracy"] <= 1.0
    # One evaluation episode is 1,000 environment steps, each paying a reward in [0, 1].
    assert 0.0 <= metrics["return_mean"] <= 1000.0
    assert (run / "curve.png").is_file()  # drawn even though no 1,000-step training episode finished
    config, model = load_agent(run)
    assert config.env == "dmc-cartpole-swingup" and type(model).__name__ == "CurlSAC"


def test_config_rejects_mismatched_algorithms_and_empty_budgets() -> None:
    with pytest.raises(ValueError, match="curl-sac, sac or sac-noaug"):
        RLConfig(env="pixel-pendulum", algo="curl-dqn")
    with pytest.raises(ValueError, match="curl-dqn, dqn or dqn-noaug"):
        RLConfig(env="pixel-cartpole", algo="sac-noaug")
    with pytest.raises(ValueError, match="curl-sac, sac or sac-noaug"):
        RLConfig(env="dmc-cartpole-swingup", algo="dqn")
    with pytest.raises(ValueError, match="algo must be one of"):
        RLConfig(algo="ppo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="w_init must be one of"):
        RLConfig(w_init="zeros")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one agent step"):
        RLConfig(steps=1, action_repeat=2)
    with pytest.raises(ValueError, match="action_repeat must be a positive int; got 0"):
        RLConfig(action_repeat=0)
    with pytest.raises(ValueError, match="learning_starts must be an int >= 0; got -1"):
        RLConfig(learning_starts=-1)


def test_load_agent_explains_a_missing_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="rl train"):
        load_agent(tmp_path)


@pytest.mark.parametrize(
    ("algo", "weight", "augmentation"),
    [("curl-sac", 1.0, "crop"), ("sac", 0.0, "crop"), ("sac-noaug", 0.0, "none")],
)
def test_algo_names_choose_the_contrastive_weight_and_augmentation(algo: str, weight: float, augmentation: str) -> None:
    config = RLConfig(algo=algo, image_size=20, crop_size=16, batch_size=8, learning_starts=8, buffer_size=32,  # type: ignore[arg-type]
                      net_arch=(16,), device="cpu")
    model = build_agent(config, config.make_env(0))
    assert (model.curl_weight, model.curl.augmentation) == (weight, augmentation)
