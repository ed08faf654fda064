"""COMET vs sample-level contrast vs supervised on the UCI EEG database, patient-independent.

Run: ``python -m benchmarks.timeseries [--seeds 5 --steps STEPS --finetune-steps 60 --head-init HEAD]``.

Every row uses the same encoder, pretraining budget and fine-tuning budget. By default the seeds
walk through a 5-fold patient cross-validation (seed s tests fold s % 5 of the patient permutation
s // 5, validates on the next fold, trains on the other three), so 5 seeds test every patient exactly
once; ``--split random`` draws an independent random split per seed instead (the protocol of the
earlier results, under which some patients were tested several times and others never). Fractions
below 100% average every metric over ``--label-draws`` draws of the labelled subset. Also times the
trial/patient mask construction: ``group_mask`` on integer codes vs the string-building
construction of the COMET reference code (``id_contrastive_loss``, DL4mHealth/COMET@0882df9).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from benchmarks._common import best_time, write_results
from contrastkit.core import TrainConfig, data_root, group_mask, seed_everything
from contrastkit.timeseries import (
    EncoderConfig,
    LevelWeights,
    PretrainConfig,
    evaluate_encoder,
    make_windows,
    patient_folds,
    pretrain,
    read_uci_eeg,
    split_and_normalize,
)

DATA = data_root()
METHODS: dict[str, LevelWeights | None] = {
    "supervised": None,
    "sample": LevelWeights.equal(["sample"]),
    "observation+sample": LevelWeights.equal(["observation", "sample"]),
    "COMET": LevelWeights(),
}
FRACTIONS = (1.0, 0.1, 0.01)
STEPS = 800  # pretraining steps; chosen on dev seeds 100-102 (benchmarks/results/timeseries_dev.md)
HEAD_INIT = "random"
N_FOLDS = 5
LABEL_DRAWS = 5


def string_mask(ids: np.ndarray) -> np.ndarray:
    """The reference code's construction: ``str`` ids, a meshgrid of ``"a-b"`` strings, one pass per id."""
    str_id = np.array([str(i) for i in ids], dtype=object)
    a, b = np.meshgrid(str_id, str_id)
    pair = a + "-" + b
    mask = np.zeros((len(ids), len(ids)))
    for key in np.unique(str_id + "-" + str_id):
        mask += pair == key
    return mask.astype(bool)


