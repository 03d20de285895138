"""The whole GLUE sweep on CPU: eight tasks from GLUE-format fixtures, a tiny MosaicBERT, two worker processes,
one deliberately broken task file, MNLI-first dependencies (weights compared), the fallback when MNLI fails,
summary files, exit codes and resuming."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from mosaicbert.config.loading import load_config
from mosaicbert.finetune.cli import glue_main
from mosaicbert.finetune.config import GlueConfig
from mosaicbert.finetune.glue_sweep import GlueSweep, run_glue
from mosaicbert.finetune.glue_tasks import GLUE_TASKS
from mosaicbert.models.weights import read_weights

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "glue"
TINY = ROOT / "yamls" / "test" / "glue-tiny.yaml"
OK_TASKS = [t for t in GLUE_TASKS if t != "rte"]


# MRPC and STS-B do not move from where they start (lr 0, no weight decay): their saved weights are their start.
FROZEN = ["tasks.mrpc.lr=0", "tasks.mrpc.weight_decay=0", "tasks.stsb.lr=0", "tasks.stsb.weight_decay=0"]


def break_label(train_tsv: Path) -> None:
    """Line 4 of a GLUE training file gets the label 'maybe' (the label is the last column)."""
    lines = train_tsv.read_text().split("\n")
    lines[3] = lines[3].rsplit("\t", 1)[0] + "\tmaybe"
    train_tsv.write_text("\n".join(lines))


@pytest.fixture(scope="module")
def every_job_keeps_its_checkpoint():
    """The sweep (in this process) hands every job to its worker with ``keeps_checkpoint``, so its weights can
    be compared; planned, only MNLI keeps one."""
    prepare = GlueSweep.prepare
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GlueSweep, "prepare",
                      lambda self, job, done: dataclasses.replace(prepare(self, job, done), keeps_checkpoint=True))
        yield


def encoder(checkpoint: Path) -> dict:
    """The ``bert.*`` weights (embeddings, layers, pooler) of a fine-tuned checkpoint."""
    return {k: v for k, v in read_weights(checkpoint).state_dict.items() if k.startswith("bert.")}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) > 10
    for name, tensor in a.items():
        assert torch.equal(tensor, b[name]), name


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, every_job_keeps_its_checkpoint):
    """Run yamls/test/glue-tiny.yaml with two CPU workers on the fixtures, RTE's training file broken."""
    tmp = tmp_path_factory.mktemp("glue-sweep")
    data = Path(shutil.copytree(FIXTURES, tmp / "glue"))
    rte_train = data / "RTE" / "train.tsv"
    break_label(rte_train)
    overrides = [f"data_dir={data}", f"output_dir={tmp / 'out'}", "workers=2"]
    cfg = load_config(TINY, overrides + FROZEN, GlueConfig)
    printed: list[str] = []
    summary = run_glue(cfg, echo=printed.append)
    return {"summary": summary, "printed": printed, "out": tmp / "out", "rte_train": rte_train,
            "overrides": overrides + FROZEN}


def test_summary_files_hold_the_computed_metrics(sweep):
    out, summary = sweep["out"], sweep["summary"]
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary.to_json()))
    table = (out / "summary.md").read_text()
    assert table in "\n".join(sweep["printed"])  # printed at the end
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for task in OK_TASKS:
        job = json.loads((out / "jobs" / f"{task}-seed19.json").read_text())
        assert job["error"] is None and set(job["metrics"]) == set(GLUE_TASKS[task].metric_keys())
        row = summary.tasks[task]
        assert row.seeds["19"] == pytest.approx({k: 100 * v for k, v in job["metrics"].items()})
        assert row.score == pytest.approx(100 * sum(job["metrics"].values()) / len(job["metrics"]))
        assert f"| {row.score:.2f} | 1 |" in table
        for key, value in job["metrics"].items():
            low = 0.0 if key.endswith(("accuracy", "f1")) else -1.0
            assert low <= value <= 1.0, (task, key, value)
    assert summary.tasks_averaged == OK_TASKS
    assert summary.glue_average == pytest.approx(sum(summary.tasks[t].score for t in OK_TASKS) / 7)
    stsb = json.loads((out / "jobs" / "stsb-seed19.json").read_text())["metrics"]
    paper_scores = [100 * stsb["spearman"] if t == "stsb" else summary.tasks[t].score for t in OK_TASKS]
    assert summary.paper_average == pytest.approx(sum(paper_scores) / 7)
    assert f"**{summary.paper_average:.2f}**" in table


