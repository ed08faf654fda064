"""ProtoNCE's prototype term and PCL's concentration estimate."""

from __future__ import annotations

import pytest
import references as ref
import torch

from contrastkit.core import estimate_concentration, proto_nce


def test_matches_reference_over_two_clusterings() -> None:
    q = torch.randn(8, 4, dtype=torch.float64)
    protos = [torch.randn(3, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)]
    assign = [torch.randint(3, (8,)), torch.randint(5, (8,))]
    phi = [torch.rand(3, dtype=torch.float64) + 0.1, torch.rand(5, dtype=torch.float64) + 0.1]
    assert proto_nce(q, protos, assign, phi).item() == pytest.approx(ref.proto_nce(q, protos, assign, phi), rel=1e-9)
    # Gradients reach the query, the prototypes and the concentrations.
    qg = q.clone().requires_grad_()
    pg = [p.clone().requires_grad_() for p in protos]
    phig = [c.clone().requires_grad_() for c in phi]
    assert torch.autograd.gradcheck(
        lambda x, p0, p1, c0, c1: proto_nce(x, [p0, p1], assign, [c0, c1]), (qg, *pg, *phig)
    )


def test_concentration_is_larger_for_looser_clusters() -> None:
    torch.manual_seed(0)
    centroids = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    tight = centroids[0] + 0.1 * torch.randn(50, 2)
    loose = centroids[1] + 2.0 * torch.randn(50, 2)
    emb = torch.cat([tight, loose])
    assign = torch.cat([torch.zeros(50, dtype=torch.long), torch.ones(50, dtype=torch.long)])
    phi = estimate_concentration(emb, assign, centroids)
    assert phi[1] > phi[0]


def test_bad_input() -> None:
    q = torch.randn(4, 3)
    with pytest.raises(ValueError, match="outside"):
        estimate_concentration(q, torch.tensor([0, 1, 2, 0]), torch.randn(2, 3))
    with pytest.raises(TypeError, match="integer"):
        estimate_concentration(q, torch.zeros(4), torch.randn(2, 3))
    with pytest.raises(ValueError, match="outside"):
        proto_nce(q, [torch.randn(2, 3)], [torch.tensor([0, 1, 2, 0])], [torch.ones(2)])
    with pytest.raises(TypeError, match="integer"):
        proto_nce(q, [torch.randn(2, 3)], [torch.zeros(4)], [torch.ones(2)])
    with pytest.raises(ValueError, match="same length"):
        proto_nce(q, [torch.randn(2, 3)], [], [])
    with pytest.raises(ValueError, match="batch is empty"):
        proto_nce(q[:0], [torch.randn(2, 3)], [torch.zeros(0, dtype=torch.long)], [torch.ones(2)])
