"""Every script in examples/ runs end to end (at a tiny budget), so the recipes the README points to cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# (script, arguments with {data} / {tmp} placeholders, the dataset it needs or None)
CASES = [
    ("core/moco_with_hard_negatives.py", [], None),
    ("graph/pamc_cora.py", ["--root", "{data}", "--steps", "3"], "Planetoid/Cora"),
    ("recsys/movielens_duorec.py", ["--data", "{data}", "--epochs", "1"], "ml-latest-small"),
    ("rl/curl_sac_pendulum.py", ["--steps", "200", "--eval-episodes", "1", "--out", "{tmp}/rl"], None),
    ("text/simcse_with_sentence_transformers_trainer.py", ["{data}", "--steps", "2", "--output", "{tmp}/text"],
     "stsbenchmark"),
    ("timeseries/comet_uci_eeg.py", ["{data}", "--steps", "2", "--finetune-steps", "2", "--run-dir", "{tmp}/ts"],
     "uci-eeg/SMNI_CMI_TRAIN"),
]


def test_every_example_is_covered() -> None:
    assert sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.py")) == sorted(c[0] for c in CASES)


@pytest.mark.parametrize(("script", "arguments", "dataset"), CASES, ids=[c[0] for c in CASES])
def test_example_runs(script: str, arguments: list[str], dataset: str | None, tmp_path: Path) -> None:
    data = require_data(dataset) if dataset else None
    if dataset == "Planetoid/Cora":
        data = data.parent  # the script takes the Planetoid root
    argv = [a.format(data=data, tmp=tmp_path) for a in arguments]
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *argv], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
