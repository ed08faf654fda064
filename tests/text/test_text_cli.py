"""The ``contrastkit text train`` / ``text evaluate`` commands and their input formats."""

from __future__ import annotations

import json

import pytest
from sentence_transformers import SentenceTransformer

from contrastkit.cli import main
from contrastkit.text.cli import load_columns

STS_LINES = (
    "g\tf\t2012\t0\t4.6\tA man plays a guitar.\tA man is playing guitar.\n"
    "g\tf\t2012\t1\t0.2\tA man plays football.\tStocks fell.\n"
    "g\tf\t2012\t2\t4.2\tA cat sleeps on the sofa.\tA cat is sleeping on a couch.\n"
    "g\tf\t2012\t3\t2.0\tA dog barks.\tA dog runs.\n"
)


def test_load_columns_reads_each_format_for_each_kind_of_method(tmp_path):
    (tmp_path / "s.txt").write_text("One.\n\nTwo.\n")
    (tmp_path / "sts.csv").write_text(STS_LINES)
    (tmp_path / "pairs.tsv").write_text("anchor\tpositive\nA.\tB.\nC.\tD.\n")
    (tmp_path / "single.tsv").write_text("sentence\nA.\nB.\n")
    assert load_columns(tmp_path / "s.txt", "lines", "unsup-simcse") == [["One.", "Two."]]
    assert len(load_columns(tmp_path / "sts.csv", "sts", "esimcse")[0]) == 8
    assert load_columns(tmp_path / "sts.csv", "sts", "sup-simcse")[2] == ["A man plays football."] * 2
    assert load_columns(tmp_path / "pairs.tsv", "pairs", "sup-simcse") == [["A.", "C."], ["B.", "D."]]
    assert load_columns(tmp_path / "single.tsv", "pairs", "debiased") == [["A.", "B."]]
    with pytest.raises(ValueError, match="sup-simcse needs"):
        load_columns(tmp_path / "s.txt", "lines", "sup-simcse")


def test_text_train_saves_a_loadable_sentence_transformers_folder(tmp_path, capsys):
    (tmp_path / "s.txt").write_text("\n".join(f"Sentence number {i} is here." for i in range(8)) + "\n")
    (tmp_path / "dev.csv").write_text(STS_LINES)
    out = tmp_path / "model"
    main(["text", "train", "--method", "unsup-simcse", "--train", str(tmp_path / "s.txt"), "--eval",
          str(tmp_path / "dev.csv"), "--output", str(out), "--steps", "1", "--batch-size", "4", "--device", "cpu"])
    reloaded = SentenceTransformer(str(out), device="cpu")
    assert reloaded.encode(["A test."]).shape == (1, 384)
    assert (out / "training" / "report.json").exists() and (out / "training" / "metrics.csv").exists()

    capsys.readouterr()
    main(["text", "evaluate", "--model", str(out), "--eval", str(tmp_path / "dev.csv"), "--device", "cpu"])
    evaluated = json.loads(capsys.readouterr().out)
    report = json.loads((out / "training" / "report.json").read_text())
    assert evaluated["pairs"] == 4
    assert evaluated["spearman"] == pytest.approx(report["dev_spearman_after"], abs=1e-6)


def test_text_train_takes_every_trainer_setting_with_its_own_defaults():
    from contrastkit.cli import build_parser
    from contrastkit.core import TrainConfig
    from contrastkit.core.config_args import config_from_args

    parser = build_parser(["text"])
    args = parser.parse_args(["text", "train", "--train", "s.txt"])
    assert config_from_args(TrainConfig, args, run_dir=None) == TrainConfig(max_steps=500, lr=3e-5)
    args = parser.parse_args(["text", "train", "--train", "s.txt", "--steps", "3", "--weight-decay", "0.01",
                              "--grad-clip", "1", "--mixed-precision", "--no-progress", "--device", "cpu", "--seed", "2"])
    assert config_from_args(TrainConfig, args, run_dir=None) == TrainConfig(
        max_steps=3, lr=3e-5, weight_decay=0.01, grad_clip=1.0, mixed_precision=True, progress=False, device="cpu", seed=2
    )


def test_text_train_passes_the_method_options_and_rejects_another_methods(tmp_path, monkeypatch):
    import contrastkit.text.cli as cli

    (tmp_path / "s.txt").write_text("One.\nTwo.\n")
    seen = {}

    def record(method, model, **kwargs):
        seen.update(kwargs, method=method)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(cli, "build_loss", record)
    base = ["text", "train", "--train", str(tmp_path / "s.txt"), "--output", str(tmp_path / "m"), "--device", "cpu"]
    with pytest.raises(RuntimeError, match="stop"):
        main([*base, "--method", "esimcse", "--queue-size", "320", "--momentum", "0.99"])
    assert seen == {"method": "esimcse", "temperature": 0.05, "chunk_size": None, "queue_size": 320, "momentum": 0.99}
    monkeypatch.undo()
    with pytest.raises(SystemExit, match="unsup-simcse does not take"):
        main([*base, "--method", "unsup-simcse", "--n-bins", "3"])


def test_pairs_files_keep_quotes_and_lines_as_written(tmp_path):
    lines = ['"Quoted start', "A second line.", '"Hi," he said.', 'End quote here."']
    (tmp_path / "quotes.tsv").write_text("sentence\n" + "\n".join(lines) + "\n")
    # Was: pandas' quoting merged the first four lines into one sentence and stripped the quotes.
    assert load_columns(tmp_path / "quotes.tsv", "pairs", "unsup-simcse") == [lines]
    (tmp_path / "hole.tsv").write_text("anchor\tpositive\nA.\tB.\nC.\t\n")
    with pytest.raises(SystemExit, match="column 'positive' row 1 is missing"):  # one line, not a traceback
        main(["text", "train", "--method", "sup-simcse", "--format", "pairs", "--train", str(tmp_path / "hole.tsv"),
              "--output", str(tmp_path / "out"), "--steps", "1", "--device", "cpu"])


def test_text_evaluate_scores_a_saved_model_at_its_own_max_seq_length(tmp_path, monkeypatch):
    seen = []

    def load_model(path, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs)
        raise ValueError("recorded")

    monkeypatch.setattr("contrastkit.text.cli.load_model", load_model)
    (tmp_path / "dev.csv").write_text(STS_LINES)
    with pytest.raises(SystemExit, match="recorded"):
        main(["text", "evaluate", "--model", str(tmp_path), "--eval", str(tmp_path / "dev.csv")])
    assert seen[0]["max_seq_length"] is None  # was 32 whatever the model had been trained and saved with


def test_pairs_columns_that_would_be_ignored_and_a_damaged_model_folder_are_errors(tmp_path):
    # A misspelt "negative" column trained sup-simcse without its hard negatives, silently.
    (tmp_path / "pairs.tsv").write_text("anchor\tpositive\tnegatve\nA.\tB.\tC.\nD.\tE.\tF.\n")
    with pytest.raises(ValueError, match=r"--format pairs: .*pairs.tsv has columns \['negatve'\] besides anchor"):
        load_columns(tmp_path / "pairs.tsv", "pairs", "sup-simcse")
    model = tmp_path / "model"
    model.mkdir()
    (model / "modules.json").write_text("{")  # was a bare JSONDecodeError naming no file
    (tmp_path / "dev.csv").write_text(STS_LINES)
    with pytest.raises(SystemExit, match=r"load_model: cannot load a model from .*model \(JSONDecodeError"):
        main(["text", "evaluate", "--model", str(model), "--eval", str(tmp_path / "dev.csv")])
