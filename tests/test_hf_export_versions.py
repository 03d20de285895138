"""Exported models load where this package does not exist, in the pinned transformers 4.57 and in transformers 5.

Each check runs in a fresh interpreter in which ``import mosaicbert`` fails: ``AutoModelFor*.from_pretrained`` (remote
code for MosaicBERT, plain transformers for ``hf_bert``), the ``fill-mask`` pipeline, and logits equal to the models
that were exported. transformers 5 comes from ``scripts/transformers5_env.sh`` (a cached ``pip --target`` directory,
never the project venv, whose Streaming needs transformers < 5), put first on ``PYTHONPATH``; torch is the venv's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

from mosaicbert.models.build import build_composer_model
from mosaicbert.models.hf_io import export_to_hf

REPO = Path(__file__).resolve().parents[1]
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)
EXACT_BERT = {"position_embedding_type": "absolute", "ffn_type": "mlp"}
# local_attention 6 < the sentences' length: the sliding window is exercised, not only global attention
TINY_MODERNBERT = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=48,
                       local_attention=6)
TAGS = ("O", "B-LOC", "I-LOC", "B-PER", "I-PER")
TAGGERS = ("mosaic_tok", "hf_bert_tok", "modernbert_tok")
AUTO_CLASSES = {"mosaic_mlm": "AutoModelForMaskedLM", "mosaic_cls": "AutoModelForSequenceClassification",
                "hf_bert": "AutoModelForMaskedLM", "modernbert_mlm": "AutoModelForMaskedLM",
                "modernbert_cls": "AutoModelForSequenceClassification", "mosaic_tok": "AutoModelForTokenClassification",
                "hf_bert_tok": "AutoModelForTokenClassification", "modernbert_tok": "AutoModelForTokenClassification"}
READERS = ("mosaic_qa", "hf_bert_qa", "modernbert_qa")  # extractive QA: start and end logits
AUTO_CLASSES.update({name: "AutoModelForQuestionAnswering" for name in READERS})

# Runs in the fresh interpreter: argv[1] is the JSON request (export dirs, sentences, output file).
_LOAD_WITHOUT_MOSAICBERT = r"""
import importlib.abc, json, sys

class RefuseMosaicBert(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mosaicbert":
            raise ModuleNotFoundError(f"{name} is hidden from this process")

sys.meta_path.insert(0, RefuseMosaicBert())  # the venv's editable install would find it otherwise
try:
    import mosaicbert
    sys.exit("mosaicbert is importable")
except ModuleNotFoundError:
    pass

import torch
import transformers
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer, pipeline

request = json.loads(sys.argv[1])
results = {"version": transformers.__version__, "logits": {}, "fill_mask": {}, "modules": {}, "entities": {}}
for name, (directory, auto_class) in request["exports"].items():
    remote = name.startswith("mosaic")
    tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=remote)
    batch = dict(tokenizer(request["sentences"], padding=True, return_tensors="pt"))
    model = getattr(transformers, auto_class).from_pretrained(directory, trust_remote_code=remote).eval()
    with torch.no_grad():
        out = model(**batch)
        qa = auto_class == "AutoModelForQuestionAnswering"
        results["logits"][name] = torch.stack([out.start_logits, out.end_logits], -1) if qa else out.logits
    if qa and transformers.__version__.startswith("4."):  # transformers 5 removed the question-answering pipeline
        reader = pipeline("question-answering", model=directory, trust_remote_code=remote)
        context = request["sentences"][1].replace("[MASK]", "news")
        results.setdefault("answers", {})[name] = (context, reader(question="What happened?", context=context))
    results["modules"][name] = type(model).__module__
    if auto_class == "AutoModelForMaskedLM":
        fill_mask = pipeline("fill-mask", model=directory, trust_remote_code=remote, top_k=5)
        results["fill_mask"][name] = [[c["token"] for c in fill_mask(s)] for s in request["sentences"]]
    if auto_class == "AutoModelForTokenClassification":
        ner = pipeline("token-classification", model=directory, trust_remote_code=remote,
                       aggregation_strategy="simple")
        results["entities"][name] = [[(e["entity_group"], e["start"], e["end"]) for e in ner(s)]
                                     for s in request["sentences"]]
