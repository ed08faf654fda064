"""PamC on Cora with a GRACE baseline: embeddings, learnt clusters, clustering scores and probes.

    python examples/graph/pamc_cora.py --root ../shared/data/Planetoid --steps 200
"""

from __future__ import annotations

import argparse
from pathlib import Path

from contrastkit.graph import (
    GraphTrainConfig,
    clustering_scores,
    kmeans_assign,
    load_planetoid,
    probe_scores,
    train_graph,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=Path("../shared/data/Planetoid"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = load_planetoid(args.root, "Cora")  # copies raw/ to ~/.cache/contrastkit first
    for method in ("pamc", "grace"):
        result = train_graph(data, GraphTrainConfig(method=method, steps=args.steps, seed=args.seed))
        kmeans = clustering_scores(data.y, kmeans_assign(result.embeddings, 7, seed=args.seed, normalize=True)[0])
        print(f"{method}: k-means on embeddings {kmeans}")
        if result.assignment_source == "cluster_head":
            print(f"{method}: learnt cluster head {clustering_scores(data.y, result.assignments)}")
        for protocol in ("public", "random_10_10_80"):
            print(f"{method}: probe {probe_scores(result.embeddings, data, protocol, seed=args.seed)}")


if __name__ == "__main__":
    main()
