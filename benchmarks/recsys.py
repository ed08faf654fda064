"""Contrastive sequential recommendation on MovieLens latest-small: one protocol, five models, several seeds.

Protocol (every row): users with >= 5 interactions, leave-one-out (last item test, second-to-last
validation), full ranking over all items, SASRec with 2 layers / hidden 64 / 2 heads / max_len 50 /
dropout 0.2, AdamW (lr 3e-3, batch 32) over each user's most recent 50 training targets, validation
NDCG@10 every epoch, 30 epochs, the best validation epoch is tested. No early stopping: the first
epoch's near-popularity model often scores a validation NDCG@10 that the trained model only passes
after 6+ epochs, so patience-based stopping ended some runs at epoch 6 with the epoch-1 model.
Why 30 epochs (tuning seed 10, validation only): SASRec-CE's validation NDCG@10 reaches 0.028 at
epoch 13 and then wanders between 0.022 and 0.029 up to epoch 30, while DuoRec's keeps between 0.030
and 0.034 from epoch 14 on (best 0.0339 at epoch 29); the earlier 12-epoch budget stopped both
before the regulariser could matter. The whole history per user (``--windows-per-user 0``, batch
128, lr 1e-3, 20 epochs) was tried on the same seed and left DuoRec below SASRec-CE (0.0210 vs
0.0272). The contrastive rows'
weight, temperature and similarity were chosen on validation NDCG@10 with seed 10, not a reported
seed (see ROWS). Their contrastive term is left out of an epoch's last, incomplete batch. Each run's
test NDCG@10 is also computed with the user's earlier items removed from the candidates ("history
masked", RecBole's full-sort ranking), to compare with RecBole; the targets use the unmasked ranking.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.recsys   # seeds 0 1 2, one process
    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.recsys --reuse SASRec-BPR SASRec-CE   # re-train only the contrastive rows

``--throughput`` instead times every row on ML-1M-sized synthetic data (6,040 users, 3,706 items,
about 1M interactions) on every device present, side by side in one process: training seconds per
epoch over the whole history, full-ranking evaluation seconds, and the ratios to SASRec-CE and to the
CPU. It writes ``results/recsys_throughput.json`` / ``.md``. On a GPU machine:

    python -m benchmarks.recsys --throughput

``--recbole-python PATH`` also trains RecBole's own SASRec on the same split with PATH (a Python
that has ``recbole`` installed, kept out of this project's venv) and puts it beside ours.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks._common import best_time, write_results
from contrastkit.core import data_root

# (row, model, next-item loss, contrastive weight / temperature / similarity). Chosen on validation NDCG@10 with
# seed 10 (not a reported seed; test never looked at), best within the first 12 epochs; SASRec-CE 0.0257 there.
# Dot products (the references') at temperature 5 vs 1 first: DuoRec 0.0192 vs 0.0126, MCLRec 0.0154 vs 0.0122,
# CL4SRec 0.0191 at 1. With the incomplete last batch left out of the contrastive term, DuoRec with dot products at
# temperature 5 stayed low for every weight (0.0196 at 0.01, 0.0198 at 0.05), while cosine similarity at
# temperature 0.1 gave 0.0249 / 0.0247 / 0.0250 at weights 0.01 / 0.05 / 0.1; CL4SRec 0.0248 (cosine, 0.1, 0.05);
# MCLRec (cosine) 0.0153 at (0.1, 0.01), 0.0130 at (0.1, 0.05), 0.0213 at (0.5, 0.05), 0.0264 at (1.0, 0.05).
# Re-checked with the 30-epoch budget (weight, temperature): MCLRec (0.05, 1) 0.0297, (0.1, 0.1) 0.0187, (0.05, 0.1)
# 0.0186, (0.1, 0.5) 0.0276, (0.1, 1) 0.0282, (0.05, 2) 0.0302 (level within noise; kept); DuoRec (0.1, 0.1) 0.0339.
# MCLRec's beta (weight of the augmented-view terms, default 0.1) at (0.05, 1): 1.0 0.0153, 0.5 0.0206, 0.1 0.0297,
# 0.03 0.0349 (chosen), 0.01 0.0337. MCLRec on DuoRec's views (views="duorec", beta 0.1): 0.0297 / 0.0286 at (0.1 /
# 0.05, 0.1); at (0.1, 0.1) with beta 0.03 / 0.01: 0.0309 / 0.0325, still below DuoRec's 0.0339 (not a row).
# Tuning seeds 11 / 12 / 13 show the noise of one seed's best validation score: SASRec-CE 0.0323 / 0.0338 / 0.0309,
# DuoRec 0.0320 / 0.0313 / 0.0329, MCLRec (the row below) 0.0335 / 0.0354 / 0.0313, MCLRec on DuoRec's views (beta
# 0.01) 0.0315 / 0.0303 / 0.0313. Over seeds 10-13 the row's MCLRec has the best mean (0.0338; DuoRec 0.0325, CE 0.0313).
ROWS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("SASRec-BPR", "sasrec", "bpr", {}),
    ("SASRec-CE", "sasrec", "ce", {}),
    ("CL4SRec", "cl4srec", "ce", {"weight": 0.05, "temperature": 0.1, "similarity": "cosine"}),
    ("DuoRec", "duorec", "ce", {"weight": 0.1, "temperature": 0.1, "similarity": "cosine"}),
    ("MCLRec", "mclrec", "ce", {"weight": 0.05, "temperature": 1.0, "similarity": "cosine", "mclrec_beta": 0.03}),
)
DEFAULT_DATA = data_root()
# MovieLens-1M's shape: 6,040 users, 3,706 items, 1,000,209 ratings, at least 20 per user (mean 166).
ML1M_SHAPE = {"n_users": 6040, "n_items": 3706, "min_length": 20, "max_length": 311}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one row of ROWS for one seed (in its own single-threaded process)."""
    import torch

    from contrastkit.recsys import (
        RecsysConfig,
        build_sequences,
        fit,
        leave_one_out,
        ranking_metrics,
        read_movielens,
        split_ranks,
    )

    torch.set_num_threads(1)
    split = leave_one_out(build_sequences(read_movielens(job["data"]), min_interactions=5), max_len=50)
    _, model, loss, tuned = next(r for r in ROWS if r[0] == job["row"])
    config = RecsysConfig(
        model=model,  # type: ignore[arg-type]
        loss=loss,  # type: ignore[arg-type]
        **tuned,  # type: ignore[arg-type]
        epochs=job["epochs"],
        eval_every=1,
        patience=job["patience"],
        batch_size=job["batch_size"],
        lr=job["lr"],
        windows_per_user=job["windows_per_user"],
        seed=job["seed"],
        device="cpu",
    )
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = fit(split, config)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    # Per-user ranks of the tested (best validation) model, for the paired comparison of rows on the same users.
    ranks = split_ranks(result.model, split.test)
    if ranking_metrics(ranks) != result.test:
        raise RuntimeError(f"{job['row']} seed {job['seed']}: the returned model is not the one fit tested.")
    # RecBole's full-sort ranking removes each user's earlier items; ours (the protocol) does not.
    masked = ranking_metrics(split_ranks(result.model, split.test, exclude=split.history("test")))
    row = {"row": job["row"], "seed": job["seed"], "test": result.test, "test_ranks": ranks.tolist(),
           "valid_ndcg@10_per_epoch": [h["val_ndcg@10"] for h in result.history if "val_ndcg@10" in h],
           "test_history_masked": masked, "valid": result.valid,
           "epochs": result.epochs, "train_wall_s_per_epoch": result.seconds_per_epoch,
           "total_cpu_s": cpu, "total_wall_s": wall}
    print(json.dumps(row), flush=True)
    return row


