"""``contrastkit rl train`` / ``contrastkit rl evaluate``, and the rl part of ``contrastkit demo``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from contrastkit.core.config_args import add_config_arguments, config_from_args

from .evaluate import evaluate_agent
from .train import RLConfig, load_agent, train_agent


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``rl train`` (one option per :class:`RLConfig` field) and ``rl evaluate``."""
    rl = subparsers.add_parser("rl", help="CURL agents from pixels (stable-baselines3)")
    commands = rl.add_subparsers(dest="rl_command", required=True)

    train = commands.add_parser(
        "train",
        help="train an agent (resumes from the run dir's checkpoint.pt); writes SB3 logs, returns.csv, curve.png, "
        "model.zip, metrics.json",
    )
    add_config_arguments(train, RLConfig, defaults={"progress": True})
    train.add_argument("--run-dir", type=Path, default=Path("runs/rl"))
    train.set_defaults(func=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate the model of a `rl train` run directory")
    evaluate.add_argument("--run-dir", type=Path, required=True)
    evaluate.add_argument("--episodes", type=int, default=10)
    evaluate.add_argument("--seed", type=int, default=12_345)
    evaluate.set_defaults(func=_evaluate)


def _train(args: argparse.Namespace) -> None:
    metrics = train_agent(config_from_args(RLConfig, args), args.run_dir)
    print(json.dumps(metrics, indent=2))
    print(f"Logs, returns.csv, curve.png, model.zip and checkpoint.pt are in {args.run_dir}/")


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
