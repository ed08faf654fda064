"""Shared test fixtures: offline environment, real data location, tiny thread budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contrastkit.core import data_root

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")

# Real datasets live beside the checkout (../shared/data) or at $CONTRASTKIT_DATA, never in the package.
SHARED_DATA = data_root()


def require_data(relative: str) -> Path:
    """Path to a real dataset under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set CONTRASTKIT_DATA or add ../shared/data)")
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA
