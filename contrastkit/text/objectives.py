r"""SimCSE-family losses as sentence-transformers losses, with the math in :mod:`contrastkit.core`.

Each loss is an ``nn.Module`` built with the model, ``forward(sentence_features, labels)`` like every
sentence-transformers loss, so it works with ``SentenceTransformerTrainer`` and with a plain loop.
``forward`` only encodes; ``compute_loss_from_embeddings`` is pure tensor math that calls
:func:`contrastkit.core.info_nce` (the adapter is the only place a model and a loss meet).

Notation: B = local batch size, W = number of ``torch.distributed`` ranks, D = embedding size,
K = queue length, :math:`s` = cosine similarity, :math:`\tau` = temperature.

* :class:`UnsupSimCSELoss` (Gao et al. 2021, arXiv:2104.08821): positives are a second dropout pass.
* :class:`SupSimCSELoss`: (anchor, positive[, hard negative]) with every hard negative of the batch.
* :class:`ESimCSELoss` (Wu et al. 2022, arXiv:2109.04380): word-repetition positives + momentum queue.
* :class:`DebiasedSimCSELoss` (in the spirit of DebCSE, Miao et al. 2023, arXiv:2309.07396):
  false-negative removal under a frozen copy + inverse-propensity weights of positives.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from contrastkit.core import (
    MemoryQueue,
    MomentumEncoder,
    gather_no_grad,
    gather_with_grad,
    info_nce,
)
from contrastkit.core.checks import check_positive, check_positive_int, check_temperature
from contrastkit.core.distributed import check_distributed_available

from .augment import word_repetition
from .models import embed, embed_frozen, repeat_batch

Features = Mapping[str, Any]

_SIMCSE_CITATION = """
@inproceedings{gao2021simcse,
    title = "{S}im{CSE}: Simple Contrastive Learning of Sentence Embeddings",
    author = "Gao, Tianyu and Yao, Xingcheng and Chen, Danqi",
    booktitle = "Proceedings of EMNLP",
    year = "2021",
    url = "https://arxiv.org/abs/2104.08821",
}
"""


def contrast_with_shared_negatives(
    query: Tensor,
    key: Tensor,
    shared: Tensor | None = None,
    *,
    temperature: float,
    chunk_size: int | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    r"""InfoNCE whose negatives are the other keys of the (global) batch plus shared negatives.

    .. math:: \ell_i = -\log \frac{e^{s(q_i,k_i)/\tau}}{\sum_{j} e^{s(q_i,k_j)/\tau}
        + \sum_{m} e^{s(q_i,n_m)/\tau}}, \qquad \mathcal{L} = \frac{1}{B}\sum_i \ell_i

    where j runs over all keys of all ranks and m over ``shared``.

    Args:
        query: ``[B, D]``.
        key: ``[B, D]``, ``key[i]`` the positive of ``query[i]``.
        shared: ``[M, D]`` negatives of every query (hard negatives, a queue), or None.
        temperature: :math:`\tau`.
        chunk_size: tile size of the exact low-memory path of :func:`contrastkit.core.info_nce`.
        gather_distributed: keys from every rank, with gradients; the positive of local query i is
            global column ``offset + i``. ``shared`` is used as given, not gathered: pass the
            negatives of every rank (SupSimCSELoss gathers its hard negatives first; ESimCSE's
            queue already holds every rank's).
    """
    if shared is None or shared.shape[0] == 0:
        return info_nce(
            query, key, temperature=temperature, chunk_size=chunk_size, gather_distributed=gather_distributed
        )
    return info_nce(
        query,
        key,
        shared,
        in_batch=True,
        temperature=temperature,
        chunk_size=chunk_size,
        gather_distributed=gather_distributed,
    )


def inverse_propensity_weights(surface: Tensor, *, n_bins: int = 5, max_weight: float = 3.0) -> Tensor:
    r"""Weights of positive pairs inversely proportional to how common their surface similarity is.

    The propensity of pair i is the share of the batch whose surface similarity falls in the
    same of ``n_bins`` equal-width bins on [0, 1]: :math:`p_i = |\{j : b_j = b_i\}| / B`.
    :math:`w_i = (1/p_i) / \mathrm{mean}_j(1/p_j)`, then clipped at ``max_weight`` and rescaled to
    mean 1. Equal surface similarities give all-ones weights.

    Shapes: surface ``[B]`` in [0, 1] -> ``[B]`` (mean 1, no gradient).
    """
    bins = (surface.detach().float() * n_bins).floor().clamp(0, n_bins - 1).long()  # (B,)
    counts = torch.bincount(bins, minlength=n_bins).to(surface.dtype)  # (n_bins,)
    raw = surface.shape[0] / counts[bins]  # 1 / p_i, (B,)
    weights = (raw / raw.mean()).clamp(max=max_weight)
    return weights / weights.mean()


def token_dice(features_a: Features, features_b: Features, special_ids: Iterable[int]) -> Tensor:
    r"""Surface similarity of row-aligned tokenized sentences: multiset Dice of their token ids.

    .. math:: \mathrm{dice}(a, b) = \frac{2\,|A \cap B|}{|A| + |B|}

    over the multisets of non-special, non-padding token ids (1.0 when both are empty).
    Shapes: two batches of B rows -> ``[B]`` float32.
    """
    special = set(special_ids)

    def bags(features: Features) -> list[Counter[int]]:
        ids, mask = features["input_ids"].tolist(), features["attention_mask"].tolist()
        return [
            Counter(t for t, m in zip(row, keep, strict=True) if m and t not in special)
            for row, keep in zip(ids, mask, strict=True)
        ]

    out = []
    for a, b in zip(bags(features_a), bags(features_b), strict=True):
        total = sum(a.values()) + sum(b.values())
        out.append(1.0 if total == 0 else 2.0 * sum((a & b).values()) / total)
    return torch.tensor(out, dtype=torch.float32, device=features_a["input_ids"].device)


class _SentenceLoss(nn.Module):
    """What every adapter shares: the model, input checks, config and repr from the same fields."""

    n_columns: tuple[int, ...] = (1,)
    column_hint: str = ""
    config_fields: tuple[str, ...] = ("temperature", "chunk_size", "gather_distributed")

    def __init__(
        self,
        model: SentenceTransformer,
        temperature: float,
        chunk_size: int | None,
        gather_distributed: bool,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        if not isinstance(model, nn.Module):
            raise TypeError(f"{where}: model must be a SentenceTransformer; got {type(model).__name__}.")
        check_temperature(temperature, where)
        check_positive_int("chunk_size", chunk_size, where, optional=True)
        if gather_distributed:
            check_distributed_available(where)
        self.model = model
        self.temperature = float(temperature)
        self.chunk_size = chunk_size
        self.gather_distributed = gather_distributed

    @property
    def scale(self) -> float:
        """``1 / temperature``: sentence-transformers' name for it (``MultipleNegativesRankingLoss(scale=20)``)."""
        return 1.0 / self.temperature

    def _columns(self, sentence_features: Iterable[Features]) -> list[Features]:
        """Check the number of columns and the batch size (>= 2 unless gathering across ranks)."""
        where = type(self).__name__
        columns = list(sentence_features)
        if len(columns) not in self.n_columns:
            raise ValueError(
                f"{where}: expected {' or '.join(map(str, self.n_columns))} text column(s) ({self.column_hint}); "
                f"got {len(columns)}. Select the dataset columns in that order."
            )
        for column in columns:
            if not isinstance(column, Mapping) or "input_ids" not in column or "attention_mask" not in column:
                raise TypeError(
                    f"{where}: each column must be a tokenized batch (model.preprocess(sentences)); "
                    f"got {type(column).__name__}."
                )
        b = columns[0]["input_ids"].shape[0]
        rows = [column["input_ids"].shape[0] for column in columns]
        if any(r != b for r in rows):
            raise ValueError(f"{where}: every column needs one row per anchor; got rows {rows}.")
        if b < 2 and not self.gather_distributed:
            raise ValueError(
                f"{where}: a batch of {b} sentence(s) has no in-batch negative; use batch_size >= 2 "
                "(and drop a short last batch, e.g. dataloader_drop_last=True)."
            )
        return columns

    def get_config_dict(self) -> dict[str, Any]:
        """The hyper-parameters (sentence-transformers writes them into the model card)."""
        return {name: getattr(self, name) for name in self.config_fields}

    @property
    def citation(self) -> str:
        return _SIMCSE_CITATION

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config_dict().items())


