"""Shared input checks (every message states the rule, the value received and the fix) and the
accumulation-dtype rule used by every loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def check_floating(name: str, x: Tensor, where: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor; got {type(x).__name__}.")
    if not x.is_floating_point():
        raise TypeError(
            f"{where}: {name} must be a floating-point tensor; got dtype {x.dtype}. "
            f"Cast it with {name}.float()."
        )


def check_2d(name: str, x: Tensor, where: str) -> None:
    check_floating(name, x, where)
    if x.dim() != 2:
        raise ValueError(f"{where}: {name} must be [N, D]; got shape {tuple(x.shape)}.")


def check_pair(query: Tensor, key: Tensor, where: str, names: tuple[str, str] = ("query", "key")) -> None:
    """query and key: both [B, D] with the same B >= 1 and D, dtype and device."""
    check_2d(names[0], query, where)
    check_2d(names[1], key, where)
    if query.shape != key.shape:
        raise ValueError(
            f"{where}: {names[0]} and {names[1]} must both be [B, D] with the same shape; "
            f"got {tuple(query.shape)} and {tuple(key.shape)}."
        )
    if query.shape[0] == 0:
        raise ValueError(f"{where}: the batch is empty ({names[0]} has shape {tuple(query.shape)}).")
    if query.dtype != key.dtype or query.device != key.device:
        raise TypeError(
            f"{where}: {names[0]} and {names[1]} must share dtype and device; got {query.dtype} on {query.device} "
            f"and {key.dtype} on {key.device}. Cast one with .to(other)."
        )


def check_like(name: str, x: Tensor, ref_name: str, ref: Tensor, where: str) -> None:
    """x shares ref's dtype and device (otherwise a matmul fails deep inside torch). Under autocast the
    dtypes may differ (a float32 memory queue against half-precision queries): autocast casts them."""
    mixed_ok = torch.is_autocast_enabled(ref.device.type)
    if (x.dtype != ref.dtype and not mixed_ok) or x.device != ref.device:
        raise TypeError(
            f"{where}: {name} and {ref_name} must share dtype and device; got {x.dtype} on {x.device} "
            f"and {ref.dtype} on {ref.device}. Cast one with .to(other)."
        )


def check_matrix_pair(name_a: str, a: Tensor, name_b: str, b: Tensor, where: str) -> None:
    """a ``[N, D]`` and b ``[M, D]``: both 2-D, one embedding size, one dtype and device."""
    check_2d(name_a, a, where)
    check_2d(name_b, b, where)
    check_same_dim(name_a, a, name_b, b, where)
    check_like(name_b, b, name_a, a, where)


def check_same_dim(name_a: str, a: Tensor, name_b: str, b: Tensor, where: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{where}: {name_a} and {name_b} must share the embedding size D; "
            f"got {a.shape[-1]} and {b.shape[-1]}."
        )


def check_temperature(temperature: float, where: str) -> None:
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
        raise TypeError(f"{where}: temperature must be a float; got {type(temperature).__name__}.")
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(
            f"{where}: temperature must be a finite number > 0; got {temperature}. "
            "Typical values are 0.05-0.5."
        )


def check_positive(name: str, value: float, where: str, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not math.isfinite(value) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{where}: {name} must be finite and {bound}; got {value}.")


def check_positive_int(
    name: str, value: object, where: str, *, optional: bool = False, allow_zero: bool = False
) -> None:
    """A count (chunk size, queue length, bins): an ``int`` > 0 (>= 0 if ``allow_zero``), not a bool;
    ``None`` too if ``optional``."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        kind = "an int >= 0" if allow_zero else "a positive int"
        suffix = " or None" if optional else ""
        raise ValueError(f"{where}: {name} must be {kind}{suffix}; got {value!r}.")


def check_min_batch(n: int, where: str, minimum: int = 2) -> None:
    if n < minimum:
        raise ValueError(
            f"{where}: in-batch negatives need at least {minimum} samples; got a batch of {n}. "
            "Use a larger batch or pass explicit negatives."
        )


def check_labels(labels: Tensor, n: int, where: str, name: str = "labels") -> None:
    if not isinstance(labels, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor; got {type(labels).__name__}.")
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(
            f"{where}: {name} must be a 1-D tensor of shape ({n},); got shape {tuple(labels.shape)}."
        )
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{where}: {name} must be an integer tensor; got dtype {labels.dtype}.")


def check_mask(name: str, mask: Tensor, shape: tuple[int, ...], where: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor; got {type(mask).__name__}.")
    if mask.dtype != torch.bool:
        raise TypeError(f"{where}: {name} must be a bool tensor; got dtype {mask.dtype}. Use mask.bool().")
    if tuple(mask.shape) != shape:
        raise ValueError(f"{where}: {name} must have shape {shape}; got {tuple(mask.shape)}.")


def check_rows_nonempty(name: str, mask: Tensor, where: str) -> None:
    empty = ~mask.any(dim=-1)
    if bool(empty.any()):
        rows = empty.nonzero().flatten()[:5].tolist()
        raise ValueError(
            f"{where}: every row of {name} needs at least one True entry; rows {rows} are all False. "
            "Each query needs a positive."
        )


def check_reduction(reduction: str, where: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none'; got {reduction!r}.")


def reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def safe_eps(eps: float, dtype: torch.dtype) -> float:
    """``eps`` as a clamp floor: in float16 1e-8 and 1e-12 round to 0 (a zero row became 0/0 = NaN), so
    they are raised to float16's smallest positive value, 2**-24, below the norm of any nonzero row."""
    return max(eps, 2.0**-24) if dtype == torch.float16 else eps


def unit(x: Tensor, eps: float = 1e-8) -> Tensor:
    """L2-normalise the last dimension; a zero row stays zero (also in float16)."""
    return F.normalize(x, dim=-1, eps=safe_eps(eps, x.dtype))


def acc(x: Tensor) -> Tensor:
    """Accumulation dtype: half and bfloat16 values are upcast to float32; float32/64 stay as they are."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
