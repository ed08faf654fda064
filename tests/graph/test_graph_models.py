"""Encoders and heads: shapes, the conv parameter, and DEC's soft assignment formula."""

from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.nn import SAGEConv

from contrastkit.graph.models import ClusterHead, DGIModel, GRACEModel, GraphEncoder


def test_encoder_shapes_and_conv_parameter() -> None:
    x, edge_index = torch.randn(7, 5), torch.tensor([[0, 1, 2], [1, 2, 3]])
    gcn = GraphEncoder(5, 16, 4, num_layers=3)
    sage = GraphEncoder(5, 16, 4, conv=lambda i, o: SAGEConv(i, o))
    assert gcn(x, edge_index).shape == (7, 4) and sage(x, edge_index).shape == (7, 4)
    assert isinstance(sage.convs[0], SAGEConv) and len(gcn.convs) == 3


def test_encoder_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        GraphEncoder(5, 0, 4)


def test_cluster_head_is_dec_student_t() -> None:
    head = ClusterHead(3, 2, alpha=2.0)
    z = torch.randn(4, 2)
    q = head(z).detach()
    mu = head.centroids.detach()
    for i in range(4):
        kernel = [(1 + float(((z[i] - mu[k]) ** 2).sum()) / 2.0) ** (-(2.0 + 1) / 2) for k in range(3)]
        for k in range(3):
            assert float(q[i, k]) == pytest.approx(kernel[k] / sum(kernel), rel=1e-5)
    assert math.isclose(float(q.sum()), 4.0, rel_tol=1e-6)


def test_cluster_head_init_from_and_checks() -> None:
    head = ClusterHead(2, 3)
    assert not bool(head.initialised)
    head.init_from(torch.ones(2, 3))
    assert bool(head.initialised) and torch.equal(head.centroids.detach(), torch.ones(2, 3))
    assert "initialised" in head.state_dict()
    with pytest.raises(ValueError, match="must be"):
        head.init_from(torch.ones(3, 3))
    with pytest.raises(ValueError, match="num_clusters >= 2"):
        ClusterHead(1, 3)


def test_grace_and_dgi_models_embed_with_the_encoder() -> None:
    x, edge_index = torch.randn(6, 5), torch.tensor([[0, 1], [1, 0]])
    encoder = GraphEncoder(5, 8, 4)
    grace = GRACEModel(encoder, 16)
    assert torch.equal(grace(x, edge_index), encoder(x, edge_index))
    assert grace.projector(grace(x, edge_index)).shape == (6, 4)
    dgi = DGIModel(GraphEncoder(5, 8, 4, num_layers=1))
    pos_z, neg_z, summary = dgi.dgi(x, edge_index)
    assert pos_z.shape == neg_z.shape == (6, 4) and summary.shape == (4,)
    assert torch.isfinite(dgi.dgi.loss(pos_z, neg_z, summary))