def test_broken_task_file_fails_alone_with_one_line(sweep):
    error = f"{sweep['rte_train']} line 4: label 'maybe' is not one of entailment, not_entailment or 0..1"
    assert sweep["summary"].failed_tasks == {"rte": error}
    assert f"| RTE | FAILED: {error} | – | 0 ok, 1 failed |" in (sweep["out"] / "summary.md").read_text()
    assert "Traceback" in (sweep["out"] / "logs" / "rte-seed19.log").read_text()


def test_rte_mrpc_stsb_start_from_the_mnli_checkpoint(sweep):
    for task in ("rte", "mrpc", "stsb"):
        assert sweep["summary"].tasks[task].notes == ["started from the MNLI checkpoint (mnli-seed19)"]
    checkpoints = sweep["out"] / "checkpoints"
    mnli = read_weights(checkpoints / "mnli-seed19.pt")
    assert mnli.state_dict["classifier.weight"].shape == (3, 64)  # three MNLI classes, hidden size 64
    assert mnli.model_type == "mosaic_bert"
    for task, labels in (("mrpc", 2), ("stsb", 1)):  # MNLI's encoder and pooler, a fresh classifier of their own
        assert_same_weights(encoder(checkpoints / f"{task}-seed19.pt"), encoder(checkpoints / "mnli-seed19.pt"))
        assert read_weights(checkpoints / f"{task}-seed19.pt").state_dict["classifier.weight"].shape == (labels, 64)
    qnli = encoder(checkpoints / "qnli-seed19.pt")  # started from model.init_from (random): another encoder
    assert not torch.equal(qnli["bert.embeddings.word_embeddings.weight"],
                           mnli.state_dict["bert.embeddings.word_embeddings.weight"])


def test_failed_mnli_sends_its_dependents_to_init_from_and_glue_py_exits_1(sweep, tmp_path, capsys):
    """MNLI's training file is broken: RTE starts from ``model.init_from`` (here the sweep's QNLI checkpoint,
    weights compared), the summary says so, and glue.py exits 1."""
    data = tmp_path / "glue"
    for folder in ("MNLI", "RTE"):
        shutil.copytree(FIXTURES / folder, data / folder)
    break_label(data / "MNLI" / "train.tsv")
    qnli = sweep["out"] / "checkpoints" / "qnli-seed19.pt"
    out = tmp_path / "out"
    code = glue_main([str(TINY), f"data_dir={data}", f"output_dir={out}", "workers=1", "loader_workers=1",
                      "run_tasks=[mnli,rte]", f"model.init_from={qnli}", "tasks.rte.lr=0",
                      "tasks.rte.weight_decay=0"])
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["failed_tasks"]) == ["mnli"] and "label 'maybe'" in summary["failed_tasks"]["mnli"]
    assert summary["tasks"]["rte"]["notes"] == ["MNLI (mnli-seed19) failed: started from model.init_from instead"]
    assert_same_weights(encoder(out / "checkpoints" / "rte-seed19.pt"), encoder(qnli))
    assert "MNLI (mnli-seed19) failed" in capsys.readouterr().out


def test_rerun_skips_finished_jobs(sweep):
    cfg = load_config(TINY, sweep["overrides"] + [f"run_tasks=[{','.join(OK_TASKS)}]"], GlueConfig)
    printed: list[str] = []
    again = run_glue(cfg, echo=printed.append)
    assert [line for line in printed if "earlier run" in line] == [f"{t}-seed19: done in an earlier run" for t in OK_TASKS]
    assert "GLUE: 0 jobs to run (7 already done)" in printed[len(OK_TASKS)]
    assert again.tasks == {t: sweep["summary"].tasks[t] for t in OK_TASKS}


def test_a_task_without_data_is_not_counted_as_done(sweep, tmp_path):
    """QQP's folder gone and its result too: one FAILED line, and the count holds only the 6 real successes."""
    out = Path(shutil.copytree(sweep["out"], tmp_path / "out"))
    (out / "jobs" / "qqp-seed19.json").unlink()
    data = Path(shutil.copytree(FIXTURES, tmp_path / "glue"))
    shutil.rmtree(data / "QQP")
    cfg = load_config(TINY, [f"data_dir={data}", f"output_dir={out}", "workers=2",
                             f"run_tasks=[{','.join(OK_TASKS)}]"], GlueConfig)
    printed: list[str] = []
    summary = run_glue(cfg, echo=printed.append)
    assert [line for line in printed if line.startswith("qqp-")] == [f"qqp-seed19: FAILED: qqp: no folder {data / 'QQP'} "
                                                              f"or {data / 'qqp'}"]
    assert any("GLUE: 0 jobs to run (6 already done)" in line for line in printed), printed
    assert set(summary.failed_tasks) == {"qqp"}
