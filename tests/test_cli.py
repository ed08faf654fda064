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


def test_version_matches_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    import contrastkit

    assert contrastkit.__version__ == version("contrastkit")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"contrastkit {contrastkit.__version__}"


def test_unknown_command_is_an_argparse_error() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["frobnicate"])


def test_bad_input_ends_the_command_with_the_rule_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["timeseries", "train", "--steps", "0", "--run-dir", str(tmp_path)]
    monkeypatch.delenv("CONTRASTKIT_TRACEBACK", raising=False)
    with pytest.raises(SystemExit, match=r"^contrastkit timeseries train: error: TrainConfig: max_steps must be > 0"):
        main(argv)
    assert "samples" not in capsys.readouterr().out  # refused before the data were read
    (tmp_path / "demo" / "core").mkdir(parents=True)
    (tmp_path / "demo" / "core" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match=r"^contrastkit demo: error: Trainer: cannot read .*checkpoint.pt"):
        main(["demo", "--run-dir", str(tmp_path / "demo"), "--only", "core"])
    monkeypatch.setenv("CONTRASTKIT_TRACEBACK", "1")
    with pytest.raises(ValueError, match="max_steps must be > 0"):
        main(argv)


def test_ctrl_c_ends_the_command_with_a_line_and_the_sigint_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import contrastkit.timeseries.cli as timeseries_cli

    def interrupted(args: object) -> None:
        raise KeyboardInterrupt("stopped; runs/x/checkpoint.pt resumes the run")

    monkeypatch.setattr(timeseries_cli, "cmd_train", interrupted)
    monkeypatch.delenv("CONTRASTKIT_TRACEBACK", raising=False)
    assert main(["timeseries", "train"]) == 130
    assert capsys.readouterr().err.strip() == (
        "contrastkit timeseries train: interrupted (stopped; runs/x/checkpoint.pt resumes the run)"
    )
    monkeypatch.setenv("CONTRASTKIT_TRACEBACK", "1")
    with pytest.raises(KeyboardInterrupt):
        main(["timeseries", "train"])


def test_a_domain_command_imports_only_that_domain() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from contrastkit.cli import main\n"
        "try:\n    main(['recsys', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sentence_transformers', 'stable_baselines3', 'torch_geometric') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("domain", "module", "config_name"),
    [("graph", "contrastkit.graph.train", "GraphTrainConfig"), ("rl", "contrastkit.rl.train", "RLConfig"),
     ("recsys", "contrastkit.recsys.train", "RecsysConfig")],
)
def test_train_has_one_flag_per_config_field_and_no_flag_changes_a_default(domain: str, module: str, config_name: str) -> None:
    import dataclasses
    import importlib

    from contrastkit.core.config_args import config_from_args

    config = getattr(importlib.import_module(module), config_name)
    args = build_parser([domain]).parse_args([domain, "train"])
    # The command's own --run-dir is a Path beside the config's; graph and rl show progress bars by default.
    own = {"run_dir": None} if domain == "graph" else {}
    expected = config(**({"progress": True} if domain in ("graph", "rl") else {}))
    assert config_from_args(config, args, **own) == expected
    assert {f.name for f in dataclasses.fields(config)} <= set(vars(args))
