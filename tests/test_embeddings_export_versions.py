"""Exported sentence-transformers folders load where this package does not exist, with ``SentenceTransformer(path,
trust_remote_code=True)``, in the pinned stack (sentence-transformers 5.x on transformers 4.57) and in the latest
sentence-transformers 6.x on transformers 5 (``scripts/sentence_transformers6_env.sh``: cached ``pip --target``
directories, never the venv), and give the embeddings of the model that was exported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sentence_transformers
import torch

from mosaicbert.embeddings.encoder_module import sentence_pipeline
from mosaicbert.embeddings.export import export_sentence_transformer
from mosaicbert.embeddings.loading import load_embedding_model
from mosaicbert.models.build import build_network

REPO = Path(__file__).resolve().parents[1]
EXPORTS = {  # family, model_config, pooling
    "mosaic_bert": ("mosaic_bert", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                        intermediate_size=128), "mean"),
    "hf_bert": ("hf_bert", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128),
                "cls"),
    "modernbert": ("modernbert", dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                                      intermediate_size=48, local_attention=6), "mean"),
}

_LOAD_WITHOUT_MOSAICBERT = r"""
import importlib.abc, json, sys

class RefuseMosaicBert(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mosaicbert":
            raise ModuleNotFoundError(f"{name} is hidden from this process")

sys.meta_path.insert(0, RefuseMosaicBert())
import sentence_transformers, torch, transformers
from sentence_transformers import SentenceTransformer

request = json.loads(sys.argv[1])
results = {"versions": [sentence_transformers.__version__, transformers.__version__], "embeddings": {}}
for name, directory in request["exports"].items():
    model = SentenceTransformer(directory, trust_remote_code=True, device="cpu")
    results["embeddings"][name] = model.encode(request["sentences"], convert_to_tensor=True)
results["mosaicbert_loaded"] = [m for m in sys.modules if m.split(".")[0] == "mosaicbert"]
torch.save(results, request["out"])
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory, news_sentences):
    root = tmp_path_factory.mktemp("st-exports")
    sentences = news_sentences[:4]
    made = {}
    for name, (family, config, pooling) in EXPORTS.items():
        torch.manual_seed(0)
        network, tokenizer = build_network(family, "encoder", model_config=config)
        folder = export_sentence_transformer(sentence_pipeline(network, pooling).eval(), tokenizer, root / name,
                                             max_seq_length=64)
        made[name] = (folder, load_embedding_model(str(folder)).encode(sentences, convert_to_tensor=True))
    return made, sentences


@pytest.fixture(scope="module")
def sentence_transformers6_path() -> str:
    script = REPO / "scripts" / "sentence_transformers6_env.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable}, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("stack", ["pinned", "sentence_transformers6"])
def test_exports_load_elsewhere_with_the_same_embeddings(stack, exports, tmp_path, request):
    made, sentences = exports
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "hf_modules"), TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1")
    if stack != "pinned":
        env["PYTHONPATH"] = request.getfixturevalue("sentence_transformers6_path")
    payload = {"exports": {name: str(folder) for name, (folder, _) in made.items()}, "sentences": sentences,
               "out": str(tmp_path / "results.pt")}
    done = subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_MOSAICBERT, json.dumps(payload)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    results = torch.load(tmp_path / "results.pt")
    st_version, transformers_version = results["versions"]
    if stack == "pinned":
        assert st_version == sentence_transformers.__version__ and transformers_version.startswith("4.")
    else:
        assert st_version.startswith("6.") and transformers_version.startswith("5.")
    assert results["mosaicbert_loaded"] == []
    for name, (_, expected) in made.items():
        torch.testing.assert_close(results["embeddings"][name], expected, atol=1e-5, rtol=1e-4, msg=name)
