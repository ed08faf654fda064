"""The contrastkit command: the demo runs on built-in data and leaves its summary and plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contrastkit.cli import build_parser, main


def test_core_demo_writes_summary_and_plot(tmp_path: Path) -> None:
    assert main(["demo", "--only", "core", "--run-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    core = summary["core"]
    # The contrastive encoder must beat both the raw input and a random encoder on the tour's data.
    assert core["knn_acc_simclr"] > core["knn_acc_raw_input"] + 0.2
    assert core["knn_acc_simclr"] > core["knn_acc_random_encoder"] + 0.2
    assert (tmp_path / "core" / "curves.png").exists()
    assert (tmp_path / "summary.md").read_text().startswith("| domain | metric | value |")


def test_unknown_command_is_an_argparse_error() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["frobnicate"])
