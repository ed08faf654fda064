"""The core's part of ``contrastkit demo``: SimCLR on a synthetic mixture, before/after probe accuracy."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.core import TrainConfig, Trainer, nt_xent


def synthetic_data(n: int, dim: int, classes: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """Classes clustered in a hidden 4-D subspace, drowned by larger nuisance variation elsewhere.

    Returns ``(x [n, dim], labels [n], nuisance_basis [dim, dim - 4])``. The augmentation moves points
    along the nuisance directions only (as crops and colour jitter change what does not define an
    image's class), so a contrastive encoder can learn what raw distances cannot see.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(classes, (n,), generator=g)
    centers = torch.randn(classes, 4, generator=g) * 1.5
    signal = centers[labels] + 0.3 * torch.randn(n, 4, generator=g)
    basis = torch.linalg.qr(torch.randn(dim, dim, generator=g))[0]
    x = torch.cat([signal, 2.0 * torch.randn(n, dim - 4, generator=g)], 1) @ basis.T
    return x, labels, basis[:, 4:]


def knn_accuracy(z: Tensor, labels: Tensor, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy under cosine similarity."""
    zn = nn.functional.normalize(z, dim=-1)
    sim = zn @ zn.T
    sim.fill_diagonal_(-2.0)
    idx = sim.topk(k, dim=1).indices
    votes = torch.nn.functional.one_hot(labels[idx], int(labels.max()) + 1).sum(1)
    return float((votes.argmax(1) == labels).float().mean())


def demo(run_dir: Path, seed: int = 0) -> dict[str, float]:
    x, labels, nuisance = synthetic_data(2048, 32, 6, seed)
    encoder = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 32))
    before = knn_accuracy(encoder(x).detach(), labels)

    def batches(epoch: int) -> list[Tensor]:
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        return [x[order[i : i + 256]] for i in range(0, x.shape[0], 256)]

    def step(model: nn.Module, batch: Tensor) -> Tensor:
        def view(b: Tensor) -> Tensor:
            return b + 2.0 * torch.randn(b.shape[0], nuisance.shape[1]) @ nuisance.T

        return nt_xent(model(view(batch)), model(view(batch)), temperature=0.2)

    cfg = TrainConfig(max_steps=300, lr=3e-3, seed=seed, run_dir=str(run_dir), log_every=10, progress=True)
    Trainer(encoder, step, batches, cfg).fit()
    after = knn_accuracy(encoder(x).detach(), labels)
    raw = knn_accuracy(x, labels)
    return {"knn_acc_raw_input": raw, "knn_acc_random_encoder": before, "knn_acc_simclr": after}
