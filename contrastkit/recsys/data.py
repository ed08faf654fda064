"""Interaction logs -> chronological item sequences -> leave-one-out splits and training windows.

An interaction log is a pandas DataFrame with columns ``user_id``, ``item_id``, ``timestamp`` (any
hashable ids; numeric or datetime timestamps: strings would sort as text, "10" before "9").
:func:`build_sequences` filters users with too few interactions, remaps items to ``1..n_items``
(0 is padding) and orders each user's interactions by timestamp, keeping the log's row order for
equal timestamps (a stable sort). :func:`leave_one_out`
holds out each user's last item for test and the one before it for validation.

Sequences given to a model are left-padded ``[B, L]`` long tensors: the most recent item is always
in the last column, so the sequence representation is ``hidden[:, -1]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from contrastkit.core import read_csv

COLUMNS = ("user_id", "item_id", "timestamp")
PAD = 0


def check_interactions(frame: pd.DataFrame, where: str = "recsys") -> None:
    """Raise if ``frame`` is not an interaction log (columns, missing values)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{where}: interactions must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{where}: interactions need columns {list(COLUMNS)}; missing {missing} (have {list(frame.columns)}). "
            "Rename them, e.g. frame.rename(columns={'userId': 'user_id', 'movieId': 'item_id'})."
        )
    if frame.empty:
        raise ValueError(f"{where}: the interaction log has no rows.")
    nulls = {c: int(frame[c].isna().sum()) for c in COLUMNS if frame[c].isna().any()}
    nulls.update({c: int((frame[c] == "").sum()) for c in ("user_id", "item_id") if (frame[c] == "").any()})
    if nulls:
        raise ValueError(f"{where}: interactions contain missing values {nulls}; drop or fill those rows first.")
    stamps = frame["timestamp"]
    if not (pd.api.types.is_numeric_dtype(stamps) or pd.api.types.is_datetime64_any_dtype(stamps)) or (
        pd.api.types.is_bool_dtype(stamps)
    ):
        bad = stamps[pd.to_numeric(stamps, errors="coerce").isna()]
        shown = f"non-numeric values at rows {bad.index[:5].tolist()}: {bad.head(5).tolist()}" if len(bad) else (
            f"values such as {stamps.head(5).tolist()}"
        )
        raise ValueError(
            f"{where}: timestamps must be numbers or datetimes (strings would sort as text); column dtype is "
            f"{stamps.dtype}, {shown}. Convert with pd.to_numeric or pd.to_datetime first."
        )
    if pd.api.types.is_numeric_dtype(stamps) and not np.isfinite(stamps.to_numpy(dtype=np.float64)).all():
        bad = stamps[~np.isfinite(stamps.to_numpy(dtype=np.float64))]
        raise ValueError(
            f"{where}: timestamps must be finite (an infinite one sorts first or last); rows {bad.index[:5].tolist()} "
            f"hold {bad.head(5).tolist()}."
        )


