"""Readers, cleaning, the synthetic graph and the plain-torch mini-batch loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import require_data
from torch_geometric.data import Data

from contrastkit.graph.data import (
    NeighbourSubgraphLoader,
    from_pandas,
    load_planetoid,
    prepare_graph,
    synthetic_graph,
)


def _edge_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in edge_index.T.tolist()}


def test_prepare_graph_removes_self_loops_merges_duplicates_and_symmetrises() -> None:
    raw = Data(x=torch.randn(5, 3), edge_index=torch.tensor([[0, 0, 0, 1, 2], [1, 1, 0, 2, 2]]))
    clean = prepare_graph(raw)
    assert _edge_set(clean.edge_index) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert clean.edge_index.shape[1] == 4
    assert clean.num_nodes == 5  # nodes 3 and 4 stay, isolated


@pytest.mark.parametrize(
    "data, error, message",
    [
        (Data(edge_index=torch.tensor([[0], [1]]), num_nodes=2), ValueError, "no node features"),
        (Data(x=torch.ones(2, 2, dtype=torch.long), edge_index=torch.tensor([[0], [1]])), TypeError, "float"),
        (Data(x=torch.randn(2, 2), edge_index=torch.tensor([[0.0], [1.0]])), TypeError, "integer node ids"),
        (Data(x=torch.randn(2, 2), edge_index=torch.tensor([[0], [5]])), ValueError, "ids must lie in"),
        (Data(x=torch.randn(2, 2), edge_index=torch.tensor([0, 1])), ValueError, r"\[2, E\]"),
        (Data(x=torch.tensor([[0.0, float("nan")], [1, 1]]), edge_index=torch.tensor([[0], [1]])), ValueError, "NaN"),
        # .long() would truncate 0.5 to class 0 and NaN to a huge negative class.
        (Data(x=torch.randn(2, 2), edge_index=torch.tensor([[0], [1]]), y=torch.tensor([0.5, float("nan")])), TypeError,
         "integer class ids"),
        (Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0], [1]]), train_mask=torch.tensor([1, 0, 1])), ValueError,
         r"train_mask must be a bool tensor \[N\]=3"),
        (Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0], [1]]), test_mask=torch.tensor([True, False])),
         ValueError, "test_mask must be a bool tensor"),
    ],
)
def test_prepare_graph_rejects_bad_graphs(data: Data, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        prepare_graph(data)


def test_synthetic_graph_has_planted_homophily_and_is_reproducible() -> None:
    n, c, h = 4000, 4, 0.8
    data = synthetic_graph(n, c, avg_degree=10, homophily=h, num_features=8, seed=3)
    row, col = data.edge_index
    within = float((data.y[row] == data.y[col]).float().mean())
    assert within == pytest.approx(h + (1 - h) / c, abs=0.02)  # random endpoints hit the class 1/c of the time
    assert data.edge_index.shape[1] / n == pytest.approx(10, rel=0.05)
    assert torch.bincount(data.y).tolist() == [n // c] * c
    again = synthetic_graph(n, c, avg_degree=10, homophily=h, num_features=8, seed=3)
    assert torch.equal(data.edge_index, again.edge_index) and torch.equal(data.x, again.x)


def test_from_pandas_maps_string_ids_in_feature_order() -> None:
    features = pd.DataFrame({"f0": [1.0, 2.0, 3.0], "f1": [0.0, 1.0, 0.0]}, index=["c", "a", "b"])
    edges = pd.DataFrame({"src": ["a", "b", "c"], "dst": ["b", "c", "c"]})
    labels = pd.Series({"a": "x", "b": "y", "c": "x"})
    data = from_pandas(edges, features, source="src", target="dst", labels=labels)
    # node 0 = "c", 1 = "a", 2 = "b"; the self-loop c-c is dropped.
    assert _edge_set(data.edge_index) == {(1, 2), (2, 1), (2, 0), (0, 2)}
    assert data.x[1].tolist() == [2.0, 1.0]
    assert data.y.tolist() == [0, 0, 1]  # labels coded in feature order: c -> x, a -> x, b -> y


def test_from_pandas_names_unknown_nodes() -> None:
    features = pd.DataFrame({"f": [1.0]}, index=["a"])
    with pytest.raises(ValueError, match="no features.*'zz'"):
        from_pandas(pd.DataFrame({"source": ["a"], "target": ["zz"]}), features)


def test_from_pandas_refuses_an_edge_table_without_rows() -> None:
    features = pd.DataFrame({"f": [1.0, 2.0]}, index=["a", "b"])
    with pytest.raises(ValueError, match="edge table has no rows"):
        from_pandas(pd.DataFrame({"source": [], "target": []}), features)


def test_load_planetoid_cora_from_a_copy(tmp_path: Path) -> None:
    root = require_data("Planetoid/Cora/raw").parents[1]
    data = load_planetoid(root, "Cora", cache_dir=tmp_path / "cache")
    assert data.num_nodes == 2708 and data.num_features == 1433
    assert data.edge_index.shape[1] == 10556
    assert int(data.y.max()) + 1 == 7
    assert (int(data.train_mask.sum()), int(data.val_mask.sum()), int(data.test_mask.sum())) == (140, 500, 1000)
    (copy,) = (tmp_path / "cache").iterdir()  # one folder per raw root
    assert (copy / "Cora" / "processed").exists() and not (root / "Cora" / "processed").exists()
    # Another root gets its own copy (was: the first root's cached graph, whatever the second held).
    other = tmp_path / "other"
    shutil.copytree(root / "Cora" / "raw", other / "Cora" / "raw")
    (other / "Cora" / "raw" / "ind.cora.test.index").write_text(
        (root / "Cora" / "raw" / "ind.cora.test.index").read_text())  # same content, a newer file
    assert load_planetoid(other, "Cora", cache_dir=tmp_path / "cache").num_nodes == 2708
    load_planetoid(root, "Cora", cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_load_planetoid_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no raw files"):
        load_planetoid(tmp_path, "Cora", cache_dir=tmp_path / "cache")
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_neighbour_loader_covers_every_node_with_real_edges() -> None:
    data = synthetic_graph(600, 3, avg_degree=6, num_features=4, seed=0)
    loader = NeighbourSubgraphLoader(data, batch_size=128, num_neighbours=4, seed=1)
    graph_edges = _edge_set(data.edge_index)
    seen = torch.zeros(600, dtype=torch.bool)
    batches = list(loader(0))
    assert len(batches) == len(loader) == 5
    for batch in batches:
        seen[batch.n_id] = True
        assert torch.equal(batch.x, data.x[batch.n_id])
        mapped = _edge_set(batch.n_id[batch.edge_index])
        assert mapped <= graph_edges
        assert len(mapped) == batch.edge_index.shape[1]
    assert bool(seen.all())
    again = [b.n_id for b in loader(0)]
    assert all(torch.equal(a.n_id, b) for a, b in zip(batches, again, strict=True))
    assert not torch.equal(next(iter(loader(1))).n_id, batches[0].n_id)


@pytest.mark.parametrize(("n", "sizes"), [(1001, [200, 200, 200, 200, 201]), (1100, [200] * 5 + [100]), (150, [150])])
def test_neighbour_loader_folds_a_small_remainder_into_the_last_batch(n: int, sizes: list[int]) -> None:
    data = synthetic_graph(n, 3, avg_degree=4, num_features=4, seed=0)
    loader = NeighbourSubgraphLoader(data, batch_size=200, num_neighbours=0, seed=0)
    seeds = [batch.n_id for batch in loader(0)]  # no neighbours: the batch is its seeds
    assert [len(s) for s in seeds] == sizes and len(loader) == len(sizes)
    assert torch.equal(torch.sort(torch.cat(seeds)).values, torch.arange(n))


def test_neighbour_loader_keeps_the_seeds_edges() -> None:
    data = synthetic_graph(2000, 4, avg_degree=10, num_features=4, seed=0)
    batch = next(iter(NeighbourSubgraphLoader(data, batch_size=100, num_neighbours=10, seed=0)(0)))
    plain = next(iter(NeighbourSubgraphLoader(data, batch_size=100, num_neighbours=0, seed=0)(0)))
    # Sampled neighbours give the batch about the seeds' degree; random seeds alone keep almost none.
    assert batch.edge_index.shape[1] > 10 * max(1, plain.edge_index.shape[1])
