"""SASRec: causal, padding-blind, right-aligned positions, clear errors."""

from __future__ import annotations

import pytest
import torch

from contrastkit.recsys.models import Augmenter, SASRec


@pytest.fixture
def model() -> SASRec:
    torch.manual_seed(0)
    return SASRec(20, max_len=6, hidden=8, n_layers=2, n_heads=2, dropout=0.0).eval()


def test_shapes(model: SASRec) -> None:
    seqs = torch.tensor([[0, 0, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]])
    assert model.encode(seqs).shape == (2, 6, 8)
    assert model.represent(seqs).shape == (2, 8)
    assert model(seqs).shape == (2, 20)
    assert model.item_embeddings().shape == (20, 8)


def test_positions_never_see_the_future(model: SASRec) -> None:
    seqs = torch.tensor([[0, 1, 2, 3, 4, 5]])
    changed = seqs.clone()
    changed[0, 4:] = torch.tensor([17, 18])
    a, b = model.encode(seqs), model.encode(changed)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not torch.allclose(a[:, 4:], b[:, 4:], atol=1e-3)


def test_padding_is_invisible(model: SASRec) -> None:
    padded = torch.tensor([[0, 0, 0, 7, 8, 9]])
    unpadded = torch.tensor([[7, 8, 9]])  # fewer columns, same right-aligned positions
    assert torch.allclose(model.represent(padded), model.represent(unpadded), atol=1e-5)
    assert torch.isfinite(model.encode(torch.zeros(1, 6, dtype=torch.long))).all()


def test_mask_token_and_padding_are_never_scored(model: SASRec) -> None:
    assert model.mask_token == 21
    assert model.item_emb.weight.shape[0] == 22
    assert torch.equal(model.item_embeddings(), model.item_emb.weight[1:21])


def test_dropout_gives_a_second_view_in_training_mode() -> None:
    torch.manual_seed(0)
    model = SASRec(20, max_len=6, hidden=8, dropout=0.3).train()
    seqs = torch.tensor([[1, 2, 3, 4, 5, 6]])
    assert not torch.allclose(model.represent(seqs), model.represent(seqs))
    model.eval()
    assert torch.equal(model.represent(seqs), model.represent(seqs))


def test_bad_input_is_rejected(model: SASRec) -> None:
    with pytest.raises(TypeError, match="long tensor"):
        model.encode(torch.ones(2, 3))
    with pytest.raises(ValueError, match="max_len=6"):
        model.encode(torch.ones(1, 7, dtype=torch.long))
    top = model.mask_token
    model.encode(torch.tensor([[0, 1, top]]))  # padding, an item and the mask token are all valid
    for bad in (top + 1, -1):
        with pytest.raises(ValueError, match=rf"item indices must be in 0\.\.{top}"):
            model.encode(torch.tensor([[0, 1, bad]]))
    with pytest.raises(ValueError, match="divisible"):
        SASRec(10, hidden=10, n_heads=3)
    with pytest.raises(ValueError, match="n_items must be a positive int; got 5.5"):
        SASRec(5.5)  # type: ignore[arg-type]


def reference_augmenter(augmenter: Augmenter, z: torch.Tensor) -> list[list[float]]:
    """g(z) = z + W2 ReLU(W1 z + b1) + b2, one row and one unit at a time, in float64."""
    w1, b1 = augmenter.net[0].weight.double().tolist(), augmenter.net[0].bias.double().tolist()
    w2, b2 = augmenter.net[2].weight.double().tolist(), augmenter.net[2].bias.double().tolist()
    out = []
    for row in z.double().tolist():
        inner = [max(0.0, sum(w * x for w, x in zip(ws, row, strict=True)) + b) for ws, b in zip(w1, b1, strict=True)]
        out.append([x + sum(w * h for w, h in zip(ws, inner, strict=True)) + b for x, ws, b in zip(row, w2, b2, strict=True)])
    return out


def test_augmenter_starts_as_the_identity_and_learns_a_residual() -> None:
    torch.manual_seed(0)
    augmenter = Augmenter(8)
    z = 8 * torch.randn(5, 8)  # SASRec representations have norm ~ sqrt(D) after the final LayerNorm
    assert torch.equal(augmenter(z), z), "a new augmenter returns the CL4SRec view unchanged, at its scale"
    with torch.no_grad():
        augmenter.net[2].weight.normal_()
        augmenter.net[2].bias.normal_()
    expected = torch.tensor(reference_augmenter(augmenter, z), dtype=torch.float64)
    assert torch.allclose(augmenter(z).double(), expected, atol=1e-4)
    assert not torch.allclose(augmenter(z), z)