def read_movielens(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a MovieLens ``ratings.csv`` (``userId,movieId,rating,timestamp``) as an interaction log.

    ``path`` is the CSV or the folder that holds it (e.g. ``ml-latest-small/``). Every rating
    counts as an interaction (implicit feedback). Returns ``user_id, item_id, timestamp, rating``.
    """
    path = Path(path)
    csv = path / "ratings.csv" if path.is_dir() else path
    if not csv.exists():
        raise FileNotFoundError(f"read_movielens: {csv} does not exist; pass the ml-latest-small folder or ratings.csv.")
    frame = read_csv(csv, "read_movielens")
    frame = frame.rename(columns={"userId": "user_id", "movieId": "item_id"})
    if "rating" not in frame.columns:
        raise ValueError(f"read_movielens: {csv} has no 'rating' column (have {list(frame.columns)}); is it ratings.csv?")
    check_interactions(frame, "read_movielens")
    return frame[["user_id", "item_id", "timestamp", "rating"]]


def read_recbole_inter(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a RecBole atomic ``.inter`` file (tab-separated, header fields ``name:type``).

    The user, item and time fields are recognised by RecBole's default names ``user_id``,
    ``item_id`` and ``timestamp``; other fields are kept under their bare names.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"read_recbole_inter: {path} does not exist.")
    frame = read_csv(path, "read_recbole_inter", sep="\t", dtype=str, keep_default_na=False)
    names = {}
    for col in frame.columns:
        name, _, kind = col.partition(":")
        if not kind:
            raise ValueError(
                f"read_recbole_inter: header field {col!r} has no ':type' suffix; atomic files name fields "
                "like 'user_id:token'. Is this a RecBole .inter file?"
            )
        names[col] = name
    repeated = sorted({name for name in names.values() if list(names.values()).count(name) > 1})
    if repeated:
        raise ValueError(f"read_recbole_inter: {path}: header fields {repeated} appear more than once (with different types).")
    frame = frame.rename(columns=names)
    if "timestamp" in frame.columns:
        # The file is read as text; a time field that does not parse is reported by line.
        stamps = pd.to_numeric(frame["timestamp"], errors="coerce")
        bad = stamps.isna() & (frame["timestamp"] != "")
        if bad.any():
            lines = (frame.index[bad][:5] + 2).tolist()  # 1-based, after the header line
            raise ValueError(
                f"read_recbole_inter: {path}: timestamps that are not numbers at lines {lines}: "
                f"{frame['timestamp'][bad].head(5).tolist()}."
            )
        frame["timestamp"] = stamps
    check_interactions(frame, "read_recbole_inter")
    return frame


def write_recbole_inter(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write an interaction log as a RecBole atomic ``.inter`` file (the inverse of :func:`read_recbole_inter`)."""
    check_interactions(frame, "write_recbole_inter")
    out = frame[list(COLUMNS)].rename(
        columns={"user_id": "user_id:token", "item_id": "item_id:token", "timestamp": "timestamp:float"}
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep="\t", index=False)


def synthetic_interactions(
    n_users: int = 300,
    n_items: int = 200,
    *,
    n_clusters: int = 8,
    min_length: int = 12,
    max_length: int = 40,
    stay: float = 0.8,
    seed: int = 0,
) -> pd.DataFrame:
    """A log with latent item clusters and user drift, where the next item is predictable.

    Items are split into ``n_clusters`` clusters, each with a fixed cyclic order. A user starts in a
    random cluster and at each step either continues the cluster's order (probability ``stay``,
    the next item after the current one) or drifts to the next cluster (a random item of it).
    A model that reads the history can therefore reach high HR@10; popularity cannot.

    Returns ``user_id, item_id, timestamp`` with string item ids (``"i17"``) to exercise remapping.
    """
    if n_items < n_clusters or n_clusters < 1:
        raise ValueError(f"synthetic_interactions: need 1 <= n_clusters <= n_items; got {n_clusters}, {n_items}.")
    if not 3 <= min_length <= max_length:
        raise ValueError(f"synthetic_interactions: need 3 <= min_length <= max_length; got {min_length}, {max_length}.")
    rng = np.random.default_rng(seed)
    cluster_of = rng.permutation(n_items) % n_clusters
    members = [np.flatnonzero(cluster_of == c) for c in range(n_clusters)]
    position = np.empty(n_items, dtype=np.int64)
    for m in members:
        position[m] = np.arange(len(m))
    rows = []
    for user in range(n_users):
        cluster = int(rng.integers(n_clusters))
        item = int(rng.choice(members[cluster]))
        for t in range(int(rng.integers(min_length, max_length + 1))):
            rows.append((user, f"i{item}", t))
            if rng.random() < stay:
                m = members[cluster]
                item = int(m[(position[item] + 1) % len(m)])
            else:
                cluster = (cluster + 1) % n_clusters
                item = int(rng.choice(members[cluster]))
    return pd.DataFrame(rows, columns=list(COLUMNS))


@dataclass(frozen=True)
class SequenceData:
    """Per-user chronological item sequences with the id maps back to the original log.

    Attributes:
        sequences: one ``int64`` array per user of item indices in ``1..n_items`` (oldest first).
        item_ids: ``[n_items + 1]`` original id of each item index (entry 0, padding, is None).
        user_ids: ``[n_users]`` original id of each user, in the order of ``sequences``.
    """

    sequences: list[np.ndarray]
    item_ids: np.ndarray
    user_ids: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.item_ids) - 1

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    def item_index(self, ids: list[object] | np.ndarray) -> np.ndarray:
        """Map original item ids to indices ``1..n_items``; unknown ids raise ValueError listing them."""
        lookup = pd.Index(self.item_ids[1:])
        codes = lookup.get_indexer(pd.Index(list(ids)))
        if (codes < 0).any():
            unknown = [ids[i] for i in np.flatnonzero(codes < 0)[:10]]
            raise ValueError(
                f"unknown item ids {unknown} (not in the {self.n_items} training items); drop them or "
                "retrain with them in the log."
            )
        return codes.astype(np.int64) + 1


