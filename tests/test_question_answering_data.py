"""Extractive QA without a model: reading SQuAD JSON / JSONL (and their one-line errors), windows and their answer
positions, and the metric: logits that point at the gold answers score exact match and F1 of 1 once mapped back to
the context's characters (WordPiece and byte-level BPE), across two gloo ranks too."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from mosaicbert.finetune.data import DataFormatError
from mosaicbert.finetune.question_answering.data import read_examples
from mosaicbert.finetune.question_answering.features import FEATURE_INDEX, _answer_tokens, prepare_features
from mosaicbert.finetune.question_answering.metric import SquadMetric
from mosaicbert.finetune.question_answering.postprocess import SpanRules

FIXTURES = Path(__file__).parent / "fixtures" / "question_answering"


def _oracle_logits(examples, features, tokenizer, rules: SpanRules) -> list[torch.Tensor]:
    """Per evaluation window, ``(seq, 2)`` logits peaked at the gold answer's tokens where the window holds it
    (else at [CLS]): what a perfect model would output."""
    logits = []
    for row, window in zip(features.rows, features.windows):
        example = examples[window.example_index]
        sequence_ids = [1 if o is not None else None for o in window.offsets]
        offsets = [o if o is not None else (0, 0) for o in window.offsets]
        start, end = _answer_tokens(example, offsets, sequence_ids, window.cls_index)
        out = torch.zeros(len(row["input_ids"]), 2)
        out[start, 0] = out[end, 1] = 10.0
        logits.append(out)
    return logits


def _score(examples, features, logits, rules, batch_size=4) -> dict[str, float]:
    metric = SquadMetric(examples, features.windows, rules)
    for first in range(0, len(logits), batch_size):
        rows = logits[first:first + batch_size]
        padded = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)  # a batch pads to its longest window
        metric.update(padded, {FEATURE_INDEX: torch.arange(first, first + len(rows))})
    return {k: float(v) for k, v in metric.compute().items()}


def test_squad_json_of_both_versions_and_jsonl_read_the_same_questions():
    v2, jsonl = read_examples(FIXTURES / "dev-v2.json"), read_examples(FIXTURES / "dev.jsonl")
    assert [(e.id, e.question, e.context, e.answers, e.answer_starts) for e in v2] == \
           [(e.id, e.question, e.context, e.answers, e.answer_starts) for e in jsonl]
    assert sum(not e.answerable for e in v2) == 2 and len(v2) == 11
    v1 = read_examples(FIXTURES / "dev-v1.1.json")
    assert [e.id for e in v1] == [e.id for e in v2 if e.answerable]
    for e in v1:
        assert all(e.context[s:s + len(a)] == a for a, s in zip(e.answers, e.answer_starts))


def _squad_with(tmp_path, edit) -> Path:
    document = json.loads((FIXTURES / "dev-v2.json").read_text())
    edit(document["data"][1]["paragraphs"][0]["qas"][2])
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(document, indent=1))
    return path


def test_an_answer_not_at_its_offset_names_file_line_and_id(tmp_path):
    def shift(qa):
        qa["answers"][0]["answer_start"] += 3
    path = _squad_with(tmp_path, shift)
    with pytest.raises(DataFormatError) as err:
        read_examples(path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if '"d5-2"' in text)
    assert f"{path} line {line}" in str(err.value) and "'d5-2'" in str(err.value)
    assert "is not at answer_start" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("edit, says", [
    (lambda qa: qa.pop("question"), "has no field 'question'"),
    (lambda qa: qa.update(answers=[{"text": "78"}]), "has no field 'answer_start'"),
    (lambda qa: qa.update(is_impossible=True), "is_impossible is true but the question has answers"),
    (lambda qa: qa.update(answers=[]), "no answers"),
    (lambda qa: qa.update(id="d5-1"), "duplicate id"),
])
def test_a_malformed_squad_record_is_one_line(tmp_path, edit, says):
    with pytest.raises(DataFormatError, match=says) as err:
        read_examples(_squad_with(tmp_path, edit))
    assert "line" in str(err.value) and "data[1].paragraphs[0].qas[2]" in str(err.value)


def test_a_bad_jsonl_line_names_its_line(tmp_path):
    lines = (FIXTURES / "dev.jsonl").read_text().splitlines()
    record = json.loads(lines[3])
    record["answers"]["answer_start"] = [record["answers"]["answer_start"][0] + 1]
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join(lines[:3] + [json.dumps(record), "{not json"]) + "\n")
    with pytest.raises(DataFormatError, match=rf"{path} line 4 \(id .d1-3.\): answer .* is not at answer_start"):
        read_examples(path)
    path.write_text("\n".join(lines[:3] + ["{not json"]) + "\n")
    with pytest.raises(DataFormatError, match=rf"{path} line 4: not valid JSON"):
        read_examples(path)


def test_training_windows_hold_the_answer_or_point_at_cls(tokenizer):
    examples = read_examples(FIXTURES / "train-v2.json")
    features = prepare_features(examples, tokenizer, max_len=64, stride=16, training=True)
    assert len(features.rows) > 3 * len(examples)  # ~200-token contexts in 64-token windows
    found = set()
    for row, example_index in zip(features.rows, _sample_map(examples, tokenizer, 64, 16)):
        example, start, end = examples[example_index], row["start_positions"], row["end_positions"]
        if start == 0:
            assert end == 0
            continue
        assert len(row["input_ids"]) <= 64
        span = tokenizer.decode(row["input_ids"][start:end + 1])  # WordPiece decodes '51-50' as '51 - 50'
        assert span.replace(" ", "") == example.answers[0].lower().replace(" ", ""), (span, example.answers[0])
        found.add(example.id)
    assert found == {e.id for e in examples if e.answerable}  # every answer lies whole inside some window


def _sample_map(examples, tokenizer, max_len, stride):
    encoded = tokenizer([e.question for e in examples], [e.context for e in examples], truncation="only_second",
                        max_length=max_len, stride=stride, return_overflowing_tokens=True)
    return encoded["overflow_to_sample_mapping"]


def test_whole_context_reads_each_question_in_one_window(tokenizer):
    examples = read_examples(FIXTURES / "dev-v2.json")
    features = prepare_features(examples, tokenizer, max_len=None, stride=128, training=False)
    assert [w.example_index for w in features.windows] == list(range(len(examples)))
    assert max(len(r["input_ids"]) for r in features.rows) > 200


def test_a_question_that_leaves_no_room_for_the_context_is_one_line(tokenizer):
    examples = read_examples(FIXTURES / "dev-v2.json")
    with pytest.raises(DataFormatError, match="leave .* for the context, not more than doc_stride 16"):
        prepare_features(examples, tokenizer, max_len=24, stride=16, training=False)


@pytest.mark.parametrize("version", ["v1.1", "v2"])
def test_logits_at_the_gold_answers_score_one(tokenizer, version):
    examples = read_examples(FIXTURES / f"dev-{version}.json")
    rules = SpanRules(n_best_size=5, max_answer_length=30, null_answers=version == "v2")
    features = prepare_features(examples, tokenizer, max_len=64, stride=16, training=False)
    assert _score(examples, features, _oracle_logits(examples, features, tokenizer, rules), rules) == \
           {"exact_match": 1.0, "f1": 1.0}


def test_the_null_threshold_decides_unanswerable_questions(tokenizer):
    examples = read_examples(FIXTURES / "dev-v2.json")
    features = prepare_features(examples, tokenizer, max_len=64, stride=16, training=False)
    never_null = SpanRules(n_best_size=5, null_answers=True, null_score_diff_threshold=math.inf)
    logits = _oracle_logits(examples, features, tokenizer, never_null)
    unanswerable = sum(not e.answerable for e in examples) / len(examples)
    assert _score(examples, features, logits, never_null)["exact_match"] == pytest.approx(1 - unanswerable)
    v1_rules = SpanRules(n_best_size=5, null_answers=False)  # SQuAD v1.1: an answer always
    assert _score(examples, features, logits, v1_rules)["exact_match"] == pytest.approx(1 - unanswerable)


@pytest.fixture(scope="module")
def byte_level_bpe():
    """A byte-level BPE tokenizer in ModernBERT's style (``Ġ`` marks a leading space, offsets include it, BERT's
    [CLS]/[SEP] template), learnt on the fixtures' real contexts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [e.context for name in ("train-v2.json", "dev-v2.json") for e in read_examples(FIXTURES / name)]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    bpe.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[(t, bpe.token_to_id(t)) for t in ("[CLS]", "[SEP]")])
    return PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def test_byte_level_bpe_offsets_map_back_to_the_answers(byte_level_bpe):
    examples = read_examples(FIXTURES / "dev-v2.json")
    encoded = byte_level_bpe(examples[2].context, return_offsets_mapping=True)
    assert any(examples[2].context[s] == " " for s, e in encoded["offset_mapping"][1:-1])  # the trap: a space
    rules = SpanRules(n_best_size=5, null_answers=True)
    features = prepare_features(examples, byte_level_bpe, max_len=48, stride=16, training=False)
    logits = _oracle_logits(examples, features, byte_level_bpe, rules)
    assert _score(examples, features, logits, rules) == {"exact_match": 1.0, "f1": 1.0}


