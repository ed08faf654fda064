"""data_root: $CONTRASTKIT_DATA wins, else ../shared/data beside the checkout; read_csv names a broken file;
saved_settings rebuilds a saved settings dataclass or names the file it came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import contrastkit
from contrastkit.core import data_root, read_csv, saved_settings


def test_environment_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_default_is_shared_data_beside_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    checkout = Path(contrastkit.__file__).resolve().parents[1]
    assert data_root() == checkout.parent / "shared" / "data"


def test_read_csv_names_the_file_of_a_malformed_table(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,2\n")
    assert read_csv(good, "reader").to_dict("list") == {"a": [1], "b": [2]}
    for name, content in [("empty.csv", b""), ("ragged.csv", b"a,b\n1,2\n3,4,5\n"), ("latin1.csv", "a\nCaf\xe9\n".encode("latin-1"))]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=rf"reader: .*{name} is not a readable table"):
            read_csv(tmp_path / name, "reader")
    with pytest.raises(FileNotFoundError):
        read_csv(tmp_path / "missing.csv", "reader")


@dataclass(frozen=True)
class _Settings:
    lr: float = 1e-3
    steps: int = 10

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise ValueError(f"_Settings: steps must be > 0; got {self.steps}.")


def test_saved_settings_rebuilds_the_dataclass_or_names_the_file() -> None:
    assert saved_settings(_Settings, {"lr": 0.1}, "run/model.pt", "load") == _Settings(lr=0.1)
    for values, message in [
        ({"lr": 0.1, "warmup": 5, "beta": 1}, r"load: run/model.pt holds settings \['beta', 'warmup'\] that _Settings does not have"),
        ({"steps": 0}, r"load: run/model.pt holds settings that _Settings refuses \(_Settings: steps must be > 0"),
        ({"steps": "ten"}, r"load: run/model.pt holds settings that _Settings refuses \('<=' not supported"),
        ([1, 2], r"load: run/model.pt holds list settings, not a mapping"),
    ]:
        with pytest.raises(ValueError, match=message):
            saved_settings(_Settings, values, "run/model.pt", "load")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a dataclass"):
        saved_settings(dict, {}, "run/model.pt", "load")
