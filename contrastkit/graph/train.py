"""Train PamC, GRACE or DGI on a PyG graph through the core :class:`~contrastkit.core.Trainer`.

:func:`train_graph` takes a :class:`~torch_geometric.data.Data` and returns node embeddings and
cluster assignments. One optimizer step is one pass over the graph (an epoch) when
``batch_size`` is None, else one :class:`~.data.NeighbourSubgraphLoader` batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from contrastkit.core import TrainConfig, Trainer, data_fingerprint, resolve_device

from .augment import Compose, GraphView, drop_edges, mask_features
from .data import NeighbourSubgraphLoader, prepare_graph
from .evaluate import kmeans_assign
from .models import Activation, DGIModel, GRACEModel, GraphEncoder, PamCModel
from .objectives import GRACE, Aggregate, AssignmentMode, PamC, TemperatureMode, neighbourhood_weights

Method = Literal["pamc", "grace", "dgi"]
MetaNodeSource = Literal["head", "kmeans"]
METHODS: tuple[Method, ...] = ("pamc", "grace", "dgi")


@dataclass(frozen=True)
class GraphTrainConfig:
    """Settings of :func:`train_graph`. Defaults follow GRACE's Cora setup where methods share them."""

    method: Method = "pamc"
    """``"pamc"``, ``"grace"`` or ``"dgi"``."""
    steps: int = 200
    """Optimizer steps (full-graph epochs when ``batch_size`` is None)."""
    lr: float = 5e-4
    """AdamW learning rate."""
    weight_decay: float = 1e-5
    """AdamW weight decay."""
    hidden_channels: int = 256
    """Width of the encoder's inner layers."""
    out_channels: int = 128
    """Embedding size D."""
    num_layers: int = 2
    """Message-passing layers of the encoder."""
    activation: Activation | None = None
    """Encoder activation ``"relu"``, ``"prelu"`` or ``"elu"``; None picks the method's own: ReLU for
    GRACE (its Cora setup), PReLU for DGI and PamC (ReLU's non-negative outputs cannot point
    meta-nodes in opposite directions; measured before the cluster-head warm-up: Cora NMI 0.37 with
    PReLU vs 0.18 with ReLU)."""
    temperature: float = 0.4
    """tau of GRACE and PamC (PamC divides by it unless ``temperature_mode="multiply"``)."""
    proj_channels: int = 128
    """GRACE projection head width."""
    drop_edge: tuple[float, float] = (0.2, 0.4)
    """GRACE: edge-drop probability of view 1 and view 2."""
    mask_feature: tuple[float, float] = (0.3, 0.4)
    """GRACE: feature-mask probability of view 1 and view 2."""
    chunk_size: int | None = None
    """GRACE: tile the N x 2N logits in row chunks (same loss, O(N * chunk) memory)."""
    num_clusters: int | None = None
    """K: PamC's clusters and the k-means of the other methods (default: the number of classes in y)."""
    hops: int = 1
    """PamC: positives from the r-hop normalised adjacency."""
    cumulative_hops: bool = False
    """PamC: positives weighted by :math:`\\sum_{t \\le r} \\hat A^t` instead of :math:`\\hat A^r`
    (the reference code's ``--influence``)."""
    cluster_weight: float = 0.1
    """PamC: weight of DEC's KL(P || Q) term."""
    assignment: AssignmentMode = "hard"
    """PamC: meta-nodes from ``"hard"`` (argmax, reference code) or ``"soft"`` assignments. Hard is the
    default: on the synthetic graph soft meta-nodes from near-uniform early assignments all sit at
    the graph mean and the embeddings did not separate (see the README)."""
    aggregate: Aggregate = "mean"
    """PamC: meta-node as the ``"mean"`` or the ``"sum"`` (reference code) of its members."""
    temperature_mode: TemperatureMode = "divide"
    """PamC: similarity ``/ tau`` (``"divide"``) or ``* tau`` (``"multiply"``, reference code)."""
    meta_nodes: MetaNodeSource = "head"
    """PamC: meta-node memberships from the clustering head (``"head"``: its argmax or soft
    assignments, per ``assignment``; the paper and the reference code) or from k-means on the
    L2-normalised embeddings of the whole graph, refreshed every ``recluster_every`` steps
    (``"kmeans"``, hard; full-graph training only). Either way the DEC term trains the head, whose
    argmax is the returned ``assignments``. On Cora "kmeans" raised the NMI (see the README)."""
    warmup_steps: int = 150
    """PamC: steps during which the head's centroids are re-set by k-means on the current embeddings
    every ``recluster_every`` steps (they are set once before the first step in any case); after it
    only the loss moves them. Centroids set once on the untrained encoder fall behind it as it moves:
    on Cora the hard argmax then put ~2,400 of 2,708 nodes in one cluster within 25 steps, and the
    meta-node negatives had nothing left to separate (see the README)."""
    recluster_every: int = 25
    """PamC: k-means period during the warm-up (each is one full-graph forward and a k-means)."""
    batch_size: int | None = None
    """Seed nodes per mini-batch (:class:`NeighbourSubgraphLoader`); None trains on the whole graph."""
    num_neighbours: int = 10
    """Sampled neighbours per seed node in mini-batch mode."""
    seed: int = 0
    """Seed of the model, augmentations, batches and k-means."""
    device: str = "auto"
    """``"auto"``, ``"cpu"``, ``"cuda"`` ..."""
    run_dir: str | None = None
    """Checkpoints, metrics.csv and curves.png go here (None: in memory)."""
    checkpoint_every: int = 50
    """Optimizer steps between checkpoints in ``run_dir`` (one is also written at the end and at a
    Ctrl-C), so a crash loses at most this many steps."""
    progress: bool = False
    """Show the tqdm bar."""
    resume: bool = True
    """Continue from ``run_dir``'s checkpoint if there is one (False: train afresh over it)."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"GraphTrainConfig: method must be one of {METHODS}; got {self.method!r}.")
        if self.steps <= 0 or self.recluster_every <= 0 or self.checkpoint_every <= 0 or self.warmup_steps < 0:
            raise ValueError(
                "GraphTrainConfig: steps, recluster_every and checkpoint_every must be > 0 and warmup_steps "
                f">= 0; got {self.steps}, {self.recluster_every}, {self.checkpoint_every}, {self.warmup_steps}."
            )
        if self.meta_nodes == "kmeans" and self.batch_size is not None:
            raise ValueError(
                "GraphTrainConfig: meta_nodes='kmeans' clusters the whole graph's embeddings; it needs "
                "full-graph training (batch_size=None). Use meta_nodes='head' with mini-batches."
            )
        for name in ("drop_edge", "mask_feature"):
            if len(getattr(self, name)) != 2:
                raise ValueError(f"GraphTrainConfig: {name} needs one probability per view; got {getattr(self, name)}.")


@dataclass
class GraphEmbedding:
    """What :func:`train_graph` returns."""

    embeddings: Tensor
    """``[N, D]`` node embeddings (encoder output, on the CPU)."""
    assignments: Tensor | None
    """``[N]`` cluster ids: PamC's learnt head (argmax q), k-means on the L2-normalised embeddings for
    GRACE/DGI; None without K."""
    assignment_source: Literal["cluster_head", "kmeans", "none"]
    """Where ``assignments`` come from."""
    model: nn.Module
    """The trained model (encoder inside)."""
    history: list[dict[str, float]] = field(default_factory=list)
    """The trainer's logged metrics."""


