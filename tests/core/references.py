"""Slow, obviously-correct reference losses: Python loops over float64 numbers, straight from each paper."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def rows(x: Tensor) -> list[list[float]]:
    return x.detach().double().tolist()


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def norm(a: list[float]) -> float:
    return math.sqrt(dot(a, a))


def cos(a: list[float], b: list[float]) -> float:
    return dot(a, b) / max(norm(a) * norm(b), 1e-300)


def sq_dist(a: list[float], b: list[float]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))


def info_nce(q, k, negatives=None, tau=0.1, sim=cos, pos_mask=None, neg_mask=None, extra=None) -> float:
    """Mean over queries of -1/|P| sum_p log(e^{s_ip} / (e^{s_ip} + sum_{n in N(i)} e^{s_in}))."""
    Q, K = rows(q), rows(k)
    B = len(Q)
    total = 0.0
    for i in range(B):
        if negatives is None:
            pos = [j for j in range(len(K)) if (pos_mask[i][j] if pos_mask is not None else j == i)]
            negs = [j for j in range(len(K)) if j not in pos and (neg_mask is None or neg_mask[i][j])]
            pos_scores = [sim(Q[i], K[p]) / tau for p in pos]
            neg_scores = [sim(Q[i], K[j]) / tau for j in negs]
        else:
            N = rows(negatives) if negatives.dim() == 2 else rows(negatives[i])
            pos_scores = [sim(Q[i], K[i]) / tau]
            neg_scores = [sim(Q[i], N[j]) / tau for j in range(len(N)) if neg_mask is None or neg_mask[i][j]]
        if extra is not None:
            neg_scores += [sim(Q[i], e) / tau for e in rows(extra[i])]
        terms = []
        for sp in pos_scores:
            den = math.exp(sp) + sum(math.exp(s) for s in neg_scores)
            terms.append(-math.log(math.exp(sp) / den))
        total += sum(terms) / len(terms)
    return total / B


def nt_xent(z1, z2, tau=0.5) -> float:
    """SimCLR Algorithm 1: z = [z1; z2]; l(i,j) = -log exp(s_ij/t)/sum_{k!=i} exp(s_ik/t)."""
    Z = rows(z1) + rows(z2)
    N = len(Z) // 2

    def ell(i: int, j: int) -> float:
        den = sum(math.exp(cos(Z[i], Z[k]) / tau) for k in range(2 * N) if k != i)
        return -math.log(math.exp(cos(Z[i], Z[j]) / tau) / den)

    return sum(ell(k, k + N) + ell(k + N, k) for k in range(N)) / (2 * N)


def supcon(z, labels, tau=0.1) -> float:
    """Khosla et al. eq. 2 (L^out), anchors without positives skipped."""
    Z, y = rows(z), labels.tolist()
    total, anchors = 0.0, 0
    for i in range(len(Z)):
        P = [p for p in range(len(Z)) if p != i and y[p] == y[i]]
        if not P:
            continue
        den = sum(math.exp(cos(Z[i], Z[a]) / tau) for a in range(len(Z)) if a != i)
        total += -sum(math.log(math.exp(cos(Z[i], Z[p]) / tau) / den) for p in P) / len(P)
        anchors += 1
    return total / anchors


def distance(a: list[float], b: list[float], kind: str = "euclidean") -> float:
    return math.sqrt(sq_dist(a, b)) if kind == "euclidean" else 1.0 - cos(a, b)


def triplet(a, p, n, margin=1.0, kind="euclidean", swap=False) -> float:
    """max(0, d(a,p) - d(a,n) + m); with swap, d(a,n) -> min(d(a,n), d(p,n)) (Balntas et al. 2016)."""
    A, P, N = rows(a), rows(p), rows(n)
    total = 0.0
    for i in range(len(A)):
        d_an = distance(A[i], N[i], kind)
        if swap:
            d_an = min(d_an, distance(P[i], N[i], kind))
        total += max(0.0, distance(A[i], P[i], kind) - d_an + margin)
    return total / len(A)


def margin_contrastive(x1, x2, same, pos_margin=0.0, neg_margin=1.0, power=2.0, kind="euclidean") -> float:
    X1, X2 = rows(x1), rows(x2)
    out = 0.0
    for i in range(len(X1)):
        d = distance(X1[i], X2[i], kind)
        out += max(0.0, d - pos_margin) ** power if bool(same[i]) else max(0.0, neg_margin - d) ** power
    return out / len(X1)


def n_pair(a, p, l2_reg=0.0) -> float:
    A, P = rows(a), rows(p)
    out = 0.0
    for i in range(len(A)):
        out += math.log(1 + sum(math.exp(dot(A[i], P[j]) - dot(A[i], P[i])) for j in range(len(A)) if j != i))
        out += l2_reg * (dot(A[i], A[i]) + dot(P[i], P[i]))
    return out / len(A)


def dcl(z1, z2, tau=0.1, weights=None) -> float:
    """Yeh et al. eq. 6, symmetric; weights w_i multiply the positive term (DCLW)."""
    views = [rows(z1), rows(z2)]
    B = len(views[0])
    total = 0.0
    for a, b in ((0, 1), (1, 0)):
        X, Y = views[a], views[b]
        for i in range(B):
            w = 1.0 if weights is None else weights[i]
            pos = -w * cos(X[i], Y[i]) / tau
            neg = math.log(
                sum(math.exp(cos(X[i], V[j]) / tau) for V in (X, Y) for j in range(B) if j != i)
            )
            total += pos + neg
    return total / (2 * B)


def vmf_weights(z1, z2, sigma=0.5) -> list[float]:
    A, P = rows(z1), rows(z2)
    e = [math.exp(cos(A[i], P[i]) / sigma) for i in range(len(A))]
    return [2 - len(A) * x / sum(e) for x in e]


def hard_negative(q, k, tau=0.5, beta=1.0, tau_plus=0.1, neg_mask=None) -> float:
    """Robinson et al. code: imp = exp(beta*s/t); Ng = max((N*sum(imp*neg)/sum(imp) - N t+ pos)/(1-t+), N e^{-1/t})."""
    Q, K = rows(q), rows(k)
    B = len(Q)
    total = 0.0
    for i in range(B):
        pos = math.exp(cos(Q[i], K[i]) / tau)
        negs = [math.exp(cos(Q[i], K[j]) / tau) for j in range(B) if j != i and (neg_mask is None or neg_mask[i][j])]
        imp = [n**beta for n in negs]
        N = len(negs)
        reweight = sum(w * n for w, n in zip(imp, negs, strict=True)) / (sum(imp) / N)
        ng = max((-tau_plus * N * pos + reweight) / (1 - tau_plus), N * math.exp(-1 / tau))
        total += -math.log(pos / (pos + ng))
    return total / B


def alignment(x, y, alpha=2.0) -> float:
    X, Y = rows(x), rows(y)
    return sum(
        math.sqrt(sq_dist([v / norm(X[i]) for v in X[i]], [v / norm(Y[i]) for v in Y[i]])) ** alpha
        for i in range(len(X))
    ) / len(X)


def uniformity(x, t=2.0) -> float:
    X = [[v / norm(r) for v in r] for r in rows(x)]
    vals = [math.exp(-t * sq_dist(X[i], X[j])) for i in range(len(X)) for j in range(i + 1, len(X))]
    return math.log(sum(vals) / len(vals))


def proto_nce(q, prototypes, assignments, concentrations) -> float:
    V = [[v / norm(r) for v in r] for r in rows(q)]
    total = 0.0
    for C, s, phi in zip(prototypes, assignments, concentrations, strict=True):
        Cn = [[v / norm(r) for v in r] for r in rows(C)]
        ph = phi.double().tolist()
        for i in range(len(V)):
            logits = [dot(V[i], Cn[j]) / ph[j] for j in range(len(Cn))]
            total += -math.log(math.exp(logits[int(s[i])]) / sum(math.exp(x) for x in logits)) / len(V)
    return total / len(prototypes)


def symile(xs, tau=0.07) -> float:
    X = [[[v / norm(r) for v in r] for r in rows(x)] for x in xs]
    M, B, D = len(X), len(X[0]), len(X[0][0])

    def mip(vs: list[list[float]]) -> float:
        return sum(math.prod(v[d] for v in vs) for d in range(D))

    total = 0.0
    for m in range(M):
        for i in range(B):
            logits = []
            for j in range(B):
                vs = [X[mm][i] if mm != m else X[m][j] for mm in range(M)]
                logits.append(mip(vs) / tau)
            total += -math.log(math.exp(logits[i]) / sum(math.exp(x) for x in logits)) / B
    return total / M


def as_tensor(x: float) -> Tensor:
    return torch.tensor(x, dtype=torch.float64)
