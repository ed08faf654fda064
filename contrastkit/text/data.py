"""Readers for sentence data and a built-in synthetic corpus.

* :func:`read_sts`: STS-benchmark files (tab-separated, no quoting, extra fields after sentence 2).
* :func:`read_sentences`: plain text, one sentence per line (unsupervised training).
* :func:`frame_columns`: a pandas DataFrame of pairs or triples -> validated string columns.
* :func:`sts_triples`: (anchor, positive, hard negative) triples from scored STS pairs.
* :func:`synthetic_sts`: template sentences with graded similarity, for the demo and tests.

Columns are plain ``list[str]``: the order sentence-transformers expects in ``sentence_features``
(anchor first). ``datasets.Dataset.from_dict(dict(zip(names, columns)))`` turns them into a
dataset for ``SentenceTransformerTrainer``.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

STS_FIELDS = ("genre", "file", "year", "id", "score", "sentence1", "sentence2")
"""The first seven tab-separated fields of an STS-benchmark line; later fields are dropped."""


@contextlib.contextmanager
def _utf8(path: Path, where: str) -> Iterator[None]:
    """Report a file that is not UTF-8 text as a ValueError naming it (the codec's error does not)."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: {path} is not UTF-8 text ({error}).") from error


def read_sts(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an STS-benchmark file (``sts-train.csv``, ``sts-dev.csv``, ``sts-test.csv``).

    Lines are tab-separated with no quoting (sentences contain unbalanced ``"``); some lines carry
    extra source fields after sentence 2, which are dropped.

    Returns:
        A DataFrame with columns :data:`STS_FIELDS`; ``score`` is float in [0, 5].

    Raises:
        ValueError: a line with fewer than 7 fields, a score that is not a number in [0, 5], an
            empty sentence, or a file without any pair. The message names the line.
    """
    path = Path(path)
    rows: list[list[str]] = []
    with path.open(encoding="utf-8", newline="") as handle, _utf8(path, "read_sts"):
        for line_no, fields in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not fields or fields == [""]:
                continue
            if len(fields) < len(STS_FIELDS):
                raise ValueError(
                    f"read_sts: {path}:{line_no} has {len(fields)} tab-separated fields; an STS line needs "
                    f"at least 7 ({', '.join(STS_FIELDS)}). Is this a one-sentence-per-line file? "
                    "Use read_sentences for those."
                )
            fields = [f.strip() for f in fields[: len(STS_FIELDS)]]
            try:
                score = float(fields[4])
            except ValueError:
                score = math.nan
            if not 0.0 <= score <= 5.0:
                raise ValueError(
                    f"read_sts: {path}:{line_no}: score must be a number in [0, 5]; got {fields[4]!r}."
                )
            if not fields[5] or not fields[6]:
                raise ValueError(f"read_sts: {path}:{line_no}: sentence 1 and sentence 2 must be non-empty.")
            rows.append(fields)
    if not rows:
        raise ValueError(f"read_sts: {path} contains no sentence pairs.")
    frame = pd.DataFrame(rows, columns=list(STS_FIELDS))
    frame["score"] = frame["score"].astype(float)
    return frame


def read_sentences(path: str | os.PathLike[str]) -> list[str]:
    """Read one sentence per line; surrounding whitespace is stripped and empty lines are skipped.

    Raises:
        ValueError: when the file holds no non-empty line.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as handle, _utf8(path, "read_sentences"):
        sentences = [line.strip() for line in handle]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise ValueError(f"read_sentences: {path} has no non-empty line; expected one sentence per line.")
    return sentences


def frame_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[list[str]]:
    """Validated string columns of a DataFrame of pairs or triples, in the order given.

    Args:
        frame: e.g. ``pd.DataFrame({"anchor": [...], "positive": [...], "negative": [...]})``.
        columns: the column names, anchor first (2 for pairs, 3 for triples).

    Raises:
        ValueError: a missing column, a missing (NaN) or empty cell, or an empty frame.
        TypeError: a cell that is not a string.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame_columns: expected a pandas DataFrame; got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"frame_columns: columns {missing} are missing; the frame has {list(frame.columns)}. "
            "Rename them or pass the right names."
        )
    if len(frame) == 0:
        raise ValueError("frame_columns: the frame has no rows.")
    out: list[list[str]] = []
    for name in columns:
        values = frame[name].tolist()
        for row, value in enumerate(values):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise ValueError(f"frame_columns: column {name!r} row {row} is missing (NaN); drop or fill that row.")
            if not isinstance(value, str):
                raise TypeError(
                    f"frame_columns: column {name!r} row {row} must be a string; got {type(value).__name__}."
                )
            if not value.strip():
                raise ValueError(f"frame_columns: column {name!r} row {row} is empty; drop or fill that row.")
        out.append([v.strip() for v in values])
    return out


def unique_sentences(frame: pd.DataFrame) -> list[str]:
    """The distinct sentences of an STS frame (sentence 1 then sentence 2), in first-seen order."""
    return list(dict.fromkeys(frame["sentence1"].tolist() + frame["sentence2"].tolist()))


def _tokens(sentence: str) -> set[str]:
    return {w.strip(".,;:!?\"'()").lower() for w in sentence.split()} - {""}


def sts_triples(
    frame: pd.DataFrame, *, positive_min: float = 4.0, negative_max: float = 1.0
) -> list[list[str]]:
    """(anchor, positive, hard negative) columns from scored STS pairs.

    Every pair with ``score >= positive_min`` gives (sentence 1, sentence 2). Its hard negative is
    the sentence of a low-scoring pair (``score <= negative_max``) with the highest word-set Jaccard
    overlap with the anchor (ties: the first in the order of :func:`unique_sentences` of those pairs,
    every sentence 1 before every sentence 2), never the anchor or positive itself:
    lexically close but, by the gold scores, about something else.

    Raises:
        ValueError: when there are no positive pairs or no low-scoring pairs.
    """
    positives = frame[frame["score"] >= positive_min]
    low = frame[frame["score"] <= negative_max]
    if positives.empty or low.empty:
        raise ValueError(
            f"sts_triples: need pairs with score >= {positive_min} and pairs with score <= {negative_max}; "
            f"got {len(positives)} and {len(low)}."
        )
    pool = unique_sentences(low)
    pool_tokens = [_tokens(s) for s in pool]
    anchors, pos, neg = [], [], []
    for a, p in zip(positives["sentence1"], positives["sentence2"], strict=True):
        ta = _tokens(a)
        best, best_score = None, -1.0
        for cand, tc in zip(pool, pool_tokens, strict=True):
            if cand in (a, p):
                continue
            score = len(ta & tc) / max(1, len(ta | tc))
            if score > best_score:
                best, best_score = cand, score
        if best is None:
            continue
        anchors.append(a)
        pos.append(p)
        neg.append(best)
    return [anchors, pos, neg]


@dataclass(frozen=True)
class SyntheticSTS:
    """Built-in sentence data: a corpus for unsupervised training and graded pairs for evaluation."""

    sentences: list[str]
    """Distinct template sentences (the unlabelled training corpus)."""
    sentences1: list[str]
    """First sentence of each evaluation pair."""
    sentences2: list[str]
    """Second sentence of each evaluation pair."""
    scores: list[float]
    """Gold similarity in [0, 5]: 5/4 per shared slot (subject, verb, place, time)."""


_SLOTS = (
    ("a young boy", "an old woman", "the chef", "a black dog", "two soldiers", "the pilot", "a small cat"),
    ("is cooking dinner", "is playing guitar", "is reading a book", "is running fast", "is painting a wall"),
    ("in the kitchen", "on the beach", "near the river", "at the station", "inside a church"),
    ("this morning", "at night", "in winter", "after lunch", "before the storm"),
)


def synthetic_sts(n_pairs: int = 200, seed: int = 0) -> SyntheticSTS:
    """Template sentences ``subject verb place time`` and pairs scored by how many slots they share.

    Deterministic for a given seed; no download. Scores are ``5 * shared_slots / 4``.
    """
    if n_pairs <= 0:
        raise ValueError(f"synthetic_sts: n_pairs must be > 0; got {n_pairs}.")
    rng = random.Random(seed)

    def sentence(choice: Sequence[int]) -> str:
        return " ".join(slot[i] for slot, i in zip(_SLOTS, choice, strict=True)) + "."

    s1, s2, scores = [], [], []
    for _ in range(n_pairs):
        a = [rng.randrange(len(slot)) for slot in _SLOTS]
        keep = rng.randint(0, len(_SLOTS))
        shared = set(rng.sample(range(len(_SLOTS)), keep))
        b = [
            a[k] if k in shared else rng.choice([i for i in range(len(_SLOTS[k])) if i != a[k]])
            for k in range(4)
        ]
        s1.append(sentence(a))
        s2.append(sentence(b))
        scores.append(5.0 * keep / len(_SLOTS))
    corpus_rng = random.Random(seed + 1)
    corpus = {sentence([corpus_rng.randrange(len(slot)) for slot in _SLOTS]) for _ in range(4 * n_pairs)}
    return SyntheticSTS(sorted(corpus), s1, s2, scores)
