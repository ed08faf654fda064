"""``contrastkit graph train ...`` / ``graph evaluate``, and the graph part of ``contrastkit demo``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor
from torch_geometric.data import Data

from contrastkit.core import atomic_save, data_root, load_saved, plot_embeddings, read_csv, read_json
from contrastkit.core.config_args import add_config_arguments, config_from_args

from .data import from_pandas, load_planetoid, synthetic_graph
from .evaluate import Protocol, clustering_scores, kmeans_assign, probe_scores
from .train import GraphTrainConfig, train_graph

DEFAULT_ROOT = data_root() / "Planetoid"


def load_dataset(name: str, root: Path, seed: int) -> Data:
    """``"synthetic"`` (built-in planted partition) or a Planetoid name read from ``root``."""
    if name == "synthetic":
        return synthetic_graph(2000, 5, num_features=32, feature_signal=0.4, seed=seed)
    return load_planetoid(root, {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}[name])


def report(
    data: Data, embeddings: Tensor, assignments: Tensor | None, assignment_source: str, seed: int
) -> dict[str, Any]:
    """Clustering of the learnt assignments and of k-means on the L2-normalised embeddings, and probe accuracy."""
    out: dict[str, Any] = {}
    if data.y is None:
        return out
    k = int(data.y.unique().numel())
    if assignments is not None:
        out[f"clustering_{assignment_source}"] = clustering_scores(data.y, assignments)
    pred = kmeans_assign(embeddings, k, seed, normalize=True)[0]
    out["clustering_kmeans_on_embeddings"] = clustering_scores(data.y, pred)
    protocols: tuple[Protocol, ...] = (
        ("public", "random_10_10_80") if "train_mask" in data else ("random_10_10_80",)
    )
    out["probe"] = [probe_scores(embeddings, data, p, seed=seed) for p in protocols]
    return out


def load_tables(edges: Path, features: Path, label_column: str | None) -> Data:
    """A graph from two CSV files (:func:`~.data.from_pandas`): ``edges`` with ``source, target``
    columns, ``features`` with the node id in its first column, then one column per feature (and
    ``label_column``, kept out of the features, when given)."""
    table = read_csv(features, "--features", index_col=0)
    labels = None
    if label_column is not None:
        if label_column not in table.columns:
            raise ValueError(
                f"{features}: no label column {label_column!r}; columns are {list(table.columns)[:10]}."
            )
        labels = table.pop(label_column)
    non_numeric = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        raise ValueError(f"{features}: feature columns must be numeric; {non_numeric[:5]} are not.")
    data = from_pandas(read_csv(edges, "--edges"), table, labels=labels)
    data.node_names = [str(node) for node in table.index]  # node i is table.index[i]: assignments.csv says which
    return data


_DATA_ARGS = ("dataset", "root", "edges", "features", "label_column")


def _data(inputs: dict[str, Any], seed: int) -> Data:
    """The graph named by the ``_DATA_ARGS`` of a ``graph train`` command line."""
    edges, features = inputs["edges"], inputs["features"]
    if (edges is None) != (features is None):
        raise SystemExit("contrastkit graph: --edges and --features go together.")
    if edges is not None:
        return load_tables(Path(edges), Path(features), inputs["label_column"])
    return load_dataset(inputs["dataset"], Path(inputs["root"]), seed)


def _train(args: argparse.Namespace) -> None:
    inputs = {k: None if getattr(args, k) is None else str(getattr(args, k)) for k in _DATA_ARGS}
    data = _data(inputs, args.seed)
    config = config_from_args(GraphTrainConfig, args, run_dir=str(args.run_dir))
    result = train_graph(data, config)
    metrics = report(data, result.embeddings, result.assignments, result.assignment_source, args.seed)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_save(result.embeddings, args.run_dir / "embeddings.pt")
    if result.assignments is not None:
        pd.DataFrame({"node": node_ids(data), "cluster": result.assignments.numpy()}).to_csv(
            args.run_dir / "assignments.csv", index=False
        )
    colourings = {name: groups for name, groups in (("label", data.y), ("cluster", result.assignments)) if groups is not None}
    if colourings:
        plot_embeddings(result.embeddings, colourings, args.run_dir / "embeddings.png", seed=args.seed, title=config.method)
    run = {"data": inputs, "seed": args.seed, "assignment_source": result.assignment_source}
    (args.run_dir / "graph_run.json").write_text(json.dumps(run, indent=2))
    (args.run_dir / "graph_metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))
    print(f"Metrics, embeddings.pt / .png, assignments.csv, checkpoint and curves are in {args.run_dir}/")


def node_ids(data: Data) -> Sequence[object]:
    """The ``node`` column of ``assignments.csv``: the feature table's ids (``--features``), else 0..N-1."""
    names: list[str] | None = getattr(data, "node_names", None)
    return names if names is not None else range(data.num_nodes)


