"""Pretraining and fine-tuning smoke runs on tiny synthetic recordings, and encoder round trips."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from contrastkit.core import TrainConfig
from contrastkit.timeseries.data import make_windows, synthetic_recordings
from contrastkit.timeseries.evaluate import split_and_normalize
from contrastkit.timeseries.models import Classifier
from contrastkit.timeseries.objectives import LevelWeights
from contrastkit.timeseries.train import (
    EncoderConfig,
    PretrainConfig,
    encoder_state,
    finetune,
    load_encoder,
    pretrain,
)

TINY = EncoderConfig(out_dim=8, hidden=8, depth=2)


def tiny_data():
    ds = make_windows(synthetic_recordings(10, 3, n_channels=2, length=64, seed=0), window=32, stride=16)
    return split_and_normalize(ds, seed=0)


def test_pretrain_two_steps_logs_every_active_level_and_updates_weights() -> None:
    ds, split = tiny_data()
    torch.manual_seed(0)
    enc = TINY.build(2)
    before = [p.detach().clone() for p in enc.parameters()]
    trainer = pretrain(
        ds.subset(split.train), enc, PretrainConfig(), TrainConfig(max_steps=2, log_every=1, progress=False)
    )
    assert trainer.step == 2
    assert set(trainer.history[-1]) == {"step", "loss", "observation", "sample", "trial", "patient"}
    assert all(torch.isfinite(torch.tensor(v)) for v in trainer.history[-1].values())
    assert any(not torch.equal(a, b) for a, b in zip(before, enc.parameters(), strict=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; CI has none")
def test_pretrain_on_cuda_trains_every_level() -> None:
    ds, split = tiny_data()
    torch.manual_seed(0)
    cfg = TrainConfig(max_steps=2, log_every=1, progress=False, device="cuda")
    trainer = pretrain(ds.subset(split.train), TINY.build(2), PretrainConfig(), cfg)
    assert next(trainer.model.parameters()).device.type == "cuda"
    assert all(torch.isfinite(torch.tensor(v)) for v in trainer.history[-1].values())


def test_pretrain_is_reproducible_and_level_choice_matters() -> None:
    ds, split = tiny_data()
    train = ds.subset(split.train)

    def run(weights: LevelWeights) -> list[float]:
        torch.manual_seed(0)
        cfg = TrainConfig(max_steps=3, log_every=1, progress=False, seed=1)
        return [row["loss"] for row in pretrain(train, TINY.build(2), PretrainConfig(weights=weights), cfg).history]

    comet = run(LevelWeights())
    assert comet == run(LevelWeights())
    assert comet != run(LevelWeights.equal(["sample"]))


def test_finetune_with_validation_restores_the_best_step(tmp_path) -> None:
    ds, split = tiny_data()
    torch.manual_seed(0)
    model = Classifier(TINY.build(2), 2)
    cfg = TrainConfig(max_steps=6, eval_every=2, progress=False, run_dir=str(tmp_path))
    finetune(model, ds.subset(split.train), ds.subset(split.val), cfg, batch_size=16)
    best = torch.load(tmp_path / "best.pt")
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())


def test_encoder_state_round_trip() -> None:
    enc = TINY.build(2).eval()
    copy = load_encoder(encoder_state(enc)).eval()
    x = torch.randn(3, 2, 20)
    torch.testing.assert_close(copy(x), enc(x))
    assert repr(copy) == repr(enc)


@pytest.mark.parametrize("encoder_lr", [None, 1e-5])
def test_finetune_encoder_lr_sets_the_encoder_step_and_the_head_keeps_lr(encoder_lr) -> None:
    # AdamW's first step moves every parameter with a non-zero gradient by lr * g / (|g| + eps),
    # i.e. by its group's learning rate (weight decay 0): the largest change per part is that rate.
    ds, split = tiny_data()
    torch.manual_seed(0)
    model = Classifier(TINY.build(2), 2)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    lr = 1e-2
    finetune(model, ds.subset(split.train), None, TrainConfig(max_steps=1, lr=lr, progress=False), encoder_lr=encoder_lr)
    moved = {part: max((v - before[k]).abs().max().item() for k, v in model.state_dict().items() if k.startswith(part))
             for part in ("encoder.", "head.")}
    assert moved["head."] == pytest.approx(lr, rel=1e-2)  # float32 weights: differences to ~1e-7
    assert moved["encoder."] == pytest.approx(lr if encoder_lr is None else encoder_lr, rel=1e-2)


def test_finetune_rejects_a_non_positive_encoder_lr() -> None:
    ds, split = tiny_data()
    with pytest.raises(ValueError, match="encoder_lr"):
        finetune(Classifier(TINY.build(2), 2), ds.subset(split.train), encoder_lr=0.0)


def test_a_pretraining_checkpoint_resumes_only_on_the_samples_it_saw(tmp_path) -> None:
    ds, split = tiny_data()
    cfg = TrainConfig(max_steps=2, progress=False, run_dir=str(tmp_path))
    pretrain(ds.subset(split.train), TINY.build(2), PretrainConfig(), cfg)
    # Another split's training patients (another fold, say) would continue a run that saw this one's test patients.
    with pytest.raises(ValueError, match=r"other settings \(data 'sha256:"):
        pretrain(ds.subset(split.test), TINY.build(2), PretrainConfig(), dataclasses.replace(cfg, max_steps=4))
    with pytest.raises(ValueError, match=r"encoder \{.*'dropout': 0.1.*\} -> \{.*'dropout': 0.3"):
        pretrain(ds.subset(split.train), dataclasses.replace(TINY, dropout=0.3).build(2), PretrainConfig(),
                 dataclasses.replace(cfg, max_steps=4))
    assert pretrain(ds.subset(split.train), TINY.build(2), PretrainConfig(), dataclasses.replace(cfg, max_steps=4)).step == 4


def test_finetune_trains_afresh_in_a_run_dir_another_call_used(tmp_path) -> None:
    ds, split = tiny_data()

    def tuned(train, run_dir) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
        torch.manual_seed(0)
        cfg = TrainConfig(max_steps=4, progress=False, run_dir=str(run_dir))
        return finetune(Classifier(TINY.build(2), 2), train, None, cfg, batch_size=16).state_dict()

    everything = tuned(ds.subset(split.train), tmp_path / "shared")
    few = ds.subset(split.train[: len(split.train) // 4])
    # Was: the second call continued the first one's finished checkpoint and returned the first call's model.
    again, alone = tuned(few, tmp_path / "shared"), tuned(few, tmp_path / "alone")
    assert all(torch.equal(again[k], alone[k]) for k in alone)
    assert not all(torch.equal(again[k], everything[k]) for k in alone)


def test_settings_that_would_train_nothing_are_refused_before_any_data() -> None:
    with pytest.raises(ValueError, match=r"mask_keep must be in \(0, 1\]"):
        PretrainConfig(mask_keep=0)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        PretrainConfig(temperature=0)
    with pytest.raises(ValueError, match="mask_mode must be one of"):
        PretrainConfig(mask_mode="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="patients_per_batch must be a positive int"):
        PretrainConfig(patients_per_batch=0)
    # One patient per batch: the patient level has no negative, and would add a constant.
    with pytest.raises(ValueError, match=r"the patient level \(weight 0.25\) needs .* samples of two patients"):
        PretrainConfig(patients_per_batch=1)
    with pytest.raises(ValueError, match="the trial level .* needs two samples of one trial"):
        PretrainConfig(samples_per_trial=1)
    PretrainConfig(samples_per_trial=1, weights=LevelWeights.equal(["sample", "patient"]))  # no trial level: fine
    PretrainConfig(patients_per_batch=1, weights=LevelWeights.equal(["sample", "trial"]))
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        EncoderConfig(dropout=2)
    with pytest.raises(ValueError, match="depth must be a positive int"):
        EncoderConfig(depth=0)
