"""Every entry point (main.py, convert_dataset.py, glue.py and the fine-tuning scripts, evaluate_mlm.py) answers
--help without loading torch, transformers, Composer or omegaconf: in well under 2 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "composer", "omegaconf")

# Runs the entry script as ``python SCRIPT --help`` would, then lists the heavy packages it imported.
PROBE = """
import runpy, sys
sys.argv = [sys.argv[1], "--help"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    code = stop.code
print("exit", code)
print("loaded", *sorted(name for name in {heavy!r} if name in sys.modules))
"""


@pytest.mark.parametrize("script, usage", [("main.py", "usage: main.py [-h] config"),
                                           ("convert_dataset.py", "usage: convert_dataset.py [-h] --source"),
                                           ("glue.py", "usage: python glue.py CONFIG.yaml"),
                                           ("sequence_classification.py", "usage: python sequence_classification.py"),
                                           ("question_answering.py", "usage: python question_answering.py"),
                                           ("token_classification.py", "usage: python token_classification.py"),
                                           ("sentence_embeddings.py", "usage: python sentence_embeddings.py"),
                                           ("evaluate_embeddings.py", "usage: evaluate_embeddings.py [-h]"),
                                           ("train_tokenizer.py", "usage: train_tokenizer.py [-h] --source"),
                                           ("evaluate_mlm.py", "usage: evaluate_mlm.py [-h] --data DIR_OR_FILE")])
def test_help_answers_without_heavy_imports(script, usage):
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), str(ROOT / script)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith(usage)
    assert lines[-2:] == ["exit 0", "loaded"]
