"""``contrastkit timeseries train`` then ``evaluate`` end to end on the built-in data."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import pytest
import torch

from contrastkit.timeseries.cli import DataSpec, register
from contrastkit.timeseries.evaluate import patient_folds


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with only this domain registered (other domains stay unimported)."""
    parser = argparse.ArgumentParser(prog="contrastkit")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str]) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


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
