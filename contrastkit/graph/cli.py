"""``contrastkit graph train ...`` and the graph part of ``contrastkit demo``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from torch_geometric.data import Data

from contrastkit.core import data_root

from .data import load_planetoid, synthetic_graph
from .evaluate import Protocol, clustering_scores, kmeans_assign, probe_scores
from .train import METHODS, GraphEmbedding, GraphTrainConfig, train_graph

DEFAULT_ROOT = data_root() / "Planetoid"


def load_dataset(name: str, root: Path, seed: int) -> Data:
    """``"synthetic"`` (built-in planted partition) or a Planetoid name read from ``root``."""
    if name == "synthetic":
        return synthetic_graph(2000, 5, num_features=32, feature_signal=0.4, seed=seed)
    return load_planetoid(root, {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}[name])


def report(data: Data, result: GraphEmbedding, seed: int) -> dict[str, Any]:
    """Clustering of the learnt assignments and of k-means on the L2-normalised embeddings, and probe accuracy."""
    out: dict[str, Any] = {}
    if data.y is None:
        return out
    k = int(data.y.unique().numel())
    if result.assignments is not None:
        out[f"clustering_{result.assignment_source}"] = clustering_scores(data.y, result.assignments)
    pred = kmeans_assign(result.embeddings, k, seed, normalize=True)[0]
    out["clustering_kmeans_on_embeddings"] = clustering_scores(data.y, pred)
    protocols: tuple[Protocol, ...] = ("public", "random_10_10_80") if "train_mask" in data else ("random_10_10_80",)
    out["probe"] = [probe_scores(result.embeddings, data, p, seed=seed) for p in protocols]
    return out


def _train(args: argparse.Namespace) -> None:
    data = load_dataset(args.dataset, args.root, args.seed)
    config = GraphTrainConfig(
        method=args.method,
        steps=args.steps,
        lr=args.lr,
        temperature=args.temperature,
        num_clusters=args.clusters,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        run_dir=str(args.run_dir),
        progress=True,
    )
    result = train_graph(data, config)
    metrics = report(data, result, args.seed)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    (args.run_dir / "graph_metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))
    print(f"Metrics, checkpoint and curves are in {args.run_dir}/")


def register(subparsers: Any) -> None:
    """Add ``graph train`` to the ``contrastkit`` command."""
    graph = subparsers.add_parser("graph", help="node-level graph contrast (PamC, GRACE, DGI) on PyG graphs")
    sub = graph.add_subparsers(dest="graph_command", required=True)
    train = sub.add_parser("train", help="train on a dataset, then report clustering and probe metrics")
    train.add_argument("--dataset", choices=("synthetic", "cora", "citeseer", "pubmed"), default="synthetic")
    train.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder holding <Name>/raw (Planetoid)")
    train.add_argument("--method", choices=METHODS, default="pamc")
    train.add_argument("--steps", type=int, default=200)
    train.add_argument("--lr", type=float, default=GraphTrainConfig.lr)
    train.add_argument("--temperature", type=float, default=GraphTrainConfig.temperature)
    train.add_argument("--clusters", type=int, default=None, help="K (default: number of classes)")
    train.add_argument("--batch-size", type=int, default=None, help="seed nodes per mini-batch (default: full graph)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto")
    train.add_argument("--run-dir", type=Path, default=Path("runs/graph"))
    train.set_defaults(func=_train)


def demo(run_dir: Path, seed: int) -> dict[str, float]:
    """PamC on the built-in planted-partition graph: clustering NMI of the raw features vs PamC."""
    data = load_dataset("synthetic", Path(), seed)
    k = int(data.y.unique().numel())
    raw = clustering_scores(data.y, kmeans_assign(data.x, k, seed, normalize=True)[0])
    config = GraphTrainConfig(method="pamc", steps=60, lr=1e-3, seed=seed, run_dir=str(run_dir), progress=True)
    result = train_graph(data, config)
    learnt = clustering_scores(data.y, kmeans_assign(result.embeddings, k, seed, normalize=True)[0])
    assert result.assignments is not None
    head = clustering_scores(data.y, result.assignments)
    return {"nmi_kmeans_raw_features": raw["nmi"], "nmi_kmeans_pamc": learnt["nmi"], "nmi_pamc_head": head["nmi"]}
