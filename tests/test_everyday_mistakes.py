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
from mosaicbert.embeddings.cli import evaluate_embeddings_main, sentence_embeddings_main
from mosaicbert.evaluation.cli import evaluate_mlm_cli
from mosaicbert.exit_codes import FAILED, OK, USAGE
from mosaicbert.finetune.cli import custom_task_main, glue_main
from mosaicbert.finetune.question_answering.cli import question_answering_main
from mosaicbert.finetune.token_classification.cli import token_classification_main
from mosaicbert.tokenization.cli import train_tokenizer_main
from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]
GLUE = str(REPO / "yamls" / "test" / "glue-tiny.yaml")
OWN = str(REPO / "yamls" / "test" / "sequence-classification-tiny.yaml")
QA = str(REPO / "yamls" / "test" / "question-answering-tiny.yaml")
QA_DEV = (REPO / "tests" / "fixtures" / "question_answering" / "dev.jsonl").read_text(encoding="utf-8")
TAGGER = str(REPO / "yamls" / "test" / "token-classification-tiny.yaml")
TWEETS = (REPO / "tests" / "fixtures" / "token_classification" / "eval.conll").read_text(encoding="utf-8")
ENTRY_POINTS = {"main.py": pretrain_cli, "glue.py": glue_main, "sequence_classification.py": custom_task_main,
                "convert_dataset.py": convert_dataset.main, "evaluate_mlm.py": evaluate_mlm_cli,
                "train_tokenizer.py": train_tokenizer_main, "question_answering.py": question_answering_main,
                "token_classification.py": token_classification_main,
                "sentence_embeddings.py": sentence_embeddings_main, "evaluate_embeddings.py": evaluate_embeddings_main}
EMBEDDINGS = str(REPO / "yamls" / "test" / "sentence-embeddings-tiny.yaml")


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


