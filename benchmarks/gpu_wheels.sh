#!/usr/bin/env bash
# Fetch into .whl/ (git-ignored) the wheels that benchmarks/gpu.sh needs on the lent GPU machine, whose
# image (Python 3.12) lacks them: the RL stack for the RL test and benchmark, pytorch-metric-learning for
# the core benchmark. Versions are those installed in .venv; --no-deps, since the image has their
# dependencies (numpy, pandas, matplotlib, cloudpickle, scikit-learn, tqdm, torch). Run it here, where pip
# reaches PyPI, then name .whl in the device run's carry (about 13 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
specs=$(.venv/bin/python - <<'PY'
from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in
               ("stable_baselines3", "gymnasium", "Farama-Notifications", "pygame-ce", "pytorch-metric-learning")))
PY
)
export PIP_CONSTRAINT=$PWD/constraints.txt  # the house rule, though --no-deps fetches no torch
rm -rf .whl && mkdir .whl
# shellcheck disable=SC2086  # one argument per spec
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl $specs
ls -la .whl
