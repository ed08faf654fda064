"""train_graph end to end: every method runs, PamC learns, awkward graphs give a result or a clear error."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data

from contrastkit.graph import train as graph_train
from contrastkit.graph.data import synthetic_graph
from contrastkit.graph.evaluate import clustering_scores, kmeans_assign
from contrastkit.graph.models import ClusterHead
from contrastkit.graph.train import GraphTrainConfig, train_graph

SMALL = dict(hidden_channels=16, out_channels=8, proj_channels=8)


@pytest.fixture(scope="module")
def graph() -> Data:
    return synthetic_graph(300, 3, avg_degree=8, num_features=16, feature_signal=0.5, seed=0)


@pytest.mark.parametrize("method", ["pamc", "grace", "dgi"])
def test_every_method_returns_embeddings_and_assignments(graph: Data, method: str) -> None:
    result = train_graph(graph, GraphTrainConfig(method=method, steps=2, device="cpu", **SMALL))  # type: ignore[arg-type]
    assert result.embeddings.shape == (300, 8) and bool(torch.isfinite(result.embeddings).all())
    assert result.assignments is not None and result.assignments.shape == (300,)
    assert result.assignment_source == ("cluster_head" if method == "pamc" else "kmeans")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; CI has none")
@pytest.mark.parametrize("method", ["pamc", "grace", "dgi"])
def test_every_method_trains_on_cuda(graph: Data, method: str) -> None:
    result = train_graph(graph, GraphTrainConfig(method=method, steps=3, device="cuda", **SMALL))  # type: ignore[arg-type]
    assert result.embeddings.shape == (300, 8) and bool(torch.isfinite(result.embeddings).all())
    assert result.assignments is not None and result.assignments.shape == (300,)


def test_pamc_embeddings_cluster_better_than_raw_features() -> None:
    data = synthetic_graph(800, 4, avg_degree=10, num_features=16, feature_signal=0.35, seed=1)
    raw = clustering_scores(data.y, kmeans_assign(data.x, 4, seed=0)[0])["nmi"]
    result = train_graph(data, GraphTrainConfig(method="pamc", steps=60, lr=1e-3, device="cpu"))
    learnt = clustering_scores(data.y, kmeans_assign(result.embeddings, 4, seed=0)[0])["nmi"]
    assert learnt > raw + 0.1, (raw, learnt)


def test_pamc_centroids_follow_the_encoder_by_kmeans_during_the_warmup(graph: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[torch.Tensor] = []
    init_from = ClusterHead.init_from

    def spy(head: ClusterHead, centroids: torch.Tensor) -> None:
        calls.append(centroids.clone())
        init_from(head, centroids)

    monkeypatch.setattr(ClusterHead, "init_from", spy)
    config = GraphTrainConfig(method="pamc", steps=9, warmup_steps=6, recluster_every=3, device="cpu", **SMALL)
    result = train_graph(graph, config)
    assert len(calls) == 3  # before step 1, after steps 3 and 6; the loss alone moves them after the warm-up
    assert not torch.equal(calls[0], calls[1]) and not torch.equal(calls[1], calls[2])
    assert not torch.equal(result.model.head.centroids.detach(), calls[2])  # type: ignore[union-attr]


def test_pamc_minibatches_and_resume_to_the_same_model(graph: Data, tmp_path: Path) -> None:
    config = GraphTrainConfig(method="pamc", steps=4, batch_size=100, device="cpu", run_dir=str(tmp_path), **SMALL)
    first = train_graph(graph, config)
    # Continuing the finished run from its checkpoint changes nothing.
    again = train_graph(graph, config)
    assert torch.equal(first.embeddings, again.embeddings)
    assert (tmp_path / "metrics.csv").exists()


def test_a_run_dir_resumes_only_the_run_it_holds(graph: Data, tmp_path: Path) -> None:
    config = dict(method="pamc", device="cpu", run_dir=str(tmp_path), **SMALL)
    train_graph(graph, GraphTrainConfig(steps=2, **config))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"other settings \(hops 1 -> 2\)"):
        train_graph(graph, GraphTrainConfig(steps=4, hops=2, **config))  # type: ignore[arg-type]
    # Another graph of the same width is not continued either.
    other = synthetic_graph(300, 3, avg_degree=8, num_features=16, feature_signal=0.5, seed=1)
    with pytest.raises(ValueError, match=r"other settings \(data 'sha256:\w+ \(300 nodes\)' -> 'sha256:"):
        train_graph(other, GraphTrainConfig(steps=4, **config))  # type: ignore[arg-type]
    # A larger budget continues the same run.
    assert train_graph(graph, GraphTrainConfig(steps=4, **config)).history[-1]["step"] == 4  # type: ignore[arg-type]
    # resume=False trains afresh over the checkpoint: the same model as a run in a new directory (with 2 hops
    # on 2+ threads, a gather whose backward summed in a thread-dependent order made this fail at random).
    fresh = train_graph(graph, GraphTrainConfig(steps=2, hops=2, resume=False, **config))  # type: ignore[arg-type]
    elsewhere = {**config, "run_dir": str(tmp_path / "elsewhere")}
    assert torch.equal(fresh.embeddings, train_graph(graph, GraphTrainConfig(steps=2, hops=2, **elsewhere)).embeddings)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["pamc", "grace"])
def test_a_crashed_run_resumes_from_its_last_periodic_checkpoint(
    graph: Data, method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = dict(method=method, steps=6, device="cpu", **SMALL)
    whole = train_graph(graph, GraphTrainConfig(**config))  # type: ignore[arg-type]
    make_step = graph_train.make_step

    def crash_at_step_5(config: GraphTrainConfig) -> Callable[..., torch.Tensor]:
        step, calls = make_step(config), [0]

        def crashing(*args: object) -> torch.Tensor:
            calls[0] += 1
            if calls[0] == 5:
                raise RuntimeError("the machine went away")
            return step(*args)  # type: ignore[arg-type]

        return crashing

    monkeypatch.setattr(graph_train, "make_step", crash_at_step_5)
    periodic = GraphTrainConfig(run_dir=str(tmp_path), checkpoint_every=2, **config)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="went away"):
        train_graph(graph, periodic)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 4  # steps 1-4 kept
    monkeypatch.setattr(graph_train, "make_step", make_step)
    # checkpoint_every is not part of the run: another value resumes the same run.
    resumed = train_graph(graph, dataclasses.replace(periodic, checkpoint_every=50))
    assert torch.equal(resumed.embeddings, whole.embeddings)
    with pytest.raises(ValueError, match="checkpoint_every must be > 0"):
        GraphTrainConfig(checkpoint_every=0)


def test_pamc_kmeans_meta_nodes_refresh_and_resume_exactly(graph: Data, tmp_path: Path) -> None:
    config = dict(method="pamc", meta_nodes="kmeans", recluster_every=2, warmup_steps=0, device="cpu", **SMALL)
    whole = train_graph(graph, GraphTrainConfig(steps=6, **config))  # type: ignore[arg-type]
    meta = whole.model.meta_assignments
    assert meta.shape == (300,) and set(meta.tolist()) == {0, 1, 2}
    # k-means of the embeddings at the last refresh (step 6, the end) is what the model holds.
    expected = kmeans_assign(whole.embeddings, 3, seed=0, normalize=True)[0]
    assert torch.equal(meta, expected)
    # Stopped after step 3 (between refreshes) and resumed: the same model as the uninterrupted run.
    stopped, tampered = tmp_path / "stopped", tmp_path / "tampered"
    train_graph(graph, GraphTrainConfig(steps=3, run_dir=str(stopped), **config))  # type: ignore[arg-type]
    shutil.copytree(stopped, tampered)
    resumed = train_graph(graph, GraphTrainConfig(steps=6, run_dir=str(stopped), **config))  # type: ignore[arg-type]
    assert torch.equal(resumed.embeddings, whole.embeddings)
    # Step 4 contrasts the meta-nodes stored in the checkpoint: other memberships there, another model.
    checkpoint = torch.load(tampered / "checkpoint.pt", weights_only=False)
    checkpoint["model"]["meta_assignments"] = torch.arange(300) % 3  # not a relabelling: other node sets
    torch.save(checkpoint, tampered / "checkpoint.pt")
    other = train_graph(graph, GraphTrainConfig(steps=6, run_dir=str(tampered), **config))  # type: ignore[arg-type]
    assert not torch.equal(other.embeddings, whole.embeddings)
    with pytest.raises(ValueError, match="meta_nodes='kmeans' .* needs full-graph training"):
        GraphTrainConfig(meta_nodes="kmeans", batch_size=100)


def test_minibatches_train_whatever_the_remainder() -> None:
    # 1001 nodes in batches of 200 left a last batch of ~8 nodes, fewer than K=20: PamC raised at step 6.
    data = synthetic_graph(1001, 5, avg_degree=6, num_features=8, seed=0)
    config = GraphTrainConfig(method="pamc", steps=6, batch_size=200, num_clusters=20, device="cpu", **SMALL)
    assert torch.isfinite(train_graph(data, config).embeddings).all()


def test_messy_graph_trains_without_nan() -> None:
    data = synthetic_graph(120, 3, avg_degree=4, num_features=8, seed=2)
    loops = torch.arange(10).repeat(2, 1)
    data.edge_index = torch.cat([data.edge_index, data.edge_index[:, :50], loops], dim=1)  # duplicates + self-loops
    data.x = torch.cat([data.x, torch.randn(5, 8)])  # five isolated nodes
    data.y = torch.cat([data.y, torch.zeros(5, dtype=torch.long)])
    result = train_graph(data, GraphTrainConfig(method="pamc", steps=5, num_clusters=20, device="cpu", **SMALL))
    assert bool(torch.isfinite(result.embeddings).all())
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in result.history)


def test_clear_errors_for_k_above_n_and_missing_features(graph: Data) -> None:
    with pytest.raises(ValueError, match="num_clusters must be in"):
        train_graph(graph, GraphTrainConfig(method="pamc", steps=1, num_clusters=301))
    with pytest.raises(ValueError, match="no node features"):
        train_graph(Data(edge_index=graph.edge_index, num_nodes=300), GraphTrainConfig(steps=1))
    with pytest.raises(ValueError, match="recluster_every and checkpoint_every must be > 0"):
        GraphTrainConfig(recluster_every=0)
    with pytest.raises(ValueError, match="method must be one of"):
        GraphTrainConfig(method="simclr")  # type: ignore[arg-type]
