"""``contrastkit rl train`` / ``contrastkit rl evaluate``, and the rl part of ``contrastkit demo``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, get_args

from .agents import WInit
from .data import PIXEL_TASKS
from .evaluate import evaluate_agent
from .train import ALGOS, RLConfig, load_agent, train_agent

_CHOICES: dict[str, tuple[str, ...]] = {"env": PIXEL_TASKS, "algo": ALGOS, "w_init": get_args(WInit)}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``rl train`` (one option per :class:`RLConfig` field) and ``rl evaluate``."""
    rl = subparsers.add_parser("rl", help="CURL agents from pixels (stable-baselines3)")
    commands = rl.add_subparsers(dest="rl_command", required=True)

    train = commands.add_parser(
        "train", help="train an agent; writes SB3 logs, returns.csv, curve.png, model.zip, metrics.json"
    )
    for field in dataclasses.fields(RLConfig):
        flag = "--" + field.name.replace("_", "-")
        default = field.default
        if isinstance(default, tuple):
            train.add_argument(flag, type=int, nargs="+", default=list(default))
        else:
            train.add_argument(flag, type=type(default), default=default, choices=_CHOICES.get(field.name))
    train.add_argument("--run-dir", type=Path, default=Path("runs/rl"))
    train.set_defaults(func=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate the model of a `rl train` run directory")
    evaluate.add_argument("--run-dir", type=Path, required=True)
    evaluate.add_argument("--episodes", type=int, default=10)
    evaluate.add_argument("--seed", type=int, default=12_345)
    evaluate.set_defaults(func=_evaluate)


def _train(args: argparse.Namespace) -> None:
    values: dict[str, Any] = {f.name: getattr(args, f.name) for f in dataclasses.fields(RLConfig)}
    values["net_arch"] = tuple(values["net_arch"])
    metrics = train_agent(RLConfig(**values), args.run_dir)
    print(json.dumps(metrics, indent=2))
    print(f"Logs, returns.csv, curve.png and model.zip are in {args.run_dir}/")


def _evaluate(args: argparse.Namespace) -> None:
    config, model = load_agent(args.run_dir)
    metrics = evaluate_agent(model, config.make_env(args.seed), args.episodes)
    print(json.dumps(metrics, indent=2))


def demo(run_dir: Path, seed: int) -> dict[str, float]:
    """A few hundred steps of CurlSAC on small pixel-Pendulum frames (built-in, no download).

    Far too short to learn the task (random play scores about -1200): it runs the whole pipeline
    (rendering, replay, CURL + SAC updates, save, evaluation) and reports its speed.
    """
    config = RLConfig(
        env="pixel-pendulum",
        algo="curl-sac",
        steps=400,
        seed=seed,
        image_size=40,
        crop_size=32,
        batch_size=32,
        buffer_size=1000,
        learning_starts=64,
        net_arch=(64, 64),
        num_filters=16,
        eval_episodes=1,
        device="cpu",
    )
    metrics = train_agent(config, run_dir)
    return {
        "eval_return": metrics["return_mean"],
        "env_steps_per_second": metrics["env_steps_per_second"],
        "gradient_steps": float(config.agent_steps - config.learning_starts),
    }
