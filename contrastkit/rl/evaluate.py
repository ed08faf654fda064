"""Evaluation of pixel agents: returns of deterministic episodes, training curves, plots."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import load_results
from torch import Tensor

from .agents import CurlDQN, CurlSAC


def evaluate_agent(
    model: BaseAlgorithm, env: gym.Env, n_episodes: int = 10, deterministic: bool = True
) -> dict[str, float]:
    """Mean and standard deviation of the return over ``n_episodes`` full episodes.

    The policy acts on center crops (its :class:`PixelEncoder` crops full frames itself).

    Returns:
        ``{"return_mean", "return_std", "episodes"}``.

    Raises:
        ValueError: if ``n_episodes < 1``.
    """
    if not isinstance(n_episodes, int) or n_episodes < 1:
        raise ValueError(f"evaluate_agent: n_episodes must be an int >= 1; got {n_episodes!r}.")
    returns, _ = evaluate_policy(
        model, env, n_eval_episodes=n_episodes, deterministic=deterministic, return_episode_rewards=True
    )
    values = np.asarray(returns, dtype=np.float64)
    return {
        "return_mean": float(values.mean()),
        "return_std": float(values.std()),
        "episodes": float(n_episodes),
    }


@torch.no_grad()
def curl_accuracy(model: CurlSAC | CurlDQN, observations: Tensor) -> float:
    """Top-1 accuracy of CURL's instance discrimination on a batch of observations.

    Each observation gets two independent views; query i (online encoder) should score its own key
    (key encoder) highest under ``W`` among the ``B`` keys. Chance level is ``1 / B``.

    Shapes: observations ``[B, C, H, W]`` (uint8, full frames) -> float in [0, 1].
    """
    curl = model.curl
    query = model.encoder(curl.augment(observations))  # (B, D)
    key = curl.key_encoder(curl.augment(observations))  # (B, D)
    logits = curl.similarity.pairwise(query, key)  # (B, B)
    hits = logits.argmax(dim=1) == torch.arange(len(logits), device=logits.device)
    return float(hits.float().mean())


def episode_returns(
    monitor_dir: str | os.PathLike[str], action_repeat: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Training episodes logged by SB3's ``Monitor`` in ``monitor_dir``.

    Returns:
        ``(env_steps [E], returns [E])``: the environment step at which each episode ended
        (agent steps x ``action_repeat``) and its return.
    """
    frame = load_results(str(monitor_dir))
    steps = np.cumsum(frame["l"].to_numpy()) * action_repeat
    return steps.astype(np.int64), frame["r"].to_numpy(dtype=np.float64)


def plot_learning_curves(
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    path: str | os.PathLike[str],
    title: str = "",
    window: int = 5,
) -> None:
    """One line per label (mean over its runs, shaded min-max), smoothed over ``window`` episodes.

    Args:
        curves: label -> list of ``(env_steps, returns)`` per run (e.g. per seed).
        path: PNG file to write.
        window: moving-average window in episodes (1: raw).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    plotted = False
    for label, runs in curves.items():
        runs = [r for r in runs if len(r[0])]
        if not runs:
            continue
        k = max(1, min(window, *(len(returns) for _, returns in runs)))
        # From the first step where every run has a full window to the last step they all reach.
        grid = np.linspace(max(int(s[k - 1]) for s, _ in runs), min(int(s[-1]) for s, _ in runs), 100)
        smoothed = []
        for steps, returns in runs:
            avg = np.convolve(returns, np.ones(k) / k, mode="valid")  # (E - k + 1,)
            smoothed.append(np.interp(grid, steps[k - 1 :], avg))
        stack = np.stack(smoothed)  # (runs, 100)
        (line,) = ax.plot(grid, stack.mean(0), label=f"{label} (n={len(runs)})")
        ax.fill_between(grid, stack.min(0), stack.max(0), color=line.get_color(), alpha=0.2)
        plotted = True
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"episode return ({window}-episode average)")
    ax.grid(alpha=0.3)
    if plotted:
        ax.legend()
    else:  # e.g. a short DMControl run: its 1,000-step episodes outlast the budget
        ax.text(0.5, 0.5, "no finished training episode", ha="center", va="center", transform=ax.transAxes)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
