"""Starting from weights that do not fit gives one clear error, unless the new heads are declared."""

from __future__ import annotations

import shutil

import pytest
import torch
from composer import Trainer
from composer.optim import DecoupledAdamW
from torch.utils.data import DataLoader
from transformers import BertModel, DataCollatorForLanguageModeling

from mosaicbert.models.build import build_composer_model
from mosaicbert.models.weights import WeightsMismatchError

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)


@pytest.fixture(scope="module")
def mlm_checkpoint(tokenizer, news_sentences, tmp_path_factory):
    """A real Composer checkpoint of a tiny mosaic_bert MLM pretraining run (two steps on news text)."""
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "mlm", model_config=TINY)
    samples = [tokenizer(s, truncation=True, max_length=32) for s in news_sentences[:8]]
    loader = DataLoader(samples, batch_size=4, collate_fn=DataCollatorForLanguageModeling(tokenizer))
    trainer = Trainer(model=model, train_dataloader=loader, max_duration="2ba", device="cpu", progress_bar=False,
                      optimizers=DecoupledAdamW(model.parameters(), lr=1e-3), log_to_console=False)
    trainer.fit()
    path = tmp_path_factory.mktemp("checkpoints") / "pretrain.pt"
    trainer.save_checkpoint(str(path))
    trainer.close()
    return path, model


def test_mlm_checkpoint_into_classifier_lists_missing_heads(mlm_checkpoint):
    path, _ = mlm_checkpoint
    with pytest.raises(WeightsMismatchError) as caught:
        build_composer_model("mosaic_bert", "classification", num_labels=2, init_from=str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"weights from {path} do not fit MosaicBertForSequenceClassification: 4 missing")
    assert "missing: bert.pooler.dense.bias, bert.pooler.dense.weight, classifier.bias, classifier.weight" in message
    assert "unexpected: mlm_head." in message
    assert "expected_new_weights=('bert.pooler', 'classifier')" in message
    assert set(caught.value.missing) == {"bert.pooler.dense.weight", "bert.pooler.dense.bias",
                                         "classifier.weight", "classifier.bias"}


def test_mlm_checkpoint_into_classifier_with_declared_heads(mlm_checkpoint):
    path, pretrained = mlm_checkpoint
    classifier = build_composer_model("mosaic_bert", "classification", num_labels=3, init_from=str(path),
                                      expected_new_weights=("classifier", "bert.pooler"))
    assert classifier.config.num_labels == 3
    assert classifier.config.hidden_size == TINY["hidden_size"]  # the shape comes from the checkpoint's config
    encoder, source = classifier.model.bert.state_dict(), pretrained.model.bert.state_dict()
    assert set(source) <= set(encoder)
    for key, tensor in source.items():
        assert torch.equal(encoder[key], tensor), key


def test_checkpoint_of_another_shape_lists_shape_mismatches(mlm_checkpoint):
    path, _ = mlm_checkpoint
    with pytest.raises(WeightsMismatchError) as caught:
        build_composer_model("mosaic_bert", "mlm", init_from=str(path), model_config={"intermediate_size": 96})
    message = str(caught.value)
    assert "0 missing, 0 unexpected, 4 with another shape" in message
    assert ("shape mismatch (checkpoint vs model): bert.encoder.layer.*.mlp.wi.weight [256, 64] vs [192, 64] (x2), "
            "bert.encoder.layer.*.mlp.wo.weight [64, 128] vs [64, 96] (x2)") in message
    assert "expected_new_weights" not in message  # encoder weights are never a new head
    assert len(caught.value.mismatched) == 4


def test_mosaic_bert_mlm_resumes_from_its_own_checkpoint(mlm_checkpoint):
    path, pretrained = mlm_checkpoint
    model = build_composer_model("mosaic_bert", "mlm", init_from=str(path))
    for key, tensor in pretrained.model.state_dict().items():
        assert torch.equal(model.model.state_dict()[key], tensor), key


def test_bert_weights_into_mosaic_geglu_name_the_config_key(minilm_dir):
    with pytest.raises(ValueError, match="set model.model_config.ffn_type=mlp to keep it"):
        build_composer_model("mosaic_bert", "mlm", init_from=str(minilm_dir), expected_new_weights=("mlm_head",))


def test_bare_bert_weights_into_hf_classifier(minilm_dir):
    with pytest.raises(WeightsMismatchError, match=r"pass expected_new_weights=\('classifier',\)"):
        build_composer_model("hf_bert", "classification", num_labels=2, init_from=str(minilm_dir))
    model = build_composer_model("hf_bert", "classification", num_labels=2, init_from=str(minilm_dir),
                                 expected_new_weights=("classifier",))
    assert model.config.hidden_size == 384


def test_mosaic_checkpoint_cannot_become_hf_bert(mlm_checkpoint):
    path, _ = mlm_checkpoint
    with pytest.raises(ValueError, match="hf_bert starts only from BERT"):
        build_composer_model("hf_bert", "mlm", init_from=str(path))


@pytest.mark.parametrize("init_from, error", [
    ("/nonexistent/checkpoint.pt", "no such file or directory"),
    ("no-such-org/no-such-bert", "could not be fetched from the Hugging Face Hub"),
])
def test_unreadable_init_from_names_it(init_from, error):
    with pytest.raises(FileNotFoundError, match=error) as caught:
        build_composer_model("hf_bert", "mlm", init_from=init_from)
    assert init_from in str(caught.value)


def test_directory_without_config_is_rejected(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        build_composer_model("mosaic_bert", "mlm", init_from=str(tmp_path))


def test_sharded_and_legacy_bert_checkpoints_load_the_same_weights(minilm_dir, tmp_path):
    source = BertModel.from_pretrained(minilm_dir)
    source.save_pretrained(tmp_path / "sharded", max_shard_size="30MB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    legacy = tmp_path / "legacy"  # TensorFlow-era names: LayerNorm.gamma / LayerNorm.beta, pytorch_model.bin
    legacy.mkdir()
    shutil.copy(minilm_dir / "config.json", legacy)
    renamed = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
               for k, v in source.state_dict().items()}
    torch.save(renamed, legacy / "pytorch_model.bin")

    for directory in (tmp_path / "sharded", legacy):
        model = build_composer_model("hf_bert", "classification", num_labels=2, init_from=str(directory),
                                     expected_new_weights=("classifier",))
        loaded = model.model.bert.state_dict()
        for key, tensor in source.state_dict().items():
            assert torch.equal(loaded[key], tensor), (directory.name, key)


def test_file_that_is_not_a_checkpoint_is_rejected(tmp_path):
    notes = tmp_path / "notes.pt"
    notes.write_text("not a checkpoint\n")
    with pytest.raises(ValueError, match=r"init_from='.*notes.pt': .*notes.pt is not a readable checkpoint"):
        build_composer_model("mosaic_bert", "mlm", init_from=str(notes))
