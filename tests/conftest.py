"""Shared test fixtures: offline environment, real data location, tiny thread budget."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

from contrastkit.core import data_root

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")

# Real datasets live beside the checkout (../shared/data) or at $CONTRASTKIT_DATA, never in the package.
SHARED_DATA = data_root()


@pytest.fixture(autouse=True, scope="session")
def _scratch_tempdir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point ``tempfile`` at pytest's own temporary folder: SB3's ``learn()`` without a logger makes an
    empty ``SB3-<time>`` folder and PyG writes a module per conv class in the system temp folder; pytest
    prunes its folders, /tmp would keep them."""
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))


# find_spec, not importorskip: importing dm_control before make_pixel_env sets MUJOCO_GL would pick GLFW.
needs_dmc = pytest.mark.skipif(
    importlib.util.find_spec("shimmy") is None,
    reason="DMControl needs the dmc extra (shimmy, dm-control, mujoco)",
)


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
