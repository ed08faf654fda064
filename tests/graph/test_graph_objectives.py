"""PamC and GRACE against slow float64 loop references written from the formulas, plus gradcheck."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.graph.objectives import (
    GRACE,
    PamC,
    clustering_kl,
    grace_loss,
    meta_nodes,
    neighbourhood_weights,
    pamc_loss,
    target_distribution,
)


def _sim(a: list[float], b: list[float], similarity: str) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    if similarity == "dot":
        return dot
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (max(na, 1e-8) * max(nb, 1e-8))


def reference_a_hat_power(
    edges: list[tuple[int, int]], n: int, hops: int, cumulative: bool = False
) -> list[list[float]]:
    """(D^-1/2 (A + I) D^-1/2)^r, or the sum of its powers 1..r, with Python loops, diagonal zeroed."""
    a = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for i, j in edges:
        a[i][j] = 1.0
    deg = [sum(row) for row in a]
    a_hat = [[a[i][j] / math.sqrt(deg[i] * deg[j]) for j in range(n)] for i in range(n)]
    power = total = a_hat
    for _ in range(hops - 1):
        power = [[sum(power[i][t] * a_hat[t][j] for t in range(n)) for j in range(n)] for i in range(n)]
        total = [[total[i][j] + power[i][j] for j in range(n)] for i in range(n)] if cumulative else power
    return [[0.0 if i == j else total[i][j] for j in range(n)] for i in range(n)]


def reference_pamc(
    z: list[list[float]],
    q: list[list[float]],
    w: list[list[float]],
    c: float,
    assignment: str,
    aggregate: str,
    similarity: str,
) -> float:
    """The docstring formula of pamc_loss, term by term."""
    n, k, d = len(z), len(q[0]), len(z[0])
    pos = []
    for i in range(n):
        terms = [w[i][j] * math.exp(c * _sim(z[i], z[j], similarity)) for j in range(n) if j != i and w[i][j] > 0]
        if terms:
            pos.append(-math.log(sum(terms)))

    def metas(s: list[list[float]]) -> tuple[list[list[float]], list[float]]:
        mass = [sum(s[i][kk] for i in range(n)) for kk in range(k)]
        m = [[sum(s[i][kk] * z[i][t] for i in range(n)) for t in range(d)] for kk in range(k)]
        if aggregate == "mean":
            m = [[v / max(mass[kk], 1e-12) for v in m[kk]] for kk in range(k)]
        return m, mass

    if assignment == "hard":
        hard = [[1.0 if kk == max(range(k), key=lambda j: q[i][j]) else 0.0 for kk in range(k)] for i in range(n)]
        m, mass = metas(hard)
        if sum(v > 0 for v in mass) < 2:
            m, mass = metas(q)
    else:
        m, mass = metas(q)
    alive = [kk for kk in range(k) if mass[kk] > 0]
    neg = [
        math.log(sum(math.exp(c * _sim(m[a], m[b], similarity)) for b in alive if b != a)) for a in alive
    ]
    return sum(pos) / len(pos) + sum(neg) / len(neg)


def _graph(n: int, seed: int) -> list[tuple[int, int]]:
    g = torch.Generator().manual_seed(seed)
    pairs = {(int(a), int(b)) for a, b in torch.randint(n, (2 * n, 2), generator=g).tolist() if a != b}
    return sorted(pairs | {(b, a) for a, b in pairs})


def _dense(index: torch.Tensor, weight: torch.Tensor, n: int) -> list[list[float]]:
    out = torch.zeros(n, n, dtype=torch.float64)
    out[index[0], index[1]] = weight.double()
    return out.tolist()


@pytest.mark.parametrize("cumulative", [False, True])
@pytest.mark.parametrize("hops", [1, 2, 3])
def test_neighbourhood_weights_equal_dense_adjacency_powers(hops: int, cumulative: bool) -> None:
    n = 9
    edges = _graph(n, seed=hops)
    index, weight = neighbourhood_weights(torch.tensor(edges).T, n, hops, cumulative=cumulative)
    expected = reference_a_hat_power(edges, n, hops, cumulative)
    assert torch.allclose(torch.tensor(_dense(index, weight, n)), torch.tensor(expected), atol=1e-6)
    assert bool((index[0] != index[1]).all())


@pytest.mark.parametrize("assignment", ["soft", "hard"])
@pytest.mark.parametrize("aggregate", ["mean", "sum"])
@pytest.mark.parametrize("mode", ["divide", "multiply"])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
@pytest.mark.parametrize("n", [4, 11])
def test_pamc_loss_matches_loop_reference(assignment: str, aggregate: str, mode: str, similarity: str, n: int) -> None:
    g = torch.Generator().manual_seed(n)
    z = torch.randn(n, 5, generator=g, dtype=torch.float64) * 0.5
    q = torch.softmax(torch.randn(n, 3, generator=g, dtype=torch.float64) * 2, dim=1)
    edges = _graph(n, seed=n)
    index, weight = neighbourhood_weights(torch.tensor(edges).T, n, 1)
    tau = 0.7
    got = pamc_loss(
        z, q, index, weight, temperature=tau, temperature_mode=mode,  # type: ignore[arg-type]
        assignment=assignment, aggregate=aggregate, similarity=similarity,  # type: ignore[arg-type]
    )
    c = 1 / tau if mode == "divide" else tau
    expected = reference_pamc(z.tolist(), q.tolist(), _dense(index, weight, n), c, assignment, aggregate, similarity)
    assert float(got) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_pamc_leaves_out_isolated_nodes_and_empty_clusters() -> None:
    n = 8
    z = torch.randn(n, 4, dtype=torch.float64)
    # Node 7 has no edge; cluster 2 receives no node under argmax.
    edges = [(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3), (5, 6), (6, 5), (0, 3), (3, 0)]
    q = torch.tensor([[0.8, 0.15, 0.05]] * 4 + [[0.1, 0.85, 0.05]] * 4, dtype=torch.float64)
    index, weight = neighbourhood_weights(torch.tensor(edges).T, n, 1)
    got = pamc_loss(z, q, index, weight, assignment="hard")
    expected = reference_pamc(z.tolist(), q.tolist(), _dense(index, weight, n), 1 / 0.5, "hard", "mean", "cosine")
    assert torch.isfinite(got)
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_pamc_falls_back_to_soft_meta_nodes_when_all_nodes_share_one_cluster() -> None:
    n = 6
    z = torch.randn(n, 4, dtype=torch.float64)
    q = torch.tensor([[0.6, 0.3, 0.1]] * n, dtype=torch.float64)
    index, weight = neighbourhood_weights(torch.tensor(_graph(n, 0)).T, n, 1)
    hard = pamc_loss(z, q, index, weight, assignment="hard")
    soft = pamc_loss(z, q, index, weight, assignment="soft")
    assert torch.isfinite(hard)
    assert float(hard) == pytest.approx(float(soft))


@pytest.mark.parametrize("assignment", ["soft", "hard"])
def test_pamc_gradcheck(assignment: str) -> None:
    n = 5
    g = torch.Generator().manual_seed(1)
    z = torch.randn(n, 3, generator=g, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(n, 2, generator=g, dtype=torch.float64, requires_grad=True)
    index, weight = neighbourhood_weights(torch.tensor(_graph(n, 3)).T, n, 1)

    def f(z: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return pamc_loss(z, torch.softmax(logits, 1), index, weight.double(), assignment=assignment)  # type: ignore[arg-type]

    assert torch.autograd.gradcheck(f, (z, logits))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 1}, "K >= 2"),
        ({"edges": []}, "no positive pairs"),
        ({"assignment": "argmax"}, "assignment must be one of"),
        ({"temperature": 0.0}, "temperature must be"),
    ],
)
def test_pamc_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    n = 10
    k = int(kwargs.pop("k", 3))  # type: ignore[call-overload]
    edges = kwargs.pop("edges", _graph(n, 0))
    index = torch.tensor(edges, dtype=torch.long).reshape(-1, 2).T
    index, weight = neighbourhood_weights(index, n, 1) if index.numel() else (index, torch.empty(0))
    with pytest.raises(ValueError, match=message):
        pamc_loss(torch.randn(n, 4), torch.softmax(torch.randn(n, k), 1), index, weight, **kwargs)  # type: ignore[arg-type]


def test_pamc_rejects_bad_positives_and_helpers_their_bad_input() -> None:
    n = 10
    z, q = torch.randn(n, 4), torch.softmax(torch.randn(n, 3), 1)
    index, weight = neighbourhood_weights(torch.tensor(_graph(n, 0)).T, n, 1)
    nan_weight = weight.clone()
    nan_weight[0] = float("nan")
    with pytest.raises(ValueError, match="pos_weight must be > 0"):
        pamc_loss(z, q, index, nan_weight)
    bad_index = index.clone()
    bad_index[1, 0] = n
    with pytest.raises(ValueError, match=r"pos_index holds node ids in \[0, 10\]; there are 10 nodes"):
        pamc_loss(z, q, bad_index, weight)
    with pytest.raises(ValueError, match="aggregate must be 'mean' or 'sum'"):
        meta_nodes(z, q, "avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"assignments \[N, K\]"):
        meta_nodes(z, q[:5])
    with pytest.raises(ValueError, match=r"q and p must both be \[N, K\]"):
        clustering_kl(q, q[:, :1])
    with pytest.raises(ValueError, match="cluster_weight must be finite"):
        PamC(cluster_weight=float("nan"))


def test_pamc_module_adds_the_dec_term_and_reference_config() -> None:
    n = 12
    z, q = torch.randn(n, 4), torch.softmax(torch.randn(n, 3), 1)
    index, weight = neighbourhood_weights(torch.tensor(_graph(n, 2)).T, n, 1)
    base = pamc_loss(z, q, index, weight, temperature=0.5, assignment="hard")
    full = PamC(0.5, assignment="hard", cluster_weight=0.3)(z, q, index, weight)
    assert float(full) == pytest.approx(float(base + 0.3 * clustering_kl(q)), rel=1e-6)
    ref = PamC.reference_code(tau=2.0, cluster_weight=0.0)(z, q, index, weight)
    expected = pamc_loss(z, q, index, weight, temperature=2.0, temperature_mode="multiply", assignment="hard", aggregate="sum")
    assert float(ref) == pytest.approx(float(expected))


def test_pamc_module_takes_meta_node_memberships_from_given_ids_and_trains_the_head_by_dec() -> None:
    n = 12
    z, q = torch.randn(n, 4), torch.softmax(torch.randn(n, 3), 1)
    index, weight = neighbourhood_weights(torch.tensor(_graph(n, 2)).T, n, 1)
    ids = torch.arange(n) % 3
    memberships = torch.nn.functional.one_hot(ids, 3).float()
    full = PamC(0.5, assignment="soft", cluster_weight=0.3)(z, q, index, weight, ids)
    expected = pamc_loss(z, memberships, index, weight, temperature=0.5, assignment="soft") + 0.3 * clustering_kl(q)
    assert float(full) == pytest.approx(float(expected), rel=1e-6)
    assert float(full) != pytest.approx(float(PamC(0.5, assignment="hard", cluster_weight=0.3)(z, q, index, weight)))
    with pytest.raises(ValueError, match=r"meta_assignments must be \[N=12\]"):
        PamC(0.5)(z, q, index, weight, ids[:-1])


def test_target_distribution_and_kl_match_loops() -> None:
    q = torch.softmax(torch.randn(7, 3, dtype=torch.float64), 1)
    f = [sum(q[i, k].item() for i in range(7)) for k in range(3)]
    p_ref = []
    for i in range(7):
        row = [q[i, k].item() ** 2 / f[k] for k in range(3)]
        p_ref.append([v / sum(row) for v in row])
    p = target_distribution(q)
    assert torch.allclose(p, torch.tensor(p_ref, dtype=torch.float64))
    kl_ref = sum(p_ref[i][k] * math.log(p_ref[i][k] / q[i, k].item()) for i in range(7) for k in range(3)) / 7
    assert float(clustering_kl(q)) == pytest.approx(kl_ref, rel=1e-9)
    # Gradients flow through Q only (P is a fixed target, DEC's stop-gradient), so gradcheck holds P fixed.
    logits = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: clustering_kl(torch.softmax(x, 1), p), (logits,))


def reference_grace(u: list[list[float]], v: list[list[float]], tau: float) -> float:
    """GRACE's Eq. (1) and (2) with loops: inter- and intra-view negatives, both directions."""
    n = len(u)

    def ell(a: list[list[float]], b: list[list[float]], i: int) -> float:
        pos = math.exp(_sim(a[i], b[i], "cosine") / tau)
        inter = sum(math.exp(_sim(a[i], b[k], "cosine") / tau) for k in range(n) if k != i)
        intra = sum(math.exp(_sim(a[i], a[k], "cosine") / tau) for k in range(n) if k != i)
        return -math.log(pos / (pos + inter + intra))

    return sum(ell(u, v, i) + ell(v, u, i) for i in range(n)) / (2 * n)