def _num_clusters(data: Data, config: GraphTrainConfig) -> int | None:
    k = config.num_clusters
    if k is None and data.y is not None:
        k = int(data.y.unique().numel())
    if k is not None and not 2 <= k <= data.num_nodes:
        raise ValueError(
            f"train_graph: num_clusters must be in [2, N={data.num_nodes}]; got {k}. "
            "Use fewer clusters than nodes (K larger than N leaves clusters empty)."
        )
    return k


def build_model(config: GraphTrainConfig, in_channels: int, num_clusters: int | None) -> nn.Module:
    """The model of ``config.method``; its ``forward(x, edge_index)`` returns ``[N, D]`` embeddings."""
    encoder = GraphEncoder(
        in_channels,
        config.hidden_channels,
        config.out_channels,
        num_layers=config.num_layers,
        activation=config.activation or ("relu" if config.method == "grace" else "prelu"),
    )
    if config.method == "grace":
        return GRACEModel(encoder, config.proj_channels)
    if config.method == "dgi":
        return DGIModel(encoder)
    if num_clusters is None:
        raise ValueError("train_graph: PamC needs num_clusters (or labels data.y to count the classes).")
    return PamCModel(encoder, num_clusters)


def with_positives(batch: Data, hops: int, cumulative: bool = False) -> Data:
    """Attach PamC's positive pairs ``pos_index [2, P]`` and weights ``pos_weight [P]`` to ``batch``
    (:func:`~.objectives.neighbourhood_weights`)."""
    batch.pos_index, batch.pos_weight = neighbourhood_weights(
        batch.edge_index, batch.num_nodes, hops, cumulative=cumulative
    )
    return batch


def make_step(config: GraphTrainConfig) -> Callable[[nn.Module, Data], Tensor]:
    """``step(model, batch) -> loss`` for ``config.method``."""
    if config.method == "grace":
        objective = GRACE(config.temperature, config.chunk_size)
        views = [Compose([drop_edges(e), mask_features(f)]) for e, f in zip(config.drop_edge, config.mask_feature, strict=True)]

        def grace_step(model: nn.Module, batch: Data) -> Tensor:
            assert isinstance(model, GRACEModel)
            v1, v2 = (view(GraphView(batch.x, batch.edge_index)) for view in views)
            h1, h2 = model(*v1), model(*v2)
            return objective(model.projector(h1), model.projector(h2))

        return grace_step
    if config.method == "dgi":

        def dgi_step(model: nn.Module, batch: Data) -> Tensor:
            assert isinstance(model, DGIModel)
            pos_z, neg_z, summary = model.dgi(batch.x, batch.edge_index)
            loss: Tensor = model.dgi.loss(pos_z, neg_z, summary)
            return loss

        return dgi_step

    objective = PamC(
        config.temperature,
        temperature_mode=config.temperature_mode,
        assignment=config.assignment,
        aggregate=config.aggregate,
        cluster_weight=config.cluster_weight,
    )

    def pamc_step(model: nn.Module, batch: Data) -> Tensor:
        assert isinstance(model, PamCModel)
        z = model(batch.x, batch.edge_index)
        meta = model.meta_assignments if config.meta_nodes == "kmeans" else None
        return objective(z, model.head(z), batch.pos_index, batch.pos_weight, meta)

    return pamc_step


