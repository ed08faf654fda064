"""Specifications of the readers: STS files, sentence files, DataFrames, triples, synthetic data."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import require_data

from contrastkit.text import (
    STS_FIELDS,
    frame_columns,
    read_sentences,
    read_sts,
    sts_triples,
    synthetic_sts,
    unique_sentences,
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_sts_keeps_the_first_seven_fields_and_unbalanced_quotes(tmp_path):
    path = write(
        tmp_path,
        "sts.csv",
        'main-news\theadlines\t2016\t0001\t4.5\tHe said "yes.\tHe agreed.\tsource A\tsource B\n'
        "main-captions\tMSRvid\t2012\t0002\t0\tA cat.\tA car.\n",
    )
    frame = read_sts(path)
    assert list(frame.columns) == list(STS_FIELDS)
    assert frame["sentence1"].tolist() == ['He said "yes.', "A cat."]
    assert frame["sentence2"].tolist() == ["He agreed.", "A car."]
    assert frame["score"].tolist() == [4.5, 0.0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("just one sentence per line\n", "needs at least 7"),
        ("g\tf\t2012\t1\tfive\tA.\tB.\n", "score must be a number"),
        ("g\tf\t2012\t1\t7.5\tA.\tB.\n", "score must be a number"),
        ("g\tf\t2012\t1\t3\t \tB.\n", "non-empty"),
    ],
)
def test_read_sts_names_the_bad_line(tmp_path, line, message):
    path = write(tmp_path, "bad.csv", "g\tf\t2012\t0\t1\tA.\tB.\n" + line)
    with pytest.raises(ValueError, match=rf"bad\.csv:2\b.*{message}"):
        read_sts(path)


def test_read_sts_on_the_real_dev_split():
    frame = read_sts(require_data("stsbenchmark/sts-dev.csv"))
    assert len(frame) == 1500
    assert frame["score"].between(0, 5).all()
    assert (frame["sentence1"].str.len() > 0).all() and (frame["sentence2"].str.len() > 0).all()


def test_read_sentences_strips_and_skips_empty_lines(tmp_path):
    path = write(tmp_path, "s.txt", "  First sentence. \n\n\t\nSecond one.\n")
    assert read_sentences(path) == ["First sentence.", "Second one."]
    with pytest.raises(ValueError, match="no non-empty line"):
        read_sentences(write(tmp_path, "empty.txt", "\n \n"))


@pytest.mark.parametrize("reader", [read_sts, read_sentences])
def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path, reader):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("genre\tfile\t2012\t1\t4.0\tCafé.\tA café.\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.tsv is not UTF-8 text"):
        reader(path)


def test_frame_columns_returns_columns_in_the_requested_order():
    frame = pd.DataFrame({"positive": ["b1", "b2"], "anchor": [" a1", "a2"], "negative": ["c1", "c2"]})
    assert frame_columns(frame, ["anchor", "positive", "negative"]) == [["a1", "a2"], ["b1", "b2"], ["c1", "c2"]]


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (pd.DataFrame({"anchor": ["a"], "pos": ["b"]}), ValueError, "missing"),
        (pd.DataFrame({"anchor": ["a", None], "positive": ["b", "c"]}), ValueError, "row 1 is missing"),
        (pd.DataFrame({"anchor": ["a", float("nan")], "positive": ["b", "c"]}), ValueError, "NaN"),
        (pd.DataFrame({"anchor": ["a", 3], "positive": ["b", "c"]}), TypeError, "row 1 must be a string; got int"),
        (pd.DataFrame({"anchor": ["a", "  "], "positive": ["b", "c"]}), ValueError, "empty"),
        (pd.DataFrame({"anchor": [], "positive": []}), ValueError, "no rows"),
    ],
)
def test_frame_columns_rejects_bad_frames(frame, error, message):
    with pytest.raises(error, match=message):
        frame_columns(frame, ["anchor", "positive"])


def test_sts_triples_pick_the_most_overlapping_low_scoring_sentence_as_hard_negative():
    frame = pd.DataFrame(
        {
            "score": [4.8, 0.4, 0.2, 2.5],
            "sentence1": ["A man plays a guitar.", "A man plays football.", "Birds fly south.", "A man sings."],
            "sentence2": ["A guy is playing guitar.", "Stocks fell.", "The sea is calm.", "A woman sings."],
        }
    )
    anchors, positives, negatives = sts_triples(frame)
    assert anchors == ["A man plays a guitar."]
    assert positives == ["A guy is playing guitar."]
    assert negatives == ["A man plays football."]
    with pytest.raises(ValueError, match="score <= 0.1"):
        sts_triples(frame, negative_max=0.1)


def test_unique_sentences_keep_first_seen_order():
    frame = pd.DataFrame({"sentence1": ["a", "b"], "sentence2": ["b", "c"]})
    assert unique_sentences(frame) == ["a", "b", "c"]


def test_synthetic_sts_is_deterministic_and_scores_count_shared_slots():
    from contrastkit.text.data import _SLOTS

    def slots(sentence: str) -> list[str]:
        return [next(phrase for phrase in options if phrase in sentence) for options in _SLOTS]

    data = synthetic_sts(50, seed=3)
    assert data == synthetic_sts(50, seed=3) and data != synthetic_sts(50, seed=4)
    for s1, s2, score in zip(data.sentences1, data.sentences2, data.scores, strict=True):
        shared = sum(a == b for a, b in zip(slots(s1), slots(s2), strict=True))
        assert score == 5.0 * shared / len(_SLOTS)
    assert len(set(data.scores)) > 2
    assert len(set(data.sentences)) == len(data.sentences)
