"""max_seq_len against the network's positions, at config load: absolute positions end at their table (one line
naming both numbers, exit 2), ALiBi takes long inputs (pretraining and fine-tuning up to 2,048 and beyond)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_main_config import TINY, data_overrides, mds_dir, run_cli  # noqa: F401

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.finetune.config import GlueConfig
from mosaicbert.training.schema import PretrainConfig

ROOT = Path(__file__).resolve().parents[1]
GLUE_BASE = ROOT / "yamls" / "finetuning" / "glue" / "mosaic-bert-base.yaml"
GLUE_HF = ROOT / "yamls" / "finetuning" / "glue" / "hf-bert-base.yaml"


def test_absolute_positions_past_their_table_are_one_config_error(mds_dir, capsys):
    err = run_cli(capsys, str(TINY), *data_overrides(mds_dir), "max_seq_len=128",
                  "model.model_config.position_embedding_type=absolute", "model.model_config.max_position_embeddings=64")
    assert "config key 'max_seq_len': 128 tokens exceed the 64 positions of mosaic_bert's position table" in err


def test_alibi_pretrains_past_the_bias_starting_size(mds_dir):
    cfg = load_config(TINY, [*data_overrides(mds_dir), "max_seq_len=2048"], PretrainConfig)
    assert cfg.max_seq_len == 2048


def test_fine_tuning_accepts_2048_tokens_for_alibi_and_refuses_them_for_bert():
    cfg = load_config(GLUE_BASE, ["model.init_from=runs/pretrain/latest-rank0.pt", "task_defaults.max_seq_len=2048"],
                      GlueConfig)
    assert {hp.max_seq_len for hp in cfg.task_hyperparameters().values()} == {2048}
    with pytest.raises(ConfigError, match=r"'tasks\.mnli\.max_seq_len': 1024 tokens exceed the 512 positions of "
                                          r"hf_bert's position table"):
        load_config(GLUE_HF, ["task_defaults.max_seq_len=1024"], GlueConfig)
