"""Benchmark of contrastkit.text: STS-benchmark dev quality of each method, and training cost.

Run: ``python -m benchmarks.text`` (CPU, one process; ``--help`` for the scale knobs).

1. Quality: STS-b dev Spearman of all-MiniLM-L6-v2, then after each method; unsupervised methods
   train on the distinct sentences of ``sts-train.csv``, ``sup-simcse`` on its (score >= 4,
   score <= 1 hard negative) triples. Mean and sample std over seeds.
2. Cost: training throughput of ``UnsupSimCSELoss`` vs sentence-transformers'
   ``MultipleNegativesRankingLoss`` on (s, s) pairs (the same math) at the same batch, and the
   largest batch whose loss (embeddings -> loss -> gradients) fits a memory budget, with and without
   ``chunk_size``, measured as peak-RSS growth (Linux ``VmHWM``) in a fresh subprocess per probe.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import torch

from benchmarks._common import write_results
from contrastkit.core import TrainConfig, data_root
from contrastkit.text import (
    METHODS,
    UnsupSimCSELoss,
    build_loss,
    fit,
    load_model,
    read_sts,
    sts_spearman_frame,
    sts_triples,
    unique_sentences,
)

DATA = data_root()


def quality(args: argparse.Namespace) -> dict[str, Any]:
    train, dev = read_sts(DATA / "stsbenchmark" / "sts-train.csv"), read_sts(DATA / "stsbenchmark" / "sts-dev.csv")
    columns = {"unsup": [unique_sentences(train)], "sup": sts_triples(train)}
    base = sts_spearman_frame(load_model(max_seq_length=args.max_seq_length, device=args.device), dev)
    print(f"base model: STS-b dev Spearman {base:.4f}", flush=True)
    runs: dict[str, list[float]] = {}
    for method in METHODS:
        for seed in args.seeds:
            start = time.perf_counter()
            model = load_model(max_seq_length=args.max_seq_length, device=args.device)
            config = TrainConfig(max_steps=args.steps, lr=args.lr, seed=seed, device=args.device, progress=False)
            data = columns["sup" if method == "sup-simcse" else "unsup"]
            fit(build_loss(method, model), data, config, batch_size=args.batch_size)
            value = sts_spearman_frame(model, dev)
            runs.setdefault(method, []).append(value)
            print(f"{method} seed {seed}: {value:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
    summary = {
        m: {"mean": statistics.fmean(v), "std": statistics.stdev(v) if len(v) > 1 else 0.0, "runs": v}
        for m, v in runs.items()
    }
    return {
        "base": base,
        "methods": summary,
        "train_rows": {"unsup_sentences": len(columns["unsup"][0]), "sup_triples": len(columns["sup"][0])},
    }


def throughput(args: argparse.Namespace) -> dict[str, float]:
    """Sentences/s of a full training step (forward, backward, AdamW), best of alternating rounds."""
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    sentences = unique_sentences(read_sts(DATA / "stsbenchmark" / "sts-train.csv"))
    model = load_model(max_seq_length=args.max_seq_length, device=args.device)
    model.train()
    losses = {
        "UnsupSimCSELoss": (UnsupSimCSELoss(model, 0.05), 1),
        "MultipleNegativesRankingLoss": (MultipleNegativesRankingLoss(model, scale=20.0), 2),
    }
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    b = args.batch_size
    batches = [model.preprocess(sentences[i * b : (i + 1) * b]) for i in range(args.cost_steps)]

    def run(name: str) -> float:
        loss_fn, n_columns = losses[name]
        start = time.perf_counter()
        for features in batches:
            loss = loss_fn([features] * n_columns, None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return len(batches) * b / (time.perf_counter() - start)

    for name in losses:  # warm-up
        run(name)
    best = dict.fromkeys(losses, 0.0)
    for _ in range(args.cost_rounds):
        for name in losses:
            best[name] = max(best[name], run(name))
    return best


_PROBE = """
import sys, torch
from contrastkit.text import UnsupSimCSELoss, load_model

def high_water_mark():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

