"""The model families: each declares its facts (what it reads, dropouts, FLOP shape, export classes), the registry
answers the questions asked of all of them, and the lower layers (weights, FLOPs, network) load without Composer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

from mosaicbert.models.flops import FlopShape
from mosaicbert.models.registry import FAMILIES, MODEL_REGISTRY, family_of_model_type, family_reading, key_layout_of
from mosaicbert.models.weights import BERT_KEYS, SourceWeights, UnreadableWeightsError

MODELS = Path(__file__).resolve().parents[1] / "src" / "mosaicbert" / "models"


def test_reading_weights_or_counting_flops_loads_no_composer():
    code = ("import sys, mosaicbert.models.weights, mosaicbert.models.flops, mosaicbert.models.network, "
            "mosaicbert.models.registry, mosaicbert.models.validation; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] == 'composer'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_lower_layers_look_up_no_family():
    """weights.py and flops.py take what they need as arguments: they import no family, network or registry."""
    families = {"network", "registry", "build", "validation", "tasks", "hf_io", "mosaic_bert_import",
                *(module.stem for module in MODELS.glob("*.py") if "NetworkFamily(" in module.read_text())}
    for lower in ("weights.py", "flops.py"):
        imported = set()
        for node in ast.walk(ast.parse((MODELS / lower).read_text())):
            if isinstance(node, ast.ImportFrom):
                imported |= {node.module or ""} | {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        assert not {name.rsplit(".", 1)[-1] for name in imported} & families, lower


def test_the_registry_is_its_tuple_of_families():
    assert list(MODEL_REGISTRY) == ["mosaic_bert", "hf_bert", "modernbert"]
    assert tuple(MODEL_REGISTRY.values()) == FAMILIES
    model_types = [family.config_class.model_type for family in FAMILIES]
    assert len(set(model_types)) == len(model_types)
    for family in FAMILIES:
        assert family_of_model_type(family.config_class.model_type) is family
        assert key_layout_of(family.config_class.model_type) is family.key_layout
    assert family_of_model_type("roberta") is None and key_layout_of("roberta") is BERT_KEYS


@pytest.mark.parametrize("name", list(MODEL_REGISTRY))
def test_every_family_declares_its_facts(name):
    family = MODEL_REGISTRY[name]
    config = family.config("mlm", {}, None, None)
    fields = config.to_dict()
    assert family.pretraining_dropouts and set(family.pretraining_dropouts) <= set(fields)
    assert all(0.0 <= p < 1.0 for p in family.pretraining_dropouts.values())
    shape = family.flop_shape(config)
    assert isinstance(shape, FlopShape)
    assert shape.layers == config.num_hidden_layers == len(shape.attention_half_windows)
    assert shape.hidden == config.hidden_size and shape.vocab_rows >= config.vocab_size
    assert family.reads and all(kind.name for kind in family.reads)
    for network_class, auto_class in family.export_auto_classes.items():
        assert hasattr(transformers, auto_class), auto_class
        assert network_class in family.task_classes.values() or auto_class == "AutoModel"
    for overrides in family.measured_variants().values():
        assert set(overrides) <= set(fields)
    assert {"mlm", "classification"} <= set(family.task_classes)


def test_each_checkpoint_is_read_by_its_own_family():
    for family in FAMILIES:
        source = SourceWeights({}, {"model_type": family.config_class.model_type}, "ckpt")
        assert family_reading(source) is family
    # the original MosaicBERT says model_type "bert": its keys make it mosaic_bert's, ahead of hf_bert
    original = SourceWeights({"bert.encoder.layer.0.attention.self.Wqkv.weight": torch.zeros(1)},
                             {"model_type": "bert"}, "mosaicml/mosaic-bert-base")
    assert family_reading(original).name == "mosaic_bert"


def test_a_checkpoint_no_family_reads_is_one_line_naming_it_and_the_readable_kinds():
    with pytest.raises(UnreadableWeightsError) as caught:
        family_reading(SourceWeights({}, {"model_type": "roberta"}, "/ckpt/roberta"))
    assert str(caught.value) == ("init_from='/ckpt/roberta' holds a 'roberta' model; this recipe reads only "
                                 "mosaic_bert, original_mosaic_bert, bert, modernbert checkpoints")
