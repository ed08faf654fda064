"""Fine-tuning a SentenceTransformer with a SimCSE-family loss on the core :class:`~contrastkit.core.Trainer`.

``SentenceTransformerTrainer`` works as well (the losses are ordinary sentence-transformers losses);
this loop needs neither ``datasets`` nor ``accelerate`` and adds the core's exact resume, metrics.csv
and curves.png.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, get_args

import torch
from sentence_transformers import SentenceTransformer

from contrastkit.core import TrainConfig, Trainer, data_fingerprint, move_to

from .objectives import DebiasedSimCSELoss, ESimCSELoss, SupSimCSELoss, UnsupSimCSELoss

Method = Literal["unsup-simcse", "sup-simcse", "esimcse", "debiased"]
METHODS: tuple[str, ...] = get_args(Method)
SentenceLoss = UnsupSimCSELoss | SupSimCSELoss | ESimCSELoss | DebiasedSimCSELoss


LOSSES: dict[str, type[SentenceLoss]] = {
    "unsup-simcse": UnsupSimCSELoss,
    "sup-simcse": SupSimCSELoss,
    "esimcse": ESimCSELoss,
    "debiased": DebiasedSimCSELoss,
}
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    method: tuple(f for f in loss.config_fields if f not in UnsupSimCSELoss.config_fields)
    for method, loss in LOSSES.items()
}
"""The keyword arguments of each method's loss beyond the shared ``temperature``, ``chunk_size`` and
``gather_distributed`` (read from the loss's ``config_fields``)."""


def build_loss(
    method: Method,
    model: SentenceTransformer,
    *,
    temperature: float = 0.05,
    chunk_size: int | None = None,
    **options: float,
) -> SentenceLoss:
    """The loss for a method name (as used by the CLI and the benchmark).

    ``unsup-simcse``, ``esimcse`` and ``debiased`` train on one column of sentences, ``sup-simcse``
    on (anchor, positive[, hard negative]) columns. ``options`` are the method's own settings
    (:data:`METHOD_OPTIONS`, e.g. ``queue_size=320`` for ``esimcse``); the rest keep their defaults.

    Raises:
        ValueError: an unknown method, or an option that the method's loss does not take.
    """
    if method not in LOSSES:
        raise ValueError(f"build_loss: method must be one of {METHODS}; got {method!r}.")
    foreign = sorted(set(options) - set(METHOD_OPTIONS[method]))
    if foreign:
        raise ValueError(
            f"build_loss: {method} does not take {foreign}; its options are {list(METHOD_OPTIONS[method]) or 'none'}."
        )
    return LOSSES[method](model, temperature, chunk_size=chunk_size, **options)  # type: ignore[arg-type]


def fit(
    loss: SentenceLoss,
    columns: Sequence[Sequence[str]],
    config: TrainConfig,
    *,
    batch_size: int = 64,
    evaluate: Callable[[SentenceTransformer], Mapping[str, float]] | None = None,
) -> Trainer:
    """Train ``loss.model`` on text columns for ``config.max_steps`` optimizer steps.

    Each epoch shuffles the rows (seeded by ``config.seed`` and the epoch, so resume is exact) and
    cuts them into batches of ``batch_size``; a short last batch is dropped (a batch of one has no
    negative). Sentences longer than ``model.max_seq_length`` tokens are truncated by the tokenizer.

    Args:
        loss: one of the losses of :mod:`contrastkit.text.objectives`, holding the model.
        columns: row-aligned ``list[str]`` columns in the loss's order (one for unsupervised losses).
        config: the core :class:`~contrastkit.core.TrainConfig` (steps, lr, seed, device, run_dir ...).
        batch_size: rows per step (>= 2); capped at the number of rows.
        evaluate: ``model -> {metric: value}`` run every ``config.eval_every`` steps and at the end.

    Returns:
        The finished :class:`~contrastkit.core.Trainer` (``history``, ``best``); ``loss.model`` is trained in place.

    Raises:
        ValueError: no columns, columns of different lengths, fewer than 2 rows, or ``batch_size < 2``.
    """
    if not columns:
        raise ValueError("fit: columns is empty; pass at least one list of sentences.")
    columns = [list(c) for c in columns]  # by position: a pandas Series would be indexed by its labels
    n = len(columns[0])
    if any(len(c) != n for c in columns):
        raise ValueError(f"fit: columns must have the same length; got {[len(c) for c in columns]}.")
    if n < 2:
        raise ValueError(f"fit: need at least 2 rows for in-batch negatives; got {n}.")
    if batch_size < 2:
        raise ValueError(f"fit: batch_size must be >= 2 (a batch of one has no negative); got {batch_size}.")
    batch_size = min(batch_size, n)
    model = loss.model

    def batches(epoch: int) -> list[tuple[list[str], ...]]:
        order = torch.randperm(
            n, generator=torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        ).tolist()
        return [
            tuple([c[i] for i in order[start : start + batch_size]] for c in columns)
            for start in range(0, n - batch_size + 1, batch_size)
        ]

    def step(module: torch.nn.Module, batch: tuple[list[str], ...]) -> torch.Tensor:
        device = next(model.parameters()).device
        features = [move_to(model.preprocess(column), device) for column in batch]
        out: torch.Tensor = module(features, None)
        return out

    trainer = Trainer(
        loss,
        step,
        batches,
        config,
        evaluate=None if evaluate is None else (lambda _module: evaluate(model)),
        # The rows' text too: a run dir is not continued on another file with as many rows.
        run_config={"loss": type(loss).__name__, **loss.get_config_dict(), "batch_size": batch_size,
                    "data": f"{data_fingerprint(*columns)} ({n} rows)"},
    )
    return trainer.fit()