b, chunk = int(sys.argv[1]), (None if sys.argv[2] == "none" else int(sys.argv[2]))
loss_fn = UnsupSimCSELoss(load_model(device="cpu"), 0.05, chunk_size=chunk)
g = torch.Generator().manual_seed(0)
h = torch.randn(b, 384, generator=g, requires_grad=True)
h_plus = torch.randn(b, 384, generator=g, requires_grad=True)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak-RSS mark to the current RSS (Linux)
base = high_water_mark()
loss_fn.compute_loss_from_embeddings([h, h_plus]).backward()
print(high_water_mark() - base)
"""


def loss_memory(batch: int, chunk: int | None) -> int:
    """Peak RSS growth (bytes) of the loss and its backward on ``[batch, 384]`` embeddings."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(batch), str(chunk or "none")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return int(out.stdout.strip().splitlines()[-1])


def largest_batch(budget: int, chunk: int | None, sizes: list[int]) -> dict[str, Any]:
    """Double the batch until the loss's peak memory exceeds the budget (or the sizes run out)."""
    measured: dict[int, int] = {}
    fits = None
    for size in sizes:
        measured[size] = loss_memory(size, chunk)
        print(f"  chunk_size={chunk}: batch {size} -> {measured[size] / 2**20:.0f} MiB", flush=True)
        if measured[size] > budget:
            break
        fits = size
    return {"largest_batch": fits, "capped": fits == sizes[-1], "peak_bytes": measured}


def table(q: dict[str, Any], speed: dict[str, float], memory: dict[str, Any], args: argparse.Namespace) -> str:
    base = q["base"]
    lines = [
        f"STS-benchmark dev, Spearman x 100 of cosine similarity; {len(args.seeds)} seeds, {args.steps} steps "
        f"of batch {args.batch_size}, lr {args.lr}, max_seq_length {args.max_seq_length}, CPU.",
        "",
        "| model | dev Spearman | vs base | target met |",
        "| --- | --- | --- | --- |",
        f"| all-MiniLM-L6-v2 (base) | {100 * base:.2f} | | |",
    ]
    for method, s in q["methods"].items():
        target = s["mean"] > base if method == "sup-simcse" else s["mean"] >= base
        rule = "raises" if method == "sup-simcse" else "does not lower"
        lines.append(
            f"| + {method} | {100 * s['mean']:.2f} ± {100 * s['std']:.2f} | {100 * (s['mean'] - base):+.2f} "
            f"| {'yes' if target else 'no'} ({rule}) |"
        )
    mnrl, ours = speed["MultipleNegativesRankingLoss"], speed["UnsupSimCSELoss"]
    lines += [
        "",
        f"Training throughput at batch {args.batch_size} (forward + backward + AdamW, best of {args.cost_rounds} "
        "alternating rounds):",
        "",
        "| loss | sentences/s |",
        "| --- | --- |",
        f"| UnsupSimCSELoss | {ours:.1f} |",
        f"| MultipleNegativesRankingLoss on (s, s) | {mnrl:.1f} |",
        "",
        f"Largest batch whose loss (embeddings -> loss -> gradients, D=384) stays under "
        f"{args.budget_mib} MiB peak memory:",
        "",
        "| chunk_size | largest batch | peak MiB at that batch |",
        "| --- | --- | --- |",
    ]
    for name, m in memory.items():
        largest = m["largest_batch"]
        shown = "none tried fits" if largest is None else f"{'>= ' if m['capped'] else ''}{largest}"
        peak = "" if largest is None else f"{m['peak_bytes'][largest] / 2**20:.0f}"
        lines.append(f"| {name} | {shown} | {peak} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cost-steps", type=int, default=4, help="steps per throughput round")
    parser.add_argument("--cost-rounds", type=int, default=3)
    parser.add_argument("--budget-mib", type=int, default=512)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--max-probe-batch", type=int, default=16384)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))

    start = time.perf_counter()
    q = quality(args)
    speed = throughput(args)
    print(f"throughput: {speed}", flush=True)
    sizes = [2**k for k in range(10, 40) if 2**k <= args.max_probe_batch]
    budget = args.budget_mib * 2**20
    memory = {
        "None (dense)": largest_batch(budget, None, sizes),
        str(args.chunk_size): largest_batch(budget, args.chunk_size, sizes),
    }
    payload = {
        "settings": vars(args),
        "quality": q,
        "throughput_sentences_per_s": speed,
        "loss_memory": {k: {**v, "peak_bytes": {str(b): n for b, n in v["peak_bytes"].items()}} for k, v in memory.items()},
        "seconds": time.perf_counter() - start,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    write_results("text", json.loads(json.dumps(payload)), table(q, speed, memory, args))


if __name__ == "__main__":
    main()
