"""Training: the core loop (fit), sentence-transformers' own trainer, and their input rules."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

from contrastkit.core import TrainConfig
from contrastkit.text import METHODS, build_loss, fit, load_model, synthetic_sts

DATA = synthetic_sts(n_pairs=8, seed=0)


def columns_for(method: str) -> list[list[str]]:
    if method == "sup-simcse":
        return [DATA.sentences1, DATA.sentences2, DATA.sentences2[::-1]]
    return [DATA.sentences[:8]]


def snapshot(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("method", METHODS)
def test_fit_two_steps_trains_the_model_in_place(method):
    model = load_model(max_seq_length=32, device="cpu")
    before = snapshot(model)
    config = TrainConfig(max_steps=2, lr=1e-4, device="cpu", progress=False, log_every=1)
    trainer = fit(build_loss(method, model), columns_for(method), config, batch_size=4)
    assert [row["step"] for row in trainer.history] == [1.0, 2.0]
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in trainer.history)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("method", ["unsup-simcse", "sup-simcse", "esimcse"])
def test_losses_train_with_sentence_transformers_trainer(tmp_path, method):
    model = load_model(max_seq_length=32, device="cpu")
    names = ["anchor", "positive", "negative"] if method == "sup-simcse" else ["text"]
    dataset = Dataset.from_dict(dict(zip(names, columns_for(method), strict=True)))
    loss = build_loss(method, model)
    before = snapshot(model)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, learning_rate=1e-4,
        report_to="none", save_strategy="no", logging_steps=1, use_cpu=True, dataloader_drop_last=True,
        disable_tqdm=True,
    )
    SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    if method == "esimcse":
        assert len(loss.queue) == 8  # two steps of four sentences were enqueued


def test_fit_takes_pandas_columns_by_position():
    frame = pd.DataFrame({"s1": DATA.sentences1, "s2": DATA.sentences2}, index=range(100, 108))
    config = TrainConfig(max_steps=1, lr=1e-4, device="cpu", progress=False)

    def trained(columns) -> list[torch.Tensor]:  # type: ignore[no-untyped-def]
        torch.manual_seed(0)
        model = load_model(max_seq_length=32, device="cpu")
        fit(build_loss("sup-simcse", model), columns, config, batch_size=4)
        return snapshot(model)

    # Was a KeyError: rows were looked up by position in a Series indexed from 100.
    by_series, by_list = trained([frame.s1, frame.s2]), trained([DATA.sentences1, DATA.sentences2])
    assert all(torch.equal(a, b) for a, b in zip(by_series, by_list, strict=True))


def test_a_run_dir_is_not_continued_on_other_sentences(tmp_path):
    loss = build_loss("unsup-simcse", load_model(max_seq_length=32, device="cpu"))
    config = TrainConfig(max_steps=1, device="cpu", progress=False, run_dir=str(tmp_path))
    fit(loss, [DATA.sentences[:8]], config, batch_size=4)
    with pytest.raises(ValueError, match=r"other settings \(data 'sha256:\w+ \(8 rows\)' -> 'sha256:"):
        fit(loss, [DATA.sentences[8:16]], TrainConfig(max_steps=2, device="cpu", progress=False, run_dir=str(tmp_path)),
            batch_size=4)


def test_fit_rejects_unusable_data():
    loss = build_loss("unsup-simcse", load_model(max_seq_length=32, device="cpu"))
    config = TrainConfig(max_steps=1, progress=False)
    with pytest.raises(ValueError, match="same length"):
        fit(loss, [["a", "b"], ["c"]], config)
    with pytest.raises(ValueError, match="at least 2 rows"):
        fit(loss, [["only one"]], config)
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        fit(loss, [["a", "b", "c"]], config, batch_size=1)
    with pytest.raises(ValueError, match="method must be one of"):
        build_loss("simcse", loss.model)  # type: ignore[arg-type]


def test_build_loss_passes_each_methods_own_options_and_rejects_the_others():
    tiny_model = load_model(max_seq_length=32, device="cpu")
    loss = build_loss("esimcse", tiny_model, queue_size=8, momentum=0.9, repetition_rate=0.1)
    assert (loss.queue_size, loss.momentum, loss.repetition_rate) == (8, 0.9, 0.1)
    loss = build_loss("debiased", tiny_model, false_negative_threshold=0.5, n_bins=3, max_weight=2.0)
    assert (loss.false_negative_threshold, loss.n_bins, loss.max_weight) == (0.5, 3, 2.0)
    with pytest.raises(ValueError, match=r"unsup-simcse does not take \['queue_size'\]; its options are none"):
        build_loss("unsup-simcse", tiny_model, queue_size=8)
    with pytest.raises(ValueError, match="esimcse does not take"):
        build_loss("esimcse", tiny_model, n_bins=3)
