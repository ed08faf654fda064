"""The dilated convolutional encoder, its timestamp masks and the classifier."""

from __future__ import annotations

import pytest
import torch

from contrastkit.timeseries.models import Classifier, DilatedConvEncoder, pool_time, random_timestamp_mask


def test_shapes_and_repr() -> None:
    enc = DilatedConvEncoder(5, out_dim=8, hidden=6, depth=2).eval()
    assert enc(torch.randn(3, 5, 17)).shape == (3, 17, 8)
    assert repr(enc) == "DilatedConvEncoder(5, out_dim=8, hidden=6, depth=2)"
    assert Classifier(enc, 3)(torch.randn(4, 5, 9)).shape == (4, 3)
    assert pool_time(torch.tensor([[[1.0, 5.0], [3.0, 2.0]]])).tolist() == [[3.0, 5.0]]


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_receptive_field_matches_the_formula(depth: int) -> None:
    """A change at step 40 reaches exactly the steps within (rf - 1) / 2 of it."""
    torch.manual_seed(0)
    enc = DilatedConvEncoder(2, out_dim=4, hidden=4, depth=depth, kernel_size=3).eval()
    x = torch.randn(1, 2, 81)
    y = x.clone()
    y[0, :, 40] += 10.0
    changed = (enc(x) - enc(y)).abs().amax(-1)[0] > 0
    half = (1 + 2 * 2 * (2 ** (depth + 1) - 1) - 1) // 2
    assert changed.nonzero().flatten().tolist() == list(range(40 - half, 40 + half + 1))


def test_masked_steps_do_not_see_the_input() -> None:
    torch.manual_seed(0)
    enc = DilatedConvEncoder(3, out_dim=4, hidden=4, depth=1).eval()
    x = torch.randn(2, 3, 10)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[:, 4] = False
    y = x.clone()
    y[:, :, 4] = 1e3  # a masked step's value must not matter
    torch.testing.assert_close(enc(x, mask), enc(y, mask))
    assert not torch.allclose(enc(x), enc(y))


def test_random_masks() -> None:
    g = torch.Generator().manual_seed(0)
    binom = random_timestamp_mask(200, 100, keep=0.3, generator=g)
    assert binom.dtype == torch.bool and abs(binom.float().mean().item() - 0.3) < 0.02
    cont = random_timestamp_mask(50, 20, keep=0.75, mode="continuous", generator=g)
    masked = ~cont
    assert (masked.sum(1) == 5).all()
    # One contiguous span: the masked positions of each row are consecutive.
    for row in masked:
        idx = row.nonzero().flatten()
        assert (idx.diff() == 1).all()
    assert random_timestamp_mask(3, 4, keep=1.0, mode="continuous").all()
    with pytest.raises(ValueError, match=r"keep must be in \(0, 1\]"):
        random_timestamp_mask(2, 3, keep=0.0)
    with pytest.raises(ValueError, match="mode"):
        random_timestamp_mask(2, 3, mode="blocks")  # type: ignore[arg-type]


def test_bad_configuration_and_inputs_raise() -> None:
    with pytest.raises(ValueError, match="odd"):
        DilatedConvEncoder(2, kernel_size=4)
    with pytest.raises(ValueError, match="in_channels"):
        DilatedConvEncoder(0)
    enc = DilatedConvEncoder(2, out_dim=4, hidden=4, depth=1)
    with pytest.raises(ValueError, match=r"\[B, 2, T\]"):
        enc(torch.randn(3, 10, 2))
    with pytest.raises(ValueError, match="mask must be bool"):
        enc(torch.randn(3, 2, 10), torch.ones(3, 10))
    with pytest.raises(ValueError, match="n_classes"):
        Classifier(enc, 1)