def time_masks(patient: torch.Tensor, trial: torch.Tensor, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    for b in (256, 4096):
        idx = torch.from_numpy(rng.choice(len(patient), b, replace=b > len(patient)))
        for name, codes in (("patient", patient[idx]), ("trial", trial[idx])):
            n_ids = len(torch.unique(codes))
            out[f"group_mask_{name}_B{b}_ms"] = 1e3 * best_time(lambda c=codes: group_mask(c), repeats=5)
            if b * b * n_ids <= 4096 * 4096 * 32:  # the string loop is O(B^2 * #ids): skip what takes minutes
                ids = codes.numpy()
                assert np.array_equal(string_mask(ids), group_mask(codes).numpy())
                out[f"string_{name}_B{b}_ms"] = 1e3 * best_time(lambda i=ids: string_mask(i), repeats=1, warmup=0)
            out[f"unique_{name}_B{b}"] = n_ids
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=STEPS, help="pretraining steps per method and seed")
    parser.add_argument("--finetune-steps", type=int, default=60)
    parser.add_argument("--encoder-lr", type=float, default=None, help="fine-tuning lr of the encoder (default: --lr)")
    parser.add_argument("--head-init", choices=("random", "probe"), default=HEAD_INIT,
                        help="fine-tuning head: random, or the linear probe's (LP-FT)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--split", choices=("folds", "random"), default="folds",
                        help="folds: seed s tests fold s %% 5 of a patient 5-fold CV; random: one random split per seed")
    parser.add_argument("--label-draws", type=int, default=LABEL_DRAWS,
                        help="draws of the labelled subset per fraction below 100%% (metrics averaged)")
    args = parser.parse_args()
    root = DATA / "uci-eeg" / "SMNI_CMI_TRAIN"
    if not root.exists():
        raise SystemExit(f"UCI EEG data not found at {root}; set CONTRASTKIT_DATA.")
    start = time.perf_counter()
    df = read_uci_eeg(root, decimate=2)
    windows = make_windows(df, window=64, stride=32)
    print(f"read {len(df)} trials -> {len(windows)} windows {tuple(windows.x.shape[1:])} "
          f"in {time.perf_counter() - start:.1f}s")
    enc_cfg = EncoderConfig(out_dim=64, hidden=32, depth=4)
    methods = args.methods.split(",")
    per_seed: dict[str, dict[str, list[float]]] = {m: {} for m in methods}
    seconds: dict[str, float] = {m: 0.0 for m in methods}
    for seed in range(args.seeds):
        if args.split == "folds":
            fold = patient_folds(windows.patient, windows.label, n_folds=N_FOLDS, seed=seed // N_FOLDS)[seed % N_FOLDS]
            ds, split = split_and_normalize(windows, split=fold)
        else:
            ds, split = split_and_normalize(windows, seed=seed)
        for method in methods:
            t0 = time.perf_counter()
            seed_everything(seed)
            encoder = enc_cfg.build(ds.x.shape[1])
            weights = METHODS[method]
            if weights is not None:
                cfg = TrainConfig(max_steps=args.steps, lr=1e-3, seed=seed, progress=False)
                pretrain(ds.subset(split.train), encoder, PretrainConfig(weights=weights), cfg)
            protocols = ("finetune",) if weights is None else ("linear", "finetune")
            scores = evaluate_encoder(
                encoder,
                ds,
                split,
                fractions=FRACTIONS,
                protocols=protocols,
                finetune_config=TrainConfig(max_steps=args.finetune_steps, lr=1e-3, progress=False),
                encoder_lr=args.encoder_lr,
                head_init=args.head_init,
                label_draws=args.label_draws,
                seed=seed,
            )
            for key, value in scores.items():
                per_seed[method].setdefault(key, []).append(value)
            seconds[method] += time.perf_counter() - t0
            print(f"seed {seed} {method:>18}: " + ", ".join(
                f"{k.replace('_sample_auroc', '')}={v:.3f}" for k, v in scores.items() if k.endswith("sample_auroc")
            ) + f" ({time.perf_counter() - t0:.0f}s)", flush=True)
    masks = time_masks(windows.patient, windows.trial, seed=0)

    def cell(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} ± {spread:.3f}"

    lines = [
        f"UCI EEG (SMNI_CMI_TRAIN: 20 subjects, alcoholic vs control), 600 trials -> {len(windows)} windows of 64 "
        "steps (128 Hz, stride 32, 64 channels); patient-independent split 12/4/4 subjects per seed ("
        + ("seed s = fold s % 5 of a patient 5-fold cross-validation" if args.split == "folds" else "a random split per seed")
        + f"); {args.seeds} seeds; labelled subsets below 100% averaged over {args.label_draws} draws; encoder {enc_cfg}; {args.steps} pretraining steps of 32 samples "
        f"(4 patients x 4 trials x 2 windows), {args.finetune_steps} fine-tuning steps (batch 64, lr 1e-3, encoder lr "
        f"{args.encoder_lr or 1e-3:g}, {args.head_init} head, best step on val AUROC). "
        "Test AUROC, mean ± std over seeds.",
        "",
        "| method | level | " + " | ".join(f"{p} {int(100 * f)}%" for p in ("linear", "fine-tune") for f in FRACTIONS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in range(2 * len(FRACTIONS))) + " |",
    ]
    for method in methods:
        for level in ("sample", "patient"):
            cells = []
            for proto in ("linear", "finetune"):
                for f in FRACTIONS:
                    key = f"{proto}_{100 * f:g}_{level}_auroc"
                    cells.append(cell(per_seed[method][key]) if key in per_seed[method] else "—")
            lines.append(f"| {method} | {level} | " + " | ".join(cells) + " |")
    lines += ["", "Per-seed sample-level AUROC (seeds 0..n-1):", "", "| method | protocol | " +
              " | ".join(f"{int(100 * f)}%" for f in FRACTIONS) + " |", "| --- | --- |" + " --- |" * len(FRACTIONS)]
    for method in methods:
        for proto in ("linear", "finetune"):
            keys = [f"{proto}_{100 * f:g}_sample_auroc" for f in FRACTIONS]
            if keys[0] in per_seed[method]:
                lines.append(f"| {method} | {proto} | " + " | ".join(
                    " ".join(f"{v:.2f}" for v in per_seed[method][k]) for k in keys) + " |")
    lines += ["", "COMET minus sample-level-only, sample-level test AUROC per seed (the issue's target cells):", "",
              "| protocol | labels | per-seed difference | seeds COMET ahead | mean difference | COMET above |",
              "| --- | --- | --- | --- | --- | --- |"]
    for proto in ("linear", "finetune"):
        for f in FRACTIONS[1:]:
            key = f"{proto}_{100 * f:g}_sample_auroc"
            if key not in per_seed.get("COMET", {}) or key not in per_seed.get("sample", {}):
                continue
            diff = [c - b for c, b in zip(per_seed["COMET"][key], per_seed["sample"][key], strict=True)]
            lines.append(f"| {proto} | {100 * f:g}% | " + " ".join(f"{d:+.2f}" for d in diff) +
                         f" | {sum(d > 0 for d in diff)}/{len(diff)} | {statistics.mean(diff):+.3f} | "
                         f"{'yes' if statistics.mean(diff) > 0 else 'no'} |")
    lines += ["", "Mask construction (ms, best of repeats): `group_mask` on integer codes vs string building.", "",
              "| ids | B | unique ids | group_mask | string building |", "| --- | --- | --- | --- | --- |"]
    for b in (256, 4096):
        for name in ("patient", "trial"):
            s = masks.get(f"string_{name}_B{b}_ms")
            lines.append(f"| {name} | {b} | {masks[f'unique_{name}_B{b}']:.0f} | "
                         f"{masks[f'group_mask_{name}_B{b}_ms']:.3f} | {'not run (minutes)' if s is None else f'{s:.1f}'} |")
    write_results(
        "timeseries",
        {
            "config": {**vars(args), "encoder": str(enc_cfg), "window": 64, "stride": 32, "decimate": 2},
            "per_seed": per_seed,
            "seconds_per_method": seconds,
            "mask_timing": masks,
            "total_seconds": time.perf_counter() - start,
        },
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
