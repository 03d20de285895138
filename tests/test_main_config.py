"""main.py's config validation: every bad config is one line naming the key, a non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.training.cli import pretrain_cli
from mosaicbert.training.schema import PretrainConfig

REPO = Path(__file__).resolve().parents[1]
RECIPES = ["mosaic-bert-base.yaml", "mosaic-bert-large.yaml", "hf-bert-base.yaml"]
TINY = REPO / "yamls" / "test" / "mosaic-bert-tiny.yaml"


@pytest.fixture(scope="module")
def mds_dir(tmp_path_factory) -> Path:
    """An MDS dataset location (train and val splits with an index) for configs that must validate."""
    root = tmp_path_factory.mktemp("mds")
    for split in ("train", "val"):
        (root / split).mkdir()
        (root / split / "index.json").write_text('{"version": 2, "shards": []}')
    return root


def data_overrides(root: Path) -> list[str]:
    return [f"train_loader.local={root}", f"eval_loader.local={root}"]


def run_cli(capsys, *argv: str) -> str:
    """Run main.py's CLI in-process; assert it failed cleanly (exit code 2: bad config) and return its error line."""
    assert pretrain_cli(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("main.py: error: ")
    return err


@pytest.mark.parametrize("recipe", RECIPES)
def test_published_recipes_validate(recipe, mds_dir, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "8")  # the recipes are meant for 8 GPUs: 4096 / 8 ranks
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # on one node (autoresume with a local folder)
    cfg = load_config(REPO / "yamls" / recipe, [*data_overrides(mds_dir), "device=gpu",
                                                "device_train_microbatch_size=128"], PretrainConfig)
    assert cfg.global_train_batch_size == 4096 and cfg.device_train_batch_size == 512
    assert cfg.max_duration == "286720000sp" and cfg.max_seq_len == 128
    assert cfg.optimizer == {"name": "decoupled_adamw", "lr": 5.0e-4, "betas": [0.9, 0.98], "eps": 1.0e-6,
                             "weight_decay": 1.0e-5}
    assert cfg.scheduler == {"name": "linear_decay_with_warmup", "t_warmup": "0.06dur", "alpha_f": 0.02}
    assert cfg.masking.eval_rate == 0.15
    assert cfg.masking.train_rate == (0.15 if recipe.startswith("hf-") else 0.30)
    assert cfg.precision == "amp_bf16"
    assert cfg.train_loader.drop_last and not cfg.eval_loader.drop_last  # every eval sample counts, as published


def test_tiny_config_validates_and_overrides_apply(mds_dir):
    cfg = load_config(TINY, [*data_overrides(mds_dir), "optimizer.lr=1e-4", "max_duration=7ba"], PretrainConfig)
    assert cfg.optimizer["lr"] == 1e-4 and cfg.max_duration == "7ba"
    assert cfg.algorithms["masking_rate_schedule"]["end"] == 0.15


def test_amp_bf16_on_cpu_becomes_model_autocast(monkeypatch):
    import torch

    from mosaicbert.precision import CPU_BF16_ENV, cpu_bf16_decision, resolve_precision

    monkeypatch.setenv(CPU_BF16_ENV, "1")  # whatever this CPU is (the decision itself: test_training_precision.py)
    cpu_bf16_decision.cache_clear()
    try:
        assert resolve_precision("amp_bf16", "cpu") == ("fp32", torch.bfloat16)
    finally:
        cpu_bf16_decision.cache_clear()
    assert resolve_precision("amp_bf16", "gpu") == ("amp_bf16", None)


@pytest.mark.parametrize("override, expected", [
    ("max_duraton=10ba", "unknown config key 'max_duraton' (did you mean 'max_duration'?)"),
    ("model.nmae=hf_bert", "unknown config key 'model.nmae' (did you mean 'model.name'?)"),
    ("train_loader.shufle=false", "unknown config key 'train_loader.shufle' (did you mean 'train_loader.shuffle'?)"),
    ("optimizer.lrr=1e-3", "unknown config key 'optimizer.lrr' (did you mean 'optimizer.lr'?)"),
    ("callbacks.speed_monitr.window_size=3", "config key 'callbacks.speed_monitr': unknown callback 'speed_monitr' "
                                            "(did you mean 'speed_monitor'?)"),
    ("global_train_batch_size=many", "config key 'global_train_batch_size': expected int, got 'many'"),
    ("optimizer.lr=fast", "config key 'optimizer.lr': expected float, got 'fast'"),
    ("max_duration=10foo", "config key 'max_duration': cannot parse '10foo' as a Composer time"),
    ("scheduler.t_warmup=soon", "config key 'scheduler.t_warmup': cannot parse 'soon' as a Composer time"),
    ("algorithms.masking_rate_schedule.t_end=1day", "config key 'algorithms.masking_rate_schedule.t_end': "
                                                    "cannot parse '1day'"),
    ("algorithms.domain_upsampling.start=0.85dur", "config key 'algorithms.domain_upsampling.proportions': "
                                                   "a value is required but none was given"),
    ("precision=amp_fp16", "config key 'precision': 'amp_fp16' is not available on cpu"),
    ("device_train_microbatch_size=auto", "config key 'device_train_microbatch_size': 'auto' needs a GPU"),
    ("masking.train_rate=1.5", "config key 'masking.train_rate': must be between 0 and 1"),
    ("model.name=roberta", "config key 'model.name': unknown model 'roberta'"),
    ("model.model_config.hiden_size=32", "unknown config key 'model.model_config.hiden_size' for model 'mosaic_bert' "
                                         "(did you mean 'model.model_config.hidden_size'?)"),
    ("loggers.wandb.project=x", "config key 'loggers.wandb': logger 'wandb' needs the package 'wandb'"),
    ("global_train_batch_size", "command-line override 'global_train_batch_size' is not of the form key=value"),
])
def test_bad_value_is_one_line_naming_the_key(override, expected, mds_dir, capsys):
    err = run_cli(capsys, str(TINY), *data_overrides(mds_dir), override)
    assert expected in err


def test_missing_data_path_names_the_key(capsys, tmp_path):
    err = run_cli(capsys, str(TINY), f"train_loader.local={tmp_path / 'nowhere'}")
    assert f"config key 'train_loader.local': data path '{tmp_path / 'nowhere'}/train' does not exist" in err


def test_data_path_without_mds_index_names_the_key(capsys, tmp_path, mds_dir):
    (tmp_path / "val").mkdir()
    err = run_cli(capsys, str(TINY), f"train_loader.local={mds_dir}", f"eval_loader.local={tmp_path}")
    assert "config key 'eval_loader.local'" in err and "not an MDS dataset (no index.json)" in err


def test_missing_required_value_names_the_key(capsys, tmp_path, mds_dir):
    cfg = OmegaConf.load(TINY)
    del cfg["max_duration"]
    incomplete = tmp_path / "incomplete.yaml"
    OmegaConf.save(cfg, incomplete)
    err = run_cli(capsys, str(incomplete), *data_overrides(mds_dir))
    assert "config key 'max_duration': a value is required but none was given" in err


def test_global_batch_must_split_evenly_over_ranks(capsys, mds_dir, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    err = run_cli(capsys, str(TINY), *data_overrides(mds_dir))
    assert "config key 'global_train_batch_size': 16 cannot be split evenly over 3 rank(s)" in err


def test_unreadable_config_files_are_named(capsys, tmp_path):
    err = run_cli(capsys, str(tmp_path / "absent.yaml"))
    assert f"config file '{tmp_path / 'absent.yaml'}' does not exist" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    assert f"config file '{broken}' is not valid YAML" in run_cli(capsys, str(broken))


def test_config_error_is_a_value_error_with_one_line(mds_dir):
    with pytest.raises(ConfigError) as err:
        load_config(TINY, [*data_overrides(mds_dir), "optimizer.betas=[0.9, oops]"], PretrainConfig)
    assert "optimizer.betas" in str(err.value) and "\n" not in str(err.value)
