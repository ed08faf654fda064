"""``contrastkit recsys train | evaluate | recommend`` and the recsys part of ``contrastkit demo``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pandas as pd

from contrastkit.core import data_root, read_json
from contrastkit.core.config_args import add_config_arguments, config_from_args

from .data import build_sequences, leave_one_out, read_movielens, read_recbole_inter, synthetic_interactions
from .evaluate import evaluate, recommend
from .train import RecsysConfig, fit, load


def resolve_data(name: str) -> pd.DataFrame:
    """An interaction log from ``"synthetic"``, a path (MovieLens folder/CSV or RecBole ``.inter``) or a
    dataset folder name looked up in ``$CONTRASTKIT_DATA`` and ``../shared/data``."""
    if name == "synthetic":
        return synthetic_interactions()
    candidates = [Path(name)]
    candidates.append(data_root() / name)
    for path in candidates:
        if path.suffix == ".inter" and path.is_file():
            return read_recbole_inter(path)
        if path.is_file() or (path / "ratings.csv").is_file():
            return read_movielens(path)
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(
        f"recsys: no data found for {name!r} (looked at {looked}). Pass 'synthetic', a MovieLens folder or "
        "ratings.csv, or a RecBole .inter file; set CONTRASTKIT_DATA to the folder that holds the datasets."
    )


def _train(args: argparse.Namespace) -> None:
    config = config_from_args(RecsysConfig, args)
    split = leave_one_out(build_sequences(resolve_data(args.data), min_interactions=args.min_interactions), config.max_len)
    result = fit(split, config, run_dir=args.run_dir, progress=True, resume=args.resume)
    summary = {"config": dataclasses.asdict(config), "data": args.data, "min_interactions": args.min_interactions,
               "valid": result.valid, "test": result.test, "epochs": result.epochs,
               "seconds_per_epoch": result.seconds_per_epoch}
    (Path(args.run_dir) / "results.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({"valid": result.valid, "test": result.test}, indent=2))
    print(f"Model, metrics.csv and curves.png are in {args.run_dir}/")


def _evaluate(args: argparse.Namespace) -> None:
    model, config, saved = load(Path(args.run_dir) / "model.pt", device=args.device)
    train_info = read_json(Path(args.run_dir) / "results.json", "recsys evaluate", keys=("data", "min_interactions"))
    data_name = args.data or train_info["data"]
    data = build_sequences(resolve_data(data_name), min_interactions=train_info["min_interactions"])
    if list(data.item_ids[1:]) != list(saved.item_ids[1:]):
        raise ValueError(f"recsys evaluate: {data_name!r} does not give the item set the model was trained on.")
    split = leave_one_out(data, config.max_len)
    out = {
        name: evaluate(model, getattr(split, name), exclude=split.history(name) if args.exclude_seen else None)
        for name in ("valid", "test")
    }
    print(json.dumps(out, indent=2))


def _recommend(args: argparse.Namespace) -> None:
    model, _, data = load(Path(args.run_dir) / "model.pt", device=args.device)
    # Ids on the command line are strings; match the type of the trained ids.
    kind = type(data.item_ids[1])
    history = [kind(h) for h in args.history]
    print(recommend(model, data, history, args.k, exclude_seen=args.exclude_seen))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("recsys", help="sequential recommendation: SASRec, CL4SRec, DuoRec, MCLRec")
    sub = parser.add_subparsers(dest="recsys_command", required=True)
    train = sub.add_parser("train", help="train on a leave-one-out split, report full-ranking HR/NDCG")
    train.add_argument("--data", default="synthetic", help="'synthetic', 'ml-latest-small', a ratings.csv or a .inter file")
    train.add_argument("--min-interactions", type=int, default=5, help="drop users with fewer interactions (items are kept)")
    add_config_arguments(train, RecsysConfig)
    train.add_argument("--run-dir", default="runs/recsys")
    train.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                       help="continue from the run dir's checkpoint if there is one; default: True")
    train.set_defaults(func=_train)
    ev = sub.add_parser("evaluate", help="full-ranking HR/NDCG of a trained model (run-dir of 'train')")
    ev.add_argument("--run-dir", default="runs/recsys")
    ev.add_argument("--data", default=None, help="default: the data the model was trained on")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--exclude-seen", action="store_true",
                    help="remove each user's earlier items from the candidates (RecBole's full-sort protocol)")
    ev.set_defaults(func=_evaluate)
    rec = sub.add_parser("recommend", help="top-k items for a history of original item ids")
    rec.add_argument("--run-dir", default="runs/recsys")
    rec.add_argument("history", nargs="+", help="item ids, oldest first")
    rec.add_argument("-k", type=int, default=10)
    rec.add_argument("--exclude-seen", action="store_true")
    rec.add_argument("--device", default="cpu")
    rec.set_defaults(func=_recommend)


def demo(run_dir: Path, seed: int = 0) -> dict[str, float]:
    """SASRec vs DuoRec on the built-in synthetic log (clusters + drift): full-ranking test HR@10 / NDCG@10."""
    split = leave_one_out(build_sequences(synthetic_interactions(seed=seed)), max_len=20)
    out: dict[str, float] = {}
    for model in ("sasrec", "duorec"):
        config = RecsysConfig(
            model=model, max_len=20, epochs=8, eval_every=2, batch_size=64, lr=3e-3, seed=seed, device="cpu",
            similarity="cosine", temperature=0.1,  # the benchmark's DuoRec setting (unused by plain SASRec)
        )
        result = fit(split, config, run_dir=run_dir / model)
        out[f"{model}_test_hr@10"] = result.test["hr@10"]
        out[f"{model}_test_ndcg@10"] = result.test["ndcg@10"]
    return out
