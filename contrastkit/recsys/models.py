"""SASRec (Kang & McAuley 2018, arXiv:1808.09781): causal self-attention over item embeddings.

Item index 0 is padding and ``n_items + 1`` is the mask token used by CL4SRec's item-mask
augmentation; neither is ever scored. Scores are dot products with the (shared) item embeddings.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.core.checks import check_positive_int

from .data import PAD


class SASRec(nn.Module):
    r"""Self-attentive sequential recommender.

    .. math:: H = \mathrm{Transformer}_{causal}(\mathrm{LN}(E[s] + P)), \qquad
        \mathrm{score}(t, i) = H_t \cdot E_i

    Position ``t`` attends to positions ``<= t`` that are not padding (and always to itself, so
    padded positions stay finite; their outputs are never used).

    Args:
        n_items: number of real items; indices ``1..n_items``.
        max_len: longest input ``L`` (learned positional embeddings).
        hidden: embedding size ``D`` (default 64).
        n_layers: Transformer blocks (default 2).
        n_heads: attention heads (default 2).
        dropout: dropout on embeddings, attention and feed-forward (default 0.2). DuoRec's
            model-level view is a second forward pass with a different dropout mask.

    Shapes:
        - **input:** ``[B, L]`` left-padded item indices (``L <= max_len``).
        - **output:** ``encode`` -> ``[B, L, D]``; ``represent`` -> ``[B, D]`` (last position);
          ``score_all`` ``[N, D]`` -> ``[N, n_items]`` (column ``j`` is item ``j + 1``).
    """

    def __init__(
        self, n_items: int, *, max_len: int = 50, hidden: int = 64, n_layers: int = 2, n_heads: int = 2, dropout: float = 0.2
    ) -> None:
        super().__init__()
        for name, value in (("n_items", n_items), ("max_len", max_len), ("hidden", hidden), ("n_layers", n_layers),
                            ("n_heads", n_heads)):
            check_positive_int(name, value, "SASRec")
        if hidden % n_heads:
            raise ValueError(f"SASRec: hidden ({hidden}) must be divisible by n_heads ({n_heads}).")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"SASRec: dropout must be in [0, 1); got {dropout}.")
        self.n_items, self.max_len, self.hidden = n_items, max_len, hidden
        self.mask_token = n_items + 1
        self.item_emb = nn.Embedding(n_items + 2, hidden, padding_idx=PAD)
        self.pos_emb = nn.Embedding(max_len, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            hidden, n_heads, dim_feedforward=4 * hidden, dropout=dropout, activation="gelu", batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.n_heads = n_heads
        nn.init.normal_(self.item_emb.weight, std=0.02)
        nn.init.normal_(self.pos_emb.weight, std=0.02)
        with torch.no_grad():
            self.item_emb.weight[PAD].zero_()

    def _check(self, seqs: Tensor) -> None:
        if not isinstance(seqs, Tensor) or seqs.dtype != torch.long or seqs.dim() != 2:
            got = f"{seqs.dtype} {tuple(seqs.shape)}" if isinstance(seqs, Tensor) else type(seqs).__name__
            raise TypeError(f"SASRec: input must be a [B, L] long tensor of item indices; got {got}.")
        if seqs.shape[1] > self.max_len:
            raise ValueError(
                f"SASRec: sequences have length {seqs.shape[1]} > max_len={self.max_len}; keep the last "
                f"max_len items (data.left_pad)."
            )
        if seqs.numel():
            low, high = torch.aminmax(seqs)  # one sync; an id past the table otherwise fails deep in nn.Embedding
            if low < PAD or high > self.mask_token:
                raise ValueError(
                    f"SASRec: item indices must be in 0..{self.mask_token} (0 padding, 1..{self.n_items} items, "
                    f"{self.mask_token} mask); got {int(low)}..{int(high)}. Map raw ids with the data's item index."
                )

    def encode(self, seqs: Tensor) -> Tensor:
        """Hidden states at every position: ``[B, L]`` -> ``[B, L, D]``."""
        self._check(seqs)
        b, length = seqs.shape
        positions = torch.arange(self.max_len - length, self.max_len, device=seqs.device)  # right-aligned
        x = self.dropout(self.norm(self.item_emb(seqs) + self.pos_emb(positions)))  # (B, L, D)
        future = torch.ones(length, length, dtype=torch.bool, device=seqs.device).triu(1)
        eye = torch.eye(length, dtype=torch.bool, device=seqs.device)
        blocked = future | ((seqs == PAD)[:, None, :] & ~eye)  # (B, L, L) True = may not attend
        blocked = blocked.repeat_interleave(self.n_heads, dim=0)  # (B * heads, L, L)
        return self.encoder(x, mask=blocked)

    def represent(self, seqs: Tensor) -> Tensor:
        """Sequence representation, the hidden state of the most recent item: ``[B, L]`` -> ``[B, D]``."""
        return self.encode(seqs)[:, -1]

    def item_embeddings(self) -> Tensor:
        """Embeddings of the real items ``1..n_items``: ``[n_items, D]``."""
        return self.item_emb.weight[1 : self.n_items + 1]

    def score_all(self, hidden: Tensor) -> Tensor:
        """Scores of every real item: ``[N, D]`` -> ``[N, n_items]``; column ``j`` is item ``j + 1``."""
        return hidden @ self.item_embeddings().T

    def forward(self, seqs: Tensor) -> Tensor:
        """Scores of every item as the next one after each sequence: ``[B, L]`` -> ``[B, n_items]``."""
        return self.score_all(self.represent(seqs))

    def extra_repr(self) -> str:
        return f"n_items={self.n_items}, max_len={self.max_len}, hidden={self.hidden}"


class Augmenter(nn.Module):
    r"""MCLRec's learnable augmenter: a residual two-layer MLP on sequence representations.

    .. math:: g(z) = z + W_2\,\mathrm{ReLU}(W_1 z + b_1) + b_2

    :math:`W_2, b_2` start at zero, so a new augmenter is the identity: it returns the CL4SRec
    view unchanged and the meta step learns the perturbation. A plain MLP with the default
    initialisation instead starts as a random projection to about a quarter of the
    representation's norm, and with dot-product InfoNCE the encoder is then pulled towards that
    random map for the many steps the meta optimizer needs to make it informative.

    Shapes: ``[B, D] -> [B, D]``.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)

    def forward(self, z: Tensor) -> Tensor:
        return z + self.net(z)