RECBOLE_DRIVER = r'''
import json, sys, time
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.model.sequential_recommender import SASRec
from recbole.trainer import Trainer
from recbole.utils import init_seed
folder, epochs, seed, batch, lr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
cfg = {"data_path": folder, "dataset": "split", "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
       "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
       "MAX_ITEM_LIST_LENGTH": 50, "hidden_size": 64, "inner_size": 256, "n_layers": 2, "n_heads": 2,
       "hidden_dropout_prob": 0.2, "attn_dropout_prob": 0.2, "loss_type": "CE", "train_neg_sample_args": None,
       "epochs": epochs, "train_batch_size": batch, "learning_rate": lr, "eval_step": 1, "stopping_step": 10**6,
       "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "group_by": "user", "mode": "full"},
       "metrics": ["Hit", "NDCG"], "topk": [5, 10, 20], "valid_metric": "NDCG@10", "seed": seed,
       "reproducibility": True, "device": "cpu", "use_gpu": False, "show_progress": False,
       "checkpoint_dir": folder + "/saved", "log_wandb": False}
config = Config(model="SASRec", dataset="split", config_dict=cfg)
init_seed(config["seed"], config["reproducibility"])
dataset = create_dataset(config)
train, valid, test = data_preparation(config, dataset)
model = SASRec(config, train.dataset)
trainer = Trainer(config, model)
spent = []
inner = trainer._train_epoch
def timed(*a, **k):
    t = time.perf_counter(); r = inner(*a, **k); spent.append(time.perf_counter() - t); return r
trainer._train_epoch = timed
trainer.fit(train, valid, saved=True, show_progress=False)
result = trainer.evaluate(test, load_best_model=True, show_progress=False)
print("RESULT " + json.dumps({"test": {k: float(v) for k, v in result.items()}, "seconds_per_epoch": sum(spent) / len(spent),
                              "epochs": len(spent), "train_instances": len(train.dataset)}))
'''


