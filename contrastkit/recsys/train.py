"""Training SASRec with a chosen objective on a leave-one-out split, on the core :class:`Trainer`.

Validation NDCG@10 is computed every ``eval_every`` epochs; training stops after ``patience``
evaluations without improvement and the best validation checkpoint is restored before testing.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
from torch import nn

from contrastkit.core import (
    TrainConfig,
    Trainer,
    atomic_save,
    data_fingerprint,
    load_saved,
    resolve_device,
    saved_settings,
)
from contrastkit.core.checks import check_temperature

from .data import LeaveOneOut, SequenceData, WindowSampler
from .evaluate import evaluate
from .models import SASRec
from .objectives import CL4SRec, DuoRec, MCLRec, MCLRecViews, NextItemLoss, SequentialObjective

ModelName = Literal["sasrec", "cl4srec", "duorec", "mclrec"]
MODELS: tuple[str, ...] = ("sasrec", "cl4srec", "duorec", "mclrec")


@dataclass(frozen=True)
class RecsysConfig:
    """Everything that defines a training run (stored in the saved model)."""

    model: ModelName = "sasrec"
    """Objective: ``"sasrec"`` (next-item loss only), ``"cl4srec"``, ``"duorec"`` or ``"mclrec"``."""
    loss: NextItemLoss = "ce"
    """Next-item loss: full softmax ``"ce"``, ``"bpr"`` or ``"sampled_softmax"``."""
    weight: float = 0.1
    """Weight of the contrastive term (ignored by ``"sasrec"``)."""
    temperature: float = 1.0
    """Temperature of the contrastive InfoNCE terms (ignored by ``"sasrec"``)."""
    similarity: Literal["dot", "cosine"] = "dot"
    """Similarity of the contrastive terms: ``"dot"`` (the reference codes) or ``"cosine"`` (normalised views)."""
    mask_same_target: bool = True
    """DuoRec's views (``"duorec"``, or ``"mclrec"`` with ``mclrec_views="duorec"``): drop same-target
    sequences from the negatives (the reference code keeps them). Other models have no such mask."""
    mclrec_views: MCLRecViews = "cl4srec"
    """MCLRec: the stochastic views its augmenters start from, ``"cl4srec"`` (the paper) or ``"duorec"``."""
    mclrec_beta: float = 0.1
    """MCLRec: weight :math:`\beta` of the augmented-view terms in the encoder's loss."""
    max_len: int = 50
    """Longest input sequence ``L``."""
    hidden: int = 64
    """Embedding size ``D``."""
    n_layers: int = 2
    """Transformer blocks."""
    n_heads: int = 2
    """Attention heads."""
    dropout: float = 0.2
    """Dropout rate (embeddings, attention, feed-forward)."""
    windows_per_user: int | None = None
    """Train on each user's most recent windows of ``max_len`` targets only (None: the whole history)."""
    batch_size: int = 128
    """Training windows per step."""
    lr: float = 1e-3
    """AdamW learning rate."""
    epochs: int = 20
    """Passes over the training windows (at most; early stopping may end sooner)."""
    eval_every: int = 2
    """Validate every this many epochs."""
    patience: int | None = 3
    """Stop after this many validations without a better NDCG@10; None never stops early."""
    seed: int = 0
    """Seed of the initialisation, the window order and the augmentations."""
    device: str = "auto"
    """``"auto"``, ``"cpu"``, ``"cuda"`` ..."""

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"RecsysConfig: model must be one of {MODELS}; got {self.model!r}.")
        for name in ("max_len", "hidden", "n_layers", "n_heads", "epochs", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"RecsysConfig: {name} must be >= 1; got {getattr(self, name)}.")
        check_temperature(self.temperature, "RecsysConfig")
        if self.mclrec_views not in get_args(MCLRecViews):
            raise ValueError(f"RecsysConfig: mclrec_views must be one of {get_args(MCLRecViews)}; got {self.mclrec_views!r}.")
        if self.similarity not in ("dot", "cosine"):
            raise ValueError(f"RecsysConfig: similarity must be 'dot' or 'cosine'; got {self.similarity!r}.")
        if self.batch_size < 2:
            raise ValueError(f"RecsysConfig: batch_size must be >= 2 (in-batch negatives); got {self.batch_size}.")
        duorec_views = self.model == "duorec" or (self.model == "mclrec" and self.mclrec_views == "duorec")
        if not self.mask_same_target and not duorec_views:
            raise ValueError(
                "RecsysConfig: mask_same_target=False (--no-mask-same-target) applies to DuoRec's views only "
                f"(model 'duorec', or 'mclrec' with mclrec_views='duorec'); {self.model!r} has no same-target mask."
            )


def build_objective(config: RecsysConfig, *, min_pairs: int = 2) -> SequentialObjective:
    """The objective named by ``config.model`` with the config's next-item loss, weight, temperature and similarity.

    ``min_pairs``: smallest batch that gets the contrastive term (:func:`fit` passes the batch size,
    so an epoch's incomplete last batch trains on the next-item loss only).
    """
    if config.model == "sasrec":
        return SequentialObjective(loss=config.loss)
    common: dict[str, Any] = {"loss": config.loss, "weight": config.weight, "temperature": config.temperature,
                              "similarity": config.similarity, "min_pairs": min_pairs}
    if config.model == "cl4srec":
        return CL4SRec(**common)
    if config.model == "duorec":
        return DuoRec(mask_same_target=config.mask_same_target, **common)
    return MCLRec(config.hidden, views=config.mclrec_views, beta=config.mclrec_beta,
                  mask_same_target=config.mask_same_target, **common)


