"""Pretraining on packed shards (convert_dataset.py --pack_documents) end to end, for both model families: the
runs train on per-document attention and the eval line reports the packing efficiency of the eval batches."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from streaming import StreamingDataset

import convert_dataset
from mosaicbert.data.mds_columns import TOKENS
from mosaicbert.training.cli import pretrain_cli

TINY = Path(__file__).resolve().parents[1] / "yamls" / "test" / "mosaic-bert-tiny.yaml"
ROW, EVAL_BATCH = 64, 16


@pytest.fixture(scope="module")
def packed_news(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packed_news")
    assert convert_dataset.main(["--source", "news", "--splits", "val", "--max_docs", "30", "--out_root", str(root),
                                 "--tokenizer", "bert-base-uncased", "--pack_documents", str(ROW), "--workers", "0",
                                 "--no_progress"]) == 0
    return root


@pytest.mark.parametrize("name", ["mosaic_bert", "hf_bert"])
def test_packed_pretraining_reports_packing_efficiency(packed_news, tmp_path, caplog, name):
    recipe = OmegaConf.load(TINY)
    recipe.model.name = name
    if name == "hf_bert":  # BERT's own config keys, its position table as long as the rows
        recipe.model.model_config = {key: recipe.model.model_config[key] for key in (
            "num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")}
        recipe.model.model_config.max_position_embeddings = ROW
    OmegaConf.save(recipe, tmp_path / "recipe.yaml")
    args = [str(tmp_path / "recipe.yaml"), f"train_loader.local={packed_news}", "train_loader.split=val",
            f"eval_loader.local={packed_news}", f"device_eval_batch_size={EVAL_BATCH}", "eval_subset_num_batches=1",
            f"max_seq_len={ROW}", "max_duration=1ba", "eval_interval=1ba", f"save_folder={tmp_path}/checkpoints",
            f"loggers.tensorboard.log_dir={tmp_path}/tb", "log_to_console=false"]
    with caplog.at_level(logging.INFO):
        assert pretrain_cli(args) == 0
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("eval: step 1"))
    dataset = StreamingDataset(local=str(packed_news / "val"), shuffle=False)
    rows = [dataset[i][TOKENS] for i in range(min(EVAL_BATCH, dataset.num_samples))]
    expected = sum(len(r) for r in rows) / (len(rows) * ROW)
    assert re.search(r"packing (\d+\.\d)%", line).group(1) == f"{100 * expected:.1f}", line