def read_assignments(path: Path, data: Data) -> Tensor:
    """The ``cluster`` column of an ``assignments.csv`` written by ``graph train``, in the graph's node
    order: rows are matched by their ``node`` id, so a reordered file scores the same."""
    where = "graph evaluate"
    table = read_csv(path, where, dtype={"node": str})
    missing = [c for c in ("node", "cluster") if c not in table.columns]
    if missing:
        raise ValueError(f"{where}: {path} has no column {missing}; columns are {list(table.columns)[:10]}.")
    nodes = [str(node) for node in node_ids(data)]
    if table["node"].duplicated().any() or set(table["node"]) != set(nodes):
        raise ValueError(
            f"{where}: {path} must list each of the graph's {len(nodes)} nodes once; it has {len(table)} rows "
            f"for {table['node'].nunique()} distinct nodes."
        )
    clusters = table.set_index("node")["cluster"].reindex(nodes)
    if not pd.api.types.is_integer_dtype(clusters):
        raise ValueError(f"{where}: {path}: cluster must hold an integer id per node; got {clusters.dtype} values.")
    return torch.tensor(clusters.to_numpy())


def _evaluate(args: argparse.Namespace) -> None:
    missing = [name for name in ("graph_run.json", "embeddings.pt") if not (args.run_dir / name).exists()]
    if missing:
        raise SystemExit(
            f"{args.run_dir} has no {' or '.join(missing)}; run `contrastkit graph train --run-dir {args.run_dir}` first."
        )
    run = read_json(args.run_dir / "graph_run.json", "graph evaluate", keys=("data", "seed", "assignment_source"))
    data = _data(run["data"], run["seed"])
    embeddings = load_saved(args.run_dir / "embeddings.pt", "graph evaluate", weights_only=True)
    if not isinstance(embeddings, Tensor) or embeddings.dim() != 2 or not embeddings.is_floating_point():
        raise SystemExit(
            f"{args.run_dir / 'embeddings.pt'} is not a float embedding matrix [N, D]; got "
            f"{type(embeddings).__name__} {tuple(getattr(embeddings, 'shape', ()))}."
        )
    if embeddings.shape[0] != data.num_nodes:
        raise SystemExit(
            f"{args.run_dir}: {embeddings.shape[0]} embeddings for a graph of {data.num_nodes} nodes."
        )
    if not bool(torch.isfinite(embeddings).all()):
        raise SystemExit(f"{args.run_dir / 'embeddings.pt'} holds NaN or inf embeddings.")
    path = args.run_dir / "assignments.csv"
    assignments = read_assignments(path, data) if path.exists() else None
    print(json.dumps(report(data, embeddings, assignments, run["assignment_source"], run["seed"]), indent=2))


def register(subparsers: Any) -> None:
    """Add ``graph train`` (one option per :class:`~.train.GraphTrainConfig` field) and ``graph evaluate``."""
    graph = subparsers.add_parser("graph", help="node-level graph contrast (PamC, GRACE, DGI) on PyG graphs")
    sub = graph.add_subparsers(dest="graph_command", required=True)
    train = sub.add_parser("train", help="train on a dataset, then report clustering and probe metrics")
    train.add_argument("--dataset", choices=("synthetic", "cora", "citeseer", "pubmed"), default="synthetic")
    train.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="folder holding <Name>/raw (Planetoid)"
    )
    train.add_argument(
        "--edges", type=Path, default=None, help="CSV of edges (source, target columns); with --features"
    )
    train.add_argument(
        "--features", type=Path, default=None, help="CSV of features, node id in the first column"
    )
    train.add_argument(
        "--label-column", default=None, help="column of --features holding class labels (for the metrics)"
    )
    add_config_arguments(train, GraphTrainConfig, skip=("run_dir",), defaults={"progress": True})
    train.add_argument("--run-dir", type=Path, default=Path("runs/graph"))
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate", help="clustering and probe metrics of the embeddings saved by `graph train`"
    )
    evaluate.add_argument("--run-dir", type=Path, required=True)
    evaluate.set_defaults(func=_evaluate)


def demo(run_dir: Path, seed: int) -> dict[str, float]:
    """PamC on the built-in planted-partition graph: clustering NMI of the raw features vs PamC."""
    data = load_dataset("synthetic", Path(), seed)
    k = int(data.y.unique().numel())
    raw = clustering_scores(data.y, kmeans_assign(data.x, k, seed, normalize=True)[0])
    config = GraphTrainConfig(
        method="pamc", steps=60, lr=1e-3, seed=seed, run_dir=str(run_dir), progress=True
    )
    result = train_graph(data, config)
    learnt = clustering_scores(data.y, kmeans_assign(result.embeddings, k, seed, normalize=True)[0])
    assert result.assignments is not None
    head = clustering_scores(data.y, result.assignments)
    return {
        "nmi_kmeans_raw_features": raw["nmi"],
        "nmi_kmeans_pamc": learnt["nmi"],
        "nmi_pamc_head": head["nmi"],
    }
