"""CURL vs pixel SAC on pixel Pendulum (or DMControl cartpole-swingup): final return, learning curves, environment steps per second.

All three agents are :class:`contrastkit.rl.CurlSAC` with the same encoder, heads, update schedule
and budget: "curl-sac" (random crops + the CURL loss), "sac" (``curl_weight=0``: the same random
crops, no contrastive loss, no key-encoder pass; RAD's crop-only ablation) and "sac-noaug"
(``curl_weight=0`` and center crops only: the unaugmented "pixel SAC" that the CURL paper compares
against). The cost of the auxiliary loss is measured against "sac", which differs from "curl-sac" in
that loss alone.

Full protocol (the defaults): 20k environment steps x 3 seeds x 3 agents, 100 -> 84 crops.
    .venv/bin/python -m benchmarks.rl
One process per agent (so all see the same machine load), then the summary:
    .venv/bin/python -m benchmarks.rl --agents sac &  .venv/bin/python -m benchmarks.rl --agents curl-sac &
    .venv/bin/python -m benchmarks.rl --agents sac-noaug
    .venv/bin/python -m benchmarks.rl --summarize-only
DMControl cartpole-swingup (CURL's task; action repeat 8 there), results in rl_dmc-cartpole-swingup.*:
    .venv/bin/python -m benchmarks.rl --env dmc-cartpole-swingup --steps 100000 --action-repeat 8
On a lent GPU (``bash benchmarks/gpu.sh OUT rl`` runs every agent and seed at once there),
results in rl_cuda.* (or rl_<env>_cuda.*):
    python -m benchmarks.rl --device cuda --agents curl-sac --seeds 0 --run-dir runs/rl_cuda &  ...
    python -m benchmarks.rl --device cuda --summarize-only --run-dir runs/rl_cuda
Reduced scale, e.g.:
    .venv/bin/python -m benchmarks.rl --steps 4000 --seeds 0 1 --image-size 40 --crop-size 32 \
        --batch-size 64 --net-arch 256 256 --learning-starts 250
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from benchmarks._common import RESULTS, best_time, write_results
from contrastkit.rl.data import CONTINUOUS_TASKS
from contrastkit.rl.evaluate import episode_returns, plot_learning_curves
from contrastkit.rl.train import RLConfig, build_agent, train_agent

AGENTS = ("sac-noaug", "sac", "curl-sac")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=sorted(CONTINUOUS_TASKS), default="pixel-pendulum")
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--agents",
        nargs="+",
        choices=AGENTS,
        default=list(AGENTS),
        help="train only these agents and write no results (to split the runs over processes; "
        "then summarise with --summarize-only)",
    )
    parser.add_argument("--image-size", type=int, default=100)
    parser.add_argument("--crop-size", type=int, default=84)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--action-repeat", type=int, default=2)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--net-arch", type=int, nargs="+", default=[1024, 1024])
    parser.add_argument("--num-filters", type=int, default=32)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--device", default="cpu", help="torch device of the agents (cpu, cuda); "
                        "results from a GPU are written beside the CPU ones, with a _cuda suffix")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/benchmark_rl"))
    parser.add_argument(
        "--summarize-only",
        action="store_true",
        help="train nothing; summarise the finished runs (those with metrics.json) under --run-dir",
    )
    return parser.parse_args()


def update_ms(configs: dict[str, RLConfig], steps: int = 10, repeats: int = 3) -> dict[str, float]:
    """Milliseconds per gradient step of each agent on a filled buffer: the best of ``repeats``
    timings of ``steps`` steps, the agents alternating so that load drift hits them alike.

    Isolates the update (and so the auxiliary loss's cost) from environment time.
    """
    models = {}
    for name, config in configs.items():
        models[name] = build_agent(config, config.make_env(config.seed))
        models[name].learn(config.learning_starts)  # random actions fill the buffer; no update yet
    best = dict.fromkeys(configs, float("inf"))
    for _ in range(repeats):
        for name, model in models.items():
            batch = configs[name].batch_size
            seconds = best_time(lambda m=model, b=batch: m.train(steps, b), repeats=1)
            best[name] = min(best[name], 1000 * seconds / steps)
    return best


def main() -> None:
    args = parse_args()
    base = RLConfig(
        env=args.env,
        steps=args.steps,
        image_size=args.image_size,
        crop_size=args.crop_size,
        batch_size=args.batch_size,
        action_repeat=args.action_repeat,
        learning_starts=args.learning_starts,
        buffer_size=max(args.steps // args.action_repeat, args.batch_size),
        net_arch=tuple(args.net_arch),
        num_filters=args.num_filters,
        eval_episodes=args.eval_episodes,
        device=args.device,
    )
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in AGENTS}
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in AGENTS}
    for seed in args.seeds:  # interleave agents so machine-load drift hits both alike
        for name in args.agents:
            config = dataclasses.replace(base, algo=name, seed=seed)
            run_dir = args.run_dir / f"{name}_seed{seed}"
            finished = run_dir / "metrics.json"
            if finished.exists():  # a finished run with the same config is reused; an unfinished one resumes
                saved = json.loads((run_dir / "config.json").read_text())
                if RLConfig(**{**saved, "net_arch": tuple(saved["net_arch"])}) != config:
                    raise SystemExit(
                        f"benchmarks.rl: {run_dir} was run with another config; use a new --run-dir."
                    )
                metrics = json.loads(finished.read_text())
            elif args.summarize_only:
                continue
            else:
                try:
                    metrics = train_agent(config, run_dir)
                except KeyboardInterrupt as stop:  # gpu.sh stops runs at its time limit: one line, not a traceback
                    raise SystemExit(f"benchmarks.rl: {name} seed {seed}: {stop}") from None
            print(f"{name} seed {seed}: {metrics}", flush=True)
            runs[name].append(metrics)
            curves[name].append(episode_returns(run_dir, config.action_repeat))

    if set(args.agents) != set(AGENTS):
        print(f"benchmarks.rl: trained {args.agents} only; summarise with --summarize-only.")
        return
    if any(not runs[name] for name in AGENTS):
        raise SystemExit(f"benchmarks.rl: no finished runs for some agent under {args.run_dir}.")
    stem = ("rl" if args.env == "pixel-pendulum" else f"rl_{args.env}") + ("_cuda" if args.device.startswith("cuda") else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot_learning_curves(curves, RESULTS / f"{stem}_curves.png", title=f"{args.env}, {args.steps} env steps")
    seeds_done = {name: len(runs[name]) for name in AGENTS}
    summary = {}
    for name in AGENTS:
        finals = np.array([m["return_mean"] for m in runs[name]])
        speed = np.array([m["env_steps_per_second"] for m in runs[name]])
        summary[name] = {
            "final_return_mean": float(finals.mean()),
            "final_return_std": float(finals.std()),
            "final_returns": finals.tolist(),
            "env_steps_per_second": float(speed.mean()),
            "seconds_per_env_step": float((1.0 / speed).mean()),
        }
    timings = update_ms({name: dataclasses.replace(base, algo=name) for name in AGENTS})
    for name in AGENTS:
        summary[name]["update_ms"] = timings[name]
    time_ratio = summary["curl-sac"]["seconds_per_env_step"] / summary["sac"]["seconds_per_env_step"]
    update_ratio = summary["curl-sac"]["update_ms"] / summary["sac"]["update_ms"]
    targets = {
        "curl_return_above_unaugmented_pixel_sac": summary["curl-sac"]["final_return_mean"]
        > summary["sac-noaug"]["final_return_mean"],
        "curl_return_above_sac_with_the_same_crops": summary["curl-sac"]["final_return_mean"]
        > summary["sac"]["final_return_mean"],
        "curl_time_per_step_at_most_1.5x": time_ratio <= 1.5,
        "curl_update_time_at_most_1.5x": update_ratio <= 1.5,
    }
    lines = [
        f"{args.env}, {args.steps} env steps (action repeat {args.action_repeat}), seeds {args.seeds} "
        f"(finished runs per agent: {seeds_done}), {args.image_size}->{args.crop_size} crops, "
        f"batch {args.batch_size}, heads {args.net_arch}, {args.eval_episodes} eval episodes per seed, "
        f"device {args.device}.",
        "",
        "| agent | final return (mean ± std over seeds) | env steps / s | time per env step vs SAC "
        "| ms per gradient step (best of 3) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in AGENTS:
        s = summary[name]
        ratio = s["seconds_per_env_step"] / summary["sac"]["seconds_per_env_step"]
        lines.append(
            f"| {name} | {s['final_return_mean']:.1f} ± {s['final_return_std']:.1f} | "
            f"{s['env_steps_per_second']:.1f} | {ratio:.2f}x | {s['update_ms']:.0f} |"
        )
    payload = {
        "protocol": {**vars(args), "run_dir": str(args.run_dir)},
        "results": summary,
        "time_ratio_curl_vs_sac": time_ratio,
        "update_time_ratio_curl_vs_sac": update_ratio,
        "targets_met": targets,
        "curves_png": f"benchmarks/results/{stem}_curves.png",
    }
    write_results(stem, payload, "\n".join(lines))


if __name__ == "__main__":
    main()
