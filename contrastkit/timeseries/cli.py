"""``contrastkit timeseries train|evaluate`` and the time-series part of ``contrastkit demo``.

Examples::

    contrastkit timeseries train --data uci-eeg --levels observation,sample,trial,patient --run-dir runs/eeg
    contrastkit timeseries evaluate --run-dir runs/eeg --fractions 1,0.1,0.01
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from contrastkit.core import TrainConfig, atomic_save, data_root, load_saved, saved_settings, seed_everything
from contrastkit.core.config_args import add_config_arguments, config_from_args

from .data import WindowDataset, make_windows, read_recordings, read_uci_eeg, synthetic_recordings
from .evaluate import (
    PatientSplit,
    evaluate_encoder,
    label_fraction,
    linear_probe,
    patient_folds,
    split_and_normalize,
)
from .objectives import LEVELS, LevelWeights
from .train import EncoderConfig, PretrainConfig, encoder_state, load_encoder, pretrain


@dataclass(frozen=True)
class DataSpec:
    """Which recordings, cut how; stored in ``run_dir/encoder.pt`` so ``evaluate`` rebuilds the same split."""

    data: str = "synthetic"
    """``synthetic`` (built in), ``uci-eeg``, or a ``.npz``/``.csv``/``.parquet`` file (see read_recordings)."""
    data_root: str = str(data_root())
    """Folder holding ``uci-eeg/SMNI_CMI_TRAIN`` (default: $CONTRASTKIT_DATA or ../shared/data)."""
    window: int = 64
    """Samples per window."""
    stride: int = 32
    """Step between windows (< window overlaps)."""
    decimate: int = 2
    """UCI EEG only: average-pool 256 Hz by this factor."""
    channels: tuple[str, ...] | None = None
    """Keep only these channel names."""
    seed: int = 0
    """Seed of the patient split (with ``folds``: of the patients' assignment to folds)."""
    folds: int | None = None
    """Number of patient-level cross-validation folds (:func:`patient_folds`); None: one random split."""
    fold: int = 0
    """Which fold is tested when ``folds`` is set (the next one validates)."""

    def __post_init__(self) -> None:
        if self.folds is None and self.fold != 0:
            raise ValueError(f"DataSpec: fold {self.fold} needs folds (--folds N); without it the split is random.")
        if self.folds is not None and not 0 <= self.fold < self.folds:
            raise ValueError(f"DataSpec: fold must be in [0, folds={self.folds}); got {self.fold}.")

    def load(self) -> tuple[WindowDataset, PatientSplit]:
        """The normalised windows and their patient-independent split."""
        if self.data == "synthetic":
            df = synthetic_recordings(seed=self.seed)
        elif self.data == "uci-eeg":
            df = read_uci_eeg(Path(self.data_root) / "uci-eeg" / "SMNI_CMI_TRAIN", decimate=self.decimate)
        else:
            df = read_recordings(self.data)
        ds = make_windows(df, self.window, self.stride, channels=self.channels)
        if self.folds is None:
            return split_and_normalize(ds, seed=self.seed)
        return split_and_normalize(ds, split=patient_folds(ds.patient, ds.label, n_folds=self.folds, seed=self.seed)[self.fold])


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def _weights(levels: str, weights: str | None) -> LevelWeights:
    names = [v.strip() for v in levels.split(",") if v.strip()]
    if weights is None:
        return LevelWeights.equal(names)
    values = _floats(weights)
    if len(values) != len(names):
        raise SystemExit(f"--weights needs one value per level in --levels ({names}); got {values}.")
    unknown = sorted(set(names) - set(LEVELS))
    if unknown:
        raise SystemExit(f"--levels: unknown levels {unknown}; choose from {list(LEVELS)}.")
    return LevelWeights(**{lv: dict(zip(names, values, strict=True)).get(lv, 0.0) for lv in LEVELS})


def cmd_train(args: argparse.Namespace) -> None:
    channels = tuple(c for c in args.channels.split(",") if c) if args.channels else None
    spec = config_from_args(DataSpec, args, channels=channels)
    weights = _weights(args.levels, args.weights)  # bad input: ValueError, reported by the contrastkit command
    # Every setting is checked before the data are read and windowed.
    encoder_config = config_from_args(EncoderConfig, args)
    pretrain_config = config_from_args(PretrainConfig, args, weights=weights)
    run_dir = Path(args.run_dir)
    cfg = config_from_args(TrainConfig, args, run_dir=str(run_dir / "pretrain"))  # its seed is the split's --seed
    ds, split = spec.load()
    train_ds = ds.subset(split.train)
    print(f"{len(ds)} samples, {ds.x.shape[1]} channels x {ds.x.shape[2]} steps; "
          f"pretraining on {len(split.train)} samples of the training patients with {weights}")
    seed_everything(spec.seed)
    encoder = encoder_config.build(ds.x.shape[1])
    # The data settings join the checkpoint's identity (pretrain adds a fingerprint of the samples), so a
    # run dir of fold 0 is not continued as fold 2, whose test patients fold 0 pretrained on.
    data_settings = {k: v for k, v in dataclasses.asdict(spec).items() if k != "data_root"}
    pretrain(train_ds, encoder, pretrain_config, cfg, run_config={"data_settings": data_settings})
    atomic_save(
        {"encoder": encoder_state(encoder), "data": dataclasses.asdict(spec), "weights": dataclasses.asdict(weights)},
        run_dir / "encoder.pt",
    )
    print(f"encoder saved to {run_dir / 'encoder.pt'}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    path = Path(args.run_dir) / "encoder.pt"
    if not path.exists():
        raise SystemExit(f"{path} not found; run `contrastkit timeseries train --run-dir {args.run_dir}` first.")
    saved = load_saved(path, "timeseries evaluate", keys=("encoder", "data", "weights"))
    data = saved["data"]
    if isinstance(data, dict) and isinstance(data.get("channels"), list):  # a tuple in DataSpec
        data = {**data, "channels": tuple(data["channels"]) or None}
    spec = saved_settings(DataSpec, data, path, "timeseries evaluate")
    try:
        encoder = load_encoder(saved["encoder"])
    except (KeyError, TypeError, RuntimeError) as error:  # a hand-edited or foreign file: name it
        raise ValueError(
            f"timeseries evaluate: {path} holds an encoder that cannot be rebuilt ({type(error).__name__}: {error})."
        ) from error
    ds, split = spec.load()
    results = evaluate_encoder(
        encoder,
        ds,
        split,
        fractions=_floats(args.fractions),
        protocols=[p for p in args.protocols.split(",") if p],  # type: ignore[misc]
        finetune_config=TrainConfig(max_steps=args.finetune_steps, lr=args.lr, progress=False),
        encoder_lr=args.encoder_lr,
        head_init=args.head_init,
        label_draws=args.label_draws,
        seed=spec.seed,
    )
    (Path(args.run_dir) / "evaluation.json").write_text(json.dumps(results, indent=2))
    print("| metric | value |\n| --- | --- |")
    for key, value in results.items():
        print(f"| {key} | {value:.4f} |")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``timeseries train`` and ``timeseries evaluate``."""
    ts = subparsers.add_parser("timeseries", help="COMET hierarchical contrastive learning for medical time series")
    sub = ts.add_subparsers(dest="timeseries_command", required=True)
    train = sub.add_parser("train", help="COMET pretraining on the training patients")
    evaluate = sub.add_parser("evaluate", help="patient-independent linear probe / fine-tuning of a trained encoder")
    for p in (train, evaluate):
        p.add_argument("--run-dir", default="runs/timeseries", help="where encoder.pt and metrics go")
    add_config_arguments(train, DataSpec, skip=("channels",))
    train.add_argument("--channels", default=None, help="comma-separated channel names to keep; default: all")
    train.add_argument("--levels", default=",".join(LEVELS),
                       help="comma-separated subset of " + ",".join(LEVELS) + "; default: all four")
    train.add_argument("--weights", default=None, help="one weight per level, e.g. 0.1,0.7,0.1,0.1; default: equal")
    add_config_arguments(train, EncoderConfig, aliases={"out_dim": "--dim"})
    add_config_arguments(train, PretrainConfig, skip=("weights",))
    add_config_arguments(
        train,
        TrainConfig,
        skip=("seed", "run_dir", "eval_every", "monitor", "mode", "patience"),  # no evaluation while pretraining
        defaults={"max_steps": 300},
        aliases={"max_steps": "--steps"},
    )
    train.set_defaults(func=cmd_train)
    evaluate.add_argument("--lr", type=float, default=1e-3, help="learning rate of fine-tuning (the linear probe is a logistic regression)")
    evaluate.add_argument("--fractions", default="1,0.1,0.01", help="fractions of the training labels")
    evaluate.add_argument("--protocols", default="linear,finetune")
    evaluate.add_argument("--finetune-steps", type=int, default=150)
    evaluate.add_argument("--encoder-lr", type=float, default=None,
                          help="the encoder's fine-tuning rate, e.g. 1e-4 below the head's --lr (default: --lr)")
    evaluate.add_argument("--head-init", choices=("random", "probe"), default="random",
                          help="fine-tune from a random head or from the fitted linear probe (LP-FT)")
    evaluate.add_argument("--label-draws", type=int, default=1,
                          help="average fractions below 1 over this many draws of the labelled subset")
    evaluate.set_defaults(func=cmd_evaluate)


def demo(run_dir: Path, seed: int) -> dict[str, float]:
    """COMET on built-in synthetic recordings; linear-probe AUROC at 10% labels, before and after."""
    ds, split = DataSpec(seed=seed).load()
    seed_everything(seed)
    encoder = EncoderConfig(out_dim=32, hidden=16, depth=3).build(ds.x.shape[1])
    train, test = ds.subset(split.train), ds.subset(split.test)
    few = ds.subset(label_fraction(split.train, ds.label, 0.1, seed=seed))
    before = linear_probe(encoder, few, test, seed=seed)
    cfg = TrainConfig(max_steps=80, lr=3e-3, seed=seed, run_dir=str(run_dir), log_every=10)
    pretrain(train, encoder, PretrainConfig(), cfg)
    after = linear_probe(encoder, few, test, seed=seed)
    return {
        "probe10_sample_auroc_random_encoder": before["sample_auroc"],
        "probe10_sample_auroc_comet": after["sample_auroc"],
        "probe10_patient_auroc_random_encoder": before["patient_auroc"],
        "probe10_patient_auroc_comet": after["patient_auroc"],
    }