results["mosaicbert_loaded"] = [m for m in sys.modules if m.split(".")[0] == "mosaicbert"]
torch.save(results, request["out"])
"""


@pytest.fixture(scope="module")
def exports(minilm_dir, tmp_path_factory):
    """Networks as exported, 0 training steps: a tiny ALiBi + GeGLU MosaicBERT MLM (random init, padded vocab),
    real MiniLM weights under a new 3-way MosaicBERT classifier, a tiny transformers BERT (``hf_bert``) and a tiny
    ModernBERT MLM and classifier (transformers' own classes, no remote code)."""
    torch.manual_seed(0)
    models = {
        "mosaic_mlm": build_composer_model("mosaic_bert", "mlm", model_config=TINY),
        "mosaic_cls": build_composer_model("mosaic_bert", "classification", num_labels=3, init_from=str(minilm_dir),
                                           model_config=EXACT_BERT, expected_new_weights=("classifier",)),
        "hf_bert": build_composer_model("hf_bert", "mlm", model_config=TINY),
        "modernbert_mlm": build_composer_model("modernbert", "mlm", model_config=TINY_MODERNBERT),
        "modernbert_cls": build_composer_model("modernbert", "classification", num_labels=2,
                                               model_config=TINY_MODERNBERT),
        "mosaic_tok": build_composer_model("mosaic_bert", "token_classification", num_labels=len(TAGS),
                                           init_from=str(minilm_dir), model_config=EXACT_BERT,
                                           expected_new_weights=("classifier",)),
        "hf_bert_tok": build_composer_model("hf_bert", "token_classification", num_labels=len(TAGS),
                                            model_config=TINY),
        "modernbert_tok": build_composer_model("modernbert", "token_classification", num_labels=len(TAGS),
                                               model_config=TINY_MODERNBERT),
        "mosaic_qa": build_composer_model("mosaic_bert", "question_answering", init_from=str(minilm_dir),
                                          model_config=EXACT_BERT, expected_new_weights=("qa_outputs",)),
        "hf_bert_qa": build_composer_model("hf_bert", "question_answering", model_config=TINY),
        "modernbert_qa": build_composer_model("modernbert", "question_answering", model_config=TINY_MODERNBERT),
    }
    for name in TAGGERS:  # a head that tags: scaled up, the fresh head's labels vary
        network = models[name].model
        network.config.id2label, network.config.label2id = dict(enumerate(TAGS)), {t: i for i, t in enumerate(TAGS)}
        with torch.no_grad():
            network.classifier.weight.mul_(50)
    root = tmp_path_factory.mktemp("exports")
    return {name: (model.eval(), export_to_hf(model, root / name)) for name, model in models.items()}


def _masked_sentences(news_sentences, count=4):
    """Real sentences with their fourth word replaced by [MASK]."""
    sentences = [s.split() for s in news_sentences if len(s.split()) > 6][:count]
    return [" ".join(words[:3] + ["[MASK]"] + words[4:]) for words in sentences]


def _load_elsewhere(exports, sentences, tmp_path, pythonpath: str | None) -> dict:
    request = {"exports": {name: (str(directory), AUTO_CLASSES[name]) for name, (_, directory) in exports.items()},
               "sentences": sentences, "out": str(tmp_path / "results.pt")}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no src/ of this checkout
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "hf_modules"), TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1")  # tiny models: one thread is fastest on a shared machine
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_MOSAICBERT, json.dumps(request)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(tmp_path / "results.pt")


@pytest.mark.parametrize("stack", ["pinned", "transformers5"])
def test_exports_load_and_give_the_same_logits_without_mosaicbert(stack, exports, tokenizer, news_sentences,
                                                                   tmp_path, request):
    pythonpath = request.getfixturevalue("transformers5_path") if stack == "transformers5" else None
    sentences = _masked_sentences(news_sentences)
    results = _load_elsewhere(exports, sentences, tmp_path, pythonpath)
    expected_version = Path(pythonpath).name.split("-")[-1] if pythonpath else transformers.__version__
    assert results["version"] == expected_version and (stack == "pinned") == results["version"].startswith("4.")
    assert results["mosaicbert_loaded"] == []
    assert results["modules"]["mosaic_mlm"].startswith("transformers_modules.")
    assert results["modules"]["hf_bert"].startswith("transformers.models.bert")
    assert results["modules"]["modernbert_mlm"].startswith("transformers.models.modernbert")

    batch = dict(tokenizer(sentences, padding=True, return_tensors="pt"))
    real = batch["attention_mask"].bool()
    masks = batch["input_ids"] == tokenizer.mask_token_id
    for name, (model, _) in exports.items():
        with torch.no_grad():
            output = model(batch)  # the wrapper passes the network only the inputs it takes
            expected = torch.stack([output.start_logits, output.end_logits], -1) if name in READERS else output.logits
        got = results["logits"][name]
        assert torch.allclose(got[real] if got.dim() == 3 else got, expected[real] if got.dim() == 3 else expected,
                              atol=1e-5), name
        if name in results["fill_mask"]:
            assert results["fill_mask"][name] == expected[masks].topk(5).indices.tolist(), name
    for name in TAGGERS:  # the pipeline's entities: the tagged spans of the sentences
        entities = results["entities"][name]
        assert sum(map(len, entities)) > 0, name
        for sentence, found in zip(sentences, entities):
            for group, start, end in found:
                assert group in {tag[2:] for tag in TAGS[1:]} and sentence[start:end].strip() == sentence[start:end]
                assert 0 <= start < end <= len(sentence), (name, sentence, start, end)
    for name in READERS if stack == "pinned" else ():  # pipeline("question-answering"): a span of the context
        context, answer = results["answers"][name]
        assert answer["answer"] and context[answer["start"]:answer["end"]] == answer["answer"], (name, answer)
