"""Recipe: COMET pretraining on the UCI EEG database, then a patient-independent few-label evaluation.

    python examples/timeseries/comet_uci_eeg.py /path/to/uci-eeg/SMNI_CMI_TRAIN

Swap ``read_uci_eeg`` for ``read_recordings("my_table.parquet")`` (or build the DataFrame yourself:
``patient_id``, ``trial_id``, ``label``, ``signal``) to run the same recipe on your recordings.
"""

from __future__ import annotations

import sys

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


def main(root: str, seed: int = 0) -> None:
    df = read_uci_eeg(root, decimate=2)  # one row per 1-s trial, [64 channels, 128 steps]
    windows = make_windows(df, window=64, stride=32)  # 3 overlapping samples per trial
    ds, split = split_and_normalize(windows, seed=seed)  # no subject in two of train/val/test
    seed_everything(seed)
    encoder = EncoderConfig(out_dim=64, hidden=32, depth=4).build(in_channels=ds.x.shape[1])
    config = PretrainConfig(weights=LevelWeights(observation=0.25, sample=0.25, trial=0.25, patient=0.25))
    pretrain(ds.subset(split.train), encoder, config, TrainConfig(max_steps=300, seed=seed, run_dir="runs/comet-eeg"))
    scores = evaluate_encoder(encoder, ds, split, fractions=(1.0, 0.1, 0.01), seed=seed)
    for key, value in scores.items():
        if key.endswith("auroc"):
            print(f"{key:32s} {value:.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/uci-eeg/SMNI_CMI_TRAIN")
