#!/usr/bin/env bash
# The GPU checks, as one script for a lent CUDA machine (run from the repository root):
#   bash benchmarks/gpu.sh OUTDIR [STEP ...]      STEP: tests graph recsys core rl (default: all but rl)
# tests: the CUDA tests (skipped on CPU-only machines, CI included); graph: graph scaling on the GPU;
# recsys: throughput on ML-1M-sized synthetic data (GPU beside the machine's CPU); core: the core loss
# benchmark on the GPU; rl: CURL vs pixel SAC at CURL's full scale (benchmarks.rl's defaults: 100->84
# crops, batch 128, 1024-unit heads, 20k steps) on pixel Pendulum, all 9 runs (3 agents x 3 seeds) at
# once, each cut off with a Ctrl-C at $RL_LIMIT seconds (default 420); they checkpoint every 5,000
# environment steps in runs/rl_cuda (git-ignored, so kept on a machine that is still warm): the same
# call again resumes them. Extra benchmarks.rl flags (a smaller scale, other seeds) go in $RL_ARGS.
# Every step has its own time limit, so one that hangs or fails leaves the others' results. The image
# lacks stable-baselines3, gymnasium, pygame-ce and pytorch-metric-learning: fetch their wheels here with
# `bash benchmarks/gpu_wheels.sh` and carry .whl/. Results land in benchmarks/results/*_cuda.* and
# OUTDIR/gpu.tar.gz.
set -u
out=${1:?usage: bash benchmarks/gpu.sh OUTDIR [tests graph recsys core rl]}
shift
steps=${*:-tests graph recsys core}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MPLBACKEND=Agg HF_HUB_OFFLINE=1 SDL_VIDEODRIVER=dummy
if ls .whl/*.whl >/dev/null 2>&1; then
  PIP_CONSTRAINT=$PWD/constraints.txt python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
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
wants() { [[ " $steps " == *" $1 "* ]]; }
if wants tests; then
  # Without stable-baselines3 the RL test file fails to import, and pytest then runs no test at all.
  rl_tests=tests/rl/test_rl_resume.py
  python3 -c 'import stable_baselines3' 2>/dev/null || { echo "no stable_baselines3 (see benchmarks/gpu_wheels.sh): $rl_tests left out"; rl_tests=; }
  step tests 120 python3 -m pytest -q -p no:cacheprovider -k cuda tests/core/test_cuda.py tests/graph/test_graph_train.py \
    tests/recsys/test_recsys_train.py tests/timeseries/test_ts_train.py $rl_tests -rs
fi
wants graph && step graph 150 python3 -m benchmarks.graph --sizes 2000 10000 20000 50000 200000 --seeds --grace-mem-gib 60 --repeats 3
wants recsys && step recsys 150 python3 -m benchmarks.recsys --throughput
wants core && step core 120 python3 -m benchmarks.core
if wants rl; then
  t0=$SECONDS
  for agent in sac-noaug sac curl-sac; do
    for seed in 0 1 2; do  # one thread each: 9 processes share the machine's cores
      OMP_NUM_THREADS=1 timeout -s INT -k 30 "${RL_LIMIT:-420}" python3 -m benchmarks.rl --device cuda --run-dir runs/rl_cuda \
        ${RL_ARGS:-} --agents "$agent" --seeds "$seed" >"$out/rl_${agent}_$seed.log" 2>&1 &
    done
  done
  wait
  echo "== rl runs: $((SECONDS - t0)) s"; tail -n 3 "$out"/rl_*.log
  step rl 150 python3 -m benchmarks.rl --device cuda --run-dir runs/rl_cuda ${RL_ARGS:-} --summarize-only
  tar -czf "$out/rl_runs.tar.gz" runs/rl_cuda/*/{config,metrics}.json runs/rl_cuda/*/returns.csv runs/rl_cuda/*/sb3/progress.csv 2>/dev/null
fi
tar -czf "$out/gpu.tar.gz" "$out"/*.log benchmarks/results/*cuda* benchmarks/results/recsys_throughput.* 2>/dev/null
ls -la "$out"
