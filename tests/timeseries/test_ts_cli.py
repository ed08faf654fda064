"""``contrastkit timeseries train`` then ``evaluate`` end to end on the built-in data."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence

import pytest
import torch

from contrastkit.core import TrainConfig, atomic_save
from contrastkit.timeseries.cli import DataSpec, register
from contrastkit.timeseries.evaluate import patient_folds
from contrastkit.timeseries.objectives import LevelWeights
from contrastkit.timeseries.train import EncoderConfig, PretrainConfig


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with only this domain registered (other domains stay unimported)."""
    parser = argparse.ArgumentParser(prog="contrastkit")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str]) -> None:
    """The ``contrastkit`` command itself (it imports only this domain), so bad input ends as it would for a user."""
    from contrastkit.cli import main as contrastkit

    contrastkit(argv)


def test_train_then_evaluate_on_synthetic(tmp_path, capsys) -> None:
    run = str(tmp_path / "run")
    main(["timeseries", "train", "--data", "synthetic", "--levels", "sample,trial", "--steps", "2",
          "--dim", "8", "--hidden", "8", "--depth", "1", "--run-dir", run])
    assert (tmp_path / "run" / "encoder.pt").exists()
    assert (tmp_path / "run" / "pretrain" / "metrics.csv").exists()
    main(["timeseries", "evaluate", "--run-dir", run, "--fractions", "1", "--protocols", "linear"])
    results = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert set(results) == {f"linear_100_{lv}_{m}" for lv in ("sample", "patient")
                            for m in ("accuracy", "f1", "auroc", "auprc")}
    assert "| linear_100_patient_auroc |" in capsys.readouterr().out


def test_fold_split_is_stored_and_reused_by_evaluate(tmp_path) -> None:
    run = str(tmp_path / "run")
    main(["timeseries", "train", "--data", "synthetic", "--levels", "sample", "--steps", "1", "--dim", "8",
          "--hidden", "8", "--depth", "1", "--folds", "3", "--fold", "2", "--run-dir", run])
    main(["timeseries", "evaluate", "--run-dir", run, "--fractions", "1,0.5", "--protocols", "linear",
          "--label-draws", "2"])
    assert "linear_50_sample_auroc" in json.loads((tmp_path / "run" / "evaluation.json").read_text())
    saved = torch.load(tmp_path / "run" / "encoder.pt", weights_only=False)["data"]
    assert (saved["folds"], saved["fold"]) == (3, 2)
    ds, split = DataSpec(**{**saved, "channels": None}).load()
    expected = patient_folds(ds.patient, ds.label, n_folds=3, seed=0)[2]
    assert split.test.tolist() == expected.test.tolist()
    with pytest.raises(SystemExit, match="fold must be in"):
        main(["timeseries", "train", "--folds", "3", "--fold", "3", "--run-dir", str(tmp_path / "bad")])
    with pytest.raises(SystemExit, match="fold 2 needs folds"):
        main(["timeseries", "train", "--fold", "2", "--run-dir", str(tmp_path / "bad")])
    # Fold 0 pretrained on fold 2's test patients: its run dir is not continued as fold 2.
    with pytest.raises(SystemExit, match=r"other settings \(data 'sha256:.*data_settings \{.*'fold': 2\} -> \{.*'fold': 0\}"):
        main(["timeseries", "train", "--data", "synthetic", "--levels", "sample", "--steps", "2", "--dim", "8",
              "--hidden", "8", "--depth", "1", "--folds", "3", "--fold", "0", "--run-dir", run])


