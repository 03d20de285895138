"""Contrastive fine-tuning end to end on real text (STS Benchmark pairs) and the real tokenizer, tiny shapes: the
entry point trains, exports a folder ``SentenceTransformer`` loads with the trained pooling, scores it, resumes
after a stop; the cached (gradient-cache) loss trains as the plain one does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mosaicbert.embeddings.batches import TextCollator
from mosaicbert.embeddings.cli import sentence_embeddings_main
from mosaicbert.embeddings.encoder_module import sentence_pipeline
from mosaicbert.embeddings.export import export_sentence_transformer
from mosaicbert.embeddings.loading import load_embedding_model
from mosaicbert.embeddings.losses import LOSSES
from mosaicbert.embeddings.scoring import encode
from mosaicbert.exit_codes import OK
from mosaicbert.models.build import build_network

REPO = Path(__file__).resolve().parents[1]
TINY_YAML = str(REPO / "yamls" / "test" / "sentence-embeddings-tiny.yaml")
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
ARGS = dict(scale=20.0, symmetric=False, gather_across_ranks=False, mini_batch_size=3)


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    """The tiny recipe with [CLS] pooling and the cached loss: 1 epoch, then 2 epochs resumed from its checkpoint."""
    out = tmp_path_factory.mktemp("run")
    args = [TINY_YAML, f"output_dir={out}", f"save_folder={out}/checkpoints", "autoresume=true", "pooling=cls",
            "loss.name=cached_multiple_negatives_ranking", "loss.mini_batch_size=3"]
    first = sentence_embeddings_main([*args, "hyperparameters.max_duration=1ep"])
    ep1 = out / "checkpoints" / "ep1-ba4-rank0.pt"
    stamp = ep1.stat().st_mtime_ns
    second = sentence_embeddings_main([*args, "hyperparameters.max_duration=2ep"])
    scored = json.loads((out / "metrics.json").read_text())["metrics"]["sts_spearman"]
    again = sentence_embeddings_main([*args, "hyperparameters.max_duration=2ep"])  # finished: nothing to train
    assert json.loads((out / "metrics.json").read_text())["metrics"]["sts_spearman"] == scored
    return out, (first, second, again), ep1, stamp


def test_runs_export_and_resume(resumed_run):
    out, codes, ep1, stamp = resumed_run
    assert codes == (OK, OK, OK)
    assert ep1.stat().st_mtime_ns == stamp  # the second run went on from epoch 1, it did not train it again
    assert (out / "checkpoints" / "ep2-ba8-rank0.pt").is_file()
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert -1.0 <= metrics["sts_spearman"] <= 1.0


def test_the_export_pools_as_trained(resumed_run):
    model = load_embedding_model(str(resumed_run[0] / "sentence-transformers"))
    assert model[1].get_config_dict()["pooling_mode"] == "cls" and model.max_seq_length == 64
    vectors = encode(model, ["A man is playing a guitar.", "A woman is slicing an onion."], progress=False)
    assert vectors.shape == (2, 64) and torch.allclose(vectors.norm(dim=1), torch.ones(2))


def test_export_gives_the_pipeline_embeddings(tokenizer, news_sentences, tmp_path):
    torch.manual_seed(0)
    network, _ = build_network("mosaic_bert", "encoder", model_config=TINY)
    pipeline = sentence_pipeline(network, "mean", normalize=False).eval()
    texts = news_sentences[:6]
    batch = TextCollator(tokenizer, ["text"], 64)([{"text": t} for t in texts])["features"][0]
    with torch.no_grad():
        expected = pipeline(batch)["sentence_embedding"]
    model = load_embedding_model(str(export_sentence_transformer(pipeline, tokenizer, tmp_path / "st",
                                                                 max_seq_length=64)))
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling"]
    got = model.encode(texts, convert_to_tensor=True)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_cached_loss_gives_the_plain_loss_and_gradients(tokenizer):
    """Gradient cache (mini-batches of 3) against in-batch negatives at once, on 8 real STS-B pairs."""
    from mosaicbert.embeddings.benchmark_data import read_sts_b

    pairs = [p for p in read_sts_b("dev") if p[2] >= 4][:8]
    batch = TextCollator(tokenizer, ["anchor", "positive"], 64)([{"anchor": a, "positive": b} for a, b, _ in pairs])
    grads, losses = {}, {}
    for name in ("multiple_negatives_ranking", "cached_multiple_negatives_ranking"):
        torch.manual_seed(0)
        network, _ = build_network("mosaic_bert", "encoder", model_config={**TINY, "hidden_dropout_prob": 0.0})
        pipeline = sentence_pipeline(network)
        loss = LOSSES[name].build(pipeline, **ARGS)(batch["features"], batch["labels"])
        loss.backward()
        losses[name] = loss.item()
        grads[name] = torch.cat([p.grad.flatten() for p in pipeline.parameters() if p.grad is not None])
    assert losses["cached_multiple_negatives_ranking"] == pytest.approx(losses["multiple_negatives_ranking"], rel=1e-5)
    torch.testing.assert_close(grads["cached_multiple_negatives_ranking"], grads["multiple_negatives_ranking"],
                               atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("script, usage", [("sentence_embeddings.py", "usage: python sentence_embeddings.py"),
                                           ("evaluate_embeddings.py", "usage: evaluate_embeddings.py [-h]")])
def test_help_answers_without_heavy_imports(script, usage):
    probe = ("import runpy, sys\nsys.argv = [sys.argv[1], '--help']\n"
             "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit as stop:\n"
             "    print('exit', stop.code)\n"
             "print('loaded', *sorted(m for m in ('torch', 'transformers', 'composer', 'sentence_transformers') "
             "if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(REPO / script)], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith(usage) and lines[-2:] == ["exit 0", "loaded"], done.stdout