def build_sequences(frame: pd.DataFrame, *, min_interactions: int = 5) -> SequenceData:
    """Filter, remap and order an interaction log into per-user sequences.

    Users with fewer than ``min_interactions`` interactions are dropped (once; the item set is
    what remains). Items are numbered ``1..n_items`` in order of first appearance in the sorted log.
    Equal timestamps keep the row order of ``frame`` (stable sort), so the result is deterministic.

    Raises:
        ValueError: on a malformed log, ``min_interactions < 3`` (leave-one-out needs a training,
            a validation and a test item) or when no user passes the filter.
    """
    check_interactions(frame, "build_sequences")
    if min_interactions < 3:
        raise ValueError(
            f"build_sequences: min_interactions must be >= 3 (one item each for train, validation and test); "
            f"got {min_interactions}."
        )
    counts = frame.groupby("user_id", sort=False)["user_id"].transform("size")
    kept = frame[counts >= min_interactions]
    if kept.empty:
        raise ValueError(
            f"build_sequences: no user has >= {min_interactions} interactions (largest: {int(counts.max()) if len(counts) else 0}); "
            "lower min_interactions or provide more data."
        )
    kept = kept.assign(_row=np.arange(len(kept))).sort_values(["user_id", "timestamp", "_row"], kind="stable")
    codes, uniques = pd.factorize(kept["item_id"], sort=False)
    item_ids = np.empty(len(uniques) + 1, dtype=object)
    item_ids[1:] = np.asarray(uniques, dtype=object)
    # Users' runs from the sorted rows themselves: np.unique's value order is not pandas' order for a
    # categorical column (sorted by its categories), and mismatched bounds would mix two users' items.
    user_codes, user_values = pd.factorize(kept["user_id"], sort=False)
    starts = np.flatnonzero(np.r_[True, user_codes[1:] != user_codes[:-1]])
    users = np.asarray(user_values)[user_codes[starts]]
    bounds = np.append(starts, len(kept))
    flat = codes.astype(np.int64) + 1
    sequences = [flat[bounds[i] : bounds[i + 1]] for i in range(len(users))]
    return SequenceData(sequences=sequences, item_ids=item_ids, user_ids=users)


def left_pad(sequences: list[np.ndarray], max_len: int) -> Tensor:
    """Keep the last ``max_len`` items of each sequence, left-padded with 0: ``[len(sequences), max_len]``."""
    if max_len <= 0:
        raise ValueError(f"left_pad: max_len must be > 0; got {max_len}.")
    out = torch.zeros(len(sequences), max_len, dtype=torch.long)
    for row, seq in enumerate(sequences):
        tail = seq[-max_len:]
        if len(tail):
            out[row, max_len - len(tail) :] = torch.as_tensor(tail, dtype=torch.long)
    return out


