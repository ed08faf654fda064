"""data_root: $CONTRASTKIT_DATA wins, else ../shared/data beside the checkout; read_csv names a broken file."""

from __future__ import annotations

from pathlib import Path

import pytest

import contrastkit
from contrastkit.core import data_root, read_csv


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
