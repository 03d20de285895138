"""``question_answering.py`` end to end on the real SQuAD-format fixtures: each family fine-tunes (MiniLM's real weights
as mosaic_bert and hf_bert, a tiny ModernBERT), writes ``metrics.json`` and ``predictions.json``, and its export
answers through ``pipeline("question-answering")``; whole contexts in one window (ALiBi); a resumed run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.finetune.question_answering.config import QuestionAnsweringConfig
from mosaicbert.finetune.question_answering.data import read_examples
from mosaicbert.finetune.question_answering.run import run_question_answering

REPO = Path(__file__).resolve().parents[1]
TINY_YAML = str(REPO / "yamls" / "test" / "question-answering-tiny.yaml")
RECIPE = str(REPO / "yamls" / "finetuning" / "question-answering.yaml")
FIXTURES = REPO / "tests" / "fixtures" / "question_answering"
# the recipe YAML, shrunk: the tiny YAML's data, windows and batches
SMALL = [f"data.train_file={FIXTURES / 'train-v2.json'}", f"data.eval_file={FIXTURES / 'dev-v2.json'}",
         "run_name=qa-tiny", "precision=fp32", "hyperparameters.max_seq_len=64", "hyperparameters.doc_stride=16",
         "hyperparameters.batch_size=8", "hyperparameters.lr=1.0e-4"]
# the quickstart's import of MiniLM into MosaicBERT: its absolute positions and MLP FFN kept (2 of its 6 layers here)
MINILM = [*SMALL, "model.model_config={position_embedding_type: absolute, ffn_type: mlp}", "model.init_layers=2"]
TINY_MODERNBERT = [*SMALL, "model.init_from=null", "model.model_config={hidden_size: 32, num_hidden_layers: 2, "
                   "num_attention_heads: 2, intermediate_size: 48, local_attention: 8}"]


def _run(tmp: Path, *overrides: str, yaml: str = TINY_YAML) -> dict:
    cfg = load_config(yaml, [f"output_dir={tmp}", "export_dir=null", "autoresume=false",
                             "hyperparameters.max_duration=1ep", *overrides], QuestionAnsweringConfig)
    lines: list[str] = []
    metrics = run_question_answering(cfg, echo=lines.append)
    return {"metrics": metrics, "lines": lines, "record": json.loads((tmp / "metrics.json").read_text()),
            "predictions": json.loads((tmp / "predictions.json").read_text())}


@pytest.fixture(scope="module")
def family_runs(minilm_dir, tmp_path_factory):
    """One short run and export per family; MiniLM's real weights for the two BERT families."""
    runs = {}
    for name, overrides in {"mosaic_bert": ["model.name=mosaic_bert", f"model.init_from={minilm_dir}", *MINILM],
                            "hf_bert": ["model.name=hf_bert", f"model.init_from={minilm_dir}", *SMALL,
                                        "model.init_layers=2"],
                            "modernbert": ["model.name=modernbert", *TINY_MODERNBERT]}.items():
        tmp = tmp_path_factory.mktemp(name)
        runs[name] = {**_run(tmp, *overrides, f"export_dir={tmp / 'hf'}", "hyperparameters.max_duration=3ba",
                             yaml=RECIPE), "export": tmp / "hf"}
    return runs


@pytest.mark.parametrize("family", ["mosaic_bert", "hf_bert", "modernbert"])
def test_each_family_scores_and_its_export_answers_in_a_pipeline(family, family_runs):
    from transformers import AutoModelForQuestionAnswering, pipeline

    run = family_runs[family]
    assert set(run["record"]["metrics"]) == {"exact_match", "f1"}
    assert all(0.0 <= v <= 1.0 for v in run["metrics"].values())  # fractions
    assert run["record"]["metrics"] == run["metrics"]
    examples = read_examples(FIXTURES / "dev-v2.json")
    assert set(run["predictions"]) == {e.id for e in examples}
    contexts = {e.id: e.context for e in examples}
    assert all(text in contexts[qid] for qid, text in run["predictions"].items())
    assert any(line.startswith("qa-tiny: exact_match ") for line in run["lines"])

    remote = family == "mosaic_bert"
    model = AutoModelForQuestionAnswering.from_pretrained(run["export"], trust_remote_code=remote)
    assert type(model).__name__.endswith("ForQuestionAnswering")
    reader = pipeline("question-answering", model=str(run["export"]), trust_remote_code=remote)
    example = next(e for e in examples if e.answerable)
    answer = reader(question=example.question, context=example.context)
    assert answer["answer"] and example.context[answer["start"]:answer["end"]] == answer["answer"]


def test_whole_context_reads_each_question_in_one_window_with_alibi(tmp_path):
    strided = _run(tmp_path, "autoresume=true")
    assert strided["record"]["windows"] == 60 and strided["record"]["window_length"] == 64
    # the finished run re-run: the same fine-tuned weights scored again, each context in one window (tiny MosaicBERT:
    # ALiBi, no length limit) - the one-window vs stride comparison of docs/benchmarks/downstream-tasks.md
    run = _run(tmp_path, "autoresume=true", "hyperparameters.whole_context=true")
    assert run["record"]["window_length"] is None
    assert run["record"]["windows"] == run["record"]["questions"] == 11
    assert "windows of whole contexts" in run["lines"][0]


def test_a_rerun_resumes_from_the_checkpoint_and_a_finished_one_is_scored_again(tmp_path):
    _run(tmp_path, "autoresume=true")
    first = tmp_path / "checkpoints" / "ep1-ba9-rank0.pt"
    assert [p.name for p in (tmp_path / "checkpoints").glob("ep*")] == [first.name]
    written = first.stat().st_mtime_ns
    _run(tmp_path, "autoresume=true", "hyperparameters.max_duration=2ep")
    assert (tmp_path / "checkpoints" / "ep2-ba18-rank0.pt").is_file()
    assert first.stat().st_mtime_ns == written  # epoch 1 was not trained again
    again = _run(tmp_path, "autoresume=true", "hyperparameters.max_duration=2ep")  # finished: scored again only
    assert again["record"]["questions"] == 11 and set(again["metrics"]) == {"exact_match", "f1"}


@pytest.mark.parametrize("override, says", [
    ("hyperparameters.doc_stride=64", "'hyperparameters.doc_stride': 64 must be less than max_seq_len 64"),
    ("hyperparameters.n_best_size=0", "'hyperparameters.n_best_size': must be at least 1"),
    ("data.eval_file=tests/fixtures/question_answering/README.md", "neither SQuAD JSON"),
    ("hyperparameters.max_seq_len=1024", "max_seq_len"),
])
def test_bad_settings_are_config_errors(override, says):
    overrides = [override, "model.model_config.position_embedding_type=absolute"] if "1024" in override else [override]
    with pytest.raises(ConfigError, match=says):
        load_config(TINY_YAML, overrides, QuestionAnsweringConfig)


@pytest.mark.slow
def test_two_ranks_score_every_question_once(tmp_path):
    """``composer -n 2`` (gloo on CPU): each rank reads half the windows; the score, predictions and export are
    rank 0's, over both halves: a rank-local score would miss questions."""
    import os
    import subprocess
    import sys

    composer = Path(sys.executable).parent / "composer"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(composer), "-n", "2", str(REPO / "question_answering.py"), TINY_YAML,
                           f"output_dir={tmp_path}", "hyperparameters.max_duration=1ep"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert output.count("qa-tiny: exact_match ") == 1 and "Traceback" not in output
    assert len(json.loads((tmp_path / "predictions.json").read_text())) == 11
    assert (tmp_path / "hf" / "config.json").is_file()
