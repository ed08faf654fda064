"""Core benchmark: SimCLR loss speed against peers and the matmul bound; tiled InfoNCE memory.

Run: ``python -m benchmarks.core [--quick]``. Writes ``benchmarks/results/core.json`` and ``core.md``
(``core_cuda.*`` when a CUDA device is present, so GPU and CPU figures sit side by side).

1. Forward+backward of the SimCLR (NT-Xent) loss at B in {1024, 4096, 8192}, D=128, float32, in one
   process: contrastkit's ``nt_xent``, pytorch-metric-learning's ``NTXentLoss``, a plain PyTorch
   implementation, and the matmul bound (the three 2B x 2B x D products that a plain autograd
   forward+backward performs). PML's NTXentLoss builds a [positive pairs x negative pairs] tensor,
   (2B) x (2B)(2B-2) floats: 4 GiB at B=512, 34 GiB at B=1024; an allocation that fails is reported
   as OOM.
2. Peak extra memory and time of ``info_nce`` dense vs ``chunk_size=1024`` at B in {8192, 32768}.
   Each configuration runs in a fresh child process so that its peak resident memory (CPU) or
   ``max_memory_allocated`` (CUDA) belongs to that configuration alone.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from typing import Any

import torch
import torch.nn.functional as F

from benchmarks._common import best_time, write_results
from contrastkit.core import info_nce, nt_xent

D = 128


def plain_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """What most repositories write: one 2N x 2N similarity, masked diagonal, cross-entropy."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target)


def pml_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    from pytorch_metric_learning.losses import NTXentLoss

    labels = torch.arange(z1.shape[0], device=z1.device).repeat(2)
    return NTXentLoss(temperature=temperature)(torch.cat([z1, z2]), labels)


def matmul_bound(z: torch.Tensor) -> None:
    s = z @ z.T
    _ = s @ z
    _ = s.T @ z


def time_loss(fn: Any, b: int, device: torch.device, repeats: int) -> float:
    g = torch.Generator(device="cpu").manual_seed(0)
    z1 = torch.randn(b, D, generator=g).to(device).requires_grad_()
    z2 = torch.randn(b, D, generator=g).to(device).requires_grad_()

    def run() -> None:
        fn(z1, z2).backward()
        z1.grad = z2.grad = None

    return best_time(run, repeats=repeats)


