"""CURL on pixel Pendulum with plain stable-baselines3 tooling: the only change from SB3 is the class.

    SDL_VIDEODRIVER=dummy .venv/bin/python examples/rl/curl_sac_pendulum.py --steps 20000

Compares against the same agent without the contrastive loss (``--curl-weight 0``), logs to
TensorBoard-free CSV, evaluates periodically with SB3's ``EvalCallback`` on center crops.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor

from contrastkit.rl import CurlSAC, evaluate_agent, make_pixel_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps (action repeat 2)")
    parser.add_argument("--curl-weight", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/example_curl_sac"))
    parser.add_argument("--eval-episodes", type=int, default=10)
    args = parser.parse_args()

    def env(seed: int) -> Monitor:
        return Monitor(make_pixel_env("pixel-pendulum", image_size=100, action_repeat=2, seed=seed))

    model = CurlSAC(
        "CnnPolicy",
        env(args.seed),
        buffer_size=max(args.steps // 2, 1000),  # the whole run; 180 KB per transition at 100 px
        crop_size=84,
        curl_weight=args.curl_weight,
        seed=args.seed,
    )
    model.set_logger(configure(str(args.out), ["stdout", "csv"]))
    evaluation = EvalCallback(env(args.seed + 1), eval_freq=2500, n_eval_episodes=5, log_path=str(args.out))
    model.learn(args.steps // 2, callback=evaluation)
    model.save(args.out / "model.zip")
    print(evaluate_agent(CurlSAC.load(args.out / "model.zip"), env(args.seed + 2), n_episodes=args.eval_episodes))


if __name__ == "__main__":
    main()
