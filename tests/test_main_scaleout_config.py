"""Scale-out settings of main.py's config: FSDP options, precision, multi-node autoresume, Streaming's canonical
nodes. Bad values are one line naming the key (``test_main_config.run_cli``)."""

from __future__ import annotations

import pytest
from test_main_config import TINY, data_overrides, mds_dir, run_cli  # noqa: F401 - mds_dir is a fixture

from mosaicbert.config.loading import load_config
from mosaicbert.data.loaders import build_text_dataset
from mosaicbert.training.schema import PretrainConfig


@pytest.mark.parametrize("override, expected", [
    ("fsdp_config={}", "config key 'fsdp_config': empty; leave it out (null) for DDP, or give at least one FSDP "
                       "option to shard, e.g. fsdp_config.state_dict_type=full"),
    ("fsdp_config.activation_checkpointng=true", "config key 'fsdp_config.activation_checkpointng': not an option "
                                                 "of Composer's FSDP2Config (FSDP2) (did you mean "
                                                 "'activation_checkpointing'?)"),
    ("precision=amp_fp8", "config key 'precision': 'amp_fp8' is not available on cpu"),
])
def test_bad_scaleout_values_are_one_line(override, expected, mds_dir, capsys):
    assert expected in run_cli(capsys, str(TINY), *data_overrides(mds_dir), override)


def test_amp_fp8_is_not_offered_on_gpu(mds_dir, capsys):
    err = run_cli(capsys, str(TINY), *data_overrides(mds_dir), "device=gpu", "precision=amp_fp8")
    assert "'amp_fp8' is not available on gpu; choose from: amp_bf16, amp_fp16, fp32" in err


def test_autoresume_on_several_nodes_needs_an_object_store(mds_dir, capsys, monkeypatch):
    """The Composer launcher's layout of 2 nodes x 2 ranks: a node-local save_folder is refused, a URI is not."""
    for name, value in {"WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2", "NODE_RANK": "1"}.items():
        monkeypatch.setenv(name, value)
    err = run_cli(capsys, str(TINY), *data_overrides(mds_dir))  # the tiny recipe: autoresume, ./runs/... folder
    assert ("config key 'save_folder': autoresume on 2 nodes needs an object store URI every node reads (e.g. "
            "s3://bucket/runs/{run_name}/checkpoints), not the local path './runs/mosaic-bert-tiny/checkpoints'") in err
    cfg = load_config(TINY, [*data_overrides(mds_dir), "save_folder=s3://bucket/runs/{run_name}/checkpoints"],
                      PretrainConfig)
    assert cfg.num_nodes == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # one node of 4 ranks: a local folder is fine
    assert load_config(TINY, data_overrides(mds_dir), PretrainConfig).num_nodes == 1


def test_num_canonical_nodes_is_fixed_and_reaches_the_dataset(news_mds, tokenizer):
    """Streaming would default to the number of physical nodes (the sample order would change with it)."""
    cfg = load_config(TINY, [f"train_loader.local={news_mds / 'tokens'}", f"eval_loader.local={news_mds / 'tokens'}"],
                      PretrainConfig)
    assert cfg.train_loader.num_canonical_nodes == 8
    dataset = build_text_dataset(cfg.train_loader, tokenizer, cfg.max_seq_len, 8)
    assert dataset.num_canonical_nodes == 8


def test_unknown_compile_option_is_one_line(mds_dir, capsys):
    err = run_cli(capsys, str(TINY), *data_overrides(mds_dir), "compile_config.mdoe=max-autotune")
    assert "config key 'compile_config.mdoe': not an option of torch.compile (did you mean 'mode'?)" in err


def test_fullgraph_compile_is_refused_for_mosaic_bert_with_the_reason(mds_dir, capsys):
    """Unpadding's shapes depend on the data: ``fullgraph: true`` would fail at the first batch, after set-up."""
    err = run_cli(capsys, str(TINY), *data_overrides(mds_dir), "compile_config.fullgraph=true")
    assert ("config key 'compile_config.fullgraph': true cannot work for mosaic_bert: unpadding has data-dependent "
            "shapes") in err
    cfg = load_config(TINY, [*data_overrides(mds_dir), "compile_config.fullgraph=false"], PretrainConfig)
    assert cfg.compile_config == {"fullgraph": False}


@pytest.mark.parametrize("enabled", [False, True])
def test_training_metrics_are_opt_in(enabled, news_mds, tmp_path):
    from mosaicbert.training.pretrain import build_trainer

    data = news_mds / "tokens"
    cfg = load_config(TINY, [f"train_loader.local={data}", "eval_loader=null", f"save_folder={tmp_path}",
                             "autoresume=false", f"loggers.tensorboard.log_dir={tmp_path}", f"train_metrics={enabled}"],
                      PretrainConfig)
    trainer = build_trainer(cfg)
    try:
        assert bool(trainer.state.train_metrics) is enabled
        assert set(trainer.state.model.get_metrics(is_train=False)) == {"LanguageCrossEntropy", "MaskedAccuracy"}
    finally:
        trainer.close()
