"""Clustering metrics against brute force, splits, and the probe."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from contrastkit.graph.evaluate import (
    clustering_scores,
    kmeans_assign,
    linear_probe,
    match_clusters,
    probe_scores,
    random_split,
)


def test_accuracy_equals_best_permutation_by_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 4, 40)
        p = rng.integers(0, 4, 40)
        best = max(float((np.array(perm)[p] == y).mean()) for perm in itertools.permutations(range(4)))
        assert clustering_scores(y, p)["acc"] == pytest.approx(best)


def test_relabelled_clusters_score_perfectly() -> None:
    y = np.repeat(np.arange(3), 10)
    scores = clustering_scores(y, (y + 1) % 3 + 5)
    assert scores == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0, "f1": 1.0})


def test_extra_clusters_map_to_no_class() -> None:
    y = np.array([0, 0, 1, 1])
    assert match_clusters(y, np.array([0, 0, 1, 2])).tolist() == [0, 0, 1, -1]


def test_random_split_is_disjoint_and_sized() -> None:
    train, val, test = random_split(1000, seed=0)
    assert (int(train.sum()), int(val.sum()), int(test.sum())) == (100, 100, 800)
    assert not bool((train & val).any() | (train & test).any() | (val & test).any())


def test_probe_separates_separable_embeddings_and_not_noise() -> None:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(600) % 3
    informative = torch.eye(3)[y] * 3 + torch.randn(600, 3, generator=g)
    noise = torch.randn(600, 3, generator=g)
    masks = random_split(600, seed=1)
    assert linear_probe(informative, y, *masks)["test_acc"] > 0.9
    assert linear_probe(noise, y, *masks)["test_acc"] < 0.5


def test_probe_and_scores_reject_inputs_that_would_score_the_wrong_nodes_or_labels() -> None:
    x, y = torch.randn(20, 3), torch.arange(20) % 2
    train, val, test = random_split(20, seed=0)
    # An integer 0/1 mask would index rows 0 and 1 over and over (and score 100%).
    with pytest.raises(ValueError, match=r"train mask must be a bool tensor \[N\]=20"):
        linear_probe(x, y, train.long(), val, test)
    with pytest.raises(ValueError, match="val mask must be a bool tensor"):
        linear_probe(x, y, train, val[:10], test)
    with pytest.raises(ValueError, match="test mask selects no node"):
        linear_probe(x, y, train, val, torch.zeros(20, dtype=torch.bool))
    with pytest.raises(TypeError, match="labels must be integer class ids"):
        clustering_scores(np.array([0.2, 0.9, 1.5, 1.1]), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="fractions"):
        random_split(10, 0, train=0.7, val=0.7)
    with pytest.raises(ValueError, match="fractions"):
        random_split(10, 0, train=-0.1)


def test_probe_names_its_protocol_and_kmeans_checks_k() -> None:
    data = Data(x=torch.randn(100, 4), y=torch.arange(100) % 2)
    out = probe_scores(torch.randn(100, 4), data, "random_10_10_80", splits=2)
    assert out["protocol"] == "random_10_10_80" and out["splits"] == 2
    with pytest.raises(ValueError, match="train_mask"):
        probe_scores(torch.randn(100, 4), data, "public")
    with pytest.raises(ValueError, match="num_clusters"):
        kmeans_assign(torch.randn(5, 2), 6)


def test_normalised_kmeans_clusters_directions_whatever_the_norms() -> None:
    g = torch.Generator().manual_seed(0)
    directions = torch.eye(3)[torch.arange(90) % 3] + 0.1 * torch.randn(90, 3, generator=g)
    # Norms spread over two orders of magnitude: Euclidean k-means splits by norm, not direction.
    z = directions * torch.logspace(-1, 1, 90)[torch.randperm(90, generator=g)][:, None]
    truth = torch.arange(90) % 3
    on_directions = kmeans_assign(z, 3, seed=0, normalize=True)[0]
    assert clustering_scores(truth, on_directions)["nmi"] == pytest.approx(1.0)
    assert torch.equal(on_directions, kmeans_assign(torch.nn.functional.normalize(z, dim=1), 3, seed=0)[0])
    assert clustering_scores(truth, kmeans_assign(z, 3, seed=0)[0])["nmi"] < 0.9
