"""Where the real datasets live: one convention for the CLIs, the benchmarks and the tests."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """``$CONTRASTKIT_DATA`` when set, else ``../shared/data`` beside the checkout.

    Readers never download: this only says where a user's own copy of Cora, STS-b, MovieLens or
    UCI EEG is looked up by default.
    """
    env = os.environ.get("CONTRASTKIT_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
