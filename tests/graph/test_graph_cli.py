"""The ``contrastkit graph`` subcommand and the graph part of the demo."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from contrastkit.cli import build_parser, main
from contrastkit.core.config_args import config_from_args
from contrastkit.graph.cli import demo
from contrastkit.graph.data import synthetic_graph
from contrastkit.graph.train import GraphTrainConfig


def test_graph_train_writes_metrics(tmp_path: Path) -> None:
    assert (
        main(
            [
                "graph",
                "train",
                "--dataset",
                "synthetic",
                "--method",
                "grace",
                "--steps",
                "2",
                "--run-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "graph_metrics.json").read_text())
    assert set(metrics) == {"clustering_kmeans", "clustering_kmeans_on_embeddings", "probe"}
    assert metrics["probe"][0]["protocol"] == "random_10_10_80"


def test_the_benchmark_settings_are_flags() -> None:
    args = build_parser(["graph"]).parse_args(
        "graph train --num-layers 1 --out-channels 512 --hops 2 --drop-edge 0.1 0.2 --activation elu --num-clusters none".split()
    )
    config = config_from_args(GraphTrainConfig, args)
    assert (config.num_layers, config.out_channels, config.hops, config.drop_edge, config.activation) == (
        1,
        512,
        2,
        (0.1, 0.2),
        "elu",
    )


def test_train_saves_embeddings_and_assignments_that_evaluate_scores_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = "graph train --method pamc --steps 3 --warmup-steps 0 --num-layers 1 --out-channels 16 --hops 2 --no-progress"
    assert main([*argv.split(), "--run-dir", str(tmp_path)]) == 0
    embeddings = torch.load(tmp_path / "embeddings.pt", weights_only=True)
    assignments = pd.read_csv(tmp_path / "assignments.csv")
    assert embeddings.shape == (2000, 16) and list(assignments.columns) == ["node", "cluster"]
    assert (tmp_path / "embeddings.png").read_bytes()[:4] == b"\x89PNG"
    assert assignments["node"].tolist() == list(range(2000)) and assignments["cluster"].between(0, 4).all()
    capsys.readouterr()
    assert main(["graph", "evaluate", "--run-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads((tmp_path / "graph_metrics.json").read_text())
    with pytest.raises(SystemExit, match="has no graph_run.json or embeddings.pt; run `contrastkit graph train"):
        main(["graph", "evaluate", "--run-dir", str(tmp_path / "elsewhere")])


def test_evaluate_names_a_damaged_run_dir_and_matches_assignments_by_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = "graph train --method pamc --steps 2 --warmup-steps 0 --num-layers 1 --out-channels 8 --hops 2 --no-progress"
    assert main([*argv.split(), "--run-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["graph", "evaluate", "--run-dir", str(tmp_path)]) == 0
    expected = json.loads(capsys.readouterr().out)
    written = pd.read_csv(tmp_path / "assignments.csv")
    # Reordered rows are matched by node id (they were scored in file order: a silently wrong answer).
    written.sample(frac=1.0, random_state=0).to_csv(tmp_path / "assignments.csv", index=False)
    assert main(["graph", "evaluate", "--run-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    damaged = {
        "": "assignments.csv is not a readable table",
        written.rename(columns={"cluster": "clutser"}).to_csv(index=False): r"has no column \['cluster'\]",
        written.head(100).to_csv(index=False): "must list each of the graph's 2000 nodes once",
        written.assign(cluster=written["cluster"].astype(str) + "x").to_csv(index=False): "cluster must hold an integer id",
    }
    for text, message in damaged.items():
        (tmp_path / "assignments.csv").write_text(text)
        with pytest.raises(SystemExit, match=message):
            main(["graph", "evaluate", "--run-dir", str(tmp_path)])
    (tmp_path / "assignments.csv").unlink()
    torch.save({"embeddings": torch.zeros(2000, 8)}, tmp_path / "embeddings.pt")
    with pytest.raises(SystemExit, match="embeddings.pt is not a float embedding matrix"):
        main(["graph", "evaluate", "--run-dir", str(tmp_path)])
    torch.save(torch.full((2000, 8), float("nan")), tmp_path / "embeddings.pt")
    with pytest.raises(SystemExit, match="embeddings.pt holds NaN or inf"):
        main(["graph", "evaluate", "--run-dir", str(tmp_path)])
    (tmp_path / "graph_run.json").write_text("{")
    with pytest.raises(SystemExit, match="graph evaluate: .*graph_run.json is not a readable JSON file"):
        main(["graph", "evaluate", "--run-dir", str(tmp_path)])


def test_train_reads_an_edge_list_and_a_feature_table(tmp_path: Path) -> None:
    graph = synthetic_graph(60, 3, num_features=4, seed=0)
    names = [f"n{i}" for i in range(graph.num_nodes)]
    pd.DataFrame(
        {
            "source": [names[i] for i in graph.edge_index[0].tolist()],
            "target": [names[j] for j in graph.edge_index[1].tolist()],
        }
    ).to_csv(tmp_path / "edges.csv", index=False)
    table = pd.DataFrame(
        graph.x.numpy(), index=pd.Index(names, name="node"), columns=[f"f{j}" for j in range(4)]
    )
    table.assign(label=[f"class{c}" for c in graph.y.tolist()]).to_csv(tmp_path / "nodes.csv")
    files = ["--edges", str(tmp_path / "edges.csv"), "--features", str(tmp_path / "nodes.csv")]
    run = tmp_path / "run"
    assert (
        main(
            [
                "graph",
                "train",
                *files,
                "--label-column",
                "label",
                "--method",
                "grace",
                "--steps",
                "2",
                "--run-dir",
                str(run),
            ]
        )
        == 0
    )
    metrics = json.loads((run / "graph_metrics.json").read_text())
    assert 0.0 <= metrics["clustering_kmeans_on_embeddings"]["nmi"] <= 1.0
    assert torch.load(run / "embeddings.pt", weights_only=True).shape == (60, 128)
    assert pd.read_csv(run / "assignments.csv")["node"].tolist() == names  # the table's ids, not row numbers

    with pytest.raises(SystemExit, match="--edges and --features go together"):
        main(["graph", "train", "--edges", str(tmp_path / "edges.csv"), "--run-dir", str(run)])
    with pytest.raises(SystemExit, match="graph train: error: .*feature columns must be numeric"):
        main(["graph", "train", *files, "--run-dir", str(run)])  # the label column read as a feature
    with pytest.raises(SystemExit, match="no label column 'class'"):
        main(["graph", "train", *files, "--label-column", "class", "--run-dir", str(run)])


def test_demo_reports_finite_metrics(tmp_path: Path) -> None:
    metrics = demo(tmp_path, seed=0)
    assert set(metrics) == {"nmi_kmeans_raw_features", "nmi_kmeans_pamc", "nmi_pamc_head"}
    assert all(math.isfinite(v) for v in metrics.values())
    assert (tmp_path / "curves.png").exists()
