"""data_root: $CONTRASTKIT_DATA wins, else ../shared/data beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

import contrastkit
from contrastkit.core import data_root


def test_environment_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_default_is_shared_data_beside_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    checkout = Path(contrastkit.__file__).resolve().parents[1]
    assert data_root() == checkout.parent / "shared" / "data"