def unigram_tokenizer(tmp: Path) -> Path:
    """A tokenizer folder of a family whole-word masking cannot read word starts from: a SentencePiece-style
    Unigram vocabulary learnt from real news."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from mosaicbert.data.news import news_splits

    unigram = Tokenizer(models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    unigram.train_from_iterator(news_splits()["val"][:20], trainers.UnigramTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], unk_token="[UNK]",
        show_progress=False))
    PreTrainedTokenizerFast(tokenizer_object=unigram, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(tmp / "unigram")
    return tmp / "unigram"


def beir_with_unknown_document(tmp: Path) -> Path:
    """A BEIR-layout folder of real STS-B sentences whose qrels line 3 names a document the corpus lacks."""
    folder = tmp / "beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d0", "text": "A man is playing a guitar."}\n', encoding="utf-8")
    (folder / "queries.jsonl").write_text('{"_id": "q0", "text": "A man plays the guitar."}\n', encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\t1\nq0\td7\t1\n")
    return folder


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
    # question_answering.py (the real fixtures: line 3's answer "a libel lawsuit" moved by two characters)
    Mistake("answer_start whose text is not at that offset", "question_answering.py",
            lambda i: [QA, f"output_dir={i.tmp / 'qa'}", "data.eval_file=" + str(i.broken("dev.jsonl", QA_DEV.replace(
                '"answer_start": [603]', '"answer_start": [605]')))], FAILED,
            "dev.jsonl line 3 (id 'd1-2'): answer 'a libel lawsuit' is not at answer_start 605"),
    Mistake("record without a context", "question_answering.py",
            lambda i: [QA, f"output_dir={i.tmp / 'qa'}", "data.train_file=" + str(i.broken(
                "train.jsonl", QA_DEV.replace('"context"', '"contexts"', 1)))], FAILED,
            "train.jsonl line 1 (id 'd1-0'): the record has no field 'context'"),
    Mistake("missing data path", "question_answering.py",
            lambda i: [QA, f"output_dir={i.tmp / 'qa'}", "data.eval_file=/nonexistent/dev-v2.0.json"], USAGE,
            "config key 'data.eval_file': no such file", in_subprocess=True),
    Mistake("doc_stride not below max_seq_len", "question_answering.py",
            lambda i: [QA, f"output_dir={i.tmp / 'qa'}", "hyperparameters.doc_stride=64"], USAGE,
            "hyperparameters.doc_stride"),
    # token_classification.py (the real tweets of the tiny recipe)
    Mistake("token line with too few columns", "token_classification.py",
            lambda i: [TAGGER, f"output_dir={i.tmp / 'ner'}", "data.train_file=" + str(i.broken(
                "train.conll", TWEETS.replace("\n\n", "\nlonely\n\n", 1)))], FAILED,
            "train.conll line 16: 1 column(s) 'lonely'", in_subprocess=True),
    Mistake("evaluation tag training never saw", "token_classification.py",
            lambda i: [TAGGER, f"output_dir={i.tmp / 'ner'}", "data.eval_file=" + str(i.broken(
                "eval.conll", TWEETS.replace("B-person", "B-persn", 1)))], FAILED,
            "eval.conll line 6: tag 'B-persn' is not among the training file's tags (did you mean 'B-person'?)"),
    Mistake("unknown tag scheme", "token_classification.py",
            lambda i: [TAGGER, f"output_dir={i.tmp / 'ner'}", "tag_scheme=BIO"], USAGE,
            "config key 'tag_scheme': 'BIO' is not one of: IOB1, IOB2, BIOES"),
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
    # train_tokenizer.py
    Mistake("vocabulary below the special tokens", "train_tokenizer.py",
            lambda i: ["--source", "news", "--vocab_size", "4", "--out", str(i.tmp / "tok"), "--no_progress"], USAGE,
            "--vocab_size 4 is below the 5 special tokens", in_subprocess=True),
    Mistake("vocabulary that does not fit the family", "train_tokenizer.py",
            lambda i: ["--source", "news", "--vocab_size", "200", "--algorithm", "bpe", "--out", str(i.tmp / "tok"),
                       "--no_progress"], USAGE, "does not fit a ModernBERT-style byte-level BPE vocabulary"),
    Mistake("empty source", "train_tokenizer.py",
            lambda i: ["--source", "files", "--files", f"train={i.broken('empty.jsonl', '')}", "--vocab_size", "1024",
                       "--out", str(i.tmp / "tok"), "--no_progress"], USAGE, "empty source"),
    Mistake("whole-word masking with a tokenizer folder of another family", "main.py",
            lambda i: i.main(f"save_folder={i.tmp}/new", f"model.tokenizer_name={unigram_tokenizer(i.tmp)}",
                             "masking.whole_word=true"), USAGE, "masking.whole_word: cannot tell where words start"),
    # sentence_embeddings.py
    Mistake("a row without its positive", "sentence_embeddings.py",
            lambda i: [EMBEDDINGS, f"output_dir={i.tmp / 'emb'}", "data.train_file=" + str(i.broken(
                "pairs.jsonl", '{"anchor": "A man is eating.", "positive": "A man eats."}\n'
                               '{"anchor": "A dog runs."}\n'))],
            FAILED, "pairs.jsonl line 2: no 'positive' text", in_subprocess=True),
    Mistake("a scored-pairs loss on anchor/positive rows", "sentence_embeddings.py",
            lambda i: [EMBEDDINGS, f"output_dir={i.tmp / 'emb'}", "loss.name=cosent"], USAGE,
            "config key 'loss.name': cosent trains on scored pairs"),
    Mistake("typo'd loss", "sentence_embeddings.py", lambda i: [EMBEDDINGS, "loss.name=cosentt"], USAGE,
            "did you mean 'cosent'"),
    # evaluate_embeddings.py
    Mistake("a qrels line naming an unknown document", "evaluate_embeddings.py",
            lambda i: [str(i.minilm), "--retrieval", str(beir_with_unknown_document(i.tmp))], FAILED,
            "test.tsv line 3: unknown document 'd7'", in_subprocess=True),
    Mistake("missing STS file", "evaluate_embeddings.py", lambda i: [str(i.minilm), "--sts", "/nonexistent/sts.tsv"],
            USAGE, "--sts: no such file '/nonexistent/sts.tsv'"),
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
