"""Helpers shared by the benchmarks: environment facts, timing, and result files."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def environment() -> dict[str, Any]:
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def best_time(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """Minimum wall time over ``repeats`` runs after ``warmup`` runs (seconds)."""
    for _ in range(warmup):
        fn()
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def write_results(name: str, payload: dict[str, Any], table: str) -> None:
    """Write ``results/<name>.json`` (with the environment) and ``results/<name>.md`` (the README table)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"environment": environment(), **payload}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    (RESULTS / f"{name}.md").write_text(table.rstrip() + "\n")
    print(table)
