"""Interaction logs -> sequences -> leave-one-out splits -> training windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import require_data

from contrastkit.recsys.data import (
    PAD,
    WindowSampler,
    build_sequences,
    leave_one_out,
    left_pad,
    read_movielens,
    read_recbole_inter,
    synthetic_interactions,
    write_recbole_inter,
)


def log(rows: list[tuple[object, object, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_sequences_are_chronological_with_ties_in_row_order() -> None:
    frame = log([("u", "b", 2), ("u", "a", 1), ("u", "c", 2), ("u", "d", 0), ("v", "a", 5), ("v", "b", 5), ("v", "c", 4)])
    data = build_sequences(frame, min_interactions=3)
    decoded = [[data.item_ids[i] for i in seq] for seq in data.sequences]
    # u: d(0) a(1) then the two timestamp-2 rows in log order b, c.
    assert decoded == [["d", "a", "b", "c"], ["c", "a", "b"]]
    assert list(data.user_ids) == ["u", "v"]
    assert data.item_ids[PAD] is None and sorted(data.item_ids[1:]) == ["a", "b", "c", "d"]


def test_a_categorical_user_column_keeps_each_users_items() -> None:
    frame = log([("a", 10, 1), ("b", 1, 1), ("a", 11, 2), ("b", 2, 2), ("a", 12, 3), ("b", 3, 3)])
    frame["user_id"] = pd.Categorical(frame["user_id"], categories=["b", "a"])  # category order is not value order
    data = build_sequences(frame, min_interactions=3)
    decoded = {user: [data.item_ids[i] for i in seq] for user, seq in zip(data.user_ids, data.sequences, strict=True)}
    # Was {'a': [], 'b': [1, 2, 3, 10, 11, 12]}: bounds from np.unique's order cut pandas' category order.
    assert decoded == {"a": [10, 11, 12], "b": [1, 2, 3]}


def test_min_interactions_drops_short_users_and_rejects_unusable_settings() -> None:
    frame = log([("u", 1, t) for t in range(5)] + [("v", 2, t) for t in range(4)])
    assert list(build_sequences(frame, min_interactions=5).user_ids) == ["u"]
    with pytest.raises(ValueError, match="min_interactions must be >= 3"):
        build_sequences(frame, min_interactions=2)
    with pytest.raises(ValueError, match="no user has >= 9"):
        build_sequences(frame, min_interactions=9)


def test_malformed_logs_are_rejected_with_the_fix() -> None:
    with pytest.raises(ValueError, match="rename"):
        build_sequences(pd.DataFrame({"user": [1], "item_id": [1], "timestamp": [0]}))
    with pytest.raises(ValueError, match="missing values"):
        build_sequences(log([(1, None, 0), (1, 2, 1), (1, 3, 2)]))
    with pytest.raises(TypeError, match="DataFrame"):
        build_sequences([(1, 2, 3)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no rows"):
        build_sequences(log([]))
    # Text timestamps would sort "10" before "9": the log must say what they are.
    with pytest.raises(ValueError, match=r"timestamps must be numbers or datetimes.*\['9', '10', '11', '8'\]"):
        build_sequences(log([(1, "a", "9"), (1, "b", "10"), (1, "c", "11"), (1, "d", "8")]))
    with pytest.raises(ValueError, match=r"timestamps must be finite.*rows \[1\]"):
        build_sequences(log([(1, "a", 9.0), (1, "b", float("inf")), (1, "c", 11.0), (1, "d", 8.0)]))
    dated = log([(1, "a", "2024-01-09"), (1, "b", "2024-01-10"), (1, "c", "2024-01-08")])
    dated["timestamp"] = pd.to_datetime(dated["timestamp"])
    data = build_sequences(dated, min_interactions=3)
    assert [data.item_ids[i] for i in data.sequences[0]] == ["c", "a", "b"]


def test_leave_one_out_holds_out_the_last_two_items() -> None:
    frame = log([("u", i, i) for i in range(1, 8)] + [("v", 10 + i, i) for i in range(3)])
    split = leave_one_out(build_sequences(frame, min_interactions=3), max_len=4)
    u, v = split.data.sequences
    assert [s.tolist() for s in split.train] == [u[:-2].tolist(), v[:1].tolist()]
    assert split.valid.targets.tolist() == [u[-2], v[-2]]
    assert split.test.targets.tolist() == [u[-1], v[-1]]
    # Inputs are the last max_len items before the target, left-padded.
    assert split.valid.inputs.tolist() == [u[1:5].tolist(), [0, 0, 0, v[0]]]
    assert split.test.inputs.tolist() == [u[2:6].tolist(), [0, 0, v[0], v[1]]]


def test_left_pad_keeps_the_most_recent_items() -> None:
    out = left_pad([np.array([1, 2, 3, 4]), np.array([5]), np.array([], dtype=np.int64)], 3)
    assert out.tolist() == [[2, 3, 4], [0, 0, 5], [0, 0, 0]]


def test_movielens_and_recbole_readers(tmp_path) -> None:
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.0,100\n1,20,3.5,90\n2,10,5.0,50\n")
    frame = read_movielens(tmp_path)
    assert list(frame.columns) == ["user_id", "item_id", "timestamp", "rating"]
    assert frame["item_id"].tolist() == [10, 20, 10]
    write_recbole_inter(frame, tmp_path / "ml.inter")
    header = (tmp_path / "ml.inter").read_text().splitlines()[0]
    assert header == "user_id:token\titem_id:token\ttimestamp:float"
    back = read_recbole_inter(tmp_path / "ml.inter")
    assert back["item_id"].tolist() == ["10", "20", "10"] and back["timestamp"].tolist() == [100, 90, 50]
    (tmp_path / "bad.inter").write_text("user_id\titem_id\n1\t2\n")
    with pytest.raises(ValueError, match="type"):
        read_recbole_inter(tmp_path / "bad.inter")


def test_malformed_files_are_errors_that_name_the_file_and_line(tmp_path) -> None:
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("userId,movieId,rating,timestamp\n1,10,4.0,9\n1,20,3.0,10\n2,10,4.0,oops\n")
    with pytest.raises(ValueError, match=r"timestamps must be numbers.*rows \[2\]: \['oops'\]"):
        read_movielens(ratings)
    ratings.write_text("userId,movieId,rating,timestamp\n1,10,4.0,9\n1,20,3.0,10,extra\n")
    with pytest.raises(ValueError, match="ratings.csv is not a readable table"):
        read_movielens(ratings)
    ratings.write_text("")
    with pytest.raises(ValueError, match="ratings.csv is not a readable table"):
        read_movielens(ratings)
    ratings.write_text("userId,movieId,timestamp\n1,10,9\n")
    with pytest.raises(ValueError, match="no 'rating' column"):
        read_movielens(ratings)
    inter = tmp_path / "x.inter"
    inter.write_text("user_id:token\titem_id:token\ttimestamp:float\n1\t2\t5\n1\t3\tabc\n")
    with pytest.raises(ValueError, match=r"x.inter: timestamps that are not numbers at lines \[3\]"):
        read_recbole_inter(inter)
    inter.write_text("user_id:token\titem_id:token\ttimestamp:float\n1\t2\t5\n1\n")  # a truncated line
    with pytest.raises(ValueError, match="missing values"):
        read_recbole_inter(inter)
    inter.write_bytes(b"user_id:token\titem_id:token\ttimestamp:float\n1\t\xff\xfe\t5\n")
    with pytest.raises(ValueError, match="not a readable table"):
        read_recbole_inter(inter)
    # Two fields of one name (was: "The truth value of a Series is ambiguous").
    inter.write_text("user_id:token\titem_id:token\ttimestamp:float\titem_id:float\n1\t2\t5\t7\n")
    with pytest.raises(ValueError, match=r"x.inter: header fields \['item_id'\] appear more than once"):
        read_recbole_inter(inter)


def test_synthetic_log_follows_its_generator() -> None:
    frame = synthetic_interactions(n_users=20, n_items=30, n_clusters=3, stay=1.0, seed=1)
    assert set(frame.columns) == {"user_id", "item_id", "timestamp"}
    # With stay=1 every user walks one cluster's cycle: consecutive items never repeat immediately.
    for _, g in frame.groupby("user_id"):
        items = g["item_id"].tolist()
        assert all(a != b for a, b in zip(items, items[1:], strict=False))
    assert frame.equals(synthetic_interactions(n_users=20, n_items=30, n_clusters=3, stay=1.0, seed=1))


def naive_windows(train: list[np.ndarray], max_len: int) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every (input, target) window, built with Python loops."""
    out = set()
    for seq in train:
        for end in range(len(seq) - 1, 0, -max_len):
            lo = max(0, end - max_len)
            inputs = [0] * (max_len - (end - lo)) + seq[lo:end].tolist()
            targets = [0] * (max_len - (end - lo)) + seq[lo + 1 : end + 1].tolist()
            out.add((tuple(inputs), tuple(targets)))
    return out


