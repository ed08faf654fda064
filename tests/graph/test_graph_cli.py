"""The ``contrastkit graph`` subcommand and the graph part of the demo."""

from __future__ import annotations

import json
import math
from pathlib import Path

from contrastkit.cli import main
from contrastkit.graph.cli import demo


def test_graph_train_writes_metrics(tmp_path: Path) -> None:
    assert main(["graph", "train", "--dataset", "synthetic", "--method", "grace", "--steps", "2", "--run-dir", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "graph_metrics.json").read_text())
    assert set(metrics) == {"clustering_kmeans", "clustering_kmeans_on_embeddings", "probe"}
    assert metrics["probe"][0]["protocol"] == "random_10_10_80"


def test_demo_reports_finite_metrics(tmp_path: Path) -> None:
    metrics = demo(tmp_path, seed=0)
    assert set(metrics) == {"nmi_kmeans_raw_features", "nmi_kmeans_pamc", "nmi_pamc_head"}
    assert all(math.isfinite(v) for v in metrics.values())
    assert (tmp_path / "curves.png").exists()
