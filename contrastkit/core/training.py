"""The one training loop every domain uses.

Seeds, device choice, optional mixed precision, gradient clipping, a tqdm bar with the live loss,
metrics in ``run_dir/metrics.csv``, a PNG of the curves, early stopping on a validation metric,
and atomic checkpoints that resume bit-for-bit (Ctrl-C saves one before exiting).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import math
import numbers
import os
import random
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

StepOutput = Tensor | Mapping[str, Tensor]
StepFn = Callable[[nn.Module, Any], StepOutput]
EvalFn = Callable[[nn.Module], Mapping[str, float]]
Batches = Callable[[int], Iterable[Any]] | Iterable[Any]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :class:`Trainer`; every field is stored in the checkpoint and ``config.json``."""

    max_steps: int = 1000
    """Optimizer steps to run in total (a resumed run continues up to this number)."""
    lr: float = 1e-3
    """Learning rate of the default AdamW optimizer."""
    weight_decay: float = 0.0
    """Weight decay of the default AdamW optimizer."""
    seed: int = 0
    """Seeds python, numpy and torch before the model's first step."""
    device: str = "auto"
    """``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ..."""
    mixed_precision: bool = False
    """Autocast: bfloat16 on CPU, float16 with a GradScaler on CUDA."""
    grad_clip: float | None = None
    """Clip the global gradient norm to this value."""
    log_every: int = 10
    """Record the step's outputs every this many steps."""
    eval_every: int | None = None
    """Run the ``evaluate`` callback every this many steps (and at the end)."""
    monitor: str | None = None
    """Metric returned by ``evaluate`` used for early stopping and the best checkpoint."""
    mode: Literal["max", "min"] = "max"
    """Whether a larger or a smaller ``monitor`` value is better."""
    patience: int | None = None
    """Stop after this many evaluations without improvement of ``monitor``."""
    checkpoint_every: int = 200
    """Write ``checkpoint.pt`` every this many steps (needs ``run_dir``)."""
    run_dir: str | None = None
    """Folder for checkpoints, metrics, plots; None keeps everything in memory."""
    resume: bool = True
    """Continue from ``run_dir/checkpoint.pt`` when it exists."""
    progress: bool = True
    """Show a tqdm progress bar."""

    def __post_init__(self) -> None:
        for name in ("max_steps", "log_every", "checkpoint_every", "seed", "eval_every", "patience"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
                raise TypeError(f"TrainConfig: {name} must be an int; got {value!r}.")
        for name in ("max_steps", "log_every", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TrainConfig: {name} must be > 0; got {getattr(self, name)}.")
        if self.lr <= 0 or not math.isfinite(self.lr):
            raise ValueError(f"TrainConfig: lr must be > 0; got {self.lr}.")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ValueError(f"TrainConfig: weight_decay must be finite and >= 0; got {self.weight_decay}.")
        if self.grad_clip is not None and not (self.grad_clip > 0 and math.isfinite(self.grad_clip)):
            # A negative max norm flips the gradients' sign (ascent) and 0 freezes the model.
            raise ValueError(f"TrainConfig: grad_clip must be a finite norm > 0 or None; got {self.grad_clip}.")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError) as error:
                raise ValueError(
                    f"TrainConfig: device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {self.device!r}."
                ) from error
        if self.eval_every is not None and self.eval_every <= 0:
            raise ValueError(f"TrainConfig: eval_every must be > 0 or None; got {self.eval_every}.")
        if self.patience is not None and self.patience < 1:
            # patience=0 would stop at the first evaluation, which is never what "no early stopping" meant.
            raise ValueError(f"TrainConfig: patience must be >= 1 or None (never stop early); got {self.patience}.")
        if self.patience is not None and self.monitor is None:
            raise ValueError("TrainConfig: patience needs monitor, the metric to watch.")
        if self.mode not in ("max", "min"):
            raise ValueError(f"TrainConfig: mode must be 'max' or 'min'; got {self.mode!r}.")


# Settings that shape the trajectory of a run: a checkpoint resumes only under the same values
# (max_steps may grow, and logging, checkpointing, progress and device may change).
_TRAJECTORY_FIELDS = ("lr", "weight_decay", "seed", "mixed_precision", "grad_clip")
# What a resume reads from checkpoint.pt: a file without them (a best.pt, a bare tensor) is no checkpoint.
_CHECKPOINT_KEYS = (
    "model", "optimizer", "scaler", "step", "epoch", "batch_in_epoch", "epoch_rng", "rng", "history", "best", "bad_evals"
)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; use 'cpu' or 'auto'.")
    return dev


def move_to(batch: Any, device: torch.device) -> Any:
    """Move tensors (and anything with ``.to``, e.g. PyG ``Data``) inside nested containers."""
    if isinstance(batch, Tensor) or hasattr(batch, "to") and not isinstance(batch, type):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {k: move_to(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple):
        return tuple(move_to(v, device) for v in batch)
    if isinstance(batch, list):
        return [move_to(v, device) for v in batch]
    return batch


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``.

    A crash mid-write leaves the previous file intact: there is never a half-written checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_saved(
    path: str | os.PathLike[str],
    where: str,
    *,
    keys: Sequence[str] = (),
    map_location: str | torch.device | None = "cpu",
    weights_only: bool = False,
) -> Any:
    """``torch.load`` of a file written by :func:`atomic_save`, failing with one clear ValueError.

    A truncated, foreign or unpickleable file raises whatever torch's reader raises
    (``RuntimeError``, ``UnpicklingError``, ``EOFError`` ...), and a torch file of another kind
    a ``KeyError`` later; here both name the file and ``where``. ``keys``: entries the saved dict
    must hold.
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=weights_only)
    except FileNotFoundError:
        raise
    except Exception as exc:  # a foreign or corrupt file must not be half-applied
        raise ValueError(f"{where}: cannot read {path} ({type(exc).__name__}: {exc}).") from exc
    missing = [key for key in keys if not isinstance(state, Mapping) or key not in state]
    if missing:
        raise ValueError(f"{where}: {path} is not the expected file: it lacks {missing}.")
    return state


def check_same_settings(
    path: str | os.PathLike[str], where: str, saved: Mapping[str, Any], current: Mapping[str, Any], fix: str
) -> None:
    """Refuse to resume from ``path`` when a setting of the checkpoint (``saved``) differs from this
    run's (``current``): resuming would mix two runs. The ValueError names each difference, then ``fix``."""
    changed = [f"{name} {saved.get(name)!r} -> {current.get(name)!r}"
               for name in sorted(set(saved) | set(current)) if saved.get(name) != current.get(name)]
    if changed:
        raise ValueError(
            f"{where}: {path} was written with other settings ({', '.join(changed)}); resuming would mix two runs. {fix}"
        )


def data_fingerprint(*parts: Tensor | np.ndarray | Sequence[str]) -> str:
    """``"sha256:<16 hex>"`` of the data a run trains on: tensors and arrays (dtype, shape and bytes)
    or lists of strings. A domain puts it in the Trainer's ``run_config``, so that a checkpoint
    resumes only on the data it was trained on, not on another fold or file of the same shape."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, (Tensor, np.ndarray)):
            array = part.detach().cpu().contiguous().numpy() if isinstance(part, Tensor) else np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            texts = list(part)
            digest.update(f"str[{len(texts)}]".encode())
            for text in texts:  # length-prefixed, so ["ab", "c"] and ["a", "bc"] differ
                encoded = str(text).encode()
                digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return f"sha256:{digest.hexdigest()[:16]}"


def atomic_write_text(text: str, path: str | os.PathLike[str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def rng_state() -> dict[str, Any]:
    """The global RNG states (python, numpy, torch and every CUDA device), for a checkpoint."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    # A checkpoint loaded with map_location="cuda" carries the states as CUDA tensors; the setters want CPU bytes.
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def plot_history(history: list[dict[str, float]], path: str | os.PathLike[str], title: str = "") -> None:
    """One panel per recorded metric against the step, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for row in history for k in row if k != "step"})
    if not keys:
        return
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        pts = [(row["step"], row[key]) for row in history if key in row]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 30 else None)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class Trainer:
    """Runs ``step_fn`` on batches for ``config.max_steps`` optimizer steps.

    Args:
        model: the module whose parameters are optimised (losses with parameters, such as a
            :class:`BilinearSimilarity`, belong inside it).
        step_fn: ``step_fn(model, batch) -> loss`` or ``-> {"loss": loss, other scalars...}``.
        batches: ``epoch -> iterable of batches`` (deterministic per epoch: resume is then exact),
            or an iterable that is re-iterated every epoch.
        config: :class:`TrainConfig`.
        optimizer: defaults to AdamW over ``model.parameters()``.
        evaluate: ``model -> {metric: value}``, run every ``eval_every`` steps in eval mode.
        after_step: ``(model, step)`` hook after each optimizer step (EMA updates, queues).
        run_config: the caller's own settings that define the run (e.g. a domain's config as a
            dict of plain values); stored in the checkpoint, and a resume under other values is a
            ``ValueError`` naming them, as for the trajectory fields of ``config``.

    Example:
        >>> trainer = Trainer(model, step_fn, lambda epoch: loader, TrainConfig(max_steps=100))
        >>> trainer.fit().history[-1]  # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module,
        step_fn: StepFn,
        batches: Batches,
        config: TrainConfig | None = None,
        *,
        optimizer: torch.optim.Optimizer | None = None,
        evaluate: EvalFn | None = None,
        after_step: Callable[[nn.Module, int], None] | None = None,
        run_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        if evaluate is None and (self.config.monitor is not None or self.config.eval_every is not None):
            raise ValueError(
                "Trainer: the config sets monitor or eval_every but no evaluate callback was given; "
                "pass evaluate=fn(model) -> {metric: value}, or unset them."
            )
        self.run_config = dict(run_config or {})
        self.device = resolve_device(self.config.device)
        seed_everything(self.config.seed)
        self.model = model.to(self.device)
        self.step_fn = step_fn
        self.batches = batches
        params = [p for p in model.parameters() if p.requires_grad]
        if optimizer is None and not params:
            raise ValueError("Trainer: the model has no trainable parameters.")
        self.optimizer = optimizer or torch.optim.AdamW(
            params, lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        self.evaluate = evaluate
        self.after_step = after_step
        use_scaler = self.config.mixed_precision and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.history: list[dict[str, float]] = []
        self.best: float | None = None
        self.bad_evals = 0
        self.stopped_early = False
        self.best_state: dict[str, Any] | None = None
        # A step's evaluation that a Ctrl-C interrupted: its log row and whether it was on the schedule.
        self._owed_eval: dict[str, Any] | None = None
        self.run_dir = Path(self.config.run_dir) if self.config.run_dir else None
        self._epoch_rng: dict[str, Any] = rng_state()
        # Where the data stream and the RNGs stood after the last completed step: checkpoints
        # record this, so a Ctrl-C in the middle of a step resumes as if the step never started.
        self._position: dict[str, Any] = self._snapshot()
        if self.run_dir is not None and self.config.resume and (self.run_dir / "checkpoint.pt").exists():
            self._load(self.run_dir / "checkpoint.pt")

    # ---------------------------------------------------------------- checkpoints
    def _snapshot(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "epoch_rng": self._epoch_rng,
            "rng": rng_state(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            **self._position,
            "history": self.history,
            "best": self.best,
            "bad_evals": self.bad_evals,
            "owed_eval": self._owed_eval,
            "config": dataclasses.asdict(self.config),
            "run_config": self.run_config,
        }

    def save_checkpoint(self) -> Path | None:
        if self.run_dir is None:
            return None
        path = self.run_dir / "checkpoint.pt"
        atomic_save(self.state_dict(), path)
        self._write_metrics()
        return path

    def _load(self, path: Path) -> None:
        try:
            state = load_saved(path, "Trainer", keys=_CHECKPOINT_KEYS, map_location=self.device)
        except ValueError as exc:
            raise ValueError(f"{exc} Delete the checkpoint or pass resume=False (--no-resume).") from exc
        fix = "Use a new run_dir, delete the checkpoint, or pass resume=False (--no-resume)."
        saved = state.get("config", {})
        saved_run = state.get("run_config", self.run_config)  # checkpoints before run_config existed: unknown
        trajectory = [name for name in _TRAJECTORY_FIELDS if name in saved]
        # A caller's setting that is also a TrainConfig field (the lr, say) is compared once, as the TrainConfig's.
        check_same_settings(
            path,
            "Trainer",
            {**saved_run, **{name: saved[name] for name in trajectory}},
            {**self.run_config, **{name: getattr(self.config, name) for name in trajectory}},
            fix,
        )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()
            raise ValueError(
                f"Trainer: {path} does not fit this model or optimizer ({' '.join(first[:2])}); it was written by "
                f"another model, configuration or contrastkit version. {fix}"
            ) from exc
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        self._epoch_rng = state["epoch_rng"]
        self._resume_rng = state["rng"]
        self._position = {k: state[k] for k in ("epoch", "batch_in_epoch", "epoch_rng", "rng")}
        self.history, self.best, self.bad_evals = state["history"], state["best"], state["bad_evals"]
        self._owed_eval = state.get("owed_eval")
        # A run that stopped early is finished: the same command again must not train on. With a larger
        # patience it goes on (patience may change on a resume).
        self.stopped_early = self.config.patience is not None and self.bad_evals >= self.config.patience

    def _write_metrics(self) -> None:
        if self.run_dir is None or not self.history:
            return
        import pandas as pd

        frame = pd.DataFrame(self.history)
        atomic_write_text(frame.to_csv(index=False), self.run_dir / "metrics.csv")

    # ---------------------------------------------------------------- loop
    def _epoch_iter(self) -> Iterator[Any]:
        source = self.batches(self.epoch) if callable(self.batches) else self.batches
        return iter(source)

    def _batches(self) -> Iterator[Any]:
        """Yield batches forever, advancing epochs; on resume, skip what was already consumed."""
        skip = self.batch_in_epoch
        if hasattr(self, "_resume_rng"):
            if skip:
                set_rng_state(self._epoch_rng)  # the epoch's data order is drawn from this state
            else:  # stopped before the epoch's first batch: draw its order from the checkpoint's state
                set_rng_state(self._resume_rng)
                del self._resume_rng
        while True:
            if skip == 0:
                self._epoch_rng = rng_state()
            it = self._epoch_iter()
            for _ in range(skip):
                next(it, None)
            if hasattr(self, "_resume_rng"):
                set_rng_state(self._resume_rng)
                del self._resume_rng
            produced = skip
            skip = 0
            for batch in it:
                produced += 1
                self.batch_in_epoch = produced
                yield batch
            if produced == 0:
                raise ValueError(
                    "Trainer: the batch source produced no batches in an epoch. A one-shot iterator (a "
                    "generator) is empty after its first pass: pass a callable epoch -> iterable instead."
                )
            self.epoch += 1
            self.batch_in_epoch = 0

    def _run_eval(self, scheduled: bool) -> dict[str, float]:
        """Evaluate, and update ``best`` / ``bad_evals``. Only a ``scheduled`` evaluation (every
        ``eval_every`` steps) counts towards the patience: the one at the end of a shorter budget
        must not stop a run that a larger ``max_steps`` continues."""
        assert self.evaluate is not None
        was_training = self.model.training
        self.model.eval()
        saved_rng = rng_state()  # an evaluation that draws random numbers must not shift training's
        try:
            with torch.no_grad():
                metrics = {f"val_{k}" if not k.startswith("val_") else k: float(v)
                           for k, v in self.evaluate(self.model).items()}
        finally:
            set_rng_state(saved_rng)
            self.model.train(was_training)
        monitor = self.config.monitor
        if monitor is not None:
            key = monitor if monitor in metrics else f"val_{monitor}"
            if key not in metrics:
                raise ValueError(f"Trainer: monitor {monitor!r} not in evaluate() output {sorted(metrics)}.")
            value = metrics[key]
            if not math.isfinite(value):
                warnings.warn(f"Trainer: {key} is {value} at step {self.step}; it does not count as the best.", stacklevel=2)
            better = math.isfinite(value) and (
                self.best is None or (value > self.best if self.config.mode == "max" else value < self.best)
            )
            if better:
                self.best, self.bad_evals = value, 0
                if self.run_dir is not None:
                    atomic_save(self.model.state_dict(), self.run_dir / "best.pt")
                else:  # without a run folder the best weights are kept in memory, on the CPU
                    self.best_state = {
                        k: v.detach().cpu().clone() if isinstance(v, Tensor) else copy.deepcopy(v)
                        for k, v in self.model.state_dict().items()
                    }
            elif scheduled:
                self.bad_evals += 1
        return metrics

    def _evaluate_step(self, row: dict[str, float], scheduled: bool) -> dict[str, float]:
        """``row`` with this step's evaluation; a Ctrl-C inside it leaves the evaluation owed, and the
        checkpoint written then has a resume run it first."""
        self._owed_eval = {"row": row, "scheduled": scheduled}
        row = {**row, **self._run_eval(scheduled)}
        self._owed_eval = None
        if self.config.patience is not None and self.bad_evals >= self.config.patience:
            self.stopped_early = True
        return row

    def _close_step(self, row: dict[str, float]) -> None:
        """Log the step's row (if any) and write the checkpoint when one is due."""
        if row:
            self.history.append({"step": float(self.step), **row})
        if self.step % self.config.checkpoint_every == 0:
            self.save_checkpoint()

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.config.mixed_precision:
            return contextlib.nullcontext()
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype)

    def fit(self) -> Trainer:
        """Train until ``max_steps`` or early stopping; returns ``self`` (``history``, ``best``)."""
        cfg = self.config
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(json.dumps(dataclasses.asdict(cfg), indent=2), self.run_dir / "config.json")
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not cfg.progress, desc="train", leave=False)
        self.model.train()
        batches = self._batches()
        try:
            if self._owed_eval is not None:  # a Ctrl-C interrupted the last step's evaluation: it runs first
                self._close_step(self._evaluate_step(self._owed_eval["row"], self._owed_eval["scheduled"]))
            while self.step < cfg.max_steps and not self.stopped_early:
                batch = move_to(next(batches), self.device)
                with self._autocast():
                    out = self.step_fn(self.model, batch)
                logs = {"loss": out} if isinstance(out, Tensor) else dict(out)
                if "loss" not in logs:
                    raise ValueError("Trainer: step_fn must return a loss tensor or a mapping with 'loss'.")
                loss = logs["loss"]
                if not torch.isfinite(loss.detach()):
                    raise FloatingPointError(f"Trainer: loss is {float(loss.detach())} at step {self.step + 1}.")
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
                if cfg.grad_clip is not None:
                    self.scaler.unscale_(self.optimizer)
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.step += 1
                if self.after_step is not None:
                    self.after_step(self.model, self.step)
                self._position = self._snapshot()
                bar.update(1)
                row: dict[str, float] = {}
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    row = {k: float(v.detach()) if isinstance(v, Tensor) else float(v) for k, v in logs.items()}
                    bar.set_postfix(loss=f"{row['loss']:.4f}")
                scheduled = cfg.eval_every is not None and self.step % cfg.eval_every == 0
                if self.evaluate is not None and (scheduled or self.step == cfg.max_steps):
                    row = self._evaluate_step(row, scheduled)
                self._close_step(row)
        except KeyboardInterrupt:
            path = self.save_checkpoint()
            bar.close()
            if path is not None:
                print(f"\nInterrupted at step {self.step}; checkpoint saved to {path}.")
            raise
        bar.close()
        self.save_checkpoint()
        if self.run_dir is not None and self.history:
            plot_history(self.history, self.run_dir / "curves.png")
        return self

    def load_best(self) -> nn.Module:
        """Load the weights of the best ``monitor`` value (``run_dir/best.pt``, or kept in memory
        when there is no ``run_dir``) into the model and return it."""
        if self.run_dir is not None and (self.run_dir / "best.pt").exists():
            state = load_saved(self.run_dir / "best.pt", "Trainer.load_best", map_location=self.device, weights_only=True)
        elif self.best_state is not None:
            state = self.best_state
        else:
            raise ValueError("Trainer.load_best: no best weights yet; set monitor and evaluate first.")
        self.model.load_state_dict(state)
        return self.model