def speed(batches: list[int], device: torch.device, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for b in batches:
        row: dict[str, Any] = {"B": b}
        for name, fn in (("contrastkit", nt_xent), ("plain", plain_nt_xent), ("pml", pml_nt_xent)):
            try:
                row[name] = time_loss(fn, b, device, repeats)
            except (RuntimeError, MemoryError) as exc:  # an allocation that does not fit
                row[name] = None
                row[f"{name}_error"] = str(exc).splitlines()[0][:160]
            print(f"B={b} {name}: {row[name]}", flush=True)
        z = torch.randn(2 * b, D, device=device)
        row["matmul_bound"] = best_time(lambda z=z: matmul_bound(z), repeats=repeats)
        rows.append(row)
    return rows


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _memory_child(b: int, chunk: int | None, device_name: str, queue: Any) -> None:
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    device = torch.device(device_name)
    g = torch.Generator(device="cpu").manual_seed(0)
    q = torch.randn(b, D, generator=g).to(device).requires_grad_()
    k = torch.randn(b, D, generator=g).to(device).requires_grad_()
    # Warm up the kernels on a small batch so that library buffers are not counted as the loss's.
    info_nce(q[:256], k[:256], chunk_size=chunk).backward()
    q.grad = k.grad = None
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        # VmHWM is this process's resident high-water mark; writing 5 to clear_refs resets it.
        # (getrusage's ru_maxrss would not do: Linux carries the parent's peak across exec.)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = _status_bytes("VmRSS")
    start = time.perf_counter()
    info_nce(q, k, temperature=0.1, chunk_size=chunk).backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = _status_bytes("VmHWM")
    first = time.perf_counter() - start
    q.grad = k.grad = None
    # Time again with memory already paged in: the first pass also pays page faults.
    again = best_time(lambda: info_nce(q, k, temperature=0.1, chunk_size=chunk).backward(), repeats=2, warmup=0)
    queue.put({"seconds": min(first, again), "peak_extra_bytes": max(0, peak - base)})


def memory(batches: list[int], chunk: int, device: torch.device) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    rows = []
    for b in batches:
        row: dict[str, Any] = {"B": b, "chunk_size": chunk}
        for label, c in (("dense", None), ("chunked", chunk)):
            queue = ctx.Queue()
            proc = ctx.Process(target=_memory_child, args=(b, c, str(device), queue))
            proc.start()
            proc.join()
            if proc.exitcode == 0:
                out = queue.get()
                row[f"{label}_seconds"] = out["seconds"]
                row[f"{label}_peak_gib"] = out["peak_extra_bytes"] / 2**30
            else:
                row[f"{label}_error"] = f"child exited with code {proc.exitcode} (killed: out of memory?)"
            print(f"B={b} {label}: {row}", flush=True)
        if "dense_peak_gib" in row and "chunked_peak_gib" in row:
            row["memory_ratio_dense_over_chunked"] = row["dense_peak_gib"] / max(row["chunked_peak_gib"], 1e-9)
            row["time_ratio_chunked_over_dense"] = row["chunked_seconds"] / row["dense_seconds"]
        rows.append(row)
    return rows


def fmt(x: float | None, spec: str = ".3g") -> str:
    return "OOM" if x is None else format(x, spec)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "—"


def table(speed_rows: list[dict[str, Any]], mem_rows: list[dict[str, Any]], device: str) -> str:
    lines = [
        f"SimCLR loss, forward+backward, D={D}, float32, {device} (seconds, best of repeats; ratio = plain / contrastkit)",
        "",
        "| B | contrastkit | plain PyTorch | pytorch-metric-learning | matmul bound | speed-up vs plain | vs PML | contrastkit / bound |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in speed_rows:
        ck, pl, pm, mb = r["contrastkit"], r["plain"], r["pml"], r["matmul_bound"]
        lines.append(
            f"| {r['B']} | {fmt(ck)} | {fmt(pl)} | {fmt(pm)} | {fmt(mb)} | "
            f"{ratio(pl, ck)} | {ratio(pm, ck) if pm else 'OOM'} | "
            f"{fmt(ck / mb if ck else None, '.2f')} |"
        )
    lines += [
        "",
        "info_nce peak extra memory and time, dense vs tiled (chunk_size=1024), D=128, float32",
        "",
        "| B | dense peak (GiB) | tiled peak (GiB) | dense / tiled memory | dense time (s) | tiled time (s) | tiled / dense time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in mem_rows:
        lines.append(
            f"| {r['B']} | {fmt(r.get('dense_peak_gib'), '.2f')} | {fmt(r.get('chunked_peak_gib'), '.3f')} | "
            f"{ratio(r.get('dense_peak_gib'), r.get('chunked_peak_gib'))} | {fmt(r.get('dense_seconds'))} | "
            f"{fmt(r.get('chunked_seconds'))} | {fmt(r.get('time_ratio_chunked_over_dense'), '.2f')} |"
        )
    return "\n".join(lines)


def rerender() -> None:
    """Rewrite core.md from core.json (after a change to the table layout)."""
    import json

    from benchmarks._common import RESULTS

    payload = json.loads((RESULTS / "core.json").read_text())
    (RESULTS / "core.md").write_text(table(payload["speed"], payload["memory"], payload["device"]) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # B=256 is extra: the largest of our sizes at which PML's pairs-by-pairs tensor still fits.
    speed_b = [64, 128] if args.quick else [256, 1024, 4096, 8192]
    mem_b = [2048, 4096] if args.quick else [8192, 32768]
    if device.type == "cuda" and not args.quick:
        speed_b += [32768, 65536]
        mem_b += [131072, 262144]
    speed_rows = speed(speed_b, device, args.repeats)
    mem_rows = memory(mem_b, 1024, device)
    load = os.getloadavg()
    payload = {"device": str(device), "D": D, "speed": speed_rows, "memory": mem_rows, "loadavg_at_end": load}
    name = "core" + ("_cuda" if device.type == "cuda" else "") + ("_quick" if args.quick else "")
    write_results(name, payload, table(speed_rows, mem_rows, str(device)))


if __name__ == "__main__":
    main()
