"""The core's part of ``contrastkit demo``: SimCLR on a synthetic mixture, before/after probe accuracy."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.core import TrainConfig, Trainer, nt_xent


def synthetic_views(n: int, dim: int, classes: int, seed: int) -> tuple[Tensor, Tensor]:
    """Class-clustered points in a random 2-D subspace plus nuisance noise in the other dimensions."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(classes, (n,), generator=g)
    centers = torch.randn(classes, 2, generator=g) * 3
    signal = centers[labels] + 0.3 * torch.randn(n, 2, generator=g)
    basis = torch.linalg.qr(torch.randn(dim, dim, generator=g))[0]
    x = torch.cat([signal, 2.0 * torch.randn(n, dim - 2, generator=g)], 1) @ basis.T
    return x, labels


def knn_accuracy(z: Tensor, labels: Tensor, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy under cosine similarity."""
    zn = nn.functional.normalize(z, dim=-1)
    sim = zn @ zn.T
    sim.fill_diagonal_(-2.0)
    idx = sim.topk(k, dim=1).indices
    votes = torch.nn.functional.one_hot(labels[idx], int(labels.max()) + 1).sum(1)
    return float((votes.argmax(1) == labels).float().mean())


def demo(run_dir: Path, seed: int = 0) -> dict[str, float]:
    x, labels = synthetic_views(2048, 32, 6, seed)
    encoder = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 32))
    before = knn_accuracy(encoder(x).detach(), labels)

    def batches(epoch: int) -> list[Tensor]:
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        return [x[order[i : i + 256]] for i in range(0, x.shape[0], 256)]

    def step(model: nn.Module, batch: Tensor) -> Tensor:
        # Views: feature noise + random feature dropout, the tabular analogue of crops.
        v1 = batch + 0.8 * torch.randn_like(batch)
        v2 = batch * (torch.rand_like(batch) > 0.2) + 0.8 * torch.randn_like(batch)
        return nt_xent(model(v1), model(v2), temperature=0.2)

    cfg = TrainConfig(max_steps=300, lr=3e-3, seed=seed, run_dir=str(run_dir), log_every=10, progress=True)
    Trainer(encoder, step, batches, cfg).fit()
    after = knn_accuracy(encoder(x).detach(), labels)
    raw = knn_accuracy(x, labels)
    return {"knn_acc_raw_input": raw, "knn_acc_random_encoder": before, "knn_acc_simclr": after}