@dataclass(frozen=True)
class EvalSplit:
    """Full-ranking evaluation inputs: ``inputs [U, L]`` left-padded histories, ``targets [U]`` held-out items."""

    inputs: Tensor
    targets: Tensor


@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-out split: ``train`` sequences (all but the last two items) and the two held-out items.

    Validation ranks ``seq[-2]`` from ``seq[:-2]``; test ranks ``seq[-1]`` from ``seq[:-1]``.
    """

    data: SequenceData
    train: list[np.ndarray]
    valid: EvalSplit
    test: EvalSplit
    max_len: int

    def history(self, which: Literal["valid", "test"]) -> list[np.ndarray]:
        """Every user's whole history before the held-out item, not truncated to ``max_len``: the
        training items for ``"valid"``, those and the validation item for ``"test"``. Pass it as
        :func:`~contrastkit.recsys.evaluate.evaluate`'s ``exclude`` to rank as RecBole does."""
        if which == "valid":
            return self.train
        if which == "test":
            return [s[:-1] for s in self.data.sequences]
        raise ValueError(f"LeaveOneOut.history: which must be 'valid' or 'test'; got {which!r}.")


def leave_one_out(data: SequenceData, max_len: int = 50) -> LeaveOneOut:
    """Split every user's sequence: last item test, second-to-last validation, the rest training."""
    short = [i for i, s in enumerate(data.sequences) if len(s) < 3]
    if short:
        raise ValueError(
            f"leave_one_out: {len(short)} users have fewer than 3 interactions (e.g. user "
            f"{data.user_ids[short[0]]!r}); build the data with build_sequences(min_interactions>=3)."
        )
    train = [s[:-2] for s in data.sequences]
    valid = EvalSplit(left_pad(train, max_len), torch.as_tensor([s[-2] for s in data.sequences]))
    test = EvalSplit(left_pad([s[:-1] for s in data.sequences], max_len), torch.as_tensor([s[-1] for s in data.sequences]))
    return LeaveOneOut(data=data, train=train, valid=valid, test=test, max_len=max_len)


@dataclass(frozen=True)
class Batch:
    """A batch of training windows.

    Attributes:
        inputs: ``[B, L]`` left-padded item indices.
        targets: ``[B, L]`` the next item at every position (0 where ``inputs`` is padding).
        partner: ``[B, L]`` another training prefix whose next item equals ``targets[:, -1]``
            (DuoRec's supervised positive; the window's own input when no other prefix has that target).
    """

    inputs: Tensor
    targets: Tensor
    partner: Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(self.inputs.to(device), self.targets.to(device), self.partner.to(device))


