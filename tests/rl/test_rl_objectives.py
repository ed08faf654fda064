"""CURL's loss against a float64 loop reference; the auxiliary's key encoder and learning."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from contrastkit.core import BilinearSimilarity
from contrastkit.rl.models import PixelEncoder
from contrastkit.rl.objectives import CurlAuxiliary, curl_loss


def reference_curl_loss(q: torch.Tensor, k: torch.Tensor, w: torch.Tensor) -> float:
    """CURL (arXiv:2004.04136, Algorithm 1): logits q_i^T W k_j, cross-entropy with target i."""
    qs, ks, ws = q.double().tolist(), k.double().tolist(), w.double().tolist()
    n, d = len(qs), len(ws)
    total = 0.0
    for i in range(n):
        logits = [sum(qs[i][a] * ws[a][c] * ks[j][c] for a in range(d) for c in range(d)) for j in range(n)]
        top = max(logits)
        log_sum_exp = top + math.log(sum(math.exp(x - top) for x in logits))
        total += log_sum_exp - logits[i]
    return total / n


@pytest.mark.parametrize("batch", [2, 5])
@pytest.mark.parametrize("dim", [1, 4])
@pytest.mark.parametrize("init", ["uniform", "identity", "random"])
def test_curl_loss_matches_the_loop_reference(batch: int, dim: int, init: str) -> None:
    torch.manual_seed(batch * 10 + dim)
    sim = BilinearSimilarity(dim, init=init)  # type: ignore[arg-type]
    q, k = 3 * torch.randn(batch, dim), 3 * torch.randn(batch, dim)
    got = curl_loss(q, k, sim)
    assert got.item() == pytest.approx(reference_curl_loss(q, k, sim.W.detach()), rel=1e-5, abs=1e-5)


def test_forward_contrasts_the_query_with_the_key_encoder_on_a_second_random_view() -> None:
    # forward draws one fresh view for the key encoder: with the same RNG state, that is the view
    # aux.augment draws, and the loss is the loop reference on the key encoder's features of it.
    aux = CurlAuxiliary(_encoder(), 16, crop_size=20, w_init="random")
    with torch.no_grad():
        for p in aux.key_encoder.parameters():  # the key encoder is no longer the online one
            p.add_(0.05 * torch.randn_like(p))
    obs = torch.randint(0, 256, (8, 3, 24, 24), dtype=torch.uint8)
    query = torch.randn(8, 16)
    torch.manual_seed(1)
    got = aux(query, obs)
    torch.manual_seed(1)
    view = aux.augment(obs)
    assert not torch.equal(view, obs[:, :, 2:22, 2:22])  # a random crop, not the center one
    with torch.no_grad():
        key = aux.key_encoder(view)
    assert got.item() == pytest.approx(reference_curl_loss(query, key, aux.similarity.W.detach()), rel=1e-5)
    torch.manual_seed(1)
    assert aux(query, obs).requires_grad  # W is trained through the loss


def test_curl_loss_gradients_pass_gradcheck() -> None:
    torch.manual_seed(0)
    sim = BilinearSimilarity(3, init="random").double()
    q = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    k = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    # W is an input too: gradcheck perturbs sim.W in place, so the loss sees each perturbation.
    assert torch.autograd.gradcheck(lambda a, b, w: curl_loss(a, b, sim), (q, k, sim.W))


def test_curl_loss_rejects_a_non_bilinear_similarity_and_single_samples() -> None:
    with pytest.raises(TypeError, match="BilinearSimilarity"):
        curl_loss(torch.randn(4, 3), torch.randn(4, 3), "dot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2"):
        curl_loss(torch.randn(1, 3), torch.randn(1, 3), BilinearSimilarity(3))


def _encoder(crop: int = 20) -> PixelEncoder:
    space = gym.spaces.Box(0, 255, (3, 24, 24), np.uint8)
    return PixelEncoder(space, features_dim=16, crop_size=crop, num_layers=2, num_filters=8)


def test_key_encoder_is_an_ema_copy_with_momentum_one_minus_encoder_tau() -> None:
    online = _encoder()
    aux = CurlAuxiliary(online, 16, crop_size=20, encoder_tau=0.25)
    before = [p.detach().clone() for p in aux.key_encoder.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, online.parameters(), strict=True))
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    aux.update_key_encoder(online)
    for old, new, target in zip(before, aux.key_encoder.parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(new, 0.75 * old + 0.25 * target)
    assert not any(p.requires_grad for p in aux.key_encoder.parameters())


def test_views_are_independent_crops_of_the_training_size() -> None:
    aux = CurlAuxiliary(_encoder(), 16, crop_size=20)
    obs = torch.randint(0, 256, (8, 3, 24, 24), dtype=torch.uint8)
    a, b = aux.augment(obs), aux.augment(obs)
    assert a.shape == (8, 3, 20, 20) and a.dtype == torch.uint8
    assert not torch.equal(a, b)
    shift = CurlAuxiliary(_encoder(), 16, crop_size=20, augmentation="shift", shift_pad=2)
    torch.manual_seed(0)
    shifted = shift.augment(obs)
    assert shifted.shape == (8, 3, 20, 20) and shifted.dtype == torch.uint8
    # DrQ: the 20 x 20 center crop, edge-padded by 2, seen through a 20 x 20 window at an offset in [0, 4]^2.
    padded = np.pad(obs[:, :, 2:22, 2:22].numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="edge")
    offsets = []
    for b in range(8):
        found = [(t, left) for t in range(5) for left in range(5)
                 if np.array_equal(shifted[b].numpy(), padded[b, :, t : t + 20, left : left + 20])]
        assert found, f"sample {b} is not a shift of its center crop"
        offsets.append(found[0])
    assert any(o != (2, 2) for o in offsets), "every sample left unshifted"
    plain = CurlAuxiliary(_encoder(), 16, crop_size=20, augmentation="none")
    assert torch.equal(plain.augment(obs), obs[:, :, 2:22, 2:22])  # the center crop, every time


def test_bad_auxiliary_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="augmentation"):
        CurlAuxiliary(_encoder(), 16, crop_size=20, augmentation="flip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="encoder_tau"):
        CurlAuxiliary(_encoder(), 16, crop_size=20, encoder_tau=0.0)
    with pytest.raises(ValueError, match="crop_size must be a positive int; got 8.5"):
        CurlAuxiliary(_encoder(), 16, crop_size=8.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shift_pad must be an int >= 0; got -1"):
        CurlAuxiliary(_encoder(), 16, crop_size=20, shift_pad=-1)


def test_curl_learns_to_tell_observations_apart() -> None:
    """On images that differ in colour and in the position of a square, 150 steps of CURL bring the
    loss far below chance (log B) and the instance-discrimination accuracy far above 1 / B."""
    torch.manual_seed(0)
    batch = 32
    colours = torch.randint(0, 256, (batch, 3, 1, 1))
    obs = colours.expand(batch, 3, 24, 24).clone()
    for b in range(batch):
        r, c = torch.randint(0, 16, (2,)).tolist()
        obs[b, :, r : r + 8, c : c + 8] = 255 - colours[b]
    obs = obs.to(torch.uint8)
    encoder = _encoder()
    aux = CurlAuxiliary(encoder, 16, crop_size=20, w_init="identity")
    opt = torch.optim.Adam([*encoder.parameters(), *aux.similarity.parameters()], lr=1e-3)
    for _ in range(150):
        loss = aux(encoder(aux.augment(obs)), obs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        aux.update_key_encoder(encoder)
    assert loss.item() < 0.25 * math.log(batch)
    with torch.no_grad():
        logits = aux.similarity.pairwise(encoder(aux.augment(obs)), aux.key_encoder(aux.augment(obs)))
    accuracy = (logits.argmax(1) == torch.arange(batch)).float().mean().item()
    assert accuracy > 0.5
