"""STS evaluation: Spearman correlation of cosine similarity against gold scores."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator


def sts_evaluator(
    sentences1: Sequence[str],
    sentences2: Sequence[str],
    scores: Sequence[float],
    *,
    name: str = "sts",
    batch_size: int = 64,
) -> EmbeddingSimilarityEvaluator:
    """sentence-transformers' ``EmbeddingSimilarityEvaluator`` restricted to cosine similarity.

    Pass it to ``SentenceTransformerTrainer(evaluator=...)`` or call :func:`sts_spearman`.
    Its primary metric is ``f"{name}_spearman_cosine"``.

    Raises:
        ValueError: lists of different lengths, fewer than 2 pairs, or constant gold scores
            (Spearman is undefined).
    """
    n = len(sentences1)
    if len(sentences2) != n or len(scores) != n:
        raise ValueError(
            f"sts_evaluator: sentences1, sentences2 and scores must have the same length; "
            f"got {n}, {len(sentences2)} and {len(scores)}."
        )
    if n < 2 or len(set(scores)) < 2:
        raise ValueError(f"sts_evaluator: need at least 2 pairs with different gold scores; got {n} pairs.")
    return EmbeddingSimilarityEvaluator(
        list(sentences1),
        list(sentences2),
        [float(s) for s in scores],
        batch_size=batch_size,
        main_similarity="cosine",
        name=name,
        write_csv=False,
    )


def sts_spearman(
    model: SentenceTransformer,
    sentences1: Sequence[str],
    sentences2: Sequence[str],
    scores: Sequence[float],
    *,
    batch_size: int = 64,
) -> float:
    r"""Spearman rank correlation between :math:`\cos(f(s^1_i), f(s^2_i))` and the gold scores, in [-1, 1].

    Encodes in eval mode (no dropout); the model's train/eval mode is restored afterwards.
    """
    evaluator = sts_evaluator(sentences1, sentences2, scores, name="sts", batch_size=batch_size)
    was_training = model.training
    try:
        result = evaluator(model)
    finally:
        model.train(was_training)
    return float(result[evaluator.primary_metric])


def sts_spearman_frame(model: SentenceTransformer, frame: pd.DataFrame, *, batch_size: int = 64) -> float:
    """:func:`sts_spearman` on a frame from :func:`~contrastkit.text.data.read_sts`."""
    return sts_spearman(
        model,
        frame["sentence1"].tolist(),
        frame["sentence2"].tolist(),
        frame["score"].tolist(),
        batch_size=batch_size,
    )
