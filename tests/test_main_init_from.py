"""Continued pretraining from a BERT checkpoint without an MLM head (``model.expected_new_weights``, the new
head's bias from ``model.mlm_bias_init``, ``model.init_layers``, ``new_weights_lr_factor``), the quickstart's YAML
as shipped, and the console of a run: one line per evaluation, the full log in a file of the run folder."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForMaskedLM, BertConfig, BertModel

from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "yamls" / "test" / "mosaic-bert-tiny.yaml"


@pytest.fixture(scope="module")
def headless_bert(tmp_path_factory, tokenizer) -> Path:
    """A real transformers ``BertModel`` checkpoint (no MLM head) of the tiny recipe's shape."""
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=128, max_position_embeddings=64), add_pooling_layer=True)
    path = tmp_path_factory.mktemp("bert-headless")
    model.save_pretrained(path)
    return path


def run_args(news_mds: Path, run_dir: Path, init_from: Path, *extra: str) -> list[str]:
    data = news_mds / "text"
    return [str(TINY), f"train_loader.local={data}", f"eval_loader.local={data}", f"model.init_from={init_from}",
            "model.model_config.position_embedding_type=absolute", "model.model_config.ffn_type=mlp",
            f"save_folder={run_dir}/checkpoints", f"loggers.tensorboard.log_dir={run_dir}/tb", "max_duration=2ba",
            "eval_interval=2ba", "eval_subset_num_batches=1", "save_interval=2ba", "log_to_console=false", *extra]


def test_headless_checkpoint_needs_the_key_then_trains_with_a_tied_fresh_head(news_mds, headless_bert, tmp_path,
                                                                              capsys, caplog):
    assert pretrain_cli(run_args(news_mds, tmp_path / "refused", headless_bert)) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "missing: mlm_head" in err and "expected_new_weights=('mlm_head',)" in err

    run_dir = tmp_path / "run"
    with caplog.at_level(logging.INFO):
        assert pretrain_cli(run_args(news_mds, run_dir, headless_bert, "model.expected_new_weights=[mlm_head]",
                                     "eval_first=true")) == 0
    state = torch.load(run_dir / "checkpoints" / "ep0-ba2-rank0.pt", map_location="cpu", weights_only=False)
    weights = state["state"]["model"]
    source = BertModel.from_pretrained(headless_bert).state_dict()
    embeddings = weights["model.bert.embeddings.word_embeddings.weight"]
    assert torch.equal(weights["model.mlm_head.decoder.weight"], embeddings)  # tied, as the recipe's own head
    assert not torch.equal(embeddings[: source["embeddings.word_embeddings.weight"].shape[0]],
                           source["embeddings.word_embeddings.weight"])  # trained from the imported weights
    # console: one concise line per evaluation (before training and at the end); full log in the run folder
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("eval: ")]
    assert [line.split(",")[0] for line in lines] == ["eval: step 0", "eval: step 2"], lines
    assert all("eval loss" in line and "masked accuracy" in line and "masking rate" in line for line in lines)
    assert "samples/s" in lines[-1]
    log_text = (run_dir / "train-rank0.log").read_text()
    assert "composer" in log_text and "eval: step 2" in log_text


def test_expected_new_weights_is_validated(news_mds, headless_bert, tmp_path, capsys):
    assert pretrain_cli(run_args(news_mds, tmp_path, headless_bert, "model.expected_new_weights=[mlm_haed]")) == 2
    err = capsys.readouterr().err
    assert "'mlm_haed' is not a head of the mosaic_bert MLM network (did you mean 'mlm_head'?)" in err


def test_main_starts_from_the_frequencies(news_mds, headless_bert, tmp_path, caplog):
    """Continued pretraining with a new head: the evaluation before training already beats a uniform guess."""
    losses = {}
    for init in ("zeros", "unigram"):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            assert pretrain_cli(run_args(news_mds, tmp_path / init, headless_bert,
                                         "model.expected_new_weights=[mlm_head]", f"model.mlm_bias_init={init}",
                                         "eval_first=true", "max_duration=1ba", "eval_interval=1ba",
                                         "save_interval=1ba")) == 0
        first = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("eval: step 0"))
        losses[init] = float(first.split("eval loss ")[1].split(",")[0])
    assert losses["zeros"] > math.log(30522) - 1 and losses["unigram"] < losses["zeros"] - 2, losses


@pytest.mark.parametrize("extra,message", [
    (["model.mlm_bias_init=unigrma"], "unknown value 'unigrma' (did you mean 'unigram'?)"),
    (["model.mlm_bias_init=unigram"], "sets the bias of a new MLM head only"),
    (["model.init_layers=0"], "config key 'model.init_layers': 0 is not a layer count (>= 1)"),
    (["new_weights_lr_factor=10"], "config key 'new_weights_lr_factor': applies to 'model.expected_new_weights', "
                                   "which is empty"),
    (["new_weights_lr_factor=0", "model.expected_new_weights=[mlm_head]"],
     "config key 'new_weights_lr_factor': must be positive, got 0"),
    (["model.init_from=null", "model.init_layers=1"], "config key 'model.init_layers': applies only with "
                                                      "'model.init_from'"),
])
def test_model_keys_are_validated(extra, message, news_mds, headless_bert, tmp_path, capsys):
    assert pretrain_cli(run_args(news_mds, tmp_path, headless_bert, *extra)) == 2
    assert message in capsys.readouterr().err


def test_quickstart_config_adapts_the_bottom_of_minilm(news_mds, minilm_dir, tmp_path):
    """The quickstart's YAML as shipped (2 batches): the bottom 3 MiniLM layers, trained, exported for fill-mask."""
    data, run_dir = news_mds / "text", tmp_path / "quickstart"
    assert pretrain_cli([str(REPO / "yamls" / "mosaic-bert-minilm-news.yaml"), f"model.init_from={minilm_dir}",
                         f"train_loader.local={data}", f"eval_loader.local={data}", "max_duration=2ba",
                         "eval_interval=2ba", "eval_subset_num_batches=1", "save_interval=2ba",
                         f"save_folder={run_dir}/checkpoints", f"loggers.tensorboard.log_dir={run_dir}/tb",
                         f"export_hf_dir={run_dir}/hf", "log_to_console=false"]) == 0
    exported = AutoModelForMaskedLM.from_pretrained(run_dir / "hf", trust_remote_code=True)
    source = BertModel.from_pretrained(minilm_dir)
    assert exported.config.num_hidden_layers == 3 and source.config.num_hidden_layers == 6
    ours = dict(exported.named_parameters())
    top = next(v for k, v in ours.items() if k.endswith("encoder.layer.2.attention.dense.weight"))
    imported = source.state_dict()["encoder.layer.2.attention.output.dense.weight"]
    # MiniLM's layer 2 (not its top layer 5), moved by two AdamW steps of at most lr=5e-4 each
    assert 0 < (top - imported).abs().max() <= 2e-3