@torch.no_grad()
def embed(model: nn.Module, data: Data) -> Tensor:
    """Full-graph node embeddings ``[N, D]`` in eval mode, on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    z: Tensor = model(data.x.to(device), data.edge_index.to(device)).cpu()
    model.train(was_training)
    return z


def train_graph(data: Data, config: GraphTrainConfig | None = None) -> GraphEmbedding:
    """Train ``config.method`` on ``data`` and return embeddings and cluster assignments.

    The graph is validated and cleaned by :func:`~.data.prepare_graph` first (self-loops and
    duplicate edges removed, made undirected). For PamC the clustering head's centroids are set by
    k-means on the embeddings before the first step and again every ``recluster_every`` steps of the
    ``warmup_steps``; DEC's KL term and the contrast train them from there on.

    Example:
        >>> result = train_graph(synthetic_graph(), GraphTrainConfig(method="pamc", steps=100))
        >>> result.embeddings.shape, result.assignments.shape  # doctest: +SKIP
    """
    config = config or GraphTrainConfig()
    data = prepare_graph(data)
    k = _num_clusters(data, config)
    torch.manual_seed(config.seed)
    model = build_model(config, data.num_features, k)
    device = resolve_device(config.device)

    batches: Callable[[int], Iterable[Data]] | list[Data]
    if config.batch_size is None:
        batches = [with_positives(data, config.hops, config.cumulative_hops)] if config.method == "pamc" else [data]
    else:
        loader = NeighbourSubgraphLoader(data, config.batch_size, config.num_neighbours, config.seed)

        def batches(epoch: int) -> Iterable[Data]:
            for batch in loader(epoch):
                yield with_positives(batch, config.hops, config.cumulative_hops) if config.method == "pamc" else batch

    def init_centroids(model: nn.Module) -> None:
        assert isinstance(model, PamCModel)
        assert k is not None
        _, centroids = kmeans_assign(embed(model, data), k, seed=config.seed)
        model.head.init_from(centroids.to(model.head.centroids.device))

    def cluster_meta_nodes(model: nn.Module) -> None:
        assert isinstance(model, PamCModel)
        assert k is not None
        assignments = kmeans_assign(embed(model, data), k, seed=config.seed, normalize=True)[0]
        model.meta_assignments = assignments.to(model.meta_assignments.device)

    def after_step(model: nn.Module, step: int) -> None:
        if step <= config.warmup_steps and step % config.recluster_every == 0:
            init_centroids(model)
        if config.meta_nodes == "kmeans" and step % config.recluster_every == 0:
            cluster_meta_nodes(model)

    pamc = config.method == "pamc"
    if pamc:
        init_centroids(model.to(device))
        if config.meta_nodes == "kmeans":
            cluster_meta_nodes(model)
    train_config = TrainConfig(
        max_steps=config.steps,
        lr=config.lr,
        weight_decay=config.weight_decay,
        seed=config.seed,
        device=config.device,
        log_every=max(1, min(10, config.steps // 10)),
        checkpoint_every=config.checkpoint_every,
        run_dir=config.run_dir,
        progress=config.progress,
        resume=config.resume,
    )
    # Everything but the budget and where it runs defines the run: a checkpoint resumes only under the same values.
    free = ("steps", "device", "run_dir", "checkpoint_every", "progress", "resume")
    run_config = {k: v for k, v in asdict(config).items() if k not in free}
    # The graph too: a run dir is not continued on another graph with features of the same width.
    run_config["data"] = f"{data_fingerprint(data.x, data.edge_index)} ({data.num_nodes} nodes)"
    trainer = Trainer(
        model, make_step(config), batches, train_config, after_step=after_step if pamc else None, run_config=run_config
    ).fit()
    z = embed(model, data)
    if pamc:
        assert isinstance(model, PamCModel)
        with torch.no_grad():
            assignments = model.head(z.to(model.head.centroids.device)).argmax(1).cpu()
        return GraphEmbedding(z, assignments, "cluster_head", model, trainer.history)
    if k is None:
        return GraphEmbedding(z, None, "none", model, trainer.history)
    assignments = kmeans_assign(z, k, seed=config.seed, normalize=True)[0]
    return GraphEmbedding(z, assignments, "kmeans", model, trainer.history)
