"""train_tokenizer.py on the real news: a vocabulary of each family learnt from every file format convert_dataset.py
reads, its fertility next to bert-base-uncased's, and the folder carried unchanged through convert_dataset.py,
a main.py run of the domain recipe (whole-word masking, two streams, upsampling) and its export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import convert_dataset
from mosaicbert.tokenization.cli import train_tokenizer_main
from mosaicbert.tokenizer import load_tokenizer

REPO = Path(__file__).resolve().parents[1]


def train(capsys, *argv: str) -> str:
    code = train_tokenizer_main([*argv, "--no_progress"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_wordpiece_folder_is_bert_style_and_fertility_is_printed_next_to_the_reference(tmp_path, capsys):
    summary = train(capsys, "--source", "news", "--vocab_size", "2048", "--max_docs", "600", "--out",
                    str(tmp_path / "wp"))
    tokenizer = load_tokenizer(str(tmp_path / "wp"))
    assert len(tokenizer) == 2048 and type(tokenizer).__name__ == "BertTokenizerFast"
    assert (tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.mask_token_id) == (0, 2, 4)
    ids = tokenizer("The Minister said", "it rained")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids)[0] == "[CLS]" and ids.count(tokenizer.sep_token_id) == 2
    assert tokenizer.tokenize("The Government")[:2] == ["the", "government"]  # uncased, frequent news words whole
    assert (tmp_path / "wp" / "vocab.txt").is_file()  # BERT's slow tokenizer reads it too
    learnt = summary.splitlines()
    assert "learnt a 2,048-entry BERT-style WordPiece vocabulary (uncased) from 600 documents" in learnt[0]
    assert f"main.py model.tokenizer_name={tmp_path / 'wp'}" in learnt[1]
    fertility = learnt[2]
    assert "held-out documents (every 100th document, not learnt from" in fertility
    ours, reference = (float(part.split()[0]) for part in fertility.split(": ")[-1].split(", "))
    assert 1.0 < reference < ours < 2.0  # 2,048 pieces cut more words than bert-base-uncased's 30,522
    assert fertility.endswith("(bert-base-uncased)")


def test_byte_level_bpe_is_learnt_from_every_file_format_and_stays_cased(news_articles, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    articles = news_articles[:240]
    (corpus / "a.jsonl").write_text("".join(json.dumps({"body": t}) + "\n" for t in articles[:60]), encoding="utf-8")
    (corpus / "b.json").write_text(json.dumps([{"body": t} for t in articles[60:120]]), encoding="utf-8")
    pq.write_table(pa.table({"body": articles[120:180]}), corpus / "c.parquet")
    with open(corpus / "d.csv", "w", encoding="utf-8", newline="") as f:
        import csv

        csv.writer(f).writerows([["body"], *([t] for t in articles[180:240])])
    held_out = tmp_path / "held-out.txt"
    held_out.write_text("\n".join(t.replace("\n", " ") for t in news_articles[-30:]) + "\n", encoding="utf-8")
    summary = train(capsys, "--source", "files", "--files", f"train={corpus}", f"val={held_out}", "--text_column",
                    "body", "--heldout_split", "val", "--vocab_size", "1024", "--algorithm", "bpe", "--out",
                    str(tmp_path / "bpe"), "--reference", "none")
    assert "from 240 documents" in summary and "on 30 held-out documents (split val" in summary
    tokenizer = load_tokenizer(str(tmp_path / "bpe"))
    assert len(tokenizer) == 1024 and tokenizer.unk_token_id not in tokenizer("Ärzte 🙂 said")["input_ids"]
    assert tokenizer.decode(tokenizer("The Minister said")["input_ids"], skip_special_tokens=True) == \
        "The Minister said"  # cased, byte-level: the text comes back as it was
    from mosaicbert.models.modernbert import tokenizer_config

    assert tokenizer_config(tokenizer)["vocab_size"] == 1024 and tokenizer_config(tokenizer)["pad_token_id"] == 0


def test_help_answers_without_heavy_imports():
    probe = ("import runpy, sys\nsys.argv = ['train_tokenizer.py', '--help']\n"
             "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print('loaded', *sorted(m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stdout.startswith("usage: train_tokenizer.py") and done.stdout.splitlines()[-1] == "loaded"


def test_own_vocabulary_carries_through_conversion_pretraining_and_export(tmp_path, capsys, news_articles):
    from mosaicbert.training.cli import pretrain_cli

    vocabulary = tmp_path / "tokenizers" / "health"
    train(capsys, "--source", "news", "--vocab_size", "1024", "--max_docs", "300", "--out", str(vocabulary))
    for name, split, docs in (("general-mds", "train", "48"), ("health-mds", "val", "48")):
        assert convert_dataset.main(["--source", "news", "--splits", split, "--max_docs", docs, "--tokenizer",
                                     str(vocabulary), "--pack_documents", "128", "--out_root",
                                     str(tmp_path / name), "--no_progress", "--workers", "0"]) == 0
    streams = (f"{{general: {{local: {tmp_path / 'general-mds'}}}, "
               f"domain: {{local: {tmp_path / 'health-mds'}, split: val}}}}")
    run = tmp_path / "run"
    assert pretrain_cli([str(REPO / "yamls" / "test" / "mosaic-bert-domain-tiny.yaml"),
                         f"model.tokenizer_name={vocabulary}",  # the model reads its vocabulary size from it
                         f"train_loader.streams={streams}", f"eval_loader.local={tmp_path / 'health-mds'}",
                         "max_duration=4ba", "eval_interval=4ba", "eval_subset_num_batches=1", f"save_folder={run}/ck",
                         "save_interval=4ba", f"loggers.tensorboard.log_dir={run}/tb", f"export_hf_dir={run}/hf",
                         "log_to_console=false"]) == 0
    exported = load_tokenizer(str(run / "hf"))
    assert exported.get_vocab() == load_tokenizer(str(vocabulary)).get_vocab()
    assert json.loads((run / "hf" / "config.json").read_text())["vocab_size"] == 1024
