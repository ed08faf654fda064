"""contrastkit.graph: node-level graph contrastive learning on PyTorch Geometric.

PamC (parameter-free meta-node negatives, linear in the graph), GRACE (dense node-level InfoNCE
over two augmented views) and DGI (PyG's ``DeepGraphInfomax``), with encoders as PyG modules,
composable augmentations, readers (Planetoid from a local root, pandas tables, any ``Data``), a
built-in planted-partition graph, a plain-torch mini-batch loader, and clustering / probe
evaluation with named split protocols.

Example:
    >>> from contrastkit.graph import GraphTrainConfig, synthetic_graph, train_graph
    >>> result = train_graph(synthetic_graph(), GraphTrainConfig(method="pamc", steps=100))
    >>> result.embeddings.shape, result.assignments.shape  # doctest: +SKIP
"""

from __future__ import annotations

from .augment import Compose, GraphView, RandomChoice, drop_edges, drop_nodes, mask_features
from .data import NeighbourSubgraphLoader, from_pandas, load_planetoid, prepare_graph, synthetic_graph
from .evaluate import (
    clustering_scores,
    kmeans_assign,
    linear_probe,
    match_clusters,
    probe_scores,
    random_split,
)
from .models import ClusterHead, DGIModel, GRACEModel, GraphEncoder, PamCModel, ProjectionHead
from .objectives import (
    GRACE,
    PamC,
    clustering_kl,
    grace_loss,
    hard_assignments,
    meta_nodes,
    neighbourhood_weights,
    pamc_loss,
    target_distribution,
)
from .train import GraphEmbedding, GraphTrainConfig, build_model, embed, train_graph

__all__ = [
    "GRACE",
    "ClusterHead",
    "Compose",
    "DGIModel",
    "GRACEModel",
    "GraphEmbedding",
    "GraphEncoder",
    "GraphTrainConfig",
    "GraphView",
    "NeighbourSubgraphLoader",
    "PamC",
    "PamCModel",
    "ProjectionHead",
    "RandomChoice",
    "build_model",
    "clustering_kl",
    "clustering_scores",
    "drop_edges",
    "drop_nodes",
    "embed",
    "from_pandas",
    "grace_loss",
    "hard_assignments",
    "kmeans_assign",
    "linear_probe",
    "load_planetoid",
    "mask_features",
    "match_clusters",
    "meta_nodes",
    "neighbourhood_weights",
    "pamc_loss",
    "prepare_graph",
    "probe_scores",
    "random_split",
    "synthetic_graph",
    "target_distribution",
    "train_graph",
]