def test_window_sampler_covers_every_target_once_per_epoch() -> None:
    rng = np.random.default_rng(0)
    train = [rng.integers(1, 9, size=n) for n in (1, 2, 5, 12, 23)]
    sampler = WindowSampler(train, max_len=4, batch_size=3, seed=0)
    batches = list(sampler.epoch(0))
    seen = {
        (tuple(i), tuple(t))
        for b in batches
        for i, t in zip(b.inputs.tolist(), b.targets.tolist(), strict=True)
    }
    assert seen == naive_windows(train, 4)
    n_targets = sum(int((b.targets != 0).sum()) for b in batches)
    assert n_targets == sum(len(s) - 1 for s in train)
    # Same epoch -> same batches (exact resume); another epoch -> another order.
    again = list(sampler.epoch(0))
    assert all(torch.equal(a.inputs, b.inputs) and torch.equal(a.partner, b.partner) for a, b in zip(batches, again, strict=True))
    assert not all(torch.equal(a.inputs, b.inputs) for a, b in zip(batches, sampler.epoch(1), strict=False))


def test_partners_are_other_prefixes_with_the_same_next_item() -> None:
    train = [np.array([1, 2, 3, 7]), np.array([4, 5, 3, 8]), np.array([6, 3, 9])]
    sampler = WindowSampler(train, max_len=2, batch_size=2, seed=0)
    prefixes = {}  # next item -> set of input windows of length 2 that precede it
    for seq in train:
        for t in range(1, len(seq)):
            window = seq[max(0, t - 2) : t].tolist()
            prefixes.setdefault(int(seq[t]), set()).add(tuple([0] * (2 - len(window)) + window))
    for epoch in range(5):
        for b in sampler.epoch(epoch):
            for inputs, partner, target in zip(b.inputs.tolist(), b.partner.tolist(), b.targets[:, -1].tolist(), strict=True):
                assert tuple(partner) in prefixes[target]
                if len(prefixes[target]) > 1:
                    assert partner != inputs, "the partner must be another prefix when one exists"


