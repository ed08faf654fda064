"""Evaluation of node embeddings: clustering (ACC with Hungarian matching, NMI, ARI, macro F1) and a
logistic-regression probe, with the split protocol named in every result.

Protocols:

* ``"public"``: the Planetoid public split (20 labels per class, 500 validation, 1000 test nodes),
  read from ``data.train_mask`` / ``val_mask`` / ``test_mask``.
* ``"random_10_10_80"``: random 10 % train / 10 % validation / 80 % test nodes, as GRACE reports;
  averaged over several random splits.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score
from torch import Tensor
from torch_geometric.data import Data

Protocol = Literal["public", "random_10_10_80"]
PROBE_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


def _as_numpy_labels(name: str, values: Tensor | np.ndarray) -> np.ndarray:
    arr = values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D labels; got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        # A cast would truncate 0.9 to 0 and score the truncated labels.
        raise TypeError(f"{name} must be integer class ids; got dtype {arr.dtype}.")
    return arr.astype(np.int64)


def match_clusters(labels: Tensor | np.ndarray, pred: Tensor | np.ndarray) -> np.ndarray:
    """Relabel ``pred`` by the one-to-one cluster -> class map that maximises agreement (Hungarian).

    Clusters left without a class (more clusters than classes) map to -1, i.e. always wrong.
    Shapes: ``[N]``, ``[N]`` -> ``[N]``.
    """
    y = _as_numpy_labels("labels", labels)
    p = _as_numpy_labels("pred", pred)
    if y.shape != p.shape:
        raise ValueError(f"match_clusters: labels and pred must have the same length; got {y.shape} and {p.shape}.")
    classes, y_idx = np.unique(y, return_inverse=True)
    clusters, p_idx = np.unique(p, return_inverse=True)
    counts = np.zeros((clusters.size, classes.size), dtype=np.int64)
    np.add.at(counts, (p_idx, y_idx), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.full(clusters.size, -1, dtype=np.int64)
    mapping[rows] = classes[cols]
    return mapping[p_idx]


def clustering_scores(labels: Tensor | np.ndarray, pred: Tensor | np.ndarray) -> dict[str, float]:
    """``acc`` (after :func:`match_clusters`), ``nmi``, ``ari`` and macro ``f1`` (after matching)."""
    y = _as_numpy_labels("labels", labels)
    p = _as_numpy_labels("pred", pred)
    matched = match_clusters(y, p)
    return {
        "acc": float((matched == y).mean()),
        "nmi": float(normalized_mutual_info_score(y, p)),
        "ari": float(adjusted_rand_score(y, p)),
        "f1": float(f1_score(y, matched, average="macro", labels=np.unique(y))),
    }


def kmeans_assign(
    z: Tensor, num_clusters: int, seed: int = 0, n_init: int = 10, *, normalize: bool = False
) -> tuple[Tensor, Tensor]:
    r"""k-means on embeddings. ``[N, D] -> (assignments [N] long, centroids [K, D] float32)``.

    ``normalize=True`` clusters the directions :math:`z_i / \|z_i\|` (centroids in that space):
    the contrastive objectives here score cosine similarities, so an embedding's norm carries no
    meaning for them and would otherwise weigh in the Euclidean distances. The benchmark clusters
    every method's embeddings this way.
    """
    if not 2 <= num_clusters <= z.shape[0]:
        raise ValueError(f"kmeans_assign: need 2 <= num_clusters <= N={z.shape[0]}; got {num_clusters}.")
    x = z.detach().cpu().double()
    if normalize:
        x = F.normalize(x, dim=1)
    km = KMeans(num_clusters, n_init=n_init, random_state=seed).fit(x.numpy())
    return torch.as_tensor(km.labels_, dtype=torch.long), torch.as_tensor(km.cluster_centers_, dtype=torch.float32)


def random_split(num_nodes: int, seed: int, train: float = 0.1, val: float = 0.1) -> tuple[Tensor, Tensor, Tensor]:
    """Boolean ``(train, val, test)`` masks ``[N]`` of a random ``train / val / rest`` node split."""
    if not (0 < train < 1 and 0 < val < 1 and train + val < 1):
        raise ValueError(f"random_split: need fractions 0 < train, val and train + val < 1; got {train}, {val}.")
    perm = torch.randperm(num_nodes, generator=torch.Generator().manual_seed(seed))
    n_train, n_val = int(round(train * num_nodes)), int(round(val * num_nodes))
    masks = [torch.zeros(num_nodes, dtype=torch.bool) for _ in range(3)]
    masks[0][perm[:n_train]] = True
    masks[1][perm[n_train : n_train + n_val]] = True
    masks[2][perm[n_train + n_val :]] = True
    return masks[0], masks[1], masks[2]


def linear_probe(z: Tensor, labels: Tensor, train: Tensor, val: Tensor, test: Tensor) -> dict[str, float]:
    """L2-regularised logistic regression on L2-normalised embeddings; C picked on the validation nodes.

    Returns ``{"val_acc", "test_acc", "C"}``.
    """
    n = z.shape[0]
    for name, mask in (("train", train), ("val", val), ("test", test)):
        if mask.dtype != torch.bool or mask.shape != (n,):
            # An integer 0/1 mask would index rows 0 and 1 over and over.
            raise ValueError(f"linear_probe: the {name} mask must be a bool tensor [N]={n}; got {mask.dtype} {tuple(mask.shape)}.")
        if not bool(mask.any()):
            raise ValueError(f"linear_probe: the {name} mask selects no node.")
    if labels.shape != (n,):
        raise ValueError(f"linear_probe: labels must be [N]={n}; got {tuple(labels.shape)}.")
    x = F.normalize(z.detach().cpu().double(), dim=1).numpy()
    y = labels.cpu().numpy()
    best: tuple[float, float, float] | None = None
    for c in PROBE_C_GRID:
        clf = LogisticRegression(C=c, max_iter=2000).fit(x[train.numpy()], y[train.numpy()])
        val_acc = float(clf.score(x[val.numpy()], y[val.numpy()]))
        if best is None or val_acc > best[0]:
            best = (val_acc, float(clf.score(x[test.numpy()], y[test.numpy()])), c)
    assert best is not None
    return {"val_acc": best[0], "test_acc": best[1], "C": best[2]}


def probe_scores(z: Tensor, data: Data, protocol: Protocol, splits: int = 5, seed: int = 0) -> dict[str, object]:
    """Probe accuracy under a named protocol: ``{"protocol", "test_acc", "test_acc_std", "splits"}``."""
    if data.y is None:
        raise ValueError("probe_scores: the graph has no labels (data.y); a probe needs them.")
    if protocol == "public":
        if "train_mask" not in data:
            raise ValueError("probe_scores: protocol 'public' needs data.train_mask/val_mask/test_mask (Planetoid).")
        masks = [(data.train_mask.cpu(), data.val_mask.cpu(), data.test_mask.cpu())]
    elif protocol == "random_10_10_80":
        masks = [random_split(data.num_nodes, seed + i) for i in range(splits)]
    else:
        raise ValueError(f"probe_scores: protocol must be 'public' or 'random_10_10_80'; got {protocol!r}.")
    accs = [linear_probe(z, data.y, *m)["test_acc"] for m in masks]
    return {"protocol": protocol, "test_acc": float(np.mean(accs)), "test_acc_std": float(np.std(accs)), "splits": len(accs)}
