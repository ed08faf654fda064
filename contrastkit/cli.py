"""The ``contrastkit`` command: ``contrastkit demo`` and one subcommand per domain.

Bad input (a ``ValueError`` or ``FileNotFoundError`` from the library) ends the command with its
message and exit status 1; set ``CONTRASTKIT_TRACEBACK=1`` to see the traceback instead.

Each domain package provides ``cli.py`` with ``register(subparsers)`` (its subcommand) and
``demo(run_dir, seed) -> dict[str, float]`` (its part of the tour). Domains whose optional
dependencies are missing are skipped with the reason.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from contrastkit import __version__

DOMAINS = ("core", "graph", "text", "timeseries", "rl", "recsys")


def _domain_cli(name: str) -> ModuleType | str:
    module = "contrastkit.tour" if name == "core" else f"contrastkit.{name}.cli"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"contrastkit.{name}"):
            return "not built yet"
        return f"missing dependency {exc.name!r} (pip install 'contrastkit[{name}]')"


def run_demo(run_dir: Path, seed: int, only: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Train every available domain briefly on built-in data; print and save a summary table."""
    run_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    for name in only or DOMAINS:
        mod = _domain_cli(name)
        if isinstance(mod, str) or not hasattr(mod, "demo"):
            print(f"[{name}] skipped: {mod if isinstance(mod, str) else 'no demo'}")
            continue
        print(f"[{name}] training on built-in data ...", flush=True)
        start = time.perf_counter()
        metrics = dict(mod.demo(run_dir / name, seed))
        metrics["seconds"] = round(time.perf_counter() - start, 1)
        results[name] = metrics
        print(f"[{name}] " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)
    (run_dir / "summary.json").write_text(json.dumps(results, indent=2))
    lines = ["| domain | metric | value |", "| --- | --- | --- |"]
    for name, metrics in results.items():
        lines += [f"| {name} | {k} | {v:.4g} |" for k, v in metrics.items()]
    table = "\n".join(lines)
    (run_dir / "summary.md").write_text(table + "\n")
    print("\n" + table)
    print(f"\nPlots, metrics and checkpoints are in {run_dir}/")
    return results


def build_parser(domains: Sequence[str] = DOMAINS[1:]) -> argparse.ArgumentParser:
    """The full parser; ``domains`` limits which domain subcommands are imported and registered."""
    parser = argparse.ArgumentParser(
        prog="contrastkit", description="Contrastive representation learning: a demo tour and one subcommand per domain."
    )
    parser.add_argument("--version", action="version", version=f"contrastkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour on built-in data (no download)")
    demo.add_argument("--run-dir", type=Path, default=Path("runs/demo"))
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--only", nargs="*", choices=DOMAINS, help="restrict the tour to these domains")
    demo.set_defaults(func=lambda a: run_demo(a.run_dir, a.seed, a.only))
    for name in domains:
        mod = _domain_cli(name)
        if not isinstance(mod, str) and hasattr(mod, "register"):
            mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `contrastkit graph ...` imports only the graph domain (not sentence-transformers, SB3, ...).
    domains = argv[:1] if argv[:1] and argv[0] in DOMAINS[1:] else DOMAINS[1:]
    args = build_parser(domains).parse_args(argv)
    command = " ".join(w for w in argv[:2] if not w.startswith("-"))  # "graph train", or "demo"
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        # The library's bad-input errors name the rule that was broken; a user of the command wants
        # that sentence, not a traceback. CONTRASTKIT_TRACEBACK=1 keeps the traceback for debugging.
        if os.environ.get("CONTRASTKIT_TRACEBACK"):
            raise
        raise SystemExit(f"contrastkit {command}: error: {exc}") from exc
    except KeyboardInterrupt as exc:
        # Ctrl-C: the training loops have saved a checkpoint that the same command resumes from.
        if os.environ.get("CONTRASTKIT_TRACEBACK"):
            raise
        print(f"contrastkit {command}: interrupted" + (f" ({exc})" if str(exc) else ""), file=sys.stderr)
        return 130  # the shell's code for SIGINT
    return 0


if __name__ == "__main__":
    sys.exit(main())
