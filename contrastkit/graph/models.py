r"""Encoders and heads as PyG modules: a GNN encoder (GCN by default, the conv is a parameter), the
projection head of GRACE, DEC's Student-t clustering head, and the DGI model built on PyG's
:class:`~torch_geometric.nn.DeepGraphInfomax`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.nn import DeepGraphInfomax, GCNConv, MessagePassing

ConvFactory = Callable[[int, int], MessagePassing]
Activation = Literal["relu", "prelu", "elu"]


def _activation(name: Activation, channels: int) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "prelu":
        return nn.PReLU(channels)
    if name == "elu":
        return nn.ELU()
    raise ValueError(f"activation must be 'relu', 'prelu' or 'elu'; got {name!r}.")


class GraphEncoder(nn.Module):
    r"""A stack of message-passing layers: :math:`H^{(l+1)} = \sigma(\mathrm{conv}_l(H^{(l)}, A))`.

    Args:
        in_channels: input feature size F.
        hidden_channels: width of the inner layers.
        out_channels: embedding size D.
        num_layers: number of conv layers (default 2, as GRACE); 1 gives DGI's encoder.
        conv: ``conv(in, out) -> MessagePassing`` (default :class:`~torch_geometric.nn.GCNConv`;
            e.g. ``lambda i, o: SAGEConv(i, o)``).
        activation: ``"prelu"`` (DGI), ``"relu"`` (GRACE on Cora) or ``"elu"``; applied after
            every layer, the last included.

    Shapes:
        - **input:** x ``[N, F]``, edge_index ``[2, E]``
        - **output:** ``[N, D]``
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        *,
        num_layers: int = 2,
        conv: ConvFactory = GCNConv,
        activation: Activation = "prelu",
    ) -> None:
        super().__init__()
        if min(in_channels, hidden_channels, out_channels, num_layers) <= 0:
            raise ValueError(
                f"GraphEncoder: channel sizes and num_layers must be > 0; got in={in_channels}, "
                f"hidden={hidden_channels}, out={out_channels}, num_layers={num_layers}."
            )
        sizes = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(conv(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.acts = nn.ModuleList(_activation(activation, b) for b in sizes[1:])
        self.out_channels = out_channels

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        for conv, act in zip(self.convs, self.acts, strict=True):
            x = act(conv(x, edge_index))
        return x

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()


class ProjectionHead(nn.Module):
    """GRACE's projection ``g(h) = W_2 ELU(W_1 h)``; the loss sees ``g(h)``, downstream tasks ``h``.

    Shapes: ``[N, D] -> [N, proj_dim]``.
    """

    def __init__(self, in_channels: int, proj_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_channels, proj_channels), nn.ELU(), nn.Linear(proj_channels, in_channels)
        )

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h)


class ClusterHead(nn.Module):
    r"""DEC's soft assignment (Xie et al. 2016, arXiv:1511.06335) to K learnable centroids.

    .. math:: q_{ik} = \frac{(1 + \|z_i - \mu_k\|^2 / \alpha)^{-(\alpha + 1)/2}}
        {\sum_{k'} (1 + \|z_i - \mu_{k'}\|^2 / \alpha)^{-(\alpha + 1)/2}}

    computed as a softmax of the log-kernel, so it never divides by zero.

    Args:
        num_clusters: K.
        channels: embedding size D.
        alpha: Student-t degrees of freedom (default 1, as DEC and the PamC code).

    Shapes: ``z [N, D] -> q [N, K]`` (rows sum to 1).
    """

    def __init__(self, num_clusters: int, channels: int, alpha: float = 1.0) -> None:
        super().__init__()
        if num_clusters < 2 or channels <= 0 or alpha <= 0:
            raise ValueError(
                f"ClusterHead: need num_clusters >= 2, channels > 0, alpha > 0; got {num_clusters}, "
                f"{channels}, {alpha}."
            )
        self.alpha = float(alpha)
        self.centroids = nn.Parameter(torch.empty(num_clusters, channels))
        nn.init.xavier_normal_(self.centroids)
        self.initialised: Tensor
        self.register_buffer("initialised", torch.tensor(False))  # set by init_from; kept in checkpoints

    @property
    def num_clusters(self) -> int:
        return self.centroids.shape[0]

    def forward(self, z: Tensor) -> Tensor:
        sq = torch.cdist(z, self.centroids).pow(2)  # (N, K)
        log_kernel = -(self.alpha + 1) / 2 * torch.log1p(sq / self.alpha)
        return torch.softmax(log_kernel, dim=1)

    @torch.no_grad()
    def init_from(self, centroids: Tensor) -> None:
        """Set the centroids (e.g. from k-means on the current embeddings, as DEC does)."""
        if centroids.shape != self.centroids.shape:
            raise ValueError(
                f"ClusterHead.init_from: centroids must be {tuple(self.centroids.shape)}; got {tuple(centroids.shape)}."
            )
        self.centroids.copy_(centroids)
        self.initialised.fill_(True)

    def extra_repr(self) -> str:
        return f"num_clusters={self.num_clusters}, channels={self.centroids.shape[1]}, alpha={self.alpha}"


class GRACEModel(nn.Module):
    """Encoder + projection head (Zhu et al. 2020, arXiv:2006.04131). ``forward`` gives embeddings."""

    def __init__(self, encoder: GraphEncoder, proj_channels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = ProjectionHead(encoder.out_channels, proj_channels)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.encoder(x, edge_index)


class PamCModel(nn.Module):
    """Encoder + clustering head for PamC. ``forward`` gives embeddings; ``head`` the soft assignments.

    ``meta_assignments`` (a buffer, ``[N]`` long, empty unless set) holds the k-means memberships of
    ``GraphTrainConfig(meta_nodes="kmeans")``; as a buffer it is checkpointed, so a resumed run
    contrasts the same meta-nodes as an uninterrupted one.
    """

    meta_assignments: Tensor

    def __init__(self, encoder: GraphEncoder, num_clusters: int, alpha: float = 1.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = ClusterHead(num_clusters, encoder.out_channels, alpha)
        self.register_buffer("meta_assignments", torch.zeros(0, dtype=torch.long))

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.encoder(x, edge_index)


def _shuffle_rows(x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
    """DGI's corruption: permute the feature rows, keep the graph."""
    return x[torch.randperm(x.shape[0], device=x.device)], edge_index


def _mean_summary(z: Tensor, *args: object, **kwargs: object) -> Tensor:
    """DGI's readout: sigmoid of the mean embedding."""
    return torch.sigmoid(z.mean(dim=0))


class DGIModel(nn.Module):
    """Deep Graph Infomax (Velickovic et al. 2019, arXiv:1809.10341) via PyG's ``DeepGraphInfomax``.

    ``forward`` gives embeddings; ``dgi(x, edge_index)`` the ``(pos_z, neg_z, summary)`` triple
    whose ``dgi.loss`` is the binary cross-entropy of the discriminator.
    """

    def __init__(self, encoder: GraphEncoder) -> None:
        super().__init__()
        self.dgi = DeepGraphInfomax(encoder.out_channels, encoder, _mean_summary, _shuffle_rows)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        encoder: nn.Module = self.dgi.encoder
        return encoder(x, edge_index)
