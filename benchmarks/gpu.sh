#!/usr/bin/env bash
# The GPU checks, as one script for a lent CUDA machine (run from the repository root):
#   bash benchmarks/gpu.sh OUTDIR
# 1. the CUDA tests (skipped on CPU-only machines, CI included); 2. graph scaling on the GPU;
# 3. recsys throughput on ML-1M-sized synthetic data (GPU beside the machine's CPU);
# 4. the core loss benchmark on the GPU. Every step has its own time limit, so one that hangs or
# fails leaves the others' results. pytorch-metric-learning (for the core benchmark) may be
# carried as a wheel in .whl/. Results land in benchmarks/results/*_cuda.* and OUTDIR/gpu.tar.gz.
set -u
out=${1:?usage: bash benchmarks/gpu.sh OUTDIR}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MPLBACKEND=Agg HF_HUB_OFFLINE=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=$PYTHONPATH:/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch, torch_geometric; print("torch", torch.__version__, "pyg", torch_geometric.__version__, torch.cuda.get_device_name(0))'
step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  echo "== $name: exit $? in $((SECONDS - t0)) s"
  tail -n 25 "$out/$name.log"
}
step tests 120 python3 -m pytest -q -p no:cacheprovider -k cuda tests/core/test_cuda.py tests/graph/test_graph_train.py \
  tests/recsys/test_recsys_train.py tests/timeseries/test_ts_train.py tests/rl/test_rl_resume.py -rs
step graph 150 python3 -m benchmarks.graph --sizes 2000 10000 20000 50000 200000 --seeds --grace-mem-gib 60 --repeats 3
step recsys 150 python3 -m benchmarks.recsys --throughput
step core 120 python3 -m benchmarks.core
tar -czf "$out/gpu.tar.gz" "$out"/*.log benchmarks/results/*cuda* benchmarks/results/recsys_throughput.* 2>/dev/null
ls -la "$out"
