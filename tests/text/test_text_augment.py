"""Specifications of ESimCSE's word repetition."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from contrastkit.text import repetition_index, word_repetition


@settings(max_examples=200, deadline=None)
@given(n_tokens=st.integers(2, 40), rate=st.floats(0.0, 1.0), seed=st.integers(0, 10_000))
def test_repetition_index_repeats_content_tokens_in_place(n_tokens, rate, seed):
    index = repetition_index(n_tokens, rate, random.Random(seed))
    content = n_tokens - 2
    assert index[0] == 0 and index[-1] == n_tokens - 1
    assert sorted(set(index)) == list(range(n_tokens))  # nothing lost
    assert index == sorted(index)  # order kept, repeats adjacent
    repeated = [i for i in range(n_tokens) if index.count(i) == 2]
    assert all(index.count(i) <= 2 for i in range(n_tokens)) and 0 not in repeated and n_tokens - 1 not in repeated
    assert len(repeated) <= min(content, max(2, int(rate * content)))


def test_repetition_rate_controls_how_many_tokens_repeat_on_average():
    rng = random.Random(0)
    mean_extra = {
        rate: sum(len(repetition_index(52, rate, rng)) - 52 for _ in range(400)) / 400 for rate in (0.1, 0.32, 0.6)
    }
    # dup ~ U{0..floor(rate*50)}: mean floor(rate*50)/2 = 2.5, 8, 15
    assert mean_extra[0.1] == pytest.approx(2.5, abs=0.5)
    assert mean_extra[0.32] == pytest.approx(8.0, abs=1.0)
    assert mean_extra[0.6] == pytest.approx(15.0, abs=1.5)


def features():
    return {
        "input_ids": torch.tensor([[101, 11, 12, 13, 102], [101, 21, 102, 0, 0]]),
        "token_type_ids": torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
        "modality": "text",
    }


def test_word_repetition_reindexes_every_token_tensor_the_same_way():
    out = word_repetition(features(), rate=1.0, seed=1)
    for row in range(2):
        n = int(out["attention_mask"][row].sum())
        ids = out["input_ids"][row, :n].tolist()
        assert ids[0] == 101 and ids[-1] == 102
        assert [t for i, t in enumerate(ids) if i == 0 or t != ids[i - 1]] == [
            t for t in features()["input_ids"][row].tolist() if t
        ]
        assert out["input_ids"][row, n:].eq(0).all()
    # token_type_ids follow their tokens: the 1s stay on token 13 and [SEP].
    tokens, types = out["input_ids"][0], out["token_type_ids"][0]
    assert types[(tokens == 13) | (tokens == 102)].eq(1).all() and types[(tokens == 11) | (tokens == 12)].eq(0).all()
    assert out["modality"] == "text"


def test_word_repetition_is_seeded_and_respects_max_length():
    assert all(torch.equal(a, b) for a, b in zip(word_repetition(features(), seed=5).values(),
                                                   word_repetition(features(), seed=5).values(), strict=False)
               if isinstance(a, torch.Tensor))
    cut = word_repetition(features(), rate=1.0, seed=1, max_length=4)
    assert cut["input_ids"].shape[1] <= 4
    assert cut["input_ids"][0, int(cut["attention_mask"][0].sum()) - 1] == 102


@pytest.mark.parametrize(("kwargs", "message"), [({"rate": -0.1}, "rate"), ({"max_length": 1}, "max_length")])
def test_word_repetition_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        word_repetition(features(), **kwargs)
    with pytest.raises(ValueError, match="input_ids"):
        word_repetition({"attention_mask": torch.ones(1, 3)})


def test_word_repetition_rejects_a_left_padded_batch():
    left = {"input_ids": torch.tensor([[0, 0, 101, 5, 102]]), "attention_mask": torch.tensor([[0, 0, 1, 1, 1]])}
    with pytest.raises(ValueError, match="not right-padded"):
        word_repetition(left, seed=0)
