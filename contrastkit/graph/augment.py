"""Graph augmentations as composable functions ``GraphView -> GraphView``.

Each wraps a ``torch_geometric.utils`` function (``dropout_edge``, ``mask_feature``,
``dropout_node``) and draws from the global torch RNG, which the core :class:`Trainer` seeds and
checkpoints. Compose them with :class:`Compose` or pick one per call with :class:`RandomChoice`.

Example:
    >>> view = Compose([drop_edges(0.2), mask_features(0.3)])
    >>> v1 = view(GraphView(data.x, data.edge_index))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor
from torch_geometric.utils import dropout_edge, dropout_node, mask_feature


class GraphView(NamedTuple):
    """One view of a graph: features ``x`` ``[N, F]`` and ``edge_index`` ``[2, E]``.

    Node dropping keeps ``N`` (dropped nodes lose their edges), so node ``i`` of every view is node
    ``i`` of the graph and views stay aligned for node-level contrast.
    """

    x: Tensor
    edge_index: Tensor


Augmentation = Callable[[GraphView], GraphView]


def _check_probability(p: float, where: str) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{where}: p must be in [0, 1); got {p}. p is the fraction removed.")


def drop_edges(p: float) -> Augmentation:
    """Remove each undirected edge with probability ``p`` (both directions together)."""
    _check_probability(p, "drop_edges")

    def apply(view: GraphView) -> GraphView:
        edge_index, _ = dropout_edge(view.edge_index, p=p, force_undirected=True)
        return GraphView(view.x, edge_index)

    return apply


def mask_features(p: float) -> Augmentation:
    """Zero each feature column with probability ``p`` (the same columns for every node, as GRACE)."""
    _check_probability(p, "mask_features")

    def apply(view: GraphView) -> GraphView:
        x, _ = mask_feature(view.x, p=p, mode="col")
        return GraphView(x, view.edge_index)

    return apply


def drop_nodes(p: float) -> Augmentation:
    """Isolate each node with probability ``p``: its edges go and its features are zeroed."""
    _check_probability(p, "drop_nodes")

    def apply(view: GraphView) -> GraphView:
        edge_index, _, kept = dropout_node(view.edge_index, p=p, num_nodes=view.x.shape[0])
        return GraphView(view.x * kept[:, None].to(view.x.dtype), edge_index)

    return apply


class Compose:
    """Apply augmentations in order."""

    def __init__(self, augmentations: Sequence[Augmentation]) -> None:
        self.augmentations = list(augmentations)

    def __call__(self, view: GraphView) -> GraphView:
        for augment in self.augmentations:
            view = augment(view)
        return view


class RandomChoice:
    """Apply one augmentation drawn uniformly at random per call."""

    def __init__(self, augmentations: Sequence[Augmentation]) -> None:
        if not augmentations:
            raise ValueError("RandomChoice: needs at least one augmentation.")
        self.augmentations = list(augmentations)

    def __call__(self, view: GraphView) -> GraphView:
        i = int(torch.randint(len(self.augmentations), ()))
        return self.augmentations[i](view)