@pytest.mark.parametrize(("n_windows", "batch_size"), [(6, 3), (7, 3), (8, 3), (2, 5)])
def test_an_epoch_is_every_batch_the_sampler_yields(n_windows: int, batch_size: int) -> None:
    sampler = WindowSampler([np.array([1, 2])] * n_windows, max_len=4, batch_size=batch_size, seed=0)
    # A last batch of one window is skipped (no negative); one of 2+ is a batch.
    assert sampler.batches_per_epoch == len(list(sampler.epoch(0))) == -(-n_windows // batch_size) - (n_windows % batch_size == 1)


def test_window_sampler_rejects_unusable_input() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        WindowSampler([np.array([1, 2])], 4, batch_size=1)
    with pytest.raises(ValueError, match="nothing to predict"):
        WindowSampler([np.array([1]), np.array([2])], 4, batch_size=2)
    with pytest.raises(ValueError, match="one training window in all"):
        WindowSampler([np.array([1, 2]), np.array([3])], 4, batch_size=2)


def test_movielens_latest_small_real_data() -> None:
    path = require_data("ml-latest-small")
    frame = read_movielens(path)
    data = build_sequences(frame, min_interactions=5)
    assert len(frame) == 100_836
    assert data.n_users == 610  # every MovieLens user has >= 20 ratings
    assert sum(len(s) for s in data.sequences) == len(frame)
    split = leave_one_out(data, max_len=50)
    assert split.test.inputs.shape == (610, 50)
    assert bool((split.test.targets >= 1).all()) and int(split.test.targets.max()) <= data.n_items