def test_bad_arguments_exit_with_the_rule(tmp_path) -> None:
    with pytest.raises(SystemExit, match="subset"):
        main(["timeseries", "train", "--levels", "sample,visit", "--run-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="one value per level"):
        main(["timeseries", "train", "--levels", "sample,trial", "--weights", "1", "--run-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="run `contrastkit timeseries train"):
        main(["timeseries", "evaluate", "--run-dir", str(tmp_path / "none")])


def test_parser_defaults_match_the_issue_example() -> None:
    args = build_parser().parse_args(["timeseries", "train", "--data", "uci-eeg", "--levels",
                                      "observation,sample,trial,patient"])
    assert args.data == "uci-eeg" and args.levels == "observation,sample,trial,patient"


def _captured_pretrain(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Replace the CLI's pretraining by a recorder of what it would have been given."""
    import contrastkit.timeseries.cli as cli

    seen: dict[str, object] = {}

    def record(ds, encoder, config, train, run_config):  # type: ignore[no-untyped-def]
        seen.update(encoder=encoder, config=config, train=train, run_config=run_config)

    monkeypatch.setattr(cli, "pretrain", record)
    return seen


def test_no_flags_give_the_library_defaults(tmp_path, monkeypatch) -> None:
    seen = _captured_pretrain(monkeypatch)
    main(["timeseries", "train", "--run-dir", str(tmp_path)])
    assert seen["config"] == PretrainConfig()
    assert seen["train"] == TrainConfig(max_steps=300, run_dir=str(tmp_path / "pretrain"))
    encoder, defaults = seen["encoder"], EncoderConfig()
    assert (encoder.out_dim, encoder.hidden, encoder.depth, encoder.dropout.p) == (  # type: ignore[attr-defined]
        defaults.out_dim, defaults.hidden, defaults.depth, defaults.dropout)
    assert torch.load(tmp_path / "encoder.pt", weights_only=False)["data"] == dataclasses.asdict(DataSpec())


def test_every_pretraining_setting_is_a_flag(tmp_path, monkeypatch) -> None:
    seen = _captured_pretrain(monkeypatch)
    main(["timeseries", "train", "--run-dir", str(tmp_path), "--levels", "sample,trial", "--weights", "0.3,0.7",
          "--temperature", "0.2", "--observation-temperature", "0.5", "--mask-mode", "continuous", "--mask-keep", "0.7",
          "--patients-per-batch", "2", "--trials-per-patient", "3", "--samples-per-trial", "3", "--out-dim", "16",
          "--dropout", "0.0", "--max-steps", "7", "--lr", "0.01", "--weight-decay", "0.1", "--grad-clip", "1.0",
          "--no-progress", "--seed", "3"])
    assert seen["config"] == PretrainConfig(
        weights=LevelWeights(observation=0.0, sample=0.3, trial=0.7, patient=0.0), temperature=0.2,
        observation_temperature=0.5, mask_mode="continuous", mask_keep=0.7, patients_per_batch=2,
        trials_per_patient=3, samples_per_trial=3,
    )
    assert seen["train"] == TrainConfig(max_steps=7, lr=0.01, weight_decay=0.1, grad_clip=1.0, progress=False,
                                        seed=3, run_dir=str(tmp_path / "pretrain"))
    assert (seen["encoder"].out_dim, seen["encoder"].dropout.p) == (16, 0.0)  # type: ignore[attr-defined]


def test_evaluate_passes_the_fine_tuning_options(tmp_path, monkeypatch) -> None:
    import contrastkit.timeseries.cli as cli

    run = str(tmp_path / "run")
    main(["timeseries", "train", "--levels", "sample", "--steps", "1", "--dim", "8", "--hidden", "8", "--depth", "1",
          "--no-progress", "--run-dir", run])
    seen: dict[str, object] = {}
    monkeypatch.setattr(cli, "evaluate_encoder", lambda *a, **kw: seen.update(kw) or {"x": 1.0})
    main(["timeseries", "evaluate", "--run-dir", run, "--encoder-lr", "1e-4", "--head-init", "probe", "--lr", "0.01",
          "--finetune-steps", "5"])
    assert (seen["encoder_lr"], seen["head_init"]) == (1e-4, "probe")
    assert seen["finetune_config"] == TrainConfig(max_steps=5, lr=0.01, progress=False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["timeseries", "evaluate", "--head-init", "warm"])


def test_evaluate_names_a_hand_edited_encoder_file(tmp_path) -> None:
    run = tmp_path / "run"
    main(["timeseries", "train", "--levels", "sample", "--steps", "1", "--dim", "8", "--hidden", "8", "--depth", "1",
          "--no-progress", "--run-dir", str(run)])
    saved = torch.load(run / "encoder.pt", weights_only=False)
    for edit, message in [
        ({"data": {**saved["data"], "window_size": 64}}, r"holds settings \['window_size'\] that DataSpec does not have"),
        ({"encoder": {**saved["encoder"], "hidden": 16}}, r"holds an encoder that cannot be rebuilt \(RuntimeError: .*size mismatch"),
        ({"encoder": {k: v for k, v in saved["encoder"].items() if k != "depth"}}, r"holds an encoder that cannot be rebuilt \(KeyError: 'depth'"),
    ]:
        atomic_save({**saved, **edit}, run / "encoder.pt")
        with pytest.raises(SystemExit, match=r"(?s)timeseries evaluate: .*encoder.pt " + message):
            main(["timeseries", "evaluate", "--run-dir", str(run)])