@pytest.mark.parametrize("n", [2, 3, 17])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_grace_loss_matches_loop_reference(n: int, dtype: torch.dtype) -> None:
    z1, z2 = torch.randn(n, 6, dtype=dtype), torch.randn(n, 6, dtype=dtype)
    expected = reference_grace(z1.double().tolist(), z2.double().tolist(), 0.4)
    assert float(grace_loss(z1, z2, temperature=0.4)) == pytest.approx(expected, rel=1e-5)


def test_grace_chunked_equals_dense_in_value_and_gradient() -> None:
    z1 = torch.randn(33, 8, requires_grad=True)
    z2 = torch.randn(33, 8, requires_grad=True)
    dense = GRACE(0.5)(z1, z2)
    g_dense = torch.autograd.grad(dense, (z1, z2))
    chunked = GRACE(0.5, chunk_size=5)(z1, z2)
    g_chunked = torch.autograd.grad(chunked, (z1, z2))
    assert float(chunked.detach()) == pytest.approx(float(dense.detach()), rel=1e-5)
    for a, b in zip(g_dense, g_chunked, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_grace_gradcheck() -> None:
    z1 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: grace_loss(a, b, temperature=0.5), (z1, z2))


def test_grace_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="same shape"):
        grace_loss(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="at least 2 nodes"):
        grace_loss(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="chunk_size"):
        GRACE(0.5, chunk_size=0)


