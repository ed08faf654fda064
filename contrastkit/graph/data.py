"""Graph inputs: validation and cleaning, Planetoid from a local root, pandas tables, a synthetic
planted-partition graph, and a mini-batch loader that needs only plain torch.

Every reader returns a PyG :class:`~torch_geometric.data.Data` with ``x`` ``[N, F]`` float,
``edge_index`` ``[2, E]`` long (undirected, coalesced, no self-loops) and optionally ``y`` ``[N]``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, subgraph, to_undirected

from contrastkit.core import encode_ids
from contrastkit.core.checks import check_positive_int

DEFAULT_CACHE = Path.home() / ".cache" / "contrastkit" / "Planetoid"


def prepare_graph(data: Data) -> Data:
    """Check a graph and return a clean copy: undirected, duplicate edges merged, self-loops removed.

    Isolated nodes are kept (GCN encoders give them their own features; PamC leaves them out of
    its positive term). Edge attributes and weights are dropped: the objectives use the topology.

    Raises:
        TypeError: ``x`` is not floating point or ``edge_index`` is not an integer tensor.
        ValueError: no node features, ``edge_index`` not ``[2, E]``, node ids outside ``[0, N)``,
            labels of the wrong length, or non-finite features.
    """
    where = "prepare_graph"
    if not isinstance(data, Data):
        raise TypeError(f"{where}: expected a torch_geometric.data.Data; got {type(data).__name__}.")
    x = data.x
    if x is None:
        raise ValueError(
            f"{where}: the graph has no node features (data.x is None). Add them, e.g. "
            "torch_geometric.transforms.OneHotDegree(max_degree) or data.x = torch.eye(num_nodes)."
        )
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 2:
        raise TypeError(
            f"{where}: data.x must be a float tensor [N, F]; got "
            f"{getattr(x, 'dtype', type(x).__name__)} with shape {tuple(getattr(x, 'shape', ()))}. Use data.x.float()."
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{where}: data.x contains NaN or inf; impute or drop those features first.")
    n = x.shape[0]
    if n == 0:
        raise ValueError(f"{where}: the graph has no nodes.")
    edge_index = data.edge_index
    if edge_index is None:
        edge_index = torch.empty(2, 0, dtype=torch.long)
    if edge_index.is_floating_point():
        raise TypeError(f"{where}: edge_index must hold integer node ids; got {edge_index.dtype}. Use .long().")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(
            f"{where}: edge_index must be [2, E]; got {tuple(edge_index.shape)}. Transpose an [E, 2] list with .T."
        )
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= n):
        raise ValueError(
            f"{where}: edge_index holds node ids in [{int(edge_index.min())}, {int(edge_index.max())}] "
            f"but there are {n} nodes (ids must lie in [0, {n})). Relabel the nodes or add their features."
        )
    edge_index, _ = remove_self_loops(edge_index.long())
    edge_index = coalesce(to_undirected(edge_index, num_nodes=n), num_nodes=n)
    out = Data(x=x, edge_index=edge_index)
    y = data.y
    if y is not None:
        if y.dim() != 1 or y.shape[0] != n:
            raise ValueError(f"{where}: data.y must be [N]={n}; got {tuple(y.shape)}.")
        if y.is_floating_point() or y.dtype == torch.bool:
            # .long() would truncate 2.7 to 2 and turn NaN into a huge negative class.
            raise TypeError(f"{where}: data.y must hold integer class ids; got {y.dtype}.")
        out.y = y.long()
    for mask in ("train_mask", "val_mask", "test_mask"):
        if mask in data:
            value = data[mask]
            if not isinstance(value, Tensor) or value.dtype != torch.bool or value.shape != (n,):
                raise ValueError(
                    f"{where}: data.{mask} must be a bool tensor [N]={n}; got "
                    f"{getattr(value, 'dtype', type(value).__name__)} {tuple(getattr(value, 'shape', ()))}."
                )
            out[mask] = value
    return out


def load_planetoid(root: str | Path, name: str = "Cora", cache_dir: str | Path | None = None) -> Data:
    """A Planetoid graph (Cora, CiteSeer, PubMed) from ``root/<name>/raw``, with no download.

    PyG writes ``processed/`` next to ``raw/``, so the raw files are first copied to ``cache_dir``
    (default ``~/.cache/contrastkit/Planetoid``), under a folder keyed by the raw folder's path and
    its files' names, sizes and times: another root, or changed files, get their own copy. The
    public split masks are kept.

    Raises:
        ValueError: when ``root/<name>/raw`` does not exist.
    """
    from torch_geometric.datasets import Planetoid

    raw = Path(root) / name / "raw"
    if not raw.is_dir():
        raise ValueError(
            f"load_planetoid: no raw files at {raw}. Pass the folder that contains '{name}/raw/ind.*' "
            "(e.g. ../shared/data/Planetoid)."
        )
    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in raw.iterdir() if f.is_file())
    key = hashlib.sha256(repr((str(raw.resolve()), files)).encode()).hexdigest()[:16]
    cache = (Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE) / key
    target = cache / name / "raw"
    if not target.is_dir():  # copied whole, then renamed into place: an interrupted copy is never reused
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=".raw-", dir=target.parent))
        shutil.copytree(raw, partial, dirs_exist_ok=True)
        try:
            os.replace(partial, target)
        except OSError:  # another process put its copy there first
            shutil.rmtree(partial, ignore_errors=True)
    return prepare_graph(Planetoid(str(cache), name, split="public")[0])


def from_pandas(
    edges: pd.DataFrame,
    features: pd.DataFrame,
    *,
    source: str = "source",
    target: str = "target",
    labels: pd.Series | None = None,
) -> Data:
    """A graph from an edge table and a feature table indexed by node id (any hashable ids).

    Node ``i`` of the result is ``features.index[i]``; ``labels`` (optional) is indexed the same way.

    Raises:
        ValueError: missing columns, or edges that name nodes absent from ``features.index``.
    """
    where = "from_pandas"
    for col in (source, target):
        if col not in edges.columns:
            raise ValueError(f"{where}: edge table has no column {col!r}; columns are {list(edges.columns)}.")
    if edges.empty:  # graph contrast needs neighbourhoods: an empty edge file is a mistake, not a graph
        raise ValueError(f"{where}: the edge table has no rows; a graph without edges has no neighbourhoods to contrast.")
    if not features.index.is_unique:
        raise ValueError(f"{where}: features.index must list each node once; it has duplicates.")
    codes = encode_ids(features.index.to_numpy())
    lookup = pd.Series(codes.numpy(), index=features.index)
    ends = [edges[col] for col in (source, target)]
    missing = sorted({str(v) for col in ends for v in col[~col.isin(features.index)]})
    if missing:
        raise ValueError(
            f"{where}: edges refer to {len(missing)} node ids with no features, e.g. {missing[:5]}. "
            "Add rows for them to the feature table or drop those edges."
        )
    edge_index = torch.as_tensor(np.stack([lookup[col].to_numpy() for col in ends]), dtype=torch.long)
    x = torch.tensor(features.to_numpy(dtype=np.float32))
    data = Data(x=x, edge_index=edge_index)
    if labels is not None:
        data.y = encode_ids(labels.reindex(features.index).to_numpy())
    return prepare_graph(data)


def synthetic_graph(
    num_nodes: int = 2000,
    num_classes: int = 5,
    *,
    avg_degree: float = 10.0,
    homophily: float = 0.8,
    num_features: int = 64,
    feature_signal: float = 1.0,
    seed: int = 0,
) -> Data:
    r"""A planted-partition (stochastic block model) graph with class-dependent features.

    Each of the ``N * avg_degree / 2`` undirected edges starts at a uniform node ``u``; with
    probability ``homophily`` it ends at a uniform node of ``u``'s class, otherwise at a uniform
    node of the whole graph. Features are ``x_i = signal * mu_{y_i} + eps_i`` with
    ``mu_c, eps_i ~ N(0, I)``. Sampling is O(E): PyG's ``stochastic_blockmodel_graph`` builds an
    ``N x N`` probability matrix and does not reach the 200k-node graphs of the benchmark.

    Shapes: ``x`` ``[N, num_features]``, ``edge_index`` ``[2, ~N * avg_degree]``, ``y`` ``[N]``.
    """
    where = "synthetic_graph"
    for name, value in (("num_nodes", num_nodes), ("num_classes", num_classes), ("num_features", num_features)):
        check_positive_int(name, value, where)
    if num_classes < 1 or num_nodes < num_classes:
        raise ValueError(f"{where}: need 1 <= num_classes <= num_nodes; got {num_classes} and {num_nodes}.")
    if not 0.0 <= homophily <= 1.0 or avg_degree <= 0:
        raise ValueError(f"{where}: homophily must be in [0, 1] and avg_degree > 0; got {homophily}, {avg_degree}.")
    g = torch.Generator().manual_seed(seed)
    y = torch.randperm(num_nodes, generator=g) % num_classes  # balanced classes in random order
    order = torch.argsort(y)
    counts = torch.bincount(y, minlength=num_classes)
    starts = torch.cumsum(counts, 0) - counts
    m = int(num_nodes * avg_degree / 2)
    src = torch.randint(num_nodes, (m,), generator=g)
    within = torch.rand(m, generator=g) < homophily
    cls = y[src]
    offset = (torch.rand(m, generator=g) * counts[cls]).long()
    same_class = order[starts[cls] + offset]
    anywhere = torch.randint(num_nodes, (m,), generator=g)
    dst = torch.where(within, same_class, anywhere)
    mu = torch.randn(num_classes, num_features, generator=g)
    x = feature_signal * mu[y] + torch.randn(num_nodes, num_features, generator=g)
    return prepare_graph(Data(x=x, edge_index=torch.stack([src, dst]), y=y))


class NeighbourSubgraphLoader:
    """Mini-batches for graphs too large for one step, with plain torch (no pyg-lib / torch-sparse).

    Each epoch shuffles the nodes into batches of ``batch_size`` seeds (a remainder under half a
    batch joins the last one); each seed adds up to
    ``num_neighbours`` neighbours sampled with replacement, and the batch is the subgraph induced on
    seeds and neighbours (:func:`torch_geometric.utils.subgraph`, relabelled to ``0..n-1``). The
    sampled neighbours keep every seed's own edges in the batch, which an induced subgraph of random
    seeds alone would lose. ``batch.n_id`` maps batch nodes back to graph ids.

    Call it with the epoch (the :class:`~contrastkit.core.Trainer` convention): the batches of an
    epoch depend only on ``(seed, epoch)``.
    """

    def __init__(self, data: Data, batch_size: int, num_neighbours: int = 10, seed: int = 0) -> None:
        if batch_size <= 0 or num_neighbours < 0:
            raise ValueError(
                f"NeighbourSubgraphLoader: batch_size must be > 0 and num_neighbours >= 0; "
                f"got {batch_size} and {num_neighbours}."
            )
        self.data = data
        self.batch_size = batch_size
        self.num_neighbours = num_neighbours
        self.seed = seed
        n = data.num_nodes
        row, col = data.edge_index
        perm = torch.argsort(row, stable=True)
        self.col = col[perm]
        self.degree = torch.bincount(row, minlength=n)
        self.rowptr = torch.cumsum(self.degree, 0) - self.degree

    def __len__(self) -> int:
        return len(self._bounds())

    def _bounds(self) -> list[tuple[int, int]]:
        """Seed ranges of an epoch: a remainder under half a batch joins the last full batch, so no
        step trains on a handful of nodes (too few for K meta-nodes, or with no edge at all)."""
        n, size = self.data.num_nodes, self.batch_size
        starts = list(range(0, n, size))
        if len(starts) > 1 and n - starts[-1] < size // 2:
            starts.pop()
        return list(zip(starts, [*starts[1:], n], strict=True))

    def __call__(self, epoch: int) -> Iterator[Data]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(self.data.num_nodes, generator=g)
        for start, stop in self._bounds():
            yield self.batch(order[start:stop], g)

    def batch(self, seeds: Tensor, generator: torch.Generator | None = None) -> Data:
        """The subgraph induced on ``seeds`` and up to ``num_neighbours`` sampled neighbours of each."""
        parts = [seeds]
        deg = self.degree[seeds]
        has = deg > 0
        if self.num_neighbours and bool(has.any()):
            s = seeds[has]
            pick = (torch.rand(s.numel(), self.num_neighbours, generator=generator) * deg[has, None]).long()
            parts.append(self.col[self.rowptr[s, None] + pick].flatten())
        nodes = torch.unique(torch.cat(parts))
        edge_index, _ = subgraph(nodes, self.data.edge_index, relabel_nodes=True, num_nodes=self.data.num_nodes)
        out = Data(x=self.data.x[nodes], edge_index=edge_index, n_id=nodes)
        if self.data.y is not None:
            out.y = self.data.y[nodes]
        return out