class WindowSampler:
    """Training windows over every training interaction, with same-target partners, reshuffled per epoch.

    Every user's training sequence is tiled into windows of ``max_len`` next-item targets, from the
    last item backwards, so every training interaction (except a user's first) is a target exactly
    once per epoch (SASRec's next-item loss at every position, over the whole history rather than
    only its last ``max_len`` items). A window ending at position ``e`` reads ``seq[e-L:e]`` and
    predicts ``seq[e-L+1:e+1]``. ``windows_per_user=k`` keeps only each user's ``k`` most recent
    windows (``1`` is the SASRec paper's setting: the last ``max_len`` actions). The partner of a
    window is a random other training prefix with the same next item (drawn from all prefixes of
    all users, as DuoRec does).

    Iterating ``sampler.epoch(k)`` is deterministic in ``(seed, k)``, which keeps resume exact.
    """

    def __init__(
        self,
        train: list[np.ndarray],
        max_len: int,
        batch_size: int,
        *,
        windows_per_user: int | None = None,
        seed: int = 0,
    ) -> None:
        if batch_size < 2:
            raise ValueError(f"WindowSampler: batch_size must be >= 2 (in-batch negatives); got {batch_size}.")
        lengths = np.array([len(s) for s in train], dtype=np.int64)
        if windows_per_user is not None and windows_per_user < 1:
            raise ValueError(f"WindowSampler: windows_per_user must be >= 1 or None; got {windows_per_user}.")
        if (lengths < 2).all():
            raise ValueError("WindowSampler: every training sequence has < 2 items; there is nothing to predict.")
        self.max_len, self.batch_size, self.seed = max_len, batch_size, seed
        self.lengths = lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.flat = torch.as_tensor(np.concatenate(train), dtype=torch.long)
        # Every prefix (user u, position t >= 1) and its next item, grouped by that item (CSR layout).
        users = np.repeat(np.arange(len(train)), lengths)
        positions = np.arange(len(users)) - self.offsets[users]
        self.prefix_end = np.flatnonzero(positions >= 1)  # flat index of each prefix's next item
        targets = self.flat.numpy()[self.prefix_end]
        order = np.argsort(targets, kind="stable")
        self.prefix_end, targets = self.prefix_end[order], targets[order]
        n_items = int(self.flat.max())
        self.group_start = np.searchsorted(targets, np.arange(n_items + 2))
        self.rank_of = np.empty(len(self.flat), dtype=np.int64)
        self.rank_of[self.prefix_end] = np.arange(len(self.prefix_end))
        # Windows tile each sequence from its last item back, max_len targets each.
        self.user_start = self.offsets[users]  # flat index -> start of its user's sequence
        ends = [off + np.arange(n - 1, 0, -max_len)[:windows_per_user] for n, off in zip(lengths, self.offsets, strict=True)]
        self.window_end = np.concatenate(ends)
        self.window_start = self.user_start[self.window_end]
        if len(self.window_end) < 2:
            raise ValueError("WindowSampler: one training window in all; a batch needs 2 (in-batch negatives).")

    def _windows(self, ends: np.ndarray, starts: np.ndarray) -> Tensor:
        """Input windows ``flat[e-L:e]`` clipped at the sequence start ``s``: ``[len(ends), L]``, left-padded."""
        idx = torch.as_tensor(ends)[:, None] - self.max_len + torch.arange(self.max_len)  # (N, L)
        valid = idx >= torch.as_tensor(starts)[:, None]
        return torch.where(valid, self.flat[idx.clamp(min=0)], torch.zeros((), dtype=torch.long))

    def partners(self, ends: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each target (flat index ``ends``), a different prefix with the same target when one exists."""
        item = self.flat.numpy()[ends]
        lo, count = self.group_start[item], self.group_start[item + 1] - self.group_start[item]
        own = self.rank_of[ends] - lo
        pick = (rng.random(len(ends)) * np.maximum(count - 1, 1)).astype(np.int64)
        pick = np.where(count > 1, pick + (pick >= own), own)  # skip the window itself
        return self.prefix_end[lo + pick]

    @property
    def batches_per_epoch(self) -> int:
        """Batches :meth:`epoch` yields: the full ones and a last, smaller one of at least 2 windows."""
        full, rest = divmod(len(self.window_end), self.batch_size)
        return full + (rest >= 2)

    def epoch(self, epoch: int) -> Iterator[Batch]:
        """The batches of one epoch: every window once, in an order drawn from ``(seed, epoch)``."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.window_end))
        for b in range(0, len(order), self.batch_size):
            pick = order[b : b + self.batch_size]
            if len(pick) < 2:  # a lone window has no in-batch negatives
                continue
            ends, starts = self.window_end[pick], self.window_start[pick]
            partner_ends = self.partners(ends, rng)
            yield Batch(
                inputs=self._windows(ends, starts),
                targets=self._windows(ends + 1, starts + 1),
                partner=self._windows(partner_ends, self.user_start[partner_ends]),
            )
