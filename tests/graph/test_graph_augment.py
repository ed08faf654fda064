"""Augmentations: what each removes, and that views stay aligned node by node."""

from __future__ import annotations

import pytest
import torch

from contrastkit.graph.augment import Compose, GraphView, RandomChoice, drop_edges, drop_nodes, mask_features
from contrastkit.graph.data import synthetic_graph


@pytest.fixture
def view() -> GraphView:
    data = synthetic_graph(1000, 4, avg_degree=10, num_features=50, seed=0)
    return GraphView(data.x, data.edge_index)


def _edge_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in edge_index.T.tolist()}


def test_drop_edges_keeps_both_directions_and_drops_about_p(view: GraphView) -> None:
    torch.manual_seed(0)
    out = drop_edges(0.3)(view)
    kept = _edge_set(out.edge_index)
    assert kept <= _edge_set(view.edge_index)
    assert all((b, a) in kept for a, b in kept)
    assert len(kept) / view.edge_index.shape[1] == pytest.approx(0.7, abs=0.03)
    assert out.x is view.x


def test_mask_features_zeroes_whole_columns(view: GraphView) -> None:
    torch.manual_seed(0)
    out = mask_features(0.4)(view)
    zeroed = (out.x == 0).all(0)
    assert 0.2 < float(zeroed.float().mean()) < 0.6
    assert torch.equal(out.x[:, ~zeroed], view.x[:, ~zeroed])


def test_drop_nodes_isolates_nodes_and_keeps_n(view: GraphView) -> None:
    torch.manual_seed(0)
    out = drop_nodes(0.2)(view)
    dropped = (out.x == 0).all(1)
    assert out.x.shape == view.x.shape
    assert 0.1 < float(dropped.float().mean()) < 0.3
    assert not bool(dropped[out.edge_index.flatten()].any())


def test_compose_applies_in_order_and_random_choice_uses_each(view: GraphView) -> None:
    torch.manual_seed(0)
    both = Compose([drop_edges(0.5), mask_features(0.5)])(view)
    assert both.edge_index.shape[1] < view.edge_index.shape[1] and bool((both.x == 0).all(0).any())
    picks = set()
    choice = RandomChoice([drop_edges(0.5), mask_features(0.5)])
    for _ in range(20):
        out = choice(view)
        picks.add("edges" if out.edge_index.shape[1] < view.edge_index.shape[1] else "features")
    assert picks == {"edges", "features"}


@pytest.mark.parametrize("make", [drop_edges, mask_features, drop_nodes])
def test_probability_must_be_in_unit_interval(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        make(1.0)