def test_grace_is_lower_for_aligned_views() -> None:
    z = F.normalize(torch.randn(20, 16), dim=1)
    assert float(grace_loss(z, z)) < float(grace_loss(z, torch.randn(20, 16)))


def test_more_clusters_than_nodes_contrast_the_non_empty_ones() -> None:
    # A small mini-batch of a graph trained with K clusters: K > N is fine, empty clusters drop out.
    n, k = 6, 9
    index, weight = neighbourhood_weights(torch.tensor(_graph(n, 0)).T, n, 1)
    z, q = torch.randn(n, 4), torch.softmax(torch.randn(n, k), 1)
    loss = pamc_loss(z, q, index, weight, assignment="hard")
    alive = torch.unique(q.argmax(1))
    assert torch.isfinite(loss)
    assert torch.allclose(loss, pamc_loss(z, q[:, alive] / q[:, alive].sum(1, keepdim=True), index, weight, assignment="hard"))


def test_one_kmeans_meta_node_falls_back_to_the_heads_soft_assignments() -> None:
    n = 8
    index, weight = neighbourhood_weights(torch.tensor(_graph(n, 0)).T, n, 1)
    z, q = torch.randn(n, 4), torch.softmax(torch.randn(n, 3), 1)
    objective = PamC(0.5, cluster_weight=0.0)
    one_cluster = objective(z, q, index, weight, meta_assignments=torch.zeros(n, dtype=torch.long))
    # Was -inf: the fallback took the same one-hot memberships, which leave one meta-node.
    assert torch.allclose(one_cluster, pamc_loss(z, q, index, weight, temperature=0.5, assignment="soft"))
