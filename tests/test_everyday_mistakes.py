"""Everyday mistakes at every entry point end in one line ``<program>: error: ...`` and the documented exit code.

The table: each row is an entry point, a mistake made on real inputs (the tiny recipes, the real news, the real
MiniLM weights, a real finished run), the exit code (``mosaicbert.exit_codes``) and the text the line must name.
One row per entry point runs as a real subprocess (``python main.py ...``); the others run in this process.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import convert_dataset
from mosaicbert.evaluation.cli import evaluate_mlm_cli
from mosaicbert.exit_codes import FAILED, OK, USAGE
from mosaicbert.finetune.cli import custom_task_main, glue_main
from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]
GLUE = str(REPO / "yamls" / "test" / "glue-tiny.yaml")
OWN = str(REPO / "yamls" / "test" / "sequence-classification-tiny.yaml")
ENTRY_POINTS = {"main.py": pretrain_cli, "glue.py": glue_main, "sequence_classification.py": custom_task_main,
                "convert_dataset.py": convert_dataset.main, "evaluate_mlm.py": evaluate_mlm_cli}


@dataclass
class Inputs:
    """Real inputs, and broken ones made from them."""

    tmp: Path
    news_mds: Path
    minilm: Path
    finished: Path
    main: Callable[..., list[str]]  # conftest tiny_run_args on a copy of the finished run

    def broken(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    def truncated_checkpoint(self) -> Path:
        """The first half of a real checkpoint: a copy cut off mid-write."""
        real = (self.finished / "ck" / "ep0-ba4-rank0.pt").read_bytes()
        path = self.tmp / "ep0-ba4-rank0.pt"
        path.write_bytes(real[:len(real) // 2])
        return path

    def with_a_corrupt_index(self) -> Path:
        """A copy of the real news MDS whose val index.json was cut short (a copy interrupted mid-file)."""
        copy = self.tmp / "news-mds"
        shutil.copytree(self.news_mds / "text", copy)
        index = copy / "val" / "index.json"
        index.write_text(index.read_text()[:100])
        return copy

    def held_out_text(self) -> Path:
        """A few real news articles as a .txt file, one per line."""
        from mosaicbert.data.news import news_splits

        path = self.tmp / "held-out.txt"
        path.write_text("\n".join(news_splits()["val"][:8]) + "\n", encoding="utf-8")
        return path

    def own_data(self, **files: Path) -> list[str]:
        return [OWN, f"output_dir={self.tmp / 'own'}", *(f"data.{key}={path}" for key, path in files.items())]


@dataclass(frozen=True)
class Mistake:
    name: str
    prog: str
    argv: Callable[[Inputs], list[str]]
    code: int
    says: str  # what the one line must contain
    in_subprocess: bool = False


MISTAKES = [
    # main.py
    Mistake("re-run of a finished run", "main.py", lambda i: i.main(), OK,
            "run 'mosaic-bert-tiny' is already complete at 4ba"),
    Mistake("re-run with a shorter max_duration", "main.py", lambda i: i.main("max_duration=2ba"), USAGE,
            "config key 'max_duration': 2ba is shorter"),
    Mistake("tokenizer that does not exist", "main.py", lambda i: i.main("model.tokenizer_name=/nonexistent/tok"),
            USAGE, "could not load tokenizer '/nonexistent/tok'", in_subprocess=True),
    Mistake("BERT weights into the default GeGLU", "main.py",
            lambda i: i.main(f"save_folder={i.tmp}/new", f"model.init_from={i.minilm}",
                             "model.expected_new_weights=[mlm_head]"),
            FAILED, "set model.model_config.ffn_type=mlp"),
    Mistake("typo'd key", "main.py", lambda i: i.main("max_duraton=10ba"), USAGE, "max_duraton"),
    Mistake("missing data path", "main.py", lambda i: i.main("eval_loader.local=/nonexistent/news"), USAGE,
            "config key 'eval_loader.local'"),
    Mistake("wrong type", "main.py", lambda i: i.main("global_train_batch_size=eight"), USAGE,
            "global_train_batch_size"),
    Mistake("corrupt checkpoint as init_from", "main.py",
            lambda i: i.main(f"save_folder={i.tmp}/new", f"model.init_from={i.truncated_checkpoint()}"), FAILED,
            "is not a readable checkpoint"),
    Mistake("MDS index cut short", "main.py", lambda i: i.main(f"eval_loader.local={i.with_a_corrupt_index()}"),
            FAILED, "is not a readable MDS index: invalid JSON"),
    # glue.py
    Mistake("data_dir that does not exist", "glue.py", lambda i: [GLUE, "data_dir=/nonexistent"], USAGE,
            "config key 'data_dir': no directory '/nonexistent'", in_subprocess=True),
    Mistake("data_dir without any task folder", "glue.py", lambda i: [GLUE, f"data_dir={i.tmp}"], USAGE,
            "holds none of the tasks' folders"),
    Mistake("init_from that does not exist", "glue.py", lambda i: [GLUE, "model.init_from=/nonexistent/ck.pt"],
            USAGE, "config key 'model.init_from': no such file or directory '/nonexistent/ck.pt'"),
    Mistake("typo'd task", "glue.py", lambda i: [GLUE, "run_tasks=[rtee]"], USAGE, "did you mean 'rte'"),
    Mistake("wrong type", "glue.py", lambda i: [GLUE, "workers=two"], USAGE, "workers"),
    # sequence_classification.py
    Mistake("file that is not valid JSONL", "sequence_classification.py",
            lambda i: i.own_data(train_file=i.broken("train.jsonl", '{"text": "good", "label": "pos"}\n{"text": bad\n'),
                                 eval_file=i.broken("dev.jsonl", '{"text": "fine", "label": "pos"}\n')),
            FAILED, "train.jsonl", in_subprocess=True),
    Mistake("CSV without the label column", "sequence_classification.py",
            lambda i: i.own_data(train_file=i.broken("train.csv", "text,stars\ngreat film,5\n")), FAILED, "label"),
    Mistake("missing data path", "sequence_classification.py",
            lambda i: i.own_data(eval_file=Path("/nonexistent/dev.csv")), USAGE,
            "config key 'data.eval_file': no such file '/nonexistent/dev.csv'"),
    Mistake("BERT weights into the default GeGLU", "sequence_classification.py",
            lambda i: [*i.own_data(), f"model.init_from={i.minilm}"], FAILED,
            "set model.model_config.ffn_type=mlp"),
    Mistake("corrupt checkpoint as init_from", "sequence_classification.py",
            lambda i: [*i.own_data(), f"model.init_from={i.truncated_checkpoint()}"], FAILED,
            "is not a readable checkpoint"),
    Mistake("typo'd key", "sequence_classification.py", lambda i: [*i.own_data(), "hyperparameters.lrr=1e-3"],
            USAGE, "hyperparameters.lrr"),
    # convert_dataset.py
    Mistake("tokenizer that does not exist", "convert_dataset.py",
            lambda i: ["--source", "news", "--out_root", str(i.tmp / "out"), "--tokenizer", "nonexistent-tok",
                       "--no_progress"], USAGE, "could not load tokenizer 'nonexistent-tok'", in_subprocess=True),
    Mistake("file that is not valid JSONL", "convert_dataset.py",
            lambda i: ["--source", "files", "--files", str(i.broken("docs.jsonl", '{"text": "a"}\n[1, 2\n')),
                       "--out_root", str(i.tmp / "out"), "--no_progress"], FAILED, "docs.jsonl"),
    Mistake("--concat_tokens without --tokenizer", "convert_dataset.py",
            lambda i: ["--source", "news", "--out_root", str(i.tmp / "out"), "--concat_tokens", "128"], USAGE,
            "--tokenizer"),
    # evaluate_mlm.py
    Mistake("tokenizer that does not exist", "evaluate_mlm.py",
            lambda i: [str(i.finished / "hf"), "--data", str(i.held_out_text()), "--lengths", "64",
                       "--tokenizer", "/nonexistent/tok", "--no_progress"], USAGE,
            "could not load tokenizer '/nonexistent/tok'", in_subprocess=True),
    Mistake("corrupt checkpoint", "evaluate_mlm.py",
            lambda i: [str(i.truncated_checkpoint()), "--data", str(i.held_out_text()), "--lengths", "64",
                       "--no_progress"], FAILED, "is not a readable checkpoint"),
    Mistake("file that is not valid JSONL", "evaluate_mlm.py",
            lambda i: [str(i.finished / "hf"), "--data", str(i.broken("held-out.jsonl", '{"text": "a"}\n{"text"\n')),
                       "--lengths", "64", "--no_progress"], FAILED, "held-out.jsonl:2"),
    Mistake("missing data path", "evaluate_mlm.py",
            lambda i: [str(i.finished / "hf"), "--data", "/nonexistent/val", "--no_progress"], USAGE,
            "--data /nonexistent/val: no such file or directory"),
]


@pytest.fixture
def inputs(tmp_path, news_mds, minilm_dir, finished_tiny_run, tiny_run_args) -> Inputs:
    run = tmp_path / "run"
    shutil.copytree(finished_tiny_run, run, symlinks=True)
    return Inputs(tmp_path, news_mds, minilm_dir, finished_tiny_run, lambda *extra: tiny_run_args(run, *extra))


@pytest.fixture(autouse=True)
def no_console_of_an_earlier_run(inputs):
    """An in-process main.py leaves its console handler on a closed capture stream: a fresh process has none."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_mosaicbert", False)]:
        root.removeHandler(handler)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: f"{m.prog}: {m.name}")
def test_everyday_mistake_is_one_line_with_its_exit_code(mistake, inputs, capsys):
    argv = mistake.argv(inputs)
    if mistake.in_subprocess:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, str(REPO / mistake.prog), *argv], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
        code, err = done.returncode, done.stderr
    else:
        code, err = ENTRY_POINTS[mistake.prog](argv), capsys.readouterr().err
    assert "Traceback" not in err, err[-3000:]
    assert code == mistake.code, err[-3000:]
    lines = err.strip().splitlines()
    if mistake.code == OK:
        assert sum(mistake.says in line for line in lines) == 1, err
        return
    errors = [line for line in lines if line.startswith(f"{mistake.prog}: error: ")]
    assert errors == [lines[-1]], err[-3000:]  # one error line, the last thing printed
    assert mistake.says in errors[0], errors[0]