def build_model(config: RecsysConfig, n_items: int) -> SASRec:
    return SASRec(
        n_items,
        max_len=config.max_len,
        hidden=config.hidden,
        n_layers=config.n_layers,
        n_heads=config.n_heads,
        dropout=config.dropout,
    )


@dataclass
class FitResult:
    """A trained model with its validation / test metrics and timing."""

    model: SASRec
    config: RecsysConfig
    valid: dict[str, float]
    test: dict[str, float]
    epochs: float
    """Epochs actually trained (early stopping may end before ``config.epochs``)."""
    seconds_per_epoch: float
    """Training wall time per epoch, validation excluded."""
    history: list[dict[str, float]]


def fit(
    split: LeaveOneOut,
    config: RecsysConfig,
    *,
    run_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    resume: bool = True,
) -> FitResult:
    """Train ``config.model`` on ``split.train``, select on validation NDCG@10, report test metrics.

    With ``run_dir``, the core Trainer writes ``metrics.csv``, ``curves.png`` and checkpoints there
    (an interrupted run resumes unless ``resume=False``), and the final model is saved as
    ``run_dir/model.pt``.
    """
    if split.max_len != config.max_len:
        raise ValueError(
            f"fit: the split was built with max_len={split.max_len} but config.max_len={config.max_len}; "
            "use leave_one_out(data, max_len=config.max_len)."
        )
    sampler = WindowSampler(
        split.train, config.max_len, config.batch_size, windows_per_user=config.windows_per_user, seed=config.seed
    )
    # One epoch is one pass: every batch the sampler yields, the last, incomplete one included.
    steps_per_epoch = sampler.batches_per_epoch
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    backbone = build_model(config, split.data.n_items)
    # The contrastive terms only on full batches (or every batch when there are fewer windows than one batch).
    objective = build_objective(config, min_pairs=max(2, min(config.batch_size, len(sampler.window_end))))
    container = nn.ModuleDict({"backbone": backbone, "objective": objective})
    optimizer = torch.optim.AdamW(backbone.parameters(), lr=config.lr)
    eval_seconds = 0.0

    def validate(m: nn.Module) -> dict[str, float]:
        nonlocal eval_seconds
        start = time.perf_counter()
        metrics = evaluate(m["backbone"], split.valid)
        eval_seconds += time.perf_counter() - start
        return metrics

    with tempfile.TemporaryDirectory(prefix="recsys-") as scratch:
        directory = Path(run_dir) if run_dir is not None else Path(scratch)
        train_config = TrainConfig(
            max_steps=config.epochs * steps_per_epoch,
            lr=config.lr,
            seed=config.seed,
            device=str(device),
            log_every=max(1, steps_per_epoch // 2),
            eval_every=config.eval_every * steps_per_epoch,
            monitor="ndcg@10",
            mode="max",
            patience=config.patience,
            checkpoint_every=steps_per_epoch,
            run_dir=str(directory),
            progress=progress,
            resume=resume,
        )
        trainer = Trainer(
            container,
            lambda m, batch: m["objective"](m["backbone"], batch),
            sampler.epoch,
            train_config,
            optimizer=optimizer,
            evaluate=validate,
            # the budget, the evaluation schedule and the device may change between a run and its resume;
            # the data may not: a run dir is not continued on another log or split of the same size
            run_config={**{k: v for k, v in dataclasses.asdict(config).items()
                           if k not in ("epochs", "eval_every", "patience", "device")},
                        "data": data_fingerprint(np.concatenate(split.train), np.array([len(s) for s in split.train]),
                                                 split.valid.inputs, split.valid.targets)},
        )
        start = time.perf_counter()
        trainer.fit()
        train_seconds = time.perf_counter() - start - eval_seconds
        trainer.load_best()
    backbone.eval()
    epochs = trainer.step / steps_per_epoch
    result = FitResult(
        model=backbone,
        config=config,
        valid=evaluate(backbone, split.valid),
        test=evaluate(backbone, split.test),
        epochs=epochs,
        seconds_per_epoch=train_seconds / max(epochs, 1e-9),
        history=trainer.history,
    )
    if run_dir is not None:
        save(Path(run_dir) / "model.pt", backbone, config, split.data)
    return result


def save(path: str | os.PathLike[str], model: SASRec, config: RecsysConfig, data: SequenceData) -> None:
    """Save weights, config and the id maps (what :func:`load` and ``recommend`` need) atomically."""
    atomic_save(
        {
            "model": model.state_dict(),
            "config": dataclasses.asdict(config),
            "item_ids": data.item_ids,
            "user_ids": data.user_ids,
        },
        path,
    )


def load(path: str | os.PathLike[str], device: str = "cpu") -> tuple[SASRec, RecsysConfig, SequenceData]:
    """Load a model saved by :func:`save`; the returned data has the id maps but no sequences."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: {path} does not exist; train first (contrastkit recsys train --run-dir ...).")
    state = load_saved(path, "recsys load", keys=("model", "config", "item_ids", "user_ids"), map_location=device)
    config = saved_settings(RecsysConfig, state["config"], path, "recsys load")
    data = SequenceData(sequences=[], item_ids=state["item_ids"], user_ids=state["user_ids"])
    model = build_model(config, data.n_items)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:  # torch lists every mismatched tensor, but not the file
        raise ValueError(f"recsys load: {path}'s weights do not fit its settings ({error}).") from error
    return model.to(device).eval(), config, data