def start_recbole(python: str, data: Path, epochs: int, seed: int, batch_size: int, lr: float, folder: str) -> subprocess.Popen[str]:
    """Start RecBole's SASRec (CE, all-prefix training instances) on our exact leave-one-out split."""
    from contrastkit.recsys import build_sequences, read_movielens, write_recbole_inter

    sequences = build_sequences(read_movielens(data), min_interactions=5)
    # Our order, written with per-user ranks as timestamps, so RecBole's TO ordering cannot differ.
    rows = [(u, int(i), t) for u, seq in enumerate(sequences.sequences) for t, i in enumerate(seq)]
    write_recbole_inter(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]), Path(folder) / "split" / "split.inter")
    return subprocess.Popen(
        [python, "-c", RECBOLE_DRIVER, folder, str(epochs), str(seed), str(batch_size), str(lr)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder,
        # RecBole 1.2.1 reloads its own pickled checkpoints, which torch >= 2.6 refuses by default.
        env={**os.environ, "OMP_NUM_THREADS": "1", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"},
    )


def finish_recbole(proc: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = proc.communicate()
    lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"RecBole run failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    return result


PROTOCOL_ARGS = ("data", "seeds", "epochs", "patience", "batch_size", "lr", "windows_per_user")


def load_reused(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """The runs of the rows named by ``--reuse`` from the current results file, if its protocol matches."""
    if not args.reuse:
        return [], ""
    unknown = set(args.reuse) - {name for name, *_ in ROWS}
    if unknown:
        raise SystemExit(f"benchmarks.recsys: --reuse names unknown rows {sorted(unknown)}.")
    path = Path(__file__).resolve().parent / "results" / "recsys.json"
    previous = json.loads(path.read_text())
    here = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    differ = [k for k in PROTOCOL_ARGS if previous["args"].get(k) != here[k]]
    if differ:
        raise SystemExit(f"benchmarks.recsys: cannot reuse rows from {path}: its {differ} differ from this run's.")
    runs = [r for r in previous["runs"] if r["row"] in args.reuse and r["seed"] in args.seeds]
    missing = [(n, s) for n in args.reuse for s in args.seeds if not any(r["row"] == n and r["seed"] == s for r in runs)]
    if missing:
        raise SystemExit(f"benchmarks.recsys: {path} has no runs for {missing}; train them instead.")
    return [{**r, "reused": True} for r in runs], f"run of {previous['environment']['date']}"


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    summary: dict[str, dict[str, float]] = {}
    for name, *_ in ROWS:
        mine = [r for r in runs if r["row"] == name]
        if not mine:
            continue
        stats: dict[str, float] = {"n_seeds": len(mine)}
        columns = [("", "test", "hr@10"), ("", "test", "ndcg@10")]
        if all("test_history_masked" in r for r in mine):  # runs from before the masked column lack it
            columns.append(("masked_", "test_history_masked", "ndcg@10"))
        for prefix, source, metric in columns:
            values = [r[source][metric] for r in mine]
            stats[f"{prefix}{metric}_mean"] = statistics.fmean(values)
            stats[f"{prefix}{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        stats["epochs_mean"] = statistics.fmean(r["epochs"] for r in mine)
        stats["train_wall_s_per_epoch"] = statistics.fmean(r["train_wall_s_per_epoch"] for r in mine)
        stats["cpu_s_per_run"] = statistics.fmean(r["total_cpu_s"] for r in mine)
        summary[name] = stats
    return summary


def above(summary: dict[str, dict[str, float]], runs: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """Is row a above row b on test NDCG@10 by more than the seed spread (the larger of the two stds)?

    Beside the target, a paired bootstrap of the gap over the same test users and the seeds (runs from
    before per-user ranks were stored have none), and the seeds on which a is above b.
    """
    if a not in summary or b not in summary:
        return {"met": None, "why": "row not run"}
    gap = summary[a]["ndcg@10_mean"] - summary[b]["ndcg@10_mean"]
    spread = max(summary[a]["ndcg@10_std"], summary[b]["ndcg@10_std"])
    out: dict[str, Any] = {"gap": gap, "spread": spread, "met": bool(gap > spread)}
    by_seed = {name: {r["seed"]: r for r in runs if r["row"] == name} for name in (a, b)}
    shared = sorted(set(by_seed[a]) & set(by_seed[b]))
    out["seeds_above"] = [s for s in shared if by_seed[a][s]["test"]["ndcg@10"] > by_seed[b][s]["test"]["ndcg@10"]]
    if all("test_ranks" in r for name in (a, b) for r in by_seed[name].values()):
        import torch

        from contrastkit.core import paired_bootstrap
        from contrastkit.recsys import per_user_ndcg

        def ndcg(name: str) -> list[list[float]]:
            return [per_user_ndcg(torch.tensor(by_seed[name][s]["test_ranks"]), 10).tolist() for s in sorted(by_seed[name])]

        out["paired_bootstrap"] = paired_bootstrap(ndcg(a), ndcg(b), n_boot=10_000, seed=0)
    return out


def throughput(args: argparse.Namespace) -> None:
    """Train every row for a few epochs on ML-1M-sized synthetic data per device; time epochs and evaluation."""
    import torch

    from contrastkit.recsys import (
        RecsysConfig,
        build_sequences,
        evaluate,
        fit,
        leave_one_out,
        synthetic_interactions,
    )

    start = time.perf_counter()
    shape = {**ML1M_SHAPE, "n_users": args.throughput_users}
    split = leave_one_out(build_sequences(synthetic_interactions(**shape, n_clusters=64, seed=0)), max_len=50)
    n_targets = sum(len(s) - 1 for s in split.train)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    runs: list[dict[str, Any]] = []
    for device in devices:
        # The CPU runs one epoch of the rows named by --throughput-cpu-rows; the GPU every row for --throughput-epochs.
        epochs = 1 if device == "cpu" else args.throughput_epochs
        for name, model, loss, tuned in ROWS:
            if device == "cpu" and name not in args.throughput_cpu_rows:
                continue
            config = RecsysConfig(model=model, loss=loss, **tuned, epochs=epochs, eval_every=epochs,  # type: ignore[arg-type]
                                  patience=None, batch_size=args.throughput_batch, lr=1e-3, seed=0, device=device)
            result = fit(split, config)
            metrics = evaluate(result.model, split.test)  # also the warm-up of the timing below
            eval_s = best_time(lambda m=result.model: evaluate(m, split.test), repeats=1, warmup=0)
            run = {"device": device, "row": name, "epochs": result.epochs, "train_s_per_epoch": result.seconds_per_epoch,
                   "targets_per_s": n_targets / result.seconds_per_epoch, "eval_s": eval_s,
                   "test_ndcg@10": metrics["ndcg@10"]}
            runs.append(run)
            print(json.dumps(run), flush=True)
    base = {r["device"]: r["train_s_per_epoch"] for r in runs if r["row"] == "SASRec-CE"}
    for r in runs:
        r["time_vs_sasrec_ce"] = r["train_s_per_epoch"] / base[r["device"]]
        cpu = next((c for c in runs if c["device"] == "cpu" and c["row"] == r["row"]), None)
        if r["device"] != "cpu" and cpu is not None:
            r["speedup_vs_cpu"] = cpu["train_s_per_epoch"] / r["train_s_per_epoch"]
    env = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    lines = [
        f"ML-1M-sized synthetic log ({split.data.n_users:,} users, {split.data.n_items:,} items, {n_targets:,} training "
        f"targets), SASRec 2 layers / hidden 64 / max_len 50, whole history per epoch, batch {args.throughput_batch}; "
        f"CPU: {env['cpu_count']} cores, {env['torch_threads']} threads; GPU: {env['gpu'] or 'none'}. "
        "Evaluation: full ranking of every user's test item over all items.",
        "",
        "| device | model | epochs | train s/epoch | targets/s | vs SASRec-CE | speed-up vs CPU | eval s | test NDCG@10 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        speedup = f"{r['speedup_vs_cpu']:.1f}x" if "speedup_vs_cpu" in r else "-"
        lines.append(f"| {r['device']} | {r['row']} | {r['epochs']:.0f} | {r['train_s_per_epoch']:.2f} | "
                     f"{r['targets_per_s']:,.0f} | {r['time_vs_sasrec_ce']:.2f}x | {speedup} | {r['eval_s']:.2f} | "
                     f"{r['test_ndcg@10']:.4f} |")
    payload = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "shape": shape,
               "users": split.data.n_users, "items": split.data.n_items, "training_targets": n_targets,
               "machine": env, "runs": runs, "wall_seconds": time.perf_counter() - start}
    write_results("recsys_throughput", payload, "\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "ml-latest-small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=0, help="0: never stop early")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--windows-per-user", type=int, default=1, help="0: the whole history")
    parser.add_argument("--only", nargs="*", default=None, help="run only these rows")
    parser.add_argument("--jobs", type=int, default=1, help="(model, seed) runs in parallel processes, one thread each")
    parser.add_argument("--reuse", nargs="*", default=[], metavar="ROW",
                        help="take these rows' runs from the current results/recsys.json instead of training them "
                             "(only when its protocol arguments match; the table says which rows were reused)")
    parser.add_argument("--recbole-python", default=None, help="a Python with recbole installed")
    parser.add_argument("--recbole-epochs", type=int, default=1)
    parser.add_argument("--throughput", action="store_true",
                        help="time every row on ML-1M-sized synthetic data on each device instead (see above)")
    parser.add_argument("--throughput-users", type=int, default=ML1M_SHAPE["n_users"])
    parser.add_argument("--throughput-cpu-rows", nargs="*", default=["SASRec-CE", "DuoRec"])
    parser.add_argument("--throughput-epochs", type=int, default=3, help="epochs per row on the GPU (1 on the CPU)")
    parser.add_argument("--throughput-batch", type=int, default=256)
    args = parser.parse_args(argv)
    if args.throughput:
        return throughput(args)
    if not (args.data / "ratings.csv").exists():
        raise SystemExit(f"benchmarks.recsys: {args.data}/ratings.csv not found; pass --data.")
    rows = [name for name, *_ in ROWS if (not args.only or name in args.only) and name not in args.reuse]
    reused, reused_from = load_reused(args)
    # Most expensive rows first, so the parallel workers finish together.
    jobs = [{"data": str(args.data), "seed": s, "row": name, "epochs": args.epochs, "patience": args.patience or None,
             "batch_size": args.batch_size, "lr": args.lr, "windows_per_user": args.windows_per_user or None}
            for name in reversed(rows) for s in args.seeds]
    start = time.perf_counter()
    scratch = tempfile.mkdtemp(prefix="recbole-")
    recbole_proc = None
    if args.recbole_python:  # runs beside our jobs, under the same CPU contention
        recbole_proc = start_recbole(
            args.recbole_python, args.data, args.recbole_epochs, args.seeds[0], args.batch_size, args.lr, scratch
        )
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        runs = reused + list(pool.map(run_job, jobs))
    summary = summarise(runs)
    targets = {
        "DuoRec > SASRec-CE (NDCG@10, by more than the seed spread)": above(summary, runs, "DuoRec", "SASRec-CE"),
        "MCLRec > SASRec-CE (NDCG@10, by more than the seed spread)": above(summary, runs, "MCLRec", "SASRec-CE"),
        "SASRec-CE > SASRec-BPR (NDCG@10, by more than the seed spread)": above(summary, runs, "SASRec-CE", "SASRec-BPR"),
    }
    lines = [
        f"ml-latest-small, leave-one-out, full ranking over all items; {len(args.seeds)} seeds "
        f"({' '.join(map(str, args.seeds))}), at most {args.epochs} epochs"
        f"{'' if not args.patience else f' (early stop after {args.patience} epochs without a better validation NDCG@10)'} over "
        f"{'each whole history' if not args.windows_per_user else f'the last {args.windows_per_user} window(s) of 50 targets per user'}, "
        f"batch {args.batch_size}, lr {args.lr}; mean ± std over seeds."
        + (f" Rows {', '.join(args.reuse)} were not re-trained: their runs are reused from the previous results "
           f"file ({reused_from}), same protocol and unchanged code path." if args.reuse else ""),
        "",
        "| model | weight, temperature, similarity | test HR@10 | test NDCG@10 | test NDCG@10, history masked "
        "| epochs trained (mean) | train s/epoch (wall, shared CPU) | CPU s per run |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    tuned = {name: kw for name, _, _, kw in ROWS}
    for name, s in summary.items():
        kw = tuned[name]
        hyper = f"{kw['weight']}, {kw['temperature']}, {kw.get('similarity', 'dot')}" if kw else "-"
        hyper += f", beta {kw['mclrec_beta']}" if "mclrec_beta" in kw else ""
        masked = f"{s['masked_ndcg@10_mean']:.4f} ± {s['masked_ndcg@10_std']:.4f}" if "masked_ndcg@10_mean" in s else "-"
        lines.append(
            f"| {name} | {hyper} | {s['hr@10_mean']:.4f} ± {s['hr@10_std']:.4f} "
            f"| {s['ndcg@10_mean']:.4f} ± {s['ndcg@10_std']:.4f} | {masked} | {s['epochs_mean']:.1f} "
            f"| {s['train_wall_s_per_epoch']:.1f} | {s['cpu_s_per_run']:.0f} |"
        )
    lines += ["", "| target | gap | seed spread | met | seeds above | paired 95% interval of the gap | bootstrap P(gap <= 0) |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, t in targets.items():
        if t["met"] is None:
            lines.append(f"| {name} | - | - | not run | - | - | - |")
            continue
        boot = t.get("paired_bootstrap")
        interval = f"[{boot['low']:+.4f}, {boot['high']:+.4f}]" if boot else "-"
        p_value = f"{boot['p_not_above']:.3f}" if boot else "-"
        lines.append(f"| {name} | {t['gap']:+.4f} | {t['spread']:.4f} | {'yes' if t['met'] else 'no'} "
                     f"| {len(t['seeds_above'])} of {len(args.seeds)} | {interval} | {p_value} |")
    lines += ["", "Paired interval: 10,000 bootstrap draws of the test users (the same users for both rows) and, "
              f"per row, of its seeds; per-user NDCG@10. With {len(args.seeds)} seeds the seed draw understates training "
              "noise, so the interval is a lower bound on the uncertainty (contrastkit.core.paired_bootstrap)."]
    payload: dict[str, Any] = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                               "summary": summary, "targets": targets, "runs": runs,
                               "wall_seconds": time.perf_counter() - start}
    if recbole_proc is not None:
        try:
            recbole = finish_recbole(recbole_proc)
        except RuntimeError as exc:  # keep our results; report why RecBole has none
            payload["recbole_sasrec"] = {"error": str(exc)}
            recbole = None
        shutil.rmtree(scratch, ignore_errors=True)
    if recbole_proc is not None and recbole is not None:
        payload["recbole_sasrec"] = recbole
        ours = [r for r in runs if r["row"] == "SASRec-CE" and r["seed"] == args.seeds[0]]
        lines += ["", "| SASRec (CE), same split, seed " + str(args.seeds[0]) + " | epochs | train s/epoch | "
                  "supervised targets/epoch | test NDCG@10 | test HR@10, history masked | test NDCG@10, history masked |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        # RecBole's full-sort evaluation always masks each user's history.
        lines.append(f"| RecBole 1.2.1 | {recbole['epochs']} | {recbole['seconds_per_epoch']:.1f} | "
                     f"{recbole['train_instances']} | - | {recbole['test']['hit@10']:.4f} | {recbole['test']['ndcg@10']:.4f} |")
        if ours:
            masked = ours[0].get("test_history_masked", {})
            lines.append(f"| contrastkit | {ours[0]['epochs']:.0f} | {ours[0]['train_wall_s_per_epoch']:.1f} | see protocol | "
                         f"{ours[0]['test']['ndcg@10']:.4f} | {masked.get('hr@10', float('nan')):.4f} | "
                         f"{masked.get('ndcg@10', float('nan')):.4f} |")
    write_results("recsys", payload, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