def _rank(rank: int, world: int, port: int, out: str) -> None:
    """One of two gloo ranks: each scores its half of the windows; compute() sees both halves."""
    import torch.distributed as td

    from mosaicbert.tokenizer import load_tokenizer

    td.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    tokenizer = load_tokenizer("bert-base-uncased")
    examples = read_examples(FIXTURES / "dev-v2.json")
    features = prepare_features(examples, tokenizer, max_len=64, stride=16, training=False)
    rules = SpanRules(n_best_size=5, null_answers=True)
    logits = _oracle_logits(examples, features, tokenizer, rules)
    metric = SquadMetric(examples, features.windows, rules)
    mine = list(range(rank, len(logits), world))  # a distributed sampler's interleaved share
    metric.update(torch.nn.utils.rnn.pad_sequence([logits[i] for i in mine], batch_first=True),
                  {FEATURE_INDEX: torch.tensor(mine)})
    scores = {k: float(v) for k, v in metric.compute().items()}
    Path(out, f"rank{rank}.json").write_text(json.dumps(scores))
    td.destroy_process_group()


@pytest.mark.slow  # two spawned interpreters importing torch and transformers: ~20 s
def test_two_gloo_ranks_gather_every_window_before_scoring(tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # spawn, not fork: a fork of a process whose other threads hold locks (an earlier test's) can hang
    mp.start_processes(_rank, args=(2, port, str(tmp_path)), nprocs=2, start_method="spawn")
    for rank in range(2):  # alone, each half would miss the questions whose answers are in the other's windows
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == {"exact_match": 1.0, "f1": 1.0}