class UnsupSimCSELoss(_SentenceLoss):
    r"""Unsupervised SimCSE: each sentence encoded twice with dropout, in-batch negatives.

    .. math:: \ell_i = -\log \frac{e^{s(h_i, h_i^+)/\tau}}{\sum_{j=1}^{B} e^{s(h_i, h_j^+)/\tau}}

    :math:`h_i, h_i^+` are two forward passes of sentence i with independent dropout masks; both are
    drawn in one encoder call on the batch stacked on itself (``[2B]`` rows). The model must be in
    train mode (the trainer does this): in eval mode both views coincide and only the negatives
    are pushed apart.

    Args:
        model: the :class:`~sentence_transformers.SentenceTransformer` to train.
        temperature: :math:`\tau` (default 0.05, i.e. ``scale=20`` in sentence-transformers).
        chunk_size: compute the loss in tiles of this many queries (same value and gradients,
            ``O(B * chunk_size)`` logit memory instead of ``O(B^2)``).
        gather_distributed: use the second views of every ``torch.distributed`` rank as negatives.

    Inputs:
        one column of sentences; labels are ignored.

    Relations:
        Same math as ``MultipleNegativesRankingLoss(model, scale=1/temperature)`` on (s, s) pairs,
        which encodes the two columns in two calls.

    Example:
        >>> model = load_model()  # doctest: +SKIP
        >>> loss = UnsupSimCSELoss(model)  # doctest: +SKIP
        >>> loss([model.preprocess(["A cat sleeps.", "Stocks fell."])], None)  # doctest: +SKIP
    """

    column_hint = "one column of sentences"

    def __init__(
        self,
        model: SentenceTransformer,
        temperature: float = 0.05,
        *,
        chunk_size: int | None = None,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__(model, temperature, chunk_size, gather_distributed)

    def forward(self, sentence_features: Iterable[Features], labels: Tensor | None = None) -> Tensor:
        (features,) = self._columns(sentence_features)
        b = features["input_ids"].shape[0]
        views = embed(self.model, repeat_batch(features))  # (2B, D)
        return self.compute_loss_from_embeddings([views[:b], views[b:]])

    def compute_loss_from_embeddings(self, embeddings: Sequence[Tensor]) -> Tensor:
        """``embeddings = [h, h_plus]``, each ``[B, D]`` -> scalar."""
        h, h_plus = embeddings
        return info_nce(
            h,
            h_plus,
            temperature=self.temperature,
            chunk_size=self.chunk_size,
            gather_distributed=self.gather_distributed,
        )


class SupSimCSELoss(_SentenceLoss):
    r"""Supervised SimCSE on (anchor, positive) pairs or (anchor, positive, hard negative) triples.

    .. math:: \ell_i = -\log \frac{e^{s(h_i, h_i^+)/\tau}}{\sum_{j=1}^{B}
        \left(e^{s(h_i, h_j^+)/\tau} + e^{s(h_i, h_j^-)/\tau}\right)}

    Every positive and every hard negative of the batch (of all ranks with ``gather_distributed``)
    is a negative of each anchor except its own positive, as in the paper and in
    ``MultipleNegativesRankingLoss``.

    Args:
        model, temperature, chunk_size, gather_distributed: as in :class:`UnsupSimCSELoss`.

    Inputs:
        (anchor, positive) or (anchor, positive, negative) columns; labels are ignored.
    """

    n_columns = (2, 3)
    column_hint = "anchor, positive[, hard negative]"

    def __init__(
        self,
        model: SentenceTransformer,
        temperature: float = 0.05,
        *,
        chunk_size: int | None = None,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__(model, temperature, chunk_size, gather_distributed)

    def forward(self, sentence_features: Iterable[Features], labels: Tensor | None = None) -> Tensor:
        columns = self._columns(sentence_features)
        return self.compute_loss_from_embeddings([embed(self.model, f) for f in columns])

    def compute_loss_from_embeddings(self, embeddings: Sequence[Tensor]) -> Tensor:
        """``[anchor, positive]`` or ``[anchor, positive, negative]``, each ``[B, D]`` -> scalar."""
        anchor, positive, *negative = embeddings
        shared = None
        if negative:
            shared = gather_with_grad(negative[0]) if self.gather_distributed else negative[0]  # (B * W, D)
        return contrast_with_shared_negatives(
            anchor,
            positive,
            shared,
            temperature=self.temperature,
            chunk_size=self.chunk_size,
            gather_distributed=self.gather_distributed,
        )


class ESimCSELoss(_SentenceLoss):
    r"""ESimCSE: word-repetition positives and a momentum-encoder queue of extra negatives.

    .. math:: \ell_i = -\log \frac{e^{s(h_i, h_i^+)/\tau}}{\sum_{j=1}^{B} e^{s(h_i, h_j^+)/\tau}
        + \sum_{m=1}^{K} e^{s(h_i, \tilde h_m)/\tau}}

    * :math:`h_i` encodes sentence i, :math:`h_i^+` encodes it with a random subset of its tokens
      repeated (:func:`~contrastkit.text.augment.word_repetition`, ``repetition_rate``), both by the
      trained model with dropout on.
    * :math:`\tilde h_m` are the K most recent sentences encoded by an EMA copy of the model
      (dropout off, no gradient), kept in a :class:`~contrastkit.core.MemoryQueue`.
    * Order within a training step (MoCo's): EMA update of the copy towards the current weights,
      loss against the queue, then the step's sentences (original, unrepeated) are enqueued. Updates
      and enqueues happen only when the model is in train mode with gradients enabled, so
      evaluation losses leave the state alone. With gradient accumulation the copy is updated once
      per micro-batch.
    * The copy and the queue are buffers of this module: :func:`~contrastkit.text.fit` checkpoints
      and resumes them; ``SentenceTransformerTrainer(resume_from_checkpoint=...)`` restores the
      model only, so there the queue restarts empty and the copy from the loss's construction.

    Args:
        model, temperature, chunk_size, gather_distributed: as in :class:`UnsupSimCSELoss`
            (``gather_distributed`` also enqueues the keys of every rank).
        repetition_rate: ESimCSE's duplication rate (default 0.32).
        momentum: EMA coefficient of the copy (default 0.995).
        queue_size: K, the number of queued negatives (default 160).

    Inputs:
        one column of sentences; labels are ignored.
    """

    column_hint = "one column of sentences"
    config_fields = _SentenceLoss.config_fields + ("repetition_rate", "momentum", "queue_size")

    def __init__(
        self,
        model: SentenceTransformer,
        temperature: float = 0.05,
        *,
        repetition_rate: float = 0.32,
        momentum: float = 0.995,
        queue_size: int = 160,
        chunk_size: int | None = None,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__(model, temperature, chunk_size, gather_distributed)
        if not 0.0 <= repetition_rate <= 1.0:
            raise ValueError(f"ESimCSELoss: repetition_rate must be in [0, 1]; got {repetition_rate}.")
        check_positive_int("queue_size", queue_size, "ESimCSELoss")
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ValueError(
                "ESimCSELoss: the model does not report its embedding size, needed for the queue."
            )
        self.repetition_rate = float(repetition_rate)
        self.momentum = float(momentum)
        self.queue_size = queue_size
        self.momentum_encoder = MomentumEncoder(model, momentum)
        self.queue = MemoryQueue(queue_size, dim, gather_distributed=gather_distributed)

    def forward(self, sentence_features: Iterable[Features], labels: Tensor | None = None) -> Tensor:
        (features,) = self._columns(sentence_features)
        seed = int(torch.randint(2**62, ()))  # from torch's RNG, so torch.manual_seed fixes the repetitions
        max_length = getattr(self.model, "max_seq_length", None)  # None under a DDP wrapper: no cap
        repeated = word_repetition(features, rate=self.repetition_rate, max_length=max_length, seed=seed)
        h, h_plus = embed(self.model, features), embed(self.model, repeated)  # (B, D) each
        updating = self.model.training and torch.is_grad_enabled()
        if updating:
            self.momentum_encoder.update(self.model)
        loss = self.compute_loss_from_embeddings([h, h_plus], self.queue.negatives())
        if updating:
            self.queue.enqueue(embed_frozen(self.momentum_encoder.encoder, features))
        return loss

    def compute_loss_from_embeddings(self, embeddings: Sequence[Tensor], queue: Tensor) -> Tensor:
        """``[h, h_plus]`` each ``[B, D]`` and the queued negatives ``[K, D]`` (K may be 0) -> scalar."""
        h, h_plus = embeddings
        return contrast_with_shared_negatives(
            h,
            h_plus,
            queue,
            temperature=self.temperature,
            chunk_size=self.chunk_size,
            gather_distributed=self.gather_distributed,
        )

    @property
    def citation(self) -> str:
        return """
@inproceedings{wu2022esimcse,
    title = "{ESimCSE}: Enhanced Sample Building Method for Contrastive Learning of Unsupervised Sentence Embedding",
    author = "Wu, Xing and Gao, Chaochen and Zang, Liangjun and Han, Jizhong and Wang, Zhongyuan and Hu, Songlin",
    booktitle = "Proceedings of COLING",
    year = "2022",
    url = "https://arxiv.org/abs/2109.04380",
}
"""


class DebiasedSimCSELoss(_SentenceLoss):
    r"""SimCSE with likely false negatives removed and positives weighted by inverse propensity.

    In the spirit of DebCSE (Miao et al. 2023, arXiv:2309.07396), which has no public code. What
    is implemented, exactly:

    1. A frozen copy of the model taken at construction (dropout off, never trained) embeds
       anchors :math:`r_i` and positives :math:`r_j^+`. In-batch negative j of anchor i is dropped
       when :math:`s(r_i, r_j^+) >` ``false_negative_threshold``: a likely paraphrase, not a negative.
    2. Positive pair i gets weight :math:`w_i` from :func:`inverse_propensity_weights` of its surface
       similarity :func:`token_dice` (anchor vs positive tokens): pairs whose lexical overlap is
       common in the batch are down-weighted, rare ones up-weighted, so the model cannot rely on
       surface overlap alone. With one column (dropout positives) the overlap is always 1 and all
       weights are 1: only step 1 acts.

    .. math:: \mathcal{L} = \frac{1}{B}\sum_i w_i\,\ell_i, \quad \ell_i = -\log
        \frac{e^{s(h_i, h_i^+)/\tau}}{e^{s(h_i, h_i^+)/\tau} + \sum_{j \ne i,\ s(r_i, r_j^+) \le t}
        e^{s(h_i, h_j^+)/\tau}}

    A query whose every negative is dropped contributes 0.

    Args:
        model, temperature, chunk_size, gather_distributed: as in :class:`UnsupSimCSELoss`.
        false_negative_threshold: t, cosine under the frozen copy above which a negative is dropped
            (default 0.8); 1.0 drops nothing.
        n_bins: bins of the surface-similarity histogram (default 5).
        max_weight: cap of a pair's weight before renormalisation (default 3.0).

    Inputs:
        one column of sentences (dropout positives) or (anchor, positive) columns; labels are ignored.
    """

    n_columns = (1, 2)
    column_hint = "sentences, or anchor, positive"
    config_fields = _SentenceLoss.config_fields + ("false_negative_threshold", "n_bins", "max_weight")

    def __init__(
        self,
        model: SentenceTransformer,
        temperature: float = 0.05,
        *,
        false_negative_threshold: float = 0.8,
        n_bins: int = 5,
        max_weight: float = 3.0,
        chunk_size: int | None = None,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__(model, temperature, chunk_size, gather_distributed)
        where = type(self).__name__
        if not -1.0 <= false_negative_threshold <= 1.0:
            raise ValueError(
                f"{where}: false_negative_threshold is a cosine in [-1, 1]; got {false_negative_threshold}."
            )
        check_positive_int("n_bins", n_bins, where)
        check_positive("max_weight", max_weight, where)
        if max_weight < 1.0:
            raise ValueError(f"{where}: max_weight must be >= 1 (weights have mean 1); got {max_weight}.")
        self.false_negative_threshold = float(false_negative_threshold)
        self.n_bins = n_bins
        self.max_weight = float(max_weight)
        self.reference = copy.deepcopy(model).requires_grad_(False)
        self._special_ids = list(getattr(getattr(model, "tokenizer", None), "all_special_ids", []))

    def forward(self, sentence_features: Iterable[Features], labels: Tensor | None = None) -> Tensor:
        columns = self._columns(sentence_features)
        anchor = columns[0]
        b = anchor["input_ids"].shape[0]
        ref_anchor = embed_frozen(self.reference, anchor)  # (B, D)
        if len(columns) == 1:
            views = embed(self.model, repeat_batch(anchor))  # (2B, D)
            h, h_plus, ref_positive = views[:b], views[b:], ref_anchor
            surface = torch.ones(b, device=ref_anchor.device)
        else:
            h, h_plus = embed(self.model, anchor), embed(self.model, columns[1])
            ref_positive = embed_frozen(self.reference, columns[1])
            surface = token_dice(anchor, columns[1], self._special_ids)
        return self.compute_loss_from_embeddings([h, h_plus], [ref_anchor, ref_positive], surface)

    def compute_loss_from_embeddings(
        self, embeddings: Sequence[Tensor], reference: Sequence[Tensor], surface: Tensor
    ) -> Tensor:
        """``[h, h_plus]`` and frozen ``[r, r_plus]`` each ``[B, D]``, surface similarity ``[B]`` -> scalar."""
        h, h_plus = embeddings
        ref_anchor, ref_positive = reference
        ref_keys = gather_no_grad(ref_positive) if self.gather_distributed else ref_positive  # (B * W, D)
        ref_sim = nn.functional.normalize(ref_anchor, dim=-1) @ nn.functional.normalize(ref_keys, dim=-1).T
        ref_sim = ref_sim.clamp(-1.0, 1.0)  # rounding puts a duplicate at 1.0000001, above a threshold of 1
        neg_mask = (
            ref_sim <= self.false_negative_threshold
        )  # (B, B * W); the positive is excluded by info_nce
        per_query = info_nce(
            h,
            h_plus,
            temperature=self.temperature,
            neg_mask=neg_mask,
            chunk_size=self.chunk_size,
            gather_distributed=self.gather_distributed,
            reduction="none",
        )  # (B,)
        weights = inverse_propensity_weights(surface, n_bins=self.n_bins, max_weight=self.max_weight)
        return (weights.to(per_query.dtype) * per_query).mean()

    @property
    def citation(self) -> str:
        return """
@misc{miao2023debcse,
    title = "DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the Debiasing Perspective",
    author = "Miao, Pu and Du, Zeyao and Zhang, Junlin",
    year = "2023",
    url = "https://arxiv.org/abs/2309.07396",
}
"""
