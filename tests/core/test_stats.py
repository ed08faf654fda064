"""paired_bootstrap: the interval of mean(a) - mean(b) over resampled units (paired) and seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from contrastkit.core import paired_bootstrap


def reference_gaps(a: np.ndarray, b: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """The bootstrap written out: draw unit and seed indices, average the drawn cells, loop over replicates."""
    rng = np.random.default_rng(seed)
    n = a.shape[1]
    gaps = []
    for _ in range(n_boot):
        units = rng.integers(0, n, n)
        seeds_a = rng.integers(0, a.shape[0], a.shape[0])
        seeds_b = rng.integers(0, b.shape[0], b.shape[0])
        total = 0.0
        for u in units:
            total += sum(a[s, u] for s in seeds_a) / len(seeds_a) - sum(b[s, u] for s in seeds_b) / len(seeds_b)
        gaps.append(total / n)
    return np.asarray(gaps)


def test_interval_matches_a_loop_reference_within_monte_carlo_error() -> None:
    rng = np.random.default_rng(1)
    base = rng.gamma(0.3, 0.1, size=120)  # skewed per-user scores, like NDCG
    a = base + rng.normal(0.01, 0.03, size=(3, 120))
    b = base + rng.normal(0.0, 0.03, size=(2, 120))
    ours = paired_bootstrap(a, b, n_boot=20_000, seed=0)
    ref = reference_gaps(a, b, 4_000, seed=1)
    width = np.quantile(ref, 0.975) - np.quantile(ref, 0.025)
    assert ours["gap"] == pytest.approx(a.mean() - b.mean(), abs=1e-15)
    assert ours["low"] == pytest.approx(np.quantile(ref, 0.025), abs=0.08 * width)
    assert ours["high"] == pytest.approx(np.quantile(ref, 0.975), abs=0.08 * width)
    assert ours["p_not_above"] == pytest.approx((ref <= 0).mean(), abs=0.02)


def test_one_seed_of_identical_models_gives_a_zero_interval_and_a_constant_shift_an_exact_one() -> None:
    a = np.random.default_rng(0).random((1, 50))
    same = paired_bootstrap(a, a.copy())
    assert same == {"gap": 0.0, "low": 0.0, "high": 0.0, "p_not_above": 1.0}
    shifted = paired_bootstrap(a + 0.25, a)
    assert shifted["gap"] == pytest.approx(0.25)
    assert shifted["low"] == pytest.approx(0.25) and shifted["high"] == pytest.approx(0.25)
    assert shifted["p_not_above"] == 0.0


def test_seeds_are_resampled_per_model_so_seed_noise_widens_the_interval() -> None:
    a = np.random.default_rng(0).random((3, 50))
    out = paired_bootstrap(a, a.copy())  # the same three runs on both sides: a gap of 0, not known to be 0
    assert out["gap"] == 0.0
    assert out["low"] < 0 < out["high"]
    assert out["high"] - out["low"] > 0.05


def test_one_seed_covers_the_true_mean_difference_at_about_the_stated_rate() -> None:
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(300):
        d = rng.normal(0.1, 1.0, size=60)
        out = paired_bootstrap(d[None], np.zeros((1, 60)), n_boot=1_000, seed=int(rng.integers(1 << 30)))
        covered += out["low"] <= 0.1 <= out["high"]
    assert 0.90 <= covered / 300 <= 0.98


def test_pairing_narrows_the_interval_when_units_share_their_difficulty() -> None:
    rng = np.random.default_rng(3)
    difficulty = rng.gamma(0.5, 1.0, size=200)
    a = difficulty + rng.normal(0.05, 0.05, size=200)
    b = difficulty + rng.normal(0.0, 0.05, size=200)
    out = paired_bootstrap(a, b, seed=0)
    # Unpaired, the units' spread (std ~0.7) would give a width of ~0.2; paired it is that of the 0.07 noise.
    assert out["high"] - out["low"] < 0.03
    assert out["low"] > 0


def test_accepts_tensors_and_one_seed_vectors() -> None:
    a = torch.tensor([0.0, 1.0, 0.5, 0.25], dtype=torch.float32)
    out = paired_bootstrap(a, torch.zeros(4), n_boot=200)
    assert out["gap"] == pytest.approx(0.4375)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        (np.zeros((2, 5)), np.zeros((2, 6)), {}, "same units"),
        (np.zeros((2, 1)), np.zeros((2, 1)), {}, "N >= 2"),
        (np.zeros((0, 5)), np.zeros((2, 5)), {}, "S >= 1"),
        (np.zeros((2, 3, 4)), np.zeros((2, 3)), {}, r"\[S, N\]"),
        (np.array([[0.0, np.nan]]), np.zeros((1, 2)), {}, "NaN"),
        (np.array([["x", "y"]]), np.zeros((1, 2)), {}, "numeric"),
        (np.zeros((1, 3)), np.zeros((1, 3)), {"n_boot": 10}, "n_boot"),
        (np.zeros((1, 3)), np.zeros((1, 3)), {"confidence": 1.0}, "confidence"),
        (np.zeros((1, 3)), np.zeros((1, 3)), {"chunk": 0}, "chunk"),
    ],
)
def test_bad_input_is_refused_with_the_argument_named(a: np.ndarray, b: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        paired_bootstrap(a, b, **kwargs)
