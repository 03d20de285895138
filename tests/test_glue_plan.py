"""GLUE config and job plan: YAML + command-line overrides, MNLI-first dependencies, one-line config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.finetune.cli import glue_main
from mosaicbert.finetune.config import GlueConfig
from mosaicbert.finetune.glue_plan import plan_jobs

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "yamls" / "test" / "glue-tiny.yaml"
BASE = ROOT / "yamls" / "finetuning" / "glue" / "mosaic-bert-base.yaml"
HF_BASE = ROOT / "yamls" / "finetuning" / "glue" / "hf-bert-base.yaml"


def test_published_recipe_plans_mnli_first_and_its_dependents_after_it():
    cfg = load_config(BASE, ["model.init_from=runs/pretrain/latest-rank0.pt"], GlueConfig)
    jobs = plan_jobs(cfg)
    assert jobs[0].name == "mnli-seed19"
    by_task = {}
    for job in jobs:
        by_task.setdefault(job.task, []).append(job)
    assert {t: len(j) for t, j in by_task.items()} == {"mnli": 1, "qnli": 1, "qqp": 1, "sst2": 3, "cola": 4,
                                                       "mrpc": 5, "rte": 5, "stsb": 5}
    assert {j.after for t in ("rte", "mrpc", "stsb") for j in by_task[t]} == {"mnli-seed19"}
    assert all(j.after is None for t in ("mnli", "qnli", "qqp", "sst2", "cola") for j in by_task[t])
    rte = by_task["rte"][0].hyperparameters
    assert (rte.lr, rte.weight_decay, rte.max_duration, rte.batch_size, rte.max_seq_len) == \
        (1.0e-5, 1.0e-5, "3ep", 16, 256)
    assert [j.name for j in jobs if j.keeps_checkpoint] == ["mnli-seed19"]
    assert cfg.scheduler == {"name": "linear_decay_with_warmup", "t_warmup": "0.06dur", "alpha_f": 0.0}
    assert load_config(HF_BASE, [], GlueConfig).model.init_from == "bert-base-uncased"


def test_command_line_overrides_reach_the_jobs():
    cfg = load_config(TINY, ["tasks.rte.lr=2.0e-5", "tasks.rte.seeds=[1,2]", "task_defaults.max_seq_len=32",
                             "run_tasks=[rte,sst2]", "from_mnli=[]"], GlueConfig)
    jobs = plan_jobs(cfg)
    assert [j.name for j in jobs] == ["sst2-seed19", "rte-seed1", "rte-seed2"]
    assert jobs[1].hyperparameters.lr == 2.0e-5 and jobs[0].hyperparameters.lr == 1.0e-3
    assert all(j.hyperparameters.max_seq_len == 32 and j.after is None for j in jobs)


@pytest.mark.parametrize("overrides, message", [
    (["tasks.rte.lrr=1"], "unknown config key 'tasks.rte.lrr' (did you mean 'tasks.rte.lr'?)"),
    (["run_tasks=[wnli]"], "config key 'run_tasks': unknown GLUE task 'wnli'"),
    (["run_tasks=[rte]"], "config key 'from_mnli': rte start from the MNLI-fine-tuned checkpoint but mnli is not run"),
    (["task_defaults.lr=null"], "config key 'tasks.mnli.lr': a value is required"),
    (["tasks.cola.max_duration=3epochs"], "config key 'tasks.cola.max_duration': cannot parse '3epochs'"),
    (["optimizer.name=adamm"], "config key 'optimizer.name': unknown optimizer 'adamm'"),
    (["model.name=roberta"], "config key 'model.name': unknown model 'roberta'"),
    (["model.name=mosaicbert"], "config key 'model.name': unknown model 'mosaicbert' (did you mean 'mosaic_bert'?)"),
    (["model.model_config.hiden_size=64"], "unknown config key 'model.model_config.hiden_size' for model 'mosaic_bert' "
                                           "(did you mean 'model.model_config.hidden_size'?)"),
])
def test_config_errors_are_one_line_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_config(TINY, overrides, GlueConfig)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_glue_py_exits_2_with_one_line_for_a_bad_config(capsys):
    assert glue_main([str(BASE)]) == 2  # model.init_from is required by the published recipe
    err = capsys.readouterr().err
    assert err == "glue.py: error: config key 'model.init_from': a value is required but none was given\n"
