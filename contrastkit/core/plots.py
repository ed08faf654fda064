"""A look at learnt embeddings: their 2-D principal-component projection, coloured by groups."""

from __future__ import annotations

import os

import torch
from torch import Tensor


def principal_components(embeddings: Tensor, k: int = 2) -> Tensor:
    r"""The rows of ``embeddings`` projected on their top ``k`` principal directions.

    :math:`Y = (X - \bar X) V_k` with :math:`V_k` the top right-singular vectors of the centred
    :math:`X` (exact SVD in float64, so the projection is deterministic up to the sign of each axis).

    Shapes: embeddings ``[N, D]`` -> ``[N, k]`` (float64).
    """
    if embeddings.ndim != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"principal_components: need [N, D] with N >= 2; got {tuple(embeddings.shape)}.")
    if not 1 <= k <= embeddings.shape[1]:
        raise ValueError(f"principal_components: k must be in [1, D={embeddings.shape[1]}]; got {k}.")
    x = embeddings.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError("principal_components: embeddings contain NaN or inf.")
    x = x - x.mean(0)
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    projected: Tensor = x @ vh[:k].T
    return projected


def plot_embeddings(
    embeddings: Tensor,
    colourings: dict[str, Tensor],
    path: str | os.PathLike[str],
    *,
    max_points: int = 5000,
    seed: int = 0,
    title: str = "",
) -> None:
    """Scatter the 2-D principal components of ``embeddings``, one panel per colouring, saved as PNG.

    Args:
        embeddings: ``[N, D]``.
        colourings: panel title -> ``[N]`` integer group per point (labels, learnt clusters ...).
        path: the PNG to write.
        max_points: plot a random subset of this many points when N is larger (seeded by ``seed``).

    Raises:
        ValueError: no colouring, a colouring whose length is not N, or what
            :func:`principal_components` rejects.
    """
    if not colourings:
        raise ValueError("plot_embeddings: give at least one colouring (e.g. {'label': y}).")
    n = embeddings.shape[0]
    for name, groups in colourings.items():
        if groups.ndim != 1 or groups.shape[0] != n:
            raise ValueError(f"plot_embeddings: colouring {name!r} has shape {tuple(groups.shape)}; expected [{n}].")
    keep = torch.arange(n)
    if n > max_points:
        keep = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max_points].sort().values
    points = principal_components(embeddings[keep]).numpy()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(colourings), figsize=(4.5 * len(colourings), 4), squeeze=False)
    for ax, (name, groups) in zip(axes[0], colourings.items(), strict=True):
        ax.scatter(points[:, 0], points[:, 1], c=groups[keep].cpu().numpy(), cmap="tab10", s=4, alpha=0.7)
        ax.set_title(f"{name} ({len(keep):,} of {n:,} points)" if n > max_points else name)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
