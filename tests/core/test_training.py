"""Trainer: resumes bit-for-bit (also after Ctrl-C), writes atomically, stops early, leaves its outputs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import contrastkit.core.training as training
from contrastkit.core import TrainConfig, Trainer, atomic_save, data_fingerprint, load_saved, nt_xent

DATA = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))


def make_model() -> nn.Module:
    torch.manual_seed(123)
    return nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 8))


def batches(epoch: int) -> list[torch.Tensor]:
    # A data order that depends on the global RNG at epoch start, like a shuffling DataLoader.
    order = torch.randperm(DATA.shape[0])
    return [DATA[order[i : i + 12]] for i in range(0, 36, 12)]  # 3 batches per epoch


def step(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    noise = torch.randn_like(batch)  # random augmentation from the global RNG
    return nt_xent(model(batch + 0.1 * noise), model(batch - 0.1 * noise), temperature=0.5)


def config(run_dir: Path | None, max_steps: int, **kw: object) -> TrainConfig:
    return TrainConfig(max_steps=max_steps, lr=1e-2, seed=7, progress=False, log_every=1,
                       checkpoint_every=4, run_dir=str(run_dir) if run_dir else None, **kw)  # type: ignore[arg-type]


def params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_resume_is_bit_for_bit(tmp_path: Path) -> None:
    full = Trainer(make_model(), step, batches, config(None, 20)).fit()
    Trainer(make_model(), step, batches, config(tmp_path, 10)).fit()  # stops mid-epoch (10 = 3*3 + 1)
    resumed = Trainer(make_model(), step, batches, config(tmp_path, 20))
    assert resumed.step == 10
    resumed.fit()
    for a, b in zip(params(full.model), params(resumed.model), strict=True):
        assert torch.equal(a, b)
    assert [r["loss"] for r in full.history] == [r["loss"] for r in resumed.history]


def test_ctrl_c_saves_the_last_completed_step_and_resumes_exactly(tmp_path: Path) -> None:
    full = Trainer(make_model(), step, batches, config(None, 12)).fit()
    calls = {"n": 0}

    def interrupted_step(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        loss = step(model, batch)  # consumes RNG before the interrupt lands
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return loss

    with pytest.raises(KeyboardInterrupt):
        Trainer(make_model(), interrupted_step, batches, config(tmp_path, 12)).fit()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["step"] == 7
    resumed = Trainer(make_model(), step, batches, config(tmp_path, 12)).fit()
    for a, b in zip(params(full.model), params(resumed.model), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("stop_in_step", [1, 2, 5])
def test_ctrl_c_in_any_step_resumes_exactly_even_when_evaluation_draws_random_numbers(
    tmp_path: Path, stop_in_step: int
) -> None:
    def probe(model: nn.Module) -> dict[str, float]:
        head = nn.Linear(8, 2)  # a fresh probe: its initialisation draws from the global RNG
        return {"acc": float(head(model(DATA[:4])).sum())}

    full = Trainer(make_model(), step, batches, config(None, 12, eval_every=4), evaluate=probe).fit()
    calls = {"n": 0}

    def interrupted_step(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == stop_in_step:
            raise KeyboardInterrupt
        return step(model, batch)

    with pytest.raises(KeyboardInterrupt):
        Trainer(make_model(), interrupted_step, batches, config(tmp_path, 12, eval_every=4), evaluate=probe).fit()
    resumed = Trainer(make_model(), step, batches, config(tmp_path, 12, eval_every=4), evaluate=probe).fit()
    # Was: a stop in step 1 replayed the epoch's shuffle; a stop after an evaluation that drew random
    # numbers (step 5, after the evaluation at 4) resumed on another random stream.
    assert all(torch.equal(a, b) for a, b in zip(params(full.model), params(resumed.model), strict=True))
    assert resumed.history == full.history


def test_ctrl_c_inside_an_evaluation_runs_it_on_resume(tmp_path: Path) -> None:
    def evaluate(model: nn.Module) -> dict[str, float]:
        return {"acc": float(model(DATA[:4]).sum())}

    full = Trainer(make_model(), step, batches, config(None, 8, eval_every=4), evaluate=evaluate).fit()
    calls = {"n": 0}

    def interrupted(model: nn.Module) -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] == 1:  # the evaluation at step 4
            raise KeyboardInterrupt
        return evaluate(model)

    with pytest.raises(KeyboardInterrupt):
        Trainer(make_model(), step, batches, config(tmp_path, 8, eval_every=4), evaluate=interrupted).fit()
    resumed = Trainer(make_model(), step, batches, config(tmp_path, 8, eval_every=4), evaluate=evaluate).fit()
    # Was: step 4's row and its evaluation were lost (history steps 1-3, 5-8; evaluated at 8 only).
    assert resumed.history == full.history
    assert [r["step"] for r in resumed.history if "val_acc" in r] == [4.0, 8.0]


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = Trainer(make_model(), step, batches, config(tmp_path, 4)).fit()
    good = (tmp_path / "checkpoint.pt").read_bytes()

    def crash(obj: object, f: object) -> None:
        f.write(b"partial")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(training.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        trainer.save_checkpoint()
    assert (tmp_path / "checkpoint.pt").read_bytes() == good
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Trainer: cannot read .*checkpoint.pt .*Delete the checkpoint or pass resume=False"):
        Trainer(make_model(), step, batches, config(tmp_path, 4))


def test_a_file_that_is_no_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    # A bare tensor, or a checkpoint missing entries, was an AttributeError / KeyError from inside _load.
    torch.save(torch.zeros(3), tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"Trainer: .*checkpoint.pt is not the expected file: it lacks \['model'.*resume=False"):
        Trainer(make_model(), step, batches, config(tmp_path, 4))
    Trainer(make_model(), step, batches, config(tmp_path / "run", 4)).fit()
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    del state["scaler"]
    torch.save(state, tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"it lacks \['scaler'\]"):
        Trainer(make_model(), step, batches, config(tmp_path / "run", 8))


def test_load_best_names_a_corrupt_best_pt(tmp_path: Path) -> None:
    trainer = Trainer(make_model(), step, batches, config(tmp_path, 2, eval_every=1, monitor="acc"),
                      evaluate=lambda m: {"acc": 1.0}).fit()
    (tmp_path / "best.pt").write_bytes(b"not weights")
    with pytest.raises(ValueError, match=r"Trainer.load_best: cannot read .*best.pt"):
        trainer.load_best()


def test_a_checkpoint_of_another_model_is_a_clear_error(tmp_path: Path) -> None:
    Trainer(make_model(), step, batches, config(tmp_path, 4)).fit()
    other = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 4))
    with pytest.raises(ValueError, match="does not fit this model or optimizer .*size mismatch.*resume=False"):
        Trainer(other, step, batches, config(tmp_path, 8))
    grown = make_model()
    grown.register_buffer("centroids", torch.zeros(3))  # a buffer a later version added
    with pytest.raises(ValueError, match=r"Missing key\(s\) in state_dict: \"centroids\""):
        Trainer(grown, step, batches, config(tmp_path, 8))


def test_resuming_under_other_training_settings_is_a_clear_error(tmp_path: Path) -> None:
    Trainer(make_model(), step, batches, config(tmp_path, 4), run_config={"views": 2}).fit()
    with pytest.raises(ValueError, match=r"other settings \(lr 0.01 -> 0.1, seed 7 -> 8\); resuming would mix two runs"):
        Trainer(make_model(), step, batches, TrainConfig(max_steps=8, lr=0.1, seed=8, run_dir=str(tmp_path)),
                run_config={"views": 2})
    with pytest.raises(ValueError, match=r"other settings \(views 2 -> 3\)"):
        Trainer(make_model(), step, batches, config(tmp_path, 8), run_config={"views": 3})
    # A caller's setting that is also a TrainConfig field is named once.
    with pytest.raises(ValueError, match=r"other settings \(lr 0.01 -> 0.1, views 2 -> 3\); resuming"):
        Trainer(make_model(), step, batches, TrainConfig(max_steps=8, lr=0.1, seed=7, run_dir=str(tmp_path)),
                run_config={"views": 3, "lr": 0.1})
    # More steps, other logging, checkpointing and progress bar: the same run, continued.
    resumed = Trainer(make_model(), step, batches, TrainConfig(max_steps=8, lr=1e-2, seed=7, run_dir=str(tmp_path)),
                      run_config={"views": 2})
    assert resumed.step == 4


def test_early_stopping_and_best_checkpoint(tmp_path: Path) -> None:
    scores = iter([0.5, 0.7, 0.6, 0.65, 0.6, 0.9])
    trainer = Trainer(
        make_model(), step, batches,
        config(tmp_path, 100, eval_every=2, monitor="acc", patience=3),
        evaluate=lambda m: {"acc": next(scores)},
    ).fit()
    assert trainer.stopped_early and trainer.step == 10  # evals at 2,4,6,8,10; best 0.7 at step 4
    assert trainer.best == 0.7
    assert (tmp_path / "best.pt").exists()
    trainer.load_best()
    # The same command again: the run is finished, nothing trains (was: it trained on to the next stop).
    again = Trainer(make_model(), step, batches, config(tmp_path, 100, eval_every=2, monitor="acc", patience=3),
                    evaluate=lambda m: {"acc": 0.0}).fit()
    assert again.stopped_early and again.step == 10 and again.history == trainer.history
    # With more patience the run goes on (patience may change on a resume).
    later = iter([0.95, 0.5])
    longer = Trainer(make_model(), step, batches, config(tmp_path, 14, eval_every=2, monitor="acc", patience=4),
                     evaluate=lambda m: {"acc": next(later)}).fit()
    assert longer.step == 14 and longer.best == 0.95


def test_a_larger_budget_stops_early_where_a_run_of_that_budget_would() -> None:
    def never_better(model: nn.Module) -> dict[str, float]:
        return {"acc": 0.0}

    with tempfile.TemporaryDirectory() as tmp:
        whole = Trainer(make_model(), step, batches, config(None, 20, eval_every=4, monitor="acc", patience=2),
                        evaluate=never_better).fit()
        Trainer(make_model(), step, batches, config(Path(tmp), 10, eval_every=4, monitor="acc", patience=2),
                evaluate=never_better).fit()
        grown = Trainer(make_model(), step, batches, config(Path(tmp), 20, eval_every=4, monitor="acc", patience=2),
                        evaluate=never_better).fit()
    # The evaluation at the end of the 10-step budget is off the schedule: it does not use up patience
    # (it did, and the grown run stopped at 10 instead of 12).
    assert whole.step == grown.step == 12 and grown.stopped_early


def test_a_nan_metric_is_never_the_best() -> None:
    scores = iter([float("nan"), 0.5, 0.9, 0.95])
    with pytest.warns(UserWarning, match="val_acc is nan at step 2"):
        trainer = Trainer(make_model(), step, batches, config(None, 8, eval_every=2, monitor="acc", patience=3),
                          evaluate=lambda m: {"acc": next(scores)}).fit()
    assert trainer.best == 0.95 and not trainer.stopped_early  # was: best nan, stopped at step 8


class WithExtraState(nn.Sequential):
    """A module whose state_dict carries a non-tensor entry (``get_extra_state``)."""

    def get_extra_state(self) -> dict[str, int]:
        return {"version": 3}

    def set_extra_state(self, state: dict[str, int]) -> None:
        assert state == {"version": 3}


def test_best_weights_are_kept_in_memory_without_run_dir() -> None:
    scores = iter([0.9, 0.1, 0.2])
    trainer = Trainer(
        WithExtraState(*make_model()), step, batches, config(None, 6, eval_every=2, monitor="acc"),
        evaluate=lambda m: {"acc": next(scores)},
    ).fit()
    assert trainer.best_state is not None
    best = dict(trainer.best_state)
    trainer.load_best()
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, best[k]) if isinstance(v, torch.Tensor) else v == best[k]


def test_outputs_metrics_csv_and_plot(tmp_path: Path) -> None:
    Trainer(make_model(), step, batches, config(tmp_path, 6)).fit()
    csv = (tmp_path / "metrics.csv").read_text().splitlines()
    assert csv[0] == "step,loss" and len(csv) == 7
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert (tmp_path / "config.json").exists()


def test_mixed_precision_and_clipping_run_on_cpu() -> None:
    t = Trainer(make_model(), step, batches, config(None, 3, mixed_precision=True, grad_clip=1.0)).fit()
    assert len(t.history) == 3


def test_bad_configuration_and_step_outputs() -> None:
    with pytest.raises(ValueError, match="max_steps"):
        TrainConfig(max_steps=0)
    with pytest.raises(ValueError, match="monitor"):
        TrainConfig(patience=2)
    with pytest.raises(ValueError, match="patience must be >= 1"):
        TrainConfig(patience=0, monitor="acc")
    with pytest.raises(ValueError, match="'loss'"):
        Trainer(make_model(), lambda m, b: {"l": m(b).sum()}, batches, config(None, 1)).fit()
    with pytest.raises(FloatingPointError, match="nan"):
        Trainer(make_model(), lambda m, b: m(b).sum() * float("nan"), batches, config(None, 1)).fit()
    with pytest.raises(ValueError, match="no batches"):
        Trainer(make_model(), step, lambda e: [], config(None, 1)).fit()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"grad_clip": -1.0}, ValueError, "grad_clip must be a finite norm > 0"),  # would ascend
        ({"grad_clip": 0.0}, ValueError, "grad_clip must be a finite norm > 0"),  # would freeze
        ({"grad_clip": float("nan")}, ValueError, "grad_clip"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay must be finite and >= 0"),
        ({"weight_decay": float("nan")}, ValueError, "weight_decay"),
        ({"max_steps": 2.5}, TypeError, "max_steps must be an int"),
        ({"seed": True}, TypeError, "seed must be an int"),
        ({"eval_every": 1.5}, TypeError, "eval_every must be an int"),
        ({"device": "gpu"}, ValueError, "device must be 'auto', 'cpu'"),
    ],
)
def test_bad_settings_are_rejected_when_the_config_is_built(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs)


def test_evaluation_settings_without_an_evaluate_callback_are_an_error() -> None:
    # Otherwise early stopping and the best checkpoint would silently never happen.
    for settings in ({"monitor": "acc", "patience": 1}, {"eval_every": 5}):
        with pytest.raises(ValueError, match="no evaluate callback"):
            Trainer(make_model(), step, batches, config(None, 3, **settings))


def test_load_saved_names_a_broken_or_foreign_file(tmp_path: Path) -> None:
    atomic_save({"model": {}, "config": {}}, tmp_path / "good.pt")
    assert load_saved(tmp_path / "good.pt", "reader", keys=("model", "config")) == {"model": {}, "config": {}}
    with pytest.raises(ValueError, match=r"reader: .*good.pt is not the expected file: it lacks \['item_ids'\]"):
        load_saved(tmp_path / "good.pt", "reader", keys=("model", "item_ids"))
    whole = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "garbage.pt").write_bytes(b"\x00garbage")
    for name in ("truncated.pt", "garbage.pt"):
        with pytest.raises(ValueError, match=rf"reader: cannot read .*{name}"):
            load_saved(tmp_path / name, "reader")
    with pytest.raises(FileNotFoundError):
        load_saved(tmp_path / "missing.pt", "reader")


def test_data_fingerprint_tells_apart_what_a_run_could_be_resumed_on() -> None:
    x = torch.arange(12.0).reshape(3, 4)
    same = data_fingerprint(x, ["a", "b"])
    assert same == data_fingerprint(x.clone(), ["a", "b"]) == data_fingerprint(x.numpy(), ("a", "b"))
    assert same == data_fingerprint(x.T.contiguous().T, ["a", "b"]) == data_fingerprint(np.asfortranarray(x.numpy()), ["a", "b"])
    assert same.startswith("sha256:") and len(same) == len("sha256:") + 16
    changed = x.clone()
    changed[2, 3] += 1
    others = [
        data_fingerprint(changed, ["a", "b"]),  # one value
        data_fingerprint(x.double(), ["a", "b"]),  # the dtype
        data_fingerprint(x.reshape(4, 3), ["a", "b"]),  # the shape, same bytes
        data_fingerprint(x, ["ab", ""]),  # where the strings split
        data_fingerprint(x, ["a", "b", ""]),
    ]
    assert len({same, *others}) == 1 + len(others)
