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


def pcl_concentration(emb, assign, centroids, alpha=10.0):  # type: ignore[no-untyped-def]
    """PCL's run_kmeans density, transcribed in numpy (facebookresearch/PCL, main_pcl.py)."""
    import numpy as np

    k = len(centroids)
    dist = [[float(np.linalg.norm(emb[i] - centroids[c])) for i, c in enumerate(assign) if c == j] for j in range(k)]
    density = np.zeros(k)
    for j, d in enumerate(dist):
        if len(d) > 1:
            density[j] = np.mean(d) / np.log(len(d) + alpha)
    dmax = density.max()  # "if cluster only has one point, use the max to estimate its concentration"
    for j, d in enumerate(dist):
        if len(d) <= 1:
            density[j] = dmax
    density = density.clip(np.percentile(density, 10), np.percentile(density, 90))
    return density / density.mean()


def test_concentration_matches_pcl_with_a_singleton_and_an_empty_cluster() -> None:
    g = torch.Generator().manual_seed(3)
    emb = torch.randn(30, 4, generator=g, dtype=torch.float64)
    assign = torch.randint(0, 4, (30,), generator=g)
    assign[:2] = 4  # cluster 4: two members; cluster 5: one; cluster 6: none
    assign[2] = 5
    assign[assign == 6] = 0
    centroids = torch.randn(7, 4, generator=g, dtype=torch.float64)
    expected = pcl_concentration(emb.numpy(), assign.tolist(), centroids.numpy())
    # Was the median of the others for clusters 5 and 6, which also moved every clipped value.
    assert torch.allclose(estimate_concentration(emb, assign, centroids).double(), torch.tensor(expected), rtol=1e-5)


def test_concentration_of_clusters_sitting_on_their_centroids_is_not_nan() -> None:
    # Every distance 0: phi / phi.mean() was 0 / 0 = NaN for every cluster.
    centroids = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assign = torch.tensor([0, 0, 1, 1])
    phi = estimate_concentration(centroids[assign], assign, centroids)
    assert torch.equal(phi, torch.ones(2))


def test_more_bad_input_is_named() -> None:
    q, assign = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    # A [K, 1] centroid matrix broadcast silently; [K, 2] failed in a subtraction; an empty batch gave ones.
    with pytest.raises(ValueError, match="embeddings and centroids must share the embedding size D; got 3 and 1"):
        estimate_concentration(q, assign, torch.randn(2, 1))
    with pytest.raises(ValueError, match="embeddings is empty"):
        estimate_concentration(q[:0], assign[:0], torch.randn(2, 3))
    with pytest.raises(TypeError, match=r"prototypes\[0\] and query must share dtype"):
        proto_nce(q, [torch.randn(2, 3, dtype=torch.float64)], [assign], [torch.ones(2)])
    with pytest.raises(ValueError, match="finite and > 0"):
        proto_nce(q, [torch.randn(2, 3)], [assign], [torch.tensor([1.0, float("inf")])])
    with pytest.raises(TypeError, match=r"assignments\[0\] must be a torch.Tensor; got list"):
        proto_nce(q, [torch.randn(2, 3)], [[0, 1, 0, 1]], [torch.ones(2)])  # type: ignore[list-item]
