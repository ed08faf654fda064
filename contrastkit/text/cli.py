"""``contrastkit text train`` / ``text evaluate``, and the text part of ``contrastkit demo``."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from contrastkit.core import TrainConfig, read_csv
from contrastkit.core.config_args import add_config_arguments, config_from_args

from .data import frame_columns, read_sentences, read_sts, sts_triples, synthetic_sts, unique_sentences
from .evaluate import sts_spearman, sts_spearman_frame
from .models import load_model
from .train import METHOD_OPTIONS, METHODS, Method, build_loss, fit

FORMATS = ("lines", "sts", "pairs")


def load_columns(path: Path, file_format: str, method: Method) -> list[list[str]]:
    """Training columns for ``method`` from a file.

    * ``lines``: one sentence per line (unsupervised methods only).
    * ``sts``: an STS-benchmark file; unsupervised methods take its distinct sentences,
      ``sup-simcse`` its (score >= 4, score <= 1 hard negative) triples (:func:`sts_triples`).
    * ``pairs``: a tab-separated file with a header: ``sentence`` for unsupervised methods,
      ``anchor, positive[, negative]`` for ``sup-simcse``.
    """
    supervised = method == "sup-simcse"
    if file_format == "lines":
        if supervised:
            raise ValueError("--format lines holds single sentences; sup-simcse needs --format sts or pairs.")
        return [read_sentences(path)]
    if file_format == "sts":
        frame = read_sts(path)
        return sts_triples(frame) if supervised else [unique_sentences(frame)]
    if file_format == "pairs":
        # QUOTE_NONE: a quote is text here (as in read_sts); quoting would merge lines and strip quotes.
        table = read_csv(path, "--format pairs", sep="\t", dtype=str, keep_default_na=False, na_values=[""],
                         quoting=csv.QUOTE_NONE)
        if not supervised:
            return frame_columns(table, ["sentence"])
        names = ["anchor", "positive"] + (["negative"] if "negative" in table.columns else [])
        unknown = [c for c in table.columns if c not in names]
        if unknown:  # a misspelt "negative" would train without the hard negatives
            raise ValueError(f"--format pairs: {path} has columns {unknown} besides anchor, positive[, negative].")
        return frame_columns(table, names)
    raise ValueError(f"--format must be one of {FORMATS}; got {file_format!r}.")


def _train(args: argparse.Namespace) -> None:
    config = config_from_args(TrainConfig, args, run_dir=str(args.output / "training"))
    model = load_model(args.model, max_seq_length=args.max_seq_length, device=None if config.device == "auto" else config.device)
    given = {name: getattr(args, name) for names in METHOD_OPTIONS.values() for name in names}
    options = {name: value for name, value in given.items() if value is not None}
    loss = build_loss(args.method, model, temperature=args.temperature, chunk_size=args.chunk_size, **options)
    columns = load_columns(args.train, args.format, args.method)
    dev = read_sts(args.eval) if args.eval is not None else None
    report: dict[str, float] = {}
    if dev is not None:
        report["dev_spearman_before"] = sts_spearman_frame(model, dev)
        print(f"STS dev Spearman before training: {report['dev_spearman_before']:.4f}")
    trainer = fit(loss, columns, config, batch_size=args.batch_size)
    model.save(str(args.output))
    if dev is not None:
        report["dev_spearman_after"] = sts_spearman_frame(model, dev)
        print(f"STS dev Spearman after training:  {report['dev_spearman_after']:.4f}")
    report["final_loss"] = trainer.history[-1]["loss"]
    (args.output / "training" / "report.json").write_text(json.dumps(report, indent=2))
    print(f"Saved the fine-tuned model to {args.output} (load it with SentenceTransformer({str(args.output)!r})).")


def _evaluate(args: argparse.Namespace) -> None:
    model = load_model(args.model, max_seq_length=args.max_seq_length, device=args.device)
    frame = read_sts(args.eval)
    report = {"spearman": sts_spearman_frame(model, frame), "pairs": len(frame)}
    print(json.dumps({"model": str(args.model) if args.model else "all-MiniLM-L6-v2", "data": str(args.eval), **report}, indent=2))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``contrastkit text train`` and ``contrastkit text evaluate``."""
    text = subparsers.add_parser("text", help="SimCSE-family sentence embeddings (sentence-transformers)")
    text_sub = text.add_subparsers(dest="text_command", required=True)
    train = text_sub.add_parser("train", help="fine-tune a SentenceTransformer and save it")
    train.add_argument("--method", choices=METHODS, default="unsup-simcse")
    train.add_argument("--model", type=Path, default=None, help="local model folder (default: all-MiniLM-L6-v2)")
    train.add_argument("--train", type=Path, required=True, help="training file (see --format)")
    train.add_argument("--format", choices=FORMATS, default="lines", help="lines | sts | pairs (TSV with header)")
    train.add_argument("--eval", type=Path, default=None, help="STS-benchmark file for Spearman before/after")
    train.add_argument("--output", type=Path, default=Path("runs/text"), help="folder of the saved model")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--temperature", type=float, default=0.05)
    train.add_argument("--max-seq-length", type=int, default=32,
                       help="truncate inputs to this many tokens (SimCSE's 32; saved with the model)")
    train.add_argument("--chunk-size", type=int, default=None, help="tile the loss (large batches)")
    esimcse = train.add_argument_group("esimcse only (defaults: the paper's)")
    esimcse.add_argument("--repetition-rate", type=float, default=None, help="duplication rate of the word-repetition positive (0.32)")
    esimcse.add_argument("--momentum", type=float, default=None, help="EMA rate of the key encoder (0.995)")
    esimcse.add_argument("--queue-size", type=int, default=None, help="negatives kept from past batches (160)")
    debiased = train.add_argument_group("debiased only")
    debiased.add_argument("--false-negative-threshold", type=float, default=None,
                          help="drop negatives whose cosine under the frozen copy is above this (0.8; 1.0 drops nothing)")
    debiased.add_argument("--n-bins", type=int, default=None, help="bins of the surface-similarity histogram (5)")
    debiased.add_argument("--max-weight", type=float, default=None, help="cap of a pair's weight before renormalisation (3.0)")
    add_config_arguments(
        train,
        TrainConfig,
        skip=("run_dir", "eval_every", "monitor", "mode", "patience"),  # STS is scored before and after, not during
        defaults={"max_steps": 500, "lr": 3e-5},
        aliases={"max_steps": "--steps"},
    )
    train.set_defaults(func=_train)

    evaluate = text_sub.add_parser("evaluate", help="Spearman correlation of cosine similarities with STS scores, for a saved or the base model")
    evaluate.add_argument("--model", type=Path, default=None, help="folder written by `text train` (default: the base model)")
    evaluate.add_argument("--eval", type=Path, required=True, help="STS-benchmark file (tab-separated, score in column 5)")
    evaluate.add_argument("--max-seq-length", type=int, default=None,
                          help="truncate inputs to this many tokens (default: the model's own, as saved by `text train`)")
    evaluate.add_argument("--device", default=None, help="cpu, cuda ... (default: automatic)")
    evaluate.set_defaults(func=_evaluate)


def demo(run_dir: Path, seed: int) -> dict[str, float]:
    """Unsupervised SimCSE for a few steps on built-in template sentences; Spearman before and after."""
    data = synthetic_sts(n_pairs=200, seed=seed)
    model = load_model(max_seq_length=32, device="cpu")
    before = sts_spearman(model, data.sentences1, data.sentences2, data.scores)
    config = TrainConfig(max_steps=8, lr=2e-5, seed=seed, device="cpu", run_dir=str(run_dir), log_every=2)
    trainer = fit(build_loss("unsup-simcse", model), [data.sentences], config, batch_size=32)
    after = sts_spearman(model, data.sentences1, data.sentences2, data.scores)
    return {"spearman_before": before, "spearman_after": after, "final_loss": trainer.history[-1]["loss"]}
