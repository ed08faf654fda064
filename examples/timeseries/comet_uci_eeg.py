"""Recipe: COMET pretraining on the UCI EEG database, then a patient-independent few-label evaluation.

    python examples/timeseries/comet_uci_eeg.py /path/to/uci-eeg/SMNI_CMI_TRAIN [--steps 300 --finetune-steps 200]

Swap ``read_uci_eeg`` for ``read_recordings("my_table.parquet")`` (or build the DataFrame yourself:
``patient_id``, ``trial_id``, ``label``, ``signal``) to run the same recipe on your recordings.
"""

from __future__ import annotations

import argparse

from contrastkit.core import TrainConfig, seed_everything
from contrastkit.timeseries import (
    EncoderConfig,
    LevelWeights,
    PretrainConfig,
    evaluate_encoder,
    make_windows,
    pretrain,
    read_uci_eeg,
    split_and_normalize,
)


def main(root: str, seed: int = 0, steps: int = 300, finetune_steps: int = 200, run_dir: str = "runs/comet-eeg") -> None:
    df = read_uci_eeg(root, decimate=2)  # one row per 1-s trial, [64 channels, 128 steps]
    windows = make_windows(df, window=64, stride=32)  # 3 overlapping samples per trial
    ds, split = split_and_normalize(windows, seed=seed)  # no subject in two of train/val/test
    seed_everything(seed)
    encoder = EncoderConfig(out_dim=64, hidden=32, depth=4).build(in_channels=ds.x.shape[1])
    config = PretrainConfig(weights=LevelWeights(observation=0.25, sample=0.25, trial=0.25, patient=0.25))
    pretrain(ds.subset(split.train), encoder, config, TrainConfig(max_steps=steps, seed=seed, run_dir=run_dir))
    finetune = TrainConfig(max_steps=finetune_steps, progress=False)
    scores = evaluate_encoder(encoder, ds, split, fractions=(1.0, 0.1, 0.01), finetune_config=finetune, seed=seed)
    for key, value in scores.items():
        if key.endswith("auroc"):
            print(f"{key:32s} {value:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="../shared/data/uci-eeg/SMNI_CMI_TRAIN")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=300, help="pretraining steps")
    parser.add_argument("--finetune-steps", type=int, default=200)
    parser.add_argument("--run-dir", default="runs/comet-eeg")
    args = parser.parse_args()
    main(args.root, args.seed, args.steps, args.finetune_steps, args.run_dir)
